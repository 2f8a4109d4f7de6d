"""`/import` (EDITOR/ADMIN): Bring your data over from the browser prototype.

The steps, in the order a careful person takes them:

1. Find the data: the prototype's localStorage in this browser (read by a script,
   see local_storage.py), or an uploaded or pasted JSON file.
2. Download a backup of exactly what was found (before anything else happens).
3. Dry run: the service reads and checks everything and says what an import
   would do — counts, sources, date span, total capital and WACC afterwards —
   and lists every problem. Nothing is written.
4. Import, on an explicit click: all or nothing, idempotent (service/history_import).
5. Only after the import has committed (or when every entry is already stored):
   offer to clear the browser copy, the one key that was read, and only while it
   still holds what was imported.

Checking and importing run as background events: the service runs in a worker
thread (never on the event loop) while the page shows its phases and counts.
Every failure (unreadable file, too large, refused, the database unreachable)
shows a message and writes nothing. A VIEWER is told they cannot, and sees no
controls; the service refuses a forged event anyway.

Package layout (state, pure presenters, one module per step):

- `state.py`: `ImportState`, what the page holds and its events;
- `presenters.py`: pure words and numbers (unit-tested without Reflex);
- `local_storage.py`: the scripts that find and clear the prototype's localStorage;
- `step_data.py`, `step_backup.py`, `step_check.py`, `step_import.py`,
  `step_clear.py`: the five steps' views; `page.py`: the page that orders them.
"""

from capital_app.ui.pages.prototype_import.page import import_page
from capital_app.ui.pages.prototype_import.state import ImportState

__all__ = ["ImportState", "import_page"]

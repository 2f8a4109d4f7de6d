"""`/import/spreadsheet` (EDITOR/ADMIN): sources and changes from a CSV or .xlsx.

1. Choose the file: the service reads it and suggests a mapping from the header.
2. Map the columns (selects prefilled by the header's names; the first rows shown).
3. Dry run: every problem with its row and column, nothing written; then import,
   all or nothing, through the same write path as the prototype import.

- `state.py`: `SpreadsheetState`; `presenters.py`: pure words (unit-tested);
  `page.py`: the page.
"""

from capital_app.ui.pages.spreadsheet_import.page import spreadsheet_import_page
from capital_app.ui.pages.spreadsheet_import.state import SpreadsheetState

__all__ = ["SpreadsheetState", "spreadsheet_import_page"]

"""The base state every page shares.

It will hold who is signed in, their organization and the as-of view; page states
subclass it so those are one `self.` away in every handler.
"""

from __future__ import annotations

import reflex as rx


class AppState(rx.State):
    """Root of the app's states (grown by the UI work)."""

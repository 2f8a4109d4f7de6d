"""The dashboard (`/`): state holding the data (state.py), pure presenters
(presenters.py), one component module per card, the page (page.py), and its
live push (live.py: one emit per worker, change and view variant)."""

from capital_app.ui.pages.dashboard.page import dashboard
from capital_app.ui.pages.dashboard.state import DashboardState

__all__ = ["DashboardState", "dashboard"]

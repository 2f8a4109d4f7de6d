"""The Reflex app (the module Reflex loads): assembled by capital_app/wiring.py."""

from __future__ import annotations

from capital_app.wiring import build_app

app = build_app()

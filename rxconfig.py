"""Reflex configuration: one app, served in production from a single port.

Environment knobs Reflex reads itself (all `REFLEX_` prefixed): `REFLEX_REDIS_URL`
switches the state manager to Redis and lets Reflex start several backend workers.
The app's own settings live in `capital_app/settings.py`.
"""

import os

import reflex as rx

# The WebSocket's heartbeat (python-engineio, read by Reflex at startup): a ping every
# 20 s, and a peer that has not answered within 20 s more is dropped (Reflex's defaults,
# 25 s + 120 s, let a dead or stalled peer hold its socket for nearly 2.5 minutes).
# Message size: api/socket_size_guard.py (64 KiB before sign-in; the launcher sets 16 MiB
# for signed-in tabs). api/socket_guard.py has the rest.
os.environ.setdefault("REFLEX_SOCKET_INTERVAL", "20")
os.environ.setdefault("REFLEX_SOCKET_TIMEOUT", "20")

# Cross-origin browser callers (CORS, with credentials): none but the ones named in
# CAPITAL_ALLOWED_ORIGINS; the app's own pages are same-origin and need no CORS.
ALLOWED_ORIGINS = tuple(
    o.strip().rstrip("/")
    for o in os.environ.get("CAPITAL_ALLOWED_ORIGINS", "").split(",")
    if o.strip()
)

config = rx.Config(
    app_name="capital_app",
    # Nothing outside the package registries is reachable, and users' data stays here.
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # Explicit opt-in: the UI uses Radix Themes (light and dark, one accent colour).
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="teal"))],
    # The default sitemap plugin needs a public deploy_url; this app is not public.
    disable_plugins=[rx.plugins.SitemapPlugin],
    # Reflex's default is "*", which its CORS middleware echoes back with credentials.
    cors_allowed_origins=ALLOWED_ORIGINS,
)

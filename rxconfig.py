"""Reflex configuration: one app, served in production from a single port.

Environment knobs Reflex reads itself (all `REFLEX_` prefixed): `REFLEX_REDIS_URL`
switches the state manager to Redis and lets Reflex start several backend workers.
The app's own settings live in `capital_app/settings.py`.
"""

import os

import reflex as rx

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

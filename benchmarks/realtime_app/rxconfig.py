"""A minimal Reflex app for benchmarks/realtime_mechanisms.py (not the product's UI)."""

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

config = rx.Config(
    app_name="rtbench",
    telemetry_enabled=False,
    disable_plugins=[SitemapPlugin],
)

"""Security headers on every answer of the app: pages, the WebSocket's HTTP answers
and the API alike (issue 17).

The middleware sits in the FastAPI app that Reflex mounts its own backend (the
compiled pages, `/_event`, `/_upload`) into, so it wraps all of them.

The Content-Security-Policy allows what the Reflex frontend needs and nothing from
elsewhere: its build inlines a bootstrap script and Radix/Emotion inline styles,
and `rx.call_script` evaluates JavaScript the server sends (the import page's
localStorage scan), so scripts need 'unsafe-inline' and 'unsafe-eval'; but every
script, style, font, image and connection must come from the app's own origin
(`connect-src 'self'` covers its WebSocket), nothing may frame the app, and no
plugin or foreign <base> can load. HSTS is sent only over TLS (see Settings.hsts).
"""

from __future__ import annotations

from collections.abc import Callable

from reflex.config import get_config
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capital_app.settings import get_settings

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000; includeSubDomains"

_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def _over_tls(scope: Scope, trusted_proxy_hops: Callable[[], int]) -> bool:
    if scope.get("scheme") in ("https", "wss"):
        return True
    if trusted_proxy_hops() <= 0:
        return False  # anyone could send X-Forwarded-Proto
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-proto":
            return value.split(b",")[-1].strip().lower() == b"https"
    return False


class SecurityHeaders:
    """Adds the headers above to every HTTP answer that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._hops: int | None = None

    def _trusted_proxy_hops(self) -> int:
        """Read once: Reflex's get_config() loads rxconfig.py again in every request task
        that has no registration context attached (a profile at c=16 found 11 % of the
        server's time there)."""
        if self._hops is None:
            self._hops = get_config().trusted_proxy_hops
        return self._hops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        mode = get_settings().hsts
        hsts = mode == "on" or (mode == "auto" and _over_tls(scope, self._trusted_proxy_hops))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in _HEADERS if n not in present]
                if hsts and b"strict-transport-security" not in present:
                    headers.append((b"strict-transport-security", HSTS.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def origin_allowed(origin: str | None, environ: dict | None = None) -> bool:
    """May a browser page of `origin` open the app's WebSocket (Socket.IO's Origin check)?

    The app's own origin (the Host it was asked under, over http or https: behind a
    TLS proxy the app itself sees http) and the configured CAPITAL_ALLOWED_ORIGINS;
    never any other site's page.
    """
    if not origin:
        return True  # not a browser page (a script, a health probe): nothing to protect
    origin = origin.rstrip("/")
    if origin in get_settings().allowed_origins:
        return True
    host = (environ or {}).get("HTTP_HOST", "")
    return bool(host) and origin in (f"http://{host}", f"https://{host}")

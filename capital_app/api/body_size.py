"""How large a request body may be, and the one way a 413 says so.

Below both `limits` (the middleware that refuses) and `problems` (the handler that
answers a router's 413), so the two write the same message and import neither.
"""

from __future__ import annotations

from capital_app.service.spreadsheet_files import MAX_SPREADSHEET_BYTES
from capital_app.settings import get_settings

IMPORT_PATH = "/api/capital-history/import"
SPREADSHEET_PATH = "/api/import/spreadsheet"
SPREADSHEET_PREVIEW_PATH = "/api/import/spreadsheet/preview"
# A spreadsheet upload: the file (16 MiB) and its multipart framing.
SPREADSHEET_BODY_BYTES = MAX_SPREADSHEET_BYTES + 64 * 1024
TOO_LARGE_TITLE = "Request body too large"


def body_limit_for(path: str) -> int:
    """The largest body accepted on `path`: the imports' own caps, else the general one."""
    settings = get_settings()
    if path == IMPORT_PATH:
        return settings.max_import_bytes
    if path in (SPREADSHEET_PATH, SPREADSHEET_PREVIEW_PATH):
        return max(SPREADSHEET_BODY_BYTES, settings.max_request_bytes)
    return settings.max_request_bytes


def too_large_detail(path: str) -> str:
    """The 413's detail on `path`."""
    return (
        f"The request body is larger than the {body_limit_for(path):,} bytes this API accepts here."
    )

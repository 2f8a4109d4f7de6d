"""The name of the runtime role the app works as (created by the migrations)."""

from __future__ import annotations

import os
import re

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def runtime_role_name() -> str:
    """CAPITAL_RUNTIME_ROLE or `capital_runtime`; checked, since it is spliced into DDL."""
    name = os.environ.get("CAPITAL_RUNTIME_ROLE", "").strip() or "capital_runtime"
    if not _IDENTIFIER.match(name):
        raise ValueError(f"CAPITAL_RUNTIME_ROLE must be a lower-case SQL identifier, not {name!r}")
    return name

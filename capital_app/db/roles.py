"""The name of the runtime role the app works as (created by the migrations)."""

from __future__ import annotations

import re

from sqlalchemy import Connection

from capital_app.settings import get_settings

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def runtime_role_name() -> str:
    """CAPITAL_RUNTIME_ROLE or `capital_runtime`; checked, since it is spliced into DDL."""
    name = get_settings().runtime_role
    if not _IDENTIFIER.match(name) or len(name) > 57:
        raise ValueError(
            "CAPITAL_RUNTIME_ROLE must be a lower-case SQL identifier of at most 57 characters,"
            f" not {name!r}"
        )
    return name


def login_role_name() -> str:
    """The role the runtime pool logs in as: `<runtime role>_login`.

    It has no rights of its own (NOINHERIT) and may only SET ROLE to the runtime
    role, so even a `RESET ROLE` leaves a session that can read nothing.
    """
    return runtime_role_name() + "_login"


def set_login_password(conn: Connection, password: str) -> None:
    """Give the login role this installation's password (run as the owner)."""
    literal = "'" + password.replace("'", "''") + "'"
    conn.exec_driver_sql(f"ALTER ROLE {login_role_name()} PASSWORD {literal}")

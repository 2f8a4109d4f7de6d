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


def ensure_runtime_roles(conn: Connection) -> None:
    """The runtime role and its login role, as the migrations create them (cluster-wide,
    so a database restored on another server finds the roles its grants name)."""
    role, login = runtime_role_name(), login_role_name()
    conn.exec_driver_sql(
        f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{login}') THEN
        CREATE ROLE {login} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
            NOREPLICATION NOINHERIT;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
DO $$ BEGIN
    EXECUTE 'GRANT {role} TO ' || quote_ident(current_user);
EXCEPTION WHEN OTHERS THEN NULL;
END $$;
DO $$ BEGIN
    GRANT {role} TO {login};
EXCEPTION WHEN OTHERS THEN NULL;
END $$;
"""
    )

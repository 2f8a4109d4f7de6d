"""The floor a Python stack reaches here: a bare FastAPI handler, no auth, no Reflex.

Runs a named query (the very SQL the app runs for that read, captured by
benchmarks/api.py and passed in the BASELINE_QUERIES pickle) through an async psycopg
pool and writes the rows with orjson.
"""

from __future__ import annotations

import os
import pickle
from contextlib import asynccontextmanager
from decimal import Decimal

import orjson
from fastapi import FastAPI
from fastapi.responses import Response
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

QUERIES: dict[str, tuple[str, dict]] = {}


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError


def create_baseline_app() -> FastAPI:
    with open(os.environ["BASELINE_QUERIES"], "rb") as f:  # written by benchmarks/api.py
        QUERIES.update(pickle.load(f))
    pool = AsyncConnectionPool(
        os.environ["BASELINE_DATABASE_URL"],
        min_size=4,
        max_size=10,
        open=False,
        kwargs={"row_factory": dict_row, "autocommit": True},
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await pool.open(wait=True)
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/q/{name}")
    async def run_query(name: str) -> Response:
        sql, params = QUERIES[name]
        async with pool.connection() as conn:
            rows = await (await conn.execute(sql, params)).fetchall()
        return Response(
            orjson.dumps(rows, default=_default, option=orjson.OPT_UTC_Z),
            media_type="application/json",
        )

    return app

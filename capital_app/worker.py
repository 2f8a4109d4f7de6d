"""The webhook delivery worker: procrastinate jobs on our PostgreSQL, and their dispatcher.

`capital-app worker` runs it on its own (for separate hosts); `capital-app run` starts
it as a child process that dies with the launcher. Any number may run: one job per
endpoint runs at a time (procrastinate `lock`), one waits at most (`queueing_lock`).

The dispatcher defers a job for every endpoint that is behind its organization's
revision and due: woken by the history's NOTIFY (`capital_history`) and by resends or
re-enabled endpoints (`capital_webhooks`), and every `CAPITAL_WEBHOOKS_POLL_SECONDS`
(retries whose backoff has passed; changes committed while no worker ran). It reads
only ids across organizations; each job works inside one organization's transaction.

The worker logs in as the runtime login role and switches to the runtime role, like
the app's pool: procrastinate's tables are granted to that role by migration 0009.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from uuid import UUID

import psycopg
import psycopg_pool
from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status

from capital_app.db.engine import libpq_url, runtime_database_url
from capital_app.db.roles import runtime_role_name
from capital_app.service import webhooks
from capital_app.settings import get_settings

log = logging.getLogger("capital_app.worker")
QUEUE = "webhooks"


async def _enter_runtime_role(conn: psycopg.AsyncConnection) -> None:
    await conn.execute(f"SET ROLE {runtime_role_name()}")
    await conn.execute("SET TIME ZONE 'UTC'")
    await conn.commit()


def _conninfo() -> str:
    return libpq_url(runtime_database_url())


def make_app() -> App:
    connector = PsycopgConnector(
        conninfo=_conninfo(), configure=_enter_runtime_role, min_size=1, max_size=6
    )
    app = App(connector=connector)

    @app.task(name="webhooks.deliver", queue=QUEUE)
    async def deliver(organization_id: str, endpoint_id: str) -> int:
        return await asyncio.to_thread(
            webhooks.deliver_endpoint, UUID(organization_id), UUID(endpoint_id)
        )

    return app


async def dispatch_due(app: App) -> int:
    """Defer a delivery job for each endpoint that is behind and due; returns how many."""
    due = await asyncio.to_thread(webhooks.endpoints_due)
    deferred = 0
    task = app.tasks["webhooks.deliver"]
    for org, endpoint in due:
        key = f"webhook:{endpoint}"
        try:
            await task.configure(lock=key, queueing_lock=key).defer_async(
                organization_id=str(org), endpoint_id=str(endpoint)
            )
            deferred += 1
        except AlreadyEnqueued:
            pass  # one job waits already; it will see this change too
    return deferred


STALLED_CHECK_SECONDS = 30.0


async def release_stalled(app: App) -> int:
    """Jobs of a worker that died (no heartbeat for 30 s) would hold their endpoint's
    lock for ever: end them. Nothing is lost: the endpoint's cursor is in our table, and
    the next dispatch defers a fresh job from there."""
    released = 0
    for job in await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=30):
        await app.job_manager.finish_job(job, Status.FAILED, delete_job=True)
        released += 1
    return released


async def _listen(wake: asyncio.Event) -> None:
    """Set `wake` on every committed change or webhook change (reconnects on failure)."""
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(_conninfo(), autocommit=True)
            async with conn:
                await conn.execute(f"SET ROLE {runtime_role_name()}")
                await conn.execute("LISTEN capital_history")
                await conn.execute("LISTEN capital_webhooks")
                wake.set()
                async for _ in conn.notifies():
                    wake.set()
        except (psycopg.Error, OSError) as error:
            log.warning("webhook dispatcher: LISTEN failed (%s); retrying", error)
            await asyncio.sleep(2)


async def _dispatcher(app: App) -> None:
    settings = get_settings()
    wake = asyncio.Event()
    listener = asyncio.create_task(_listen(wake))
    checked_stalled = 0.0
    try:
        while True:
            if time.monotonic() - checked_stalled > STALLED_CHECK_SECONDS:
                checked_stalled = time.monotonic()
                try:
                    if released := await release_stalled(app):
                        log.warning("webhook dispatcher: released %d stalled jobs", released)
                except Exception as error:
                    log.warning("webhook dispatcher: stalled-job check failed: %s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=settings.webhooks_poll_seconds)
            wake.clear()
            try:
                await dispatch_due(app)
            except (psycopg.Error, psycopg_pool.PoolTimeout, OSError, Exception) as error:
                log.warning("webhook dispatcher: %s", error)
                await asyncio.sleep(1)
    finally:
        listener.cancel()


async def run_worker_async(concurrency: int = 4) -> None:
    app = make_app()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                install_signal_handlers=False,
                delete_jobs="successful",
                fetch_job_polling_interval=get_settings().webhooks_poll_seconds,
            )
        )
        dispatcher = asyncio.create_task(_dispatcher(app))
        print("capital-app worker: delivering webhooks", flush=True)
        done, _ = await asyncio.wait(
            [worker, dispatcher, asyncio.create_task(stop.wait())],
            return_when=asyncio.FIRST_COMPLETED,
        )
        dispatcher.cancel()
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await worker
        for finished in done:
            if finished is not worker and finished.exception() is not None:
                raise finished.exception()  # type: ignore[misc]


def run_worker() -> int:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run_worker_async())
    return 0

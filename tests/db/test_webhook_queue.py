"""The webhook job queue (procrastinate, schema from migration 0009) as the runtime role."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text

from capital_app.db.engine import owner_engine
from capital_app.worker import make_app, release_stalled


def test_the_runtime_role_defers_jobs_and_a_dead_workers_job_is_released(database_url):
    app = make_app()
    endpoint = str(uuid.uuid4())
    key = f"webhook:{endpoint}"

    async def scenario() -> tuple[int, int, int]:
        async with app.open_async():
            task = app.tasks["webhooks.deliver"]
            job_id = await task.configure(lock=key, queueing_lock=key).defer_async(
                organization_id=str(uuid.uuid4()), endpoint_id=endpoint
            )
            with owner_engine().begin() as conn:  # a worker took it, then died an hour ago
                worker_id = conn.execute(
                    text(
                        "INSERT INTO procrastinate_workers (last_heartbeat)"
                        " VALUES (now() - interval '1 hour') RETURNING id"
                    )
                ).scalar_one()
                conn.execute(
                    text(
                        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w"
                        " WHERE id = :id"
                    ),
                    {"w": worker_id, "id": job_id},
                )
            released = await release_stalled(app)
            again = await release_stalled(app)
            # The lock is free again: a new job for this endpoint can be deferred and taken.
            await task.configure(lock=key, queueing_lock=key).defer_async(
                organization_id=str(uuid.uuid4()), endpoint_id=endpoint
            )
            return job_id, released, again

    job_id, released, again = asyncio.run(scenario())
    assert released == 1 and again == 0
    with owner_engine().connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
        ).scalar_one()
        todo = conn.execute(
            text("SELECT count(*) FROM procrastinate_jobs WHERE lock = :k AND status = 'todo'"),
            {"k": key},
        ).scalar_one()
    assert left == 0 and todo == 1

"""Scheduled jobs in the serving process: every domain's periodic work, run off the event loop.

Off unless ``job_interval_seconds`` is set (``ygt serve`` sets it); tests and benchmarks run
jobs themselves. Every job is idempotent, so several workers running them is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from sqlalchemy import Engine

from yigongti import booking
from yigongti.db import unit_of_work

log = logging.getLogger("yigongti.jobs")


def run_jobs_once(engine: Engine) -> dict[str, int]:
    """Run every periodic job once, in its own unit of work."""
    with unit_of_work(engine) as session:
        return booking.run_booking_jobs(session)


async def _every(engine: Engine, seconds: int) -> None:
    while True:
        try:
            done = await asyncio.to_thread(run_jobs_once, engine)
            if any(done.values()):
                log.info("jobs: %s", done)
        except Exception:  # a failed run is logged and retried at the next tick
            log.exception("scheduled jobs failed")
        await asyncio.sleep(seconds)


@asynccontextmanager
async def scheduled_jobs(app: FastAPI) -> AsyncIterator[None]:
    """The application's lifespan: start the job loop if configured, stop it at shutdown."""
    seconds = app.state.settings.job_interval_seconds
    task = asyncio.create_task(_every(app.state.engine, seconds)) if seconds > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

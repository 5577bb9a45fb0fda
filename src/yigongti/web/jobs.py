"""Scheduled jobs in the serving process: every domain's periodic work, run off the event loop.

Off unless ``job_interval_seconds`` is set (``ygt serve`` sets it); tests and benchmarks run
jobs themselves. The data center's refresh (export, compute, alerts) runs every
``data_center_minutes`` beside them. Every job is idempotent, so several workers running them
is harmless (the lake's lock serialises two refreshes). The same lifespan runs the audit
chainer thread when ``audit_chain_in_background`` is set (``ygt serve`` sets it too).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack, asynccontextmanager, suppress
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine

from yigongti import analytics, booking, security
from yigongti.db import unit_of_work

log = logging.getLogger("yigongti.jobs")


def run_jobs_once(engine: Engine) -> dict[str, int]:
    """Run every periodic job once, in its own unit of work.

    Audit entries that a stopped chainer left waiting (a killed worker) are chained too.
    """
    with unit_of_work(engine) as session:
        done = booking.run_booking_jobs(session)
    return {**done, "audit_chained": security.chain_pending(engine)}


def refresh_data_center_once(engine: Engine, lake_dir: Path) -> dict[str, int]:
    """Export what changed into the lake, compute the indicators, open alerts."""
    with unit_of_work(engine) as session:
        done = analytics.refresh_data_center(
            session, security.system_actor("jobs"), analytics.Lake(lake_dir)
        )
    return {
        "lake_rows": done.export.rows,
        "indicator_values": done.computed.rows,
        "alerts_opened": done.alerts_opened,
    }


async def _every(seconds: int, job: Callable[[], dict[str, int]], name: str) -> None:
    while True:
        try:
            done = await asyncio.to_thread(job)
            if any(done.values()):
                log.info("%s: %s", name, done)
        except Exception:  # a failed run is logged and retried at the next tick
            log.exception("scheduled %s failed", name)
        await asyncio.sleep(seconds)


@asynccontextmanager
async def scheduled_jobs(app: FastAPI) -> AsyncIterator[None]:
    """The application's lifespan: start the job loop if configured, stop it at shutdown."""
    settings, engine = app.state.settings, app.state.engine
    tasks = []
    if settings.job_interval_seconds > 0:
        tasks.append(
            _every(settings.job_interval_seconds, partial(run_jobs_once, engine), "booking jobs")
        )
        if settings.data_center_minutes > 0:
            refresh = partial(refresh_data_center_once, engine, settings.lake_dir)
            tasks.append(_every(settings.data_center_minutes * 60, refresh, "data center"))
    running = [asyncio.create_task(t) for t in tasks]
    with ExitStack() as stack:
        if settings.audit_chain_in_background:
            stack.enter_context(security.chaining_in_background(engine))
        try:
            yield
        finally:
            for task in running:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task

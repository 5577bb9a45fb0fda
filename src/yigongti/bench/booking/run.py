"""The whole bench: setup, server, rush, audit and pgbench in order, its figures and progress."""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from yigongti.bench.booking.audit import Audit, audit_bookings
from yigongti.bench.booking.pgbench import DEFAULT_PG, pg_database, pgbench, pgbench_clients
from yigongti.bench.booking.rush import RushResult, rush
from yigongti.bench.booking.server import (
    database_cpu_seconds,
    free_port,
    group_cpu_seconds,
    start_server,
    stop_server,
    wait_healthy,
    wait_idle,
)
from yigongti.bench.booking.setup import Progress, _quiet, prepare


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile, rounded to 0.1; ``None`` (JSON null) of nothing."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))], 1)


def summarise(
    result: RushResult, audit: Audit, *, clients: int, slots: int, workers: int
) -> dict[str, Any]:
    """The figures of a rush and its audit (pgbench's are added by ``run``)."""
    booked = [a for a in result.answers if a.outcome == "booked"]
    latencies = [a.seconds * 1000 for a in booked]
    first = min((a.started for a in result.answers), default=0.0)
    last = max((a.started + a.seconds for a in booked), default=first)
    span = last - first
    outcomes = Counter(a.outcome for a in result.answers)
    return {
        "bench": "booking",
        "clients": clients,
        "slots": slots,
        "workers": workers,
        "bookings": len({a.booking_id for a in booked}),
        "bookings_per_s": round(len(booked) / span, 1) if span > 0 else 0.0,
        "p50_ms": _percentile(latencies, 0.50),
        "p95_ms": _percentile(latencies, 0.95),
        "p99_ms": _percentile(latencies, 0.99),
        "errors": outcomes["error"] + outcomes["unknown"],
        "no_answer": outcomes["unknown"],
        "full_answers": outcomes["full"],
        "other_409": outcomes["conflict"],
        "requests": len(result.answers),
        "rush_seconds": round(span, 2),
        "client_cores": round(result.client_cpu_seconds / result.wall_seconds, 3)
        if result.wall_seconds
        else 0.0,
        "server_cores": round(result.server_cpu_seconds / result.wall_seconds, 3)
        if result.wall_seconds
        else 0.0,
        "server_cpu_ms_per_booking": round(1000 * result.server_cpu_seconds / len(booked), 1)
        if booked
        else 0.0,
        "database_cpu_ms_per_booking": round(1000 * result.database_cpu_seconds / len(booked), 1)
        if booked
        else 0.0,
        "stored": audit.stored,
        "oversold": audit.oversold,
        "double_booked": audit.double_booked,
        "lost": audit.lost,
    }


def run(
    clients: int = 200,
    slots: int = 2_000,
    seconds: int = 30,
    workers: int = 2,
    *,
    admin_url: str = DEFAULT_PG,
    pgbench_scale: int = 10,
    progress: Progress | None = None,
    on_server: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> dict[str, Any]:
    """The whole bench in a database of its own, dropped at the end (even on failure).

    ``on_server(process)`` is called once the server answers, before the rush (e.g. to attach
    a profiler to it).
    """
    from yigongti.db import make_engine

    progress = progress or _quiet

    secret = secrets.token_urlsafe(48)
    name = f"ygt_bench_{os.getpid()}"
    with pg_database(admin_url, name) as url, tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        engine = make_engine(url)
        try:
            fixture = prepare(engine, slots, secret, progress=progress)
            port = free_port()
            progress("server", 0, 1)
            server = start_server(url, secret, data_dir, port, workers)
            try:
                wait_healthy(port, server, data_dir, timeout=300)
                wait_idle(server.pid)
                progress("server", 1, 1)
                if on_server is not None:
                    on_server(server)
                progress("rush", 0, slots)
                load = os.getloadavg()[0]
                cpu, db_cpu = group_cpu_seconds(server.pid), database_cpu_seconds(name)
                result = rush(port, fixture, clients, seconds)
                result.server_cpu_seconds = group_cpu_seconds(server.pid) - cpu
                # The server's connections stay open until it stops: their backends' CPU.
                result.database_cpu_seconds = database_cpu_seconds(name) - db_cpu
                progress("rush", sum(a.outcome == "booked" for a in result.answers), slots)
            finally:
                stop_server(server)
            answered = [a.booking_id for a in result.answers if a.booking_id is not None]
            audit = audit_bookings(engine, fixture.session_ids, answered)
        finally:
            engine.dispose()
        figures = summarise(result, audit, clients=clients, slots=slots, workers=workers)
        figures["load_before"] = round(load, 2)
        progress("pgbench", 0, 1)
        reference_clients = pgbench_clients(admin_url, clients)
        tps = pgbench(url, reference_clients, seconds, pgbench_scale)
        progress("pgbench", 1, 1)
    figures["pgbench_tps"] = round(tps, 1)
    figures["pgbench_clients"] = reference_clients
    figures["ratio"] = round(figures["bookings_per_s"] / tps, 3) if tps else 0.0
    return figures


@contextlib.contextmanager
def rich_progress() -> Iterator[Progress]:
    """A ``progress(stage, done, total)`` that draws rich progress bars on the terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bars

    with Bars(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as bars:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield report

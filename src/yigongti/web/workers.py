"""Serving: one process, or several workers each listening on its own socket (``SO_REUSEPORT``).

Two things decide how the 08:00 burst of connections is shared out (measured with the booking
bench, 200 clients connecting at once):

- **Which worker.** uvicorn's own workers share one listening socket, and whichever worker's
  loop is awake first accepts what waits on it: one worker of two took 104 of 160 connections,
  so its residents waited about twice as long. Here every worker binds its own socket to the
  same address with ``SO_REUSEPORT`` and the kernel spreads new connections evenly (by a hash
  of the client's address and port). Only processes of the same user can bind beside us.
- **How fast a worker accepts.** uvloop (libuv since 1.45) accepts one connection per turn of
  its loop; with requests in progress a turn takes milliseconds, and the last connections of
  a burst waited up to 1.3 s before their request was even read. asyncio's own loop accepts
  every waiting connection at once, and served the booking rush at the same CPU per request,
  so the server runs on it (``LOOP``).

The supervisor starts the workers, starts another when one dies, and stops them all on SIGINT
or SIGTERM. Where the platform has no ``SO_REUSEPORT``, uvicorn's own workers serve.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import signal
import socket
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

LOOP = "asyncio"  # accepts a burst of connections at once (see above)
STARTUP_FAILED = 3  # uvicorn's exit code when the application's startup fails
STOP_GRACE_SECONDS = 15.0  # how long stopping workers may finish their requests
CRASH_LOOP_SECONDS = 10.0  # a worker that dies sooner is started again only after a pause


def built_app() -> FastAPI:
    """The application, imported and built with the garbage collector paused (importing it
    allocates a great many long-lived objects: collecting them meanwhile cost about 0.4 s),
    then frozen by :func:`web.app.app_factory`."""
    gc.disable()
    try:
        from yigongti.web.app import app_factory
    finally:
        gc.enable()
    return app_factory()


def bound_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT``, not yet listening.

    The server listens on it once its application has started, so the kernel sends no
    connection to a worker that cannot serve it yet.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _work(host: str, port: int) -> None:
    """One worker: its application, then its own socket and a uvicorn server on it."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(built_app(), log_level="warning", loop=LOOP))
    server.run(sockets=[bound_socket(host, port)])
    if not server.started:
        raise SystemExit(STARTUP_FAILED)


def serve(host: str, port: int, workers: int = 1) -> int:
    """Serve on ``host:port`` until SIGINT or SIGTERM, in this process or in ``workers``
    worker processes; the exit code.

    A worker that dies is started again; one whose application fails to start stops them all
    (exit code 3, as uvicorn's), since its siblings would fail the same way.
    """
    import uvicorn

    if workers == 1:
        uvicorn.run(built_app(), host=host, port=port, log_level="warning", loop=LOOP)
        return 0
    if not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(
            "yigongti.web.app:app_factory",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            loop=LOOP,
        )
        return 0
    # Bind once here first: a port taken by a socket without SO_REUSEPORT fails now, clearly.
    bound_socket(host, port).close()
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    processes = [context.Process(target=_work, args=(host, port)) for _ in range(workers)]
    started = [time.monotonic()] * workers
    for process in processes:
        process.start()
    code = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for i, process in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                if process.exitcode == STARTUP_FAILED:
                    log.error("a worker's application failed to start; stopping")
                    stopping, code = True, STARTUP_FAILED
                    break
                log.warning(
                    "worker %s exited (%s); starting another", process.pid, process.exitcode
                )
                if time.monotonic() - started[i] < CRASH_LOOP_SECONDS:
                    time.sleep(1.0)  # one that dies at once would otherwise restart in a loop
                processes[i] = context.Process(target=_work, args=(host, port))
                processes[i].start()
                started[i] = time.monotonic()
    finally:
        _stop_all(processes)
        for s, handler in previous.items():
            signal.signal(s, handler)
    return code


def _stop_all(processes: list[multiprocessing.process.BaseProcess]) -> None:
    """SIGTERM every live worker, wait for them to finish their requests, kill the rest."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()

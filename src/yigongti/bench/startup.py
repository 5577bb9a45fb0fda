"""How fast ``ygt serve`` answers ``/healthz`` and how much memory it holds when idle.

The reference, started the same way in the same run, is a bare FastAPI app under Uvicorn that
answers ``/healthz``: the floor any Python web service on this machine pays.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REFERENCE_APP = """
from fastapi import FastAPI
import uvicorn
app = FastAPI()
@app.get("/healthz")
def healthz():
    return {"status": "ok"}
uvicorn.run(app, host="127.0.0.1", port=int(__import__("sys").argv[1]), log_level="warning")
"""


@dataclass(frozen=True)
class StartupRun:
    """One start of a server: seconds until /healthz answered, idle resident memory."""

    seconds: float
    rss_mb: float


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_start(
    command: list[str],
    port: int,
    env: dict[str, str],
    idle_seconds: float = 3.0,
    timeout: float = 60.0,
) -> StartupRun:
    """Start ``command``, poll ``/healthz`` until it answers, wait idle, read RSS, stop it."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {process.stderr.read().decode()[-500:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - started > timeout:
                raise RuntimeError("server did not answer /healthz in time")
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        time.sleep(idle_seconds)
        return StartupRun(seconds, _rss_mb(process.pid))
    finally:
        process.terminate()
        process.wait(timeout=10)


def run(data_dir: Path, repeat: int = 3) -> dict[str, float | int | str]:
    """Start ``ygt serve`` on ``data_dir`` and the reference ``repeat`` times each; medians."""
    env = {**os.environ, "YGT_DATA_DIR": str(data_dir)}
    env.pop("YGT_DATABASE_URL", None)
    ours, reference = [], []
    for _ in range(repeat):
        port = free_port()
        ours.append(
            time_start(
                [sys.executable, "-m", "yigongti.cli", "serve", "--port", str(port)], port, env
            )
        )
        port = free_port()
        reference.append(time_start([sys.executable, "-c", REFERENCE_APP, str(port)], port, env))
    serve_s = statistics.median(r.seconds for r in ours)
    reference_s = statistics.median(r.seconds for r in reference)
    return {
        "bench": "startup",
        "repeat": repeat,
        "serve_seconds": round(serve_s, 3),
        "serve_rss_mb": round(statistics.median(r.rss_mb for r in ours), 1),
        "reference_seconds": round(reference_s, 3),
        "reference_rss_mb": round(statistics.median(r.rss_mb for r in reference), 1),
        "ratio": round(serve_s / reference_s, 2),
    }

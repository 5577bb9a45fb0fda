"""``ygt serve`` for the rush and the crash test: start it, wait for it, measure it, stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    database_url: str, secret: str, data_dir: Path, port: int, workers: int = 1
) -> subprocess.Popen[bytes]:
    """``ygt serve`` on 127.0.0.1:``port``, without scheduled jobs, logging to data_dir/serve.log.

    It leads its own process group, so it (and its worker processes) can be killed together
    by its own pid.
    """
    env = {
        **os.environ,
        "YGT_DATABASE_URL": database_url,
        "YGT_SECRET_KEY": secret,
        "YGT_DATA_DIR": str(data_dir),
    }
    command = [sys.executable, "-m", "yigongti.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--jobs-every", "0"]
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "serve.log").open("ab") as log:
        return subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def server_log(data_dir: Path, tail: int = 2_000) -> str:
    """The end of the server's log."""
    path = data_dir / "serve.log"
    return path.read_text(errors="replace")[-tail:] if path.exists() else ""


def wait_healthy(
    port: int, process: subprocess.Popen[bytes], data_dir: Path, timeout: float = 90.0
) -> float:
    """Poll ``/healthz`` until it answers; seconds waited. Raises if the server dies or hangs."""
    started = time.monotonic()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"ygt serve exited ({process.returncode}):\n{server_log(data_dir)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                if reply.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"ygt serve did not answer /healthz:\n{server_log(data_dir)}")
        time.sleep(0.1)


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user and system) of the live processes of process group ``pgid`` (Linux)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds(database: str) -> float:
    """CPU time of the live PostgreSQL backends serving ``database`` on this host (Linux; 0 if
    the server runs elsewhere): their process titles read ``postgres: ... <database> ...``."""
    total = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            title = (proc / "cmdline").read_bytes()
            if not title.startswith(b"postgres:") or f" {database} ".encode() not in title:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def wait_idle(pgid: int, timeout: float = 120.0) -> None:
    """Until the processes of group ``pgid`` are idle (under 5% of a core for a second).

    ``/healthz`` answers as soon as one worker is up; the others may still be importing, and
    keep-alive connections made meanwhile would all stay on the first worker.
    """
    deadline = time.monotonic() + timeout
    quiet, last = 0, group_cpu_seconds(pgid)
    while quiet < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
        now_cpu = group_cpu_seconds(pgid)
        quiet = quiet + 1 if now_cpu - last < 0.025 else 0
        last = now_cpu


def kill_server(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server and its workers (its process group), as a crash would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop_server(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Stop the server gracefully (SIGTERM); kill its process group if it does not stop."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_server(process)

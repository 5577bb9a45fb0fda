"""Browser tests: a small demo county served by ``ygt serve``, driven by Debian's Chromium.

The demo is built once per session with ``ygt demo --no-serve --residents 300`` into a
temporary data dir (``YGT_E2E_DEMO=<dir>`` reuses a copy of a demo built before, to iterate
faster). Every test gets a fresh browser context, so logins and language choices never leak.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, StorageState, sync_playwright
from sqlalchemy import Engine

from tests.e2e.support import Account
from yigongti.db import make_engine

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DEMO_RESIDENTS = 300
ON_CI = os.environ.get("CI", "").lower() == "true"
YGT = Path(sys.executable).with_name("ygt")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder drives a browser."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


def _build_demo(data_dir: Path) -> None:
    prebuilt = os.environ.get("YGT_E2E_DEMO")
    if prebuilt:
        shutil.copytree(prebuilt, data_dir, dirs_exist_ok=True)
        return
    env = {k: v for k, v in os.environ.items() if k != "YGT_DATABASE_URL"}
    command = [str(YGT), "demo", "--no-serve", "--residents", str(DEMO_RESIDENTS)]
    built = subprocess.run(
        [*command, "--data-dir", str(data_dir)],
        cwd=data_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if built.returncode != 0:
        pytest.fail(f"ygt demo failed ({built.returncode}):\n{built.stdout}\n{built.stderr}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"ygt serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"ygt serve did not answer /healthz within 90 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data dir of the demo county with one account per role."""
    data_dir = tmp_path_factory.mktemp("demo")
    _build_demo(data_dir)
    return data_dir


@pytest.fixture(scope="session")
def demo_engine(demo_dir: Path) -> Iterator[Engine]:
    """The demo's database, for tests that arrange their data through the services.

    The server reads the same SQLite file (WAL), so what a test commits its pages show.
    """
    engine = make_engine(f"sqlite:///{(demo_dir / 'yigongti.db').resolve()}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def base_url(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``ygt serve`` on the demo, on a free port of 127.0.0.1."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "YGT_DATABASE_URL"}
    env["YGT_DATA_DIR"] = str(demo_dir)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(YGT), "serve", "--port", str(port)],
            cwd=demo_dir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def accounts(demo_dir: Path) -> dict[str, Account]:
    """The demo accounts by role, as ``ygt demo`` wrote them."""
    rows = json.loads((demo_dir / "demo-accounts.json").read_text())
    return {row["role"]: Account(row["role"], row["username"], row["password"]) for row in rows}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        if ON_CI:
            pytest.fail(f"{CHROMIUM} is required on CI (CI=true) but is missing")
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def open_context(browser: Browser, base_url: str) -> Callable[..., BrowserContext]:
    """``open_context(**options)``: a fresh browser context (no cookies) on the demo server."""

    def _open(**options: Any) -> BrowserContext:
        context = browser.new_context(base_url=base_url, locale="zh-CN", **options)
        context.set_default_timeout(15_000)
        return context

    return _open


@pytest.fixture
def new_page(open_context: Callable[..., BrowserContext]) -> Iterator[Callable[..., Page]]:
    """``new_page(width=1280, height=900)``: a page in a fresh context (no login, Chinese)."""
    contexts = []

    def _open(width: int = 1280, height: int = 900) -> Page:
        context = open_context(viewport={"width": width, "height": height})
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def log_in(page: Page, account: Account) -> None:
    """Log in through the login page and wait for the role's home page."""
    page.goto("/login")
    page.get_by_test_id("username").fill(account.username)
    page.get_by_test_id("password").fill(account.password)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id(f"home-{account.role}").wait_for()


@pytest.fixture
def login(accounts: dict[str, Account]) -> Callable[[Page, str], None]:
    """``login(page, role)``: log in with that role's demo account and land on the home page."""

    def _login(page: Page, role: str) -> None:
        log_in(page, accounts[role])

    return _login


@pytest.fixture(scope="session")
def _sessions(
    open_context: Callable[..., BrowserContext], accounts: dict[str, Account]
) -> Callable[[str], StorageState]:
    """The browser state (session cookie) of one login per role, made on first use."""
    states: dict[str, StorageState] = {}

    def _state(role: str) -> StorageState:
        if role not in states:
            context = open_context()
            log_in(context.new_page(), accounts[role])
            states[role] = context.storage_state()
            context.close()
        return states[role]

    return _state


@pytest.fixture
def as_role(
    open_context: Callable[..., BrowserContext], _sessions: Callable[[str], StorageState]
) -> Iterator[Callable[..., Page]]:
    """``as_role(role, width, height, path="/")``: a page already logged in, opened at ``path``.

    Tests share one login per role to stay fast, so they must not log out or switch the
    language (both change that shared session); such tests use ``new_page`` and ``login``.
    """
    contexts = []

    def _open(role: str, width: int = 1280, height: int = 900, *, path: str = "/") -> Page:
        context = open_context(
            viewport={"width": width, "height": height}, storage_state=_sessions(role)
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(path)
        page.get_by_test_id("page-title").wait_for()
        return page

    yield _open
    for context in contexts:
        context.close()

"""Shared names of the browser tests: demo accounts, fixture signatures, identifier patterns."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page

MASKED_ID = re.compile(r"\d{6}\*{8}\d{3}[\dX]")
FULL_ID = re.compile(r"^\d{17}[\dX]$")

NewPage = Callable[..., Page]
Login = Callable[[Page, str], None]
AsRole = Callable[..., Page]


@dataclass(frozen=True)
class Account:
    """A demo login as ``ygt demo`` writes it to ``demo-accounts.json``."""

    role: str
    username: str
    password: str

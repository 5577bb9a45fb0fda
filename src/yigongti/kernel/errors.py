"""Errors every service raises; each face maps them to its own wire format.

Every error carries a Chinese and an English message: the UI shows the one of the user's
language, the API answers with both.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldError:
    """One offending input field, with what is wrong in both languages."""

    field: str
    en: str
    zh: str


@dataclass
class DomainError(Exception):
    """Base of the errors a service may raise."""

    en: str
    zh: str
    fields: list[FieldError] = field(default_factory=list)
    status = 400
    code = "invalid"

    def __str__(self) -> str:
        return self.en

    def message(self, lang: str = "zh") -> str:
        """The message in ``lang`` (``zh`` or ``en``)."""
        return self.zh if lang.startswith("zh") else self.en


class Invalid(DomainError):
    """The input breaks a rule (422)."""

    status = 422
    code = "invalid"


class NotFound(DomainError):
    """No such record, or the actor may not know it exists (404)."""

    status = 404
    code = "not-found"


class Forbidden(DomainError):
    """The actor may not do this (403)."""

    status = 403
    code = "forbidden"


class Conflict(DomainError):
    """The request clashes with the current state (409)."""

    status = 409
    code = "conflict"


class Unauthenticated(DomainError):
    """No valid credentials (401)."""

    status = 401
    code = "unauthenticated"


class Locked(DomainError):
    """The account is locked after repeated failed logins (423)."""

    status = 423
    code = "locked"


def invalid_field(name: str, en: str, zh: str) -> Invalid:
    """An ``Invalid`` error about a single field."""
    return Invalid(en=en, zh=zh, fields=[FieldError(name, en, zh)])

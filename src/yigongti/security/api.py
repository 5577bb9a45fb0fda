"""JSON API of security: tokens, the current account, accounts, the audit log."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BeforeValidator

from yigongti.db import unit_of_work
from yigongti.kernel import invalid_field
from yigongti.kernel.paging import Page
from yigongti.security import (
    AuditQuery,
    active_user,
    authenticate,
    authenticate_client,
    count_users,
    create_user,
    issue_token,
    list_users,
    search_audit,
    set_user_active,
)
from yigongti.security.schemas import (
    AuditEventOut,
    MeOut,
    OAuthErrorOut,
    TokenOut,
    UserActiveIn,
    UserIn,
    UserOut,
)
from yigongti.web.deps import ActorDep, SessionDep, client_of
from yigongti.web.errors import PROBLEM

router = APIRouter(tags=["security"])
# Bounded: a database cannot skip more rows than fit its integer type (a 500 otherwise).
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def _not_a_number(value: object) -> object:
    """Pydantic reads a bare number as Unix seconds: '20250301' would mean 1970-08-23."""
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("expected an ISO 8601 date-time such as 2025-03-01T08:00, not a number")
    return value


Moment = Annotated[
    datetime | None,
    BeforeValidator(_not_a_number),
    Query(description="ISO 8601; without a zone it is China Standard Time"),
]


# The grant's refusals: OAuth2 error JSON (client credentials) or a problem (password grant).
_REFUSAL = {
    "model": OAuthErrorOut,
    "description": "OAuth2 error (client credentials grant) or a problem (password grant)",
    "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


@router.post("/auth/token", response_model=TokenOut, responses={400: _REFUSAL, 401: _REFUSAL})
def token(
    request: Request,
    grant_type: Annotated[str, Form(max_length=40)] = "password",
    username: Annotated[str | None, Form(max_length=64)] = None,
    password: Annotated[str | None, Form(max_length=128)] = None,
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=128)] = None,
    scope: Annotated[str, Form(max_length=200)] = "",
) -> TokenOut | JSONResponse:
    """OAuth2 token endpoint: the password grant for people, client credentials for machines.

    ``grant_type=client_credentials`` takes ``client_id`` and ``client_secret`` as form fields
    or as HTTP Basic credentials; it is open to machine accounts (role ``integration``) only
    and answers a refusal as OAuth2 error JSON (``{"error": "invalid_client"}``, 401).
    """
    settings = request.app.state.settings
    if grant_type == "client_credentials":
        return _client_credentials(request, client_id, client_secret)
    if grant_type != "password":
        return _oauth_error(400, "unsupported_grant_type", f"grant_type {grant_type!r}")
    if not username or not password:
        raise invalid_field(
            "username" if not username else "password",
            "The password grant needs username and password",
            "密码模式须提供用户名和密码",
        )
    # Its own unit of work: a failed attempt is stored even though the request fails.
    with unit_of_work(request.app.state.engine) as session:
        outcome = authenticate(
            session,
            username,
            password,
            client=client_of(request),
            max_failures=settings.lockout_failures,
            lock_minutes=settings.lockout_minutes,
        )
    if outcome.error:
        raise outcome.error
    assert outcome.user is not None
    return TokenOut(
        access_token=issue_token(outcome.user.id, request.app.state.secret, settings.token_minutes),
        expires_in=settings.token_minutes * 60,
    )


def _client_credentials(
    request: Request, client_id: str | None, client_secret: str | None
) -> TokenOut | JSONResponse:
    basic = _basic_credentials(request.headers.get("authorization", ""))
    if basic is not None:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        return _oauth_error(401, "invalid_client", "client_id and client_secret are required")
    settings = request.app.state.settings
    with unit_of_work(request.app.state.engine) as session:
        outcome = authenticate_client(
            session,
            client_id,
            client_secret,
            client=client_of(request),
            max_failures=settings.lockout_failures,
            lock_minutes=settings.lockout_minutes,
        )
    if outcome.error or outcome.user is None:
        error = outcome.error
        return _oauth_error(401, "invalid_client", f"{error.en} / {error.zh}" if error else "")
    return TokenOut(
        access_token=issue_token(outcome.user.id, request.app.state.secret, settings.token_minutes),
        expires_in=settings.token_minutes * 60,
    )


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` of an HTTP Basic ``Authorization`` header (RFC 6749 2.3.1)."""
    kind, _, encoded = header.partition(" ")
    if kind.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    user, colon, secret = decoded.partition(":")
    return (unquote_plus(user), unquote_plus(secret)) if colon else None


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Basic"} if status == 401 else None
    body = {"error": error, "error_description": description}
    return JSONResponse(body, status, headers=headers)


@router.get("/me", response_model=MeOut)
def me(session: SessionDep, actor: ActorDep) -> MeOut:
    """The logged-in account."""
    assert actor.user_id is not None
    out = MeOut.model_validate(active_user(session, actor.user_id))
    out.permissions = sorted(actor.role_def.permissions)
    return out


@router.get("/users", response_model=Page[UserOut])
def users(
    session: SessionDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> Page[UserOut]:
    """Accounts (user managers only)."""
    rows = list_users(session, actor, limit=limit, offset=offset)
    return Page(
        total=count_users(session, actor),
        limit=limit,
        offset=offset,
        items=[UserOut.model_validate(u) for u in rows],
    )


@router.post("/users", response_model=UserOut, status_code=201)
def new_user(body: UserIn, session: SessionDep, actor: ActorDep) -> UserOut:
    """Create an account (user managers only)."""
    return UserOut.model_validate(create_user(session, actor, **body.model_dump()))


@router.patch("/users/{user_id}", response_model=UserOut)
def user_active(
    user_id: uuid.UUID, body: UserActiveIn, session: SessionDep, actor: ActorDep
) -> UserOut:
    """Enable or disable an account; enabling also lifts a lockout."""
    return UserOut.model_validate(set_user_active(session, actor, user_id, body.active))


@router.get("/audit", response_model=Page[AuditEventOut])
def audit_log(
    session: SessionDep,
    actor: ActorDep,
    actor_name: Annotated[str | None, Query(max_length=64)] = None,
    person_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=24)] = None,
    since: Moment = None,
    until: Moment = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> Page[AuditEventOut]:
    """Search the audit log, newest first (auditors only)."""
    query = AuditQuery(actor_name, person_id, action, since, until, limit, offset)
    total, rows = search_audit(session, actor, query)
    return Page(
        total=total,
        limit=limit,
        offset=offset,
        items=[AuditEventOut.model_validate(r) for r in rows],
    )

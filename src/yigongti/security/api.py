"""JSON API of security: tokens, the current account, accounts, the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BeforeValidator

from yigongti.db import unit_of_work
from yigongti.kernel.paging import Page
from yigongti.security import (
    AuditQuery,
    active_user,
    authenticate,
    count_users,
    create_user,
    issue_token,
    list_users,
    search_audit,
    set_user_active,
)
from yigongti.security.schemas import AuditEventOut, MeOut, TokenOut, UserActiveIn, UserIn, UserOut
from yigongti.web.deps import ActorDep, SessionDep, client_of

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


@router.post("/auth/token", response_model=TokenOut)
def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenOut:
    """OAuth2 password flow: exchange a username and password for a bearer token."""
    settings = request.app.state.settings
    # Its own unit of work: a failed attempt is stored even though the request fails.
    with unit_of_work(request.app.state.engine) as session:
        outcome = authenticate(
            session,
            form.username,
            form.password,
            client=client_of(request),
            max_failures=settings.lockout_failures,
            lock_minutes=settings.lockout_minutes,
        )
    if outcome.error:
        raise outcome.error
    assert outcome.user is not None
    return TokenOut(
        access_token=issue_token(outcome.user.id, request.app.state.secret, settings.token_minutes)
    )


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

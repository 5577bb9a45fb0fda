"""FastAPI dependencies: the unit of work and the acting user of a request."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from yigongti.db import unit_of_work
from yigongti.kernel import Unauthenticated, invalid_field
from yigongti.security import Actor, active_actor, active_user, actor_for, user_id_of

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request, committed before the response is sent.

    Declared with ``scope="function"`` so a client never hears of a write that is not stored.
    """
    with unit_of_work(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def client_of(request: Request) -> str | None:
    """The client's address as seen by the server."""
    return request.client.host if request.client else None


def get_actor(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2)],
) -> Actor:
    """The logged-in user of a bearer token."""
    if not token:
        raise Unauthenticated(
            en="Log in first: send 'Authorization: Bearer <token>'",
            zh="请先登录（请求头需带 Authorization: Bearer 令牌）",
        )
    user = active_user(session, user_id_of(token, request.app.state.secret))
    return actor_for(user, client_of(request))


ActorDep = Annotated[Actor, Depends(get_actor)]

T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    """The holder of a valid token, before his account is looked up: decoded on the event loop.

    :meth:`run` does the rest of a request in one worker thread: the unit of work, the
    account (still refused at once if disabled), the service call and the commit. Endpoints on
    the hot path use it instead of ``SessionDep`` and ``ActorDep``, which take three hand-offs
    to worker threads more per request (session, actor, endpoint, commit).
    """

    user_id: uuid.UUID
    client: str | None
    engine: Engine

    async def run(self, work: Callable[[Session, Actor], T]) -> T:
        """``work(session, actor)`` in one unit of work, committed before it returns."""
        return await run_in_threadpool(self._run, work)

    def _run(self, work: Callable[[Session, Actor], T]) -> T:
        with unit_of_work(self.engine) as session:
            actor = active_actor(session, self.user_id, self.client)
            return work(session, actor)


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, as ``oauth2`` reads it."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


async def get_caller(request: Request, token: Annotated[str | None, Depends(oauth2)]) -> Caller:
    """The user a bearer token names; ``Unauthenticated`` without a valid one."""
    return caller_of(request, token)


def caller_of(request: Request, token: str | None) -> Caller:
    """The :class:`Caller` of ``token`` sent with ``request``; ``Unauthenticated`` if not valid."""
    if not token:
        raise Unauthenticated(
            en="Log in first: send 'Authorization: Bearer <token>'",
            zh="请先登录（请求头需带 Authorization: Bearer 令牌）",
        )
    user_id = user_id_of(token, request.app.state.secret)
    return Caller(user_id, client_of(request), request.app.state.engine)


CallerDep = Annotated[Caller, Depends(get_caller)]


def _nul_in(value: object, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """The path to the first text in ``value`` (JSON-like data) that holds U+0000, if any."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        pairs = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list | tuple):
        pairs = [(str(i), v) for i, v in enumerate(value)]
    else:
        return None
    for key, item in pairs:
        found = _nul_in(key, path) or _nul_in(item, (*path, key))
        if found is not None:
            return found
    return None


def _nul_in_pairs(pairs: list[tuple[str, object]], *prefix: str) -> tuple[str, ...] | None:
    """The name of the first (name, value) pair of a query or form that holds U+0000."""
    for key, value in pairs:
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            return (*prefix, key)
    return None


async def refuse_nul_characters(request: Request) -> None:
    """Refuse U+0000 in any text of the request (query, JSON or form).

    PostgreSQL cannot store or even compare such text: the driver would fail and the client
    get a 500. No person types it, so it is refused at the edge as invalid input.
    """
    found = _nul_in_pairs(request.query_params.multi_items(), "query")
    content_type = request.headers.get("content-type", "")
    if found is None and content_type.startswith("application/json"):
        body = await request.body()
        # JSON carries U+0000 only raw (invalid) or escaped as "\u0000": parse only then.
        if b"\x00" in body or b"\\u0000" in body:
            with suppress(ValueError):  # malformed JSON: FastAPI answers it as invalid itself
                found = _nul_in(json.loads(body))
    elif found is None and content_type.startswith("application/x-www-form-urlencoded"):
        found = _nul_in_pairs((await request.form()).multi_items())
    if found is not None:
        raise invalid_field(
            ".".join(found) or "body",
            "Text may not contain the NUL character (U+0000)",
            "文本中不能包含空字符（U+0000）",
        )

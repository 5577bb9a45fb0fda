"""FastAPI dependencies: the unit of work and the acting user of a request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from yigongti.db import unit_of_work
from yigongti.kernel import Unauthenticated
from yigongti.security import Actor, active_user, actor_for, user_id_of

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

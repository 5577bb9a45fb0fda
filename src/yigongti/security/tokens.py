"""Signed bearer tokens (JWT, HS256) for API clients and UI sessions."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt

from yigongti.kernel import Unauthenticated, now

_ALGORITHM = "HS256"


def issue_token(user_id: uuid.UUID, secret: str, minutes: int) -> str:
    """A token naming ``user_id``, valid for ``minutes``."""
    issued = now()
    claims = {"sub": str(user_id), "iat": issued, "exp": issued + timedelta(minutes=minutes)}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def user_id_of(token: str, secret: str) -> uuid.UUID:
    """The user a valid token names; ``Unauthenticated`` if expired, forged or malformed."""
    try:
        claims = jwt.decode(token, secret, algorithms=[_ALGORITHM])
        return uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise Unauthenticated(
            en="Access token is invalid or expired; log in again",
            zh="访问令牌无效或已过期，请重新登录",
        ) from exc

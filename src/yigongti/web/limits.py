"""Limits at the edge: the request body size (problem+json 413) and API admission."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yigongti.web.errors import BodyTooLarge, too_large


class BodyLimit:
    """Refuse bodies over ``max_bytes``, by Content-Length or while they stream in.

    ``per_path`` raises (or lowers) the limit for paths that start with a prefix, e.g. the
    FHIR bulk ``$import`` that takes whole NDJSON files; the longest matching prefix wins.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = sorted((per_path or {}).items(), key=lambda p: -len(p[0]))

    def limit_of(self, path: str) -> int:
        """The body limit of a request to ``path``."""
        return next((n for prefix, n in self.per_path if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope.get("path", ""))
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await too_large(limit, scope.get("path", ""))(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # Raised outside a FastAPI route (whose handler answers it), e.g. in a mounted app.
            if not started:
                await too_large(limit, scope.get("path", ""))(scope, receive, send)


class Admission:
    """At most as many requests under ``prefix`` in progress at once as ``slots`` lets in; the
    rest wait in line.

    A request takes a database connection in one worker thread (the session and the actor)
    and needs another thread for its endpoint. Unbounded, a burst of a few hundred requests
    holds every connection while waiting for threads whose requests wait for connections: a
    deadlock until the pool times out. Admitting no more requests than there are connections
    keeps a burst flowing; waiting here costs the event loop nothing.
    """

    def __init__(
        self, app: ASGIApp, slots: asyncio.Semaphore, prefix: str | tuple[str, ...]
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.slots = slots  # shared by every stack of the application (web.hot)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        async with self.slots:
            await self.app(scope, receive, send)

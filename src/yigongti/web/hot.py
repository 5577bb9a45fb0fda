"""Hot routes: the few requests of a rush, served before the application's own layers.

At the 08:00 release one request (``POST /api/v1/bookings``) is nearly all the traffic. Routed
the usual way it passes some twenty layers (FastAPI's telemetry and body limit, the error and
exception middleware, exit stacks, routers, route matching, dependency solving), and each layer
is resumed again every time the request waits for the database: about a fifth of a booking's
server CPU. :class:`Application` sends a hot request straight to its endpoint, through the
edge limits it shares with every other request (the same admission line, the same body
limit); errors are answered by the application's exception handlers, as any other request's
are. Each hot path is also a FastAPI route of the same path, which documents it and answers
the same.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class HotRoutes:
    """Serve ``routes`` ((method, path, endpoint) triples): the endpoint, then its answer."""

    def __init__(self, routes: Iterable[tuple[str, str, Endpoint]]) -> None:
        self.routes = {(method, path): endpoint for method, path, endpoint in routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await self.routes[scope["method"], scope["path"]](request)
        except Exception as exc:
            response = await _handled(request, exc)
        await response(scope, receive, send)


class Application(FastAPI):
    """FastAPI that serves its hot routes (:meth:`serve_first`) before its own layers."""

    _hot_paths: frozenset[tuple[str, str]] = frozenset()  # (method, path) of the hot routes
    _hot_stack: ASGIApp | None = None

    def serve_first(
        self, routes: Iterable[tuple[str, str, Endpoint]], edge: Callable[[ASGIApp], ASGIApp]
    ) -> None:
        """Serve ``routes`` before everything else, wrapped in ``edge`` (the limits every
        request passes)."""
        hot = HotRoutes(routes)
        self._hot_paths = frozenset(hot.routes)
        self._hot_stack = edge(hot)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hot routes to their endpoints; anything else through FastAPI."""
        if (
            self._hot_stack is not None
            and scope["type"] == "http"
            and (scope["method"], scope["path"]) in self._hot_paths
        ):
            scope["app"] = self
            await self._hot_stack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


async def _handled(request: Request, exc: Exception) -> Response:
    """The application's answer to ``exc`` (its handler for the nearest class); re-raised if it
    has none, as the router would (the server then answers 500)."""
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            answer = handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
    raise exc

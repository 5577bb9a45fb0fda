"""Hot routes: the few requests of a rush, served before the router and its middleware.

At the 08:00 release one request (``POST /api/v1/bookings``) is nearly all the traffic. Routed
the usual way it passes a dozen layers (exception middleware, exit stacks, routers, route
matching, FastAPI's dependency solving), and every layer is resumed again each time the request
waits for the database. :class:`HotRoutes` sits inside the application's own middleware (the
admission line, the body limit, which stay shared with every other request) and sends a hot
request straight to its endpoint; errors are answered by the application's exception handlers,
as any other request's are. Each hot path is also a FastAPI route of the same path, which
documents it and answers the same.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class HotRoutes:
    """Serve ``routes`` ((method, path, endpoint) triples) directly; pass anything else on."""

    def __init__(self, app: ASGIApp, routes: Iterable[tuple[str, str, Endpoint]]) -> None:
        self.app = app
        self.routes = {(method, path): endpoint for method, path, endpoint in routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = (
            self.routes.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        )
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:
            response = await _handled(request, exc)
        await response(scope, receive, send)


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

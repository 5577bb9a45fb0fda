"""Hot routes (the booking rush's request) pass the same edge limits as every other request."""

from __future__ import annotations

from fastapi.testclient import TestClient

from yigongti.web.limits import Admission, BodyLimit


def _layers(app: object) -> list[object]:
    """The ASGI layers from ``app`` inward, following each layer's ``app``."""
    found = []
    while app is not None:
        found.append(app)
        app = getattr(app, "app", None)
    return found


def test_the_booking_request_waits_in_the_same_admission_line_as_every_api_request(
    client: TestClient,
) -> None:
    app = client.app
    [general] = [x for x in _layers(app.build_middleware_stack()) if isinstance(x, Admission)]
    hot = _layers(app._hot_stack)
    [rush] = [x for x in hot if isinstance(x, Admission)]
    assert rush.slots is general.slots and rush.prefix == general.prefix
    [body_limit] = [x for x in hot if isinstance(x, BodyLimit)]
    assert body_limit.limit_of("/api/v1/bookings") == client.app.state.settings.max_body_bytes


def test_only_the_hot_method_and_path_skip_the_router(client: TestClient) -> None:
    # GET on the same path is no hot route: FastAPI routes it (and knows no such method).
    answer = client.get("/api/v1/bookings")
    assert answer.status_code == 405
    assert answer.headers["content-type"].startswith("application/problem+json")

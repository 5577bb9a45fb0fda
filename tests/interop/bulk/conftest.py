"""Helpers of the bulk data tests: kick off, poll until done, read NDJSON."""

from __future__ import annotations

import json
import time

from httpx import Response

from tests.interop.fhir.conftest import Fhir, fhir  # noqa: F401 - the fixture, shared

NDJSON = "application/fhir+ndjson"


def ndjson(*resources: dict | str) -> bytes:
    """NDJSON of the resources (a text is taken as one line as it is)."""
    return "".join(
        (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in resources
    ).encode()


def kick_off_import(client: Fhir, body: bytes, query: str = "", **headers: str) -> Response:
    """``POST /fhir/$import`` with an NDJSON body, asynchronously."""
    return client.client.post(
        f"/fhir/$import{query}",
        content=body,
        headers={
            **client.headers,
            "Content-Type": NDJSON,
            "Prefer": "respond-async",
            **headers,
        },
    )


def kick_off_export(client: Fhir, path: str, **headers: str) -> Response:
    """``GET /fhir/<path>`` (an ``$export``), asynchronously."""
    return client.get(path, Prefer="respond-async", **headers)


def finished(client: Fhir, kick_off: Response, seconds: float = 120) -> Response:
    """Poll the kick-off's status URL until the job is no longer running."""
    assert kick_off.status_code == 202, kick_off.text
    url = kick_off.headers["content-location"]
    deadline = time.monotonic() + seconds
    while True:
        answer = client.client.get(url, headers=client.headers)
        if answer.status_code != 202 or time.monotonic() > deadline:
            return answer
        assert "x-progress" in answer.headers
        time.sleep(0.05)


def lines_of(answer: Response) -> list[dict]:
    """The resources of an NDJSON answer."""
    return [json.loads(line) for line in answer.text.splitlines() if line.strip()]

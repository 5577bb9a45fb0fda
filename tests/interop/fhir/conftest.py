"""Helpers of the FHIR tests: FHIR JSON requests as a role of the test county."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

FHIR_JSON = "application/fhir+json"


class Fhir:
    """Send FHIR requests as one role."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = {**headers, "Accept": FHIR_JSON}

    def get(self, path: str, **headers: str) -> Response:
        """``GET /fhir/<path>``."""
        return self.client.get(f"/fhir/{path}", headers={**self.headers, **headers})

    def post(self, path: str, resource: Any, **headers: str) -> Response:
        """``POST /fhir/<path>`` with a FHIR JSON body."""
        return self.client.post(
            f"/fhir/{path}",
            json=resource,
            headers={**self.headers, "Content-Type": FHIR_JSON, **headers},
        )

    def put(self, path: str, resource: Any, **headers: str) -> Response:
        """``PUT /fhir/<path>`` with a FHIR JSON body."""
        return self.client.put(
            f"/fhir/{path}",
            json=resource,
            headers={**self.headers, "Content-Type": FHIR_JSON, **headers},
        )


@pytest.fixture
def fhir(client: TestClient, login: Callable[[str], dict[str, str]]) -> Callable[[str], Fhir]:
    """``fhir(role)`` -> a FHIR client of that role's demo account."""
    return lambda role: Fhir(client, login(role))


def issue_paths(answer: Response) -> list[str]:
    """The ``expression`` paths an OperationOutcome answer names."""
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome", body
    return [e for issue in body["issue"] for e in issue.get("expression", [])]

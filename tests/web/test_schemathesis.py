"""Property-based API testing with schemathesis over the app's own OpenAPI document.

Requests are generated from /api/v1/openapi.json, valid ones and invalid ones, for every
operation, and sent in-process to the ASGI app with a system administrator's and a township
doctor's bearer token, on both backends. No answer may be a 5xx, invalid input must be refused
with a 4xx, and every answer must conform to what the document promises (status code, media
type, body schema).

Schemathesis' own pytest integration does not run on this pytest version, so the operations are
driven through its Python API: one Hypothesis run per operation and generation mode.
"""

from __future__ import annotations

from collections.abc import Callable

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

Login = Callable[[str], dict[str, str]]

ROLES = ("system_admin", "township_doctor")
EXAMPLES = 8  # per operation and mode; enough to find a 5xx, small enough for < 1 min
# Operations that export or compute the whole county take seconds each: fewer examples, and
# time enough for an answer on a loaded machine. Their inputs are a flag or nothing.
HEAVY = {"POST /api/v1/lake/export", "POST /api/v1/indicators/recompute"}
HEAVY_EXAMPLES = 2
HEAVY_TIMEOUT = 120
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _run(operation: schemathesis.APIOperation, mode: GenerationMode, headers: list[dict]) -> None:
    heavy = operation.label in HEAVY
    extra = {"timeout": HEAVY_TIMEOUT} if heavy else {}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=HEAVY_EXAMPLES if heavy else EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def requests_to(case: schemathesis.Case) -> None:
        for auth in headers:
            case.call_and_validate(headers=auth, checks=CHECKS, **extra)

    requests_to()


def test_the_api_never_fails_and_keeps_its_documented_promises(
    client: TestClient, login: Login
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app)
    headers = [login(role) for role in ROLES]
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run(operation, mode, headers)
            except Unsatisfiable:  # no parameters and no body: there is no invalid request
                assert mode is GenerationMode.NEGATIVE
            except BaseException as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                failures.append(f"{operation.label} ({mode}): {exc}")
    assert not failures, "\n\n".join(failures)

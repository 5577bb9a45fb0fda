"""Map errors to RFC 9457 problem+json, in English with the Chinese message beside it."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from yigongti.interop.fhir.errors import FhirError, fhir_error, from_domain
from yigongti.interop.fhir.errors import invalid as fhir_invalid
from yigongti.kernel import DomainError

PROBLEM = "application/problem+json"
FHIR_PREFIX = "/fhir"
FHIR_JSON = "application/fhir+json"
TYPE_BASE = "https://yigongti.org/problems/"


# The problem+json schema, a component of the OpenAPI document that every error response names.
PROBLEM_SCHEMA: dict = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail", "detail_zh"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "detail_zh": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message", "message_zh"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "message_zh": {"type": "string"},
                },
            },
        },
    },
}
_PROBLEM_CASES = {
    400: "The request could not be read",
    401: "Not logged in, or the token is invalid or expired",
    403: "The role may not do this, or a bureau role gave no reason",
    404: "No such record, or not in the caller's scope",
    409: "The request clashes with a record that exists",
    413: "The request body is over the size limit",
    422: "Invalid input; `errors` names each field",
    423: "The account is locked after repeated failed logins",
}
PROBLEM_RESPONSES: dict[int | str, dict] = {
    status: {
        "description": text,
        "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, text in _PROBLEM_CASES.items()
}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    detail_zh: str,
    errors: list[dict] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "detail_zh": detail_zh,
    }
    if errors:
        body["errors"] = errors
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


class BodyTooLarge(StarletteHTTPException):
    """A request body over the size cap, found while it streams in.

    An HTTP exception so that FastAPI lets it through body parsing (it turns any other
    exception raised there into a 400) to the handler below.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, detail=f"Request body over {max_bytes} bytes")
        self.max_bytes = max_bytes


def outcome(error: FhirError) -> JSONResponse:
    """The OperationOutcome response of a FHIR error."""
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse(
        error.outcome(), status_code=error.status, media_type=FHIR_JSON, headers=headers
    )


def _is_fhir(request: Request) -> bool:
    return request.url.path == FHIR_PREFIX or request.url.path.startswith(FHIR_PREFIX + "/")


def too_large(max_bytes: int, path: str = "") -> JSONResponse:
    """The 413 for a body over ``max_bytes``: OperationOutcome under /fhir, else a problem."""
    if path.startswith(FHIR_PREFIX):
        return outcome(
            fhir_error(
                413,
                "too-costly",
                f"Request body over {max_bytes} bytes",
                f"请求体超过 {max_bytes} 字节上限",
            )
        )
    return problem(
        413,
        "too-large",
        "Payload too large",
        f"Request body over {max_bytes} bytes",
        f"请求体超过 {max_bytes} 字节上限",
    )


def _too_large(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLarge)
    return too_large(exc.max_bytes, request.url.path)


def _fhir(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FhirError)
    return outcome(exc)


def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if _is_fhir(request):
        return outcome(from_domain(exc))
    errors = [{"field": f.field, "message": f.en, "message_zh": f.zh} for f in exc.fields]
    return problem(exc.status, exc.code, type(exc).__name__, exc.en, exc.zh, errors)


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if _is_fhir(request):
        return outcome(fhir_invalid(f"Invalid request: {exc.errors()[:3]}", "请求参数无效"))
    errors = [
        {
            "field": ".".join(str(p) for p in e["loc"] if p != "body") or "body",
            "message": e["msg"],
            "message_zh": "输入格式或取值无效：" + e["msg"],
        }
        for e in exc.errors()
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem(
        422, "invalid", "Invalid", f"Invalid request: {summary}", f"请求参数无效：{summary}", errors
    )


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
    if _is_fhir(request):
        code = "not-found" if exc.status_code == 404 else "processing"
        return outcome(fhir_error(exc.status_code, code, detail, detail))
    return problem(exc.status_code, f"http-{exc.status_code}", detail, detail, detail)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error as problem+json, or as an OperationOutcome under /fhir."""
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(FhirError, _fhir)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(BodyTooLarge, _too_large)
    app.add_exception_handler(StarletteHTTPException, _http)

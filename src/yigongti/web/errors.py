"""Map errors to RFC 9457 problem+json, in English with the Chinese message beside it."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from yigongti.kernel import DomainError

PROBLEM = "application/problem+json"
TYPE_BASE = "https://yigongti.org/problems/"


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


def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    errors = [{"field": f.field, "message": f.en, "message_zh": f.zh} for f in exc.fields]
    return problem(exc.status, exc.code, type(exc).__name__, exc.en, exc.zh, errors)


def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
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


def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
    return problem(exc.status_code, f"http-{exc.status_code}", detail, detail, detail)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every domain, validation and HTTP error as problem+json."""
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)

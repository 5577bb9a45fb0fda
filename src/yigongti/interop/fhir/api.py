"""The FHIR R4 REST face at ``/fhir``: parse the request, call the interaction, answer FHIR JSON.

Routes are generic over the registered resource types; ``$`` names dispatch to operations.
Authentication is the JSON API's bearer token; a bureau user's reason travels in the
``X-Reason`` header (percent-encoded UTF-8).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import parse_qsl, unquote

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from yigongti.interop.fhir import interactions
from yigongti.interop.fhir.bundle import process_bundle
from yigongti.interop.fhir.capability import capability_statement
from yigongti.interop.fhir.context import Context, request_key
from yigongti.interop.fhir.errors import fhir_error
from yigongti.interop.fhir.resource import Answer, OperationCall, operation
from yigongti.interop.fhir.validation import parse_json
from yigongti.web.deps import ActorDep, SessionDep

FHIR_JSON = "application/fhir+json"
PREFIX = "/fhir"
router = APIRouter(prefix=PREFIX, include_in_schema=False)
_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


def _respond(answer: Answer, request: Request) -> Response:
    prefer = request.headers.get("prefer", "")
    body = answer.body
    if body is not None and "return=minimal" in prefer and answer.status in (200, 201):
        body = None
    content = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    return Response(content, answer.status, answer.headers, media_type=FHIR_JSON)


def _context(request: Request, session: SessionDep, actor: ActorDep) -> Context:
    reason = request.headers.get("x-reason")
    base = str(request.base_url).rstrip("/") + PREFIX
    reveal = request.headers.get("x-reveal", "").lower() == "true"
    return Context(
        session,
        actor,
        base,
        reason=unquote(reason) if reason else None,
        reveal=reveal,
        data_dir=request.app.state.settings.data_dir,
    )


async def _resource_body(request: Request) -> dict:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in _JSON_TYPES:
        raise fhir_error(
            415,
            "not-supported",
            f"Send FHIR JSON (Content-Type: {FHIR_JSON}), not '{content_type or 'nothing'}'",
            f"请以 FHIR JSON 提交（Content-Type: {FHIR_JSON}）",
        )
    return parse_json(await request.body())


async def _run(request: Request, work: Callable[[], Answer]) -> Response:
    return _respond(await run_in_threadpool(work), request)


def _criteria_in_query(request: Request) -> str | None:
    """Search criteria in a create's query string (not mere result parameters like _format)."""
    items = parse_qsl(request.url.query)
    return request.url.query if any(not k.startswith("_") for k, _ in items) else None


def _lenient(request: Request) -> bool:
    return "handling=lenient" in request.headers.get("prefer", "")


@router.get("/metadata")
def metadata(request: Request) -> Response:
    """The CapabilityStatement (no login needed, as the specification expects)."""
    base = str(request.base_url).rstrip("/") + PREFIX
    return _respond(Answer(200, capability_statement(base, request.app.version)), request)


@router.post("")
@router.post("/")
async def bundle(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """A batch or transaction Bundle."""
    ctx = _context(request, session, actor)
    body = await _resource_body(request)
    return await _run(request, lambda: process_bundle(ctx, body))


async def _operation(
    request: Request, ctx: Context, type_name: str | None, resource_id: str | None, name: str
) -> Response:
    found = operation(type_name, resource_id is not None, name.lstrip("$"), request.method)
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    body = parse_json(raw) if raw and content_type in _JSON_TYPES else None
    call = OperationCall(
        type_name,
        resource_id,
        request.method,
        list(request.query_params.multi_items()),
        body,
        raw,
        content_type,
        {k.lower(): v for k, v in request.headers.items()},
    )
    return await _run(request, lambda: found.handler(ctx, call))


@router.api_route("/{first}", methods=["GET", "POST"])
async def type_level(
    first: str, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """``GET [type]`` search, ``POST [type]`` create (conditional with ``If-None-Exist`` or
    criteria in the query string), or a system-level ``$operation``."""
    ctx = _context(request, session, actor)
    if first.startswith("$"):
        return await _operation(request, ctx, None, None, first)
    items = list(request.query_params.multi_items())
    if request.method == "GET":
        return await _run(
            request, lambda: interactions.search(ctx, first, items, lenient=_lenient(request))
        )
    resource = await _resource_body(request)
    # Conditional create: the If-None-Exist header, or (as fhirpy's get_or_create sends it)
    # the search criteria in the POST's query string.
    condition = request.headers.get("if-none-exist") or _criteria_in_query(request)
    key = request_key(request.headers.get("idempotency-key"), condition)
    ctx = replace(ctx, idempotency_key=key)
    return await _run(
        request, lambda: interactions.create(ctx, first, resource, if_none_exist=condition)
    )


@router.api_route("/{type_name}/{second}", methods=["GET", "POST", "PUT"])
async def instance_level(
    type_name: str, second: str, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """``GET [type]/[id]`` read, ``PUT`` update, ``POST [type]/_search``, or ``[type]/$op``."""
    ctx = _context(request, session, actor)
    if second.startswith("$"):
        return await _operation(request, ctx, type_name, None, second)
    if second == "_search" and request.method == "POST":
        form = await request.form()
        items = [*request.query_params.multi_items(), *((k, str(v)) for k, v in form.multi_items())]
        return await _run(
            request, lambda: interactions.search(ctx, type_name, items, lenient=_lenient(request))
        )
    if request.method == "GET":
        return await _run(request, lambda: interactions.read(ctx, type_name, second))
    if request.method == "PUT":
        resource = await _resource_body(request)
        if_match = request.headers.get("if-match")
        return await _run(
            request,
            lambda: interactions.update(ctx, type_name, second, resource, if_match=if_match),
        )
    raise _method_not_allowed(request.method, f"{type_name}/{second}")


@router.api_route("/{type_name}/{resource_id}/{third}", methods=["GET", "POST"])
async def instance_operation(
    type_name: str,
    resource_id: str,
    third: str,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> Response:
    """``GET [type]/[id]/_history`` or an instance-level ``$operation``."""
    ctx = _context(request, session, actor)
    if third.startswith("$"):
        return await _operation(request, ctx, type_name, resource_id, third)
    if third == "_history" and request.method == "GET":
        return await _run(request, lambda: interactions.history(ctx, type_name, resource_id))
    raise _method_not_allowed(request.method, f"{type_name}/{resource_id}/{third}")


@router.get("/{type_name}/{resource_id}/_history/{version}")
async def version_read(
    type_name: str,
    resource_id: str,
    version: str,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> Response:
    """``GET [type]/[id]/_history/[vid]``."""
    ctx = _context(request, session, actor)
    return await _run(request, lambda: interactions.vread(ctx, type_name, resource_id, version))


def _method_not_allowed(method: str, path: str) -> Exception:
    return fhir_error(
        405, "not-supported", f"{method} {path} is not supported", f"不支持 {method} {path}"
    )

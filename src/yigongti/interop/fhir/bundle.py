"""Batch and transaction Bundles (``POST /fhir``).

A transaction is all or nothing: entries run in dependency order (a POST that refers to
another entry's ``urn:uuid:`` fullUrl runs after it, with the reference rewritten to the new
id), and the first failure fails the whole Bundle, naming the entry. A batch runs each entry
in a savepoint and answers each on its own.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

from yigongti.interop.fhir import interactions
from yigongti.interop.fhir.context import Context, request_key
from yigongti.interop.fhir.errors import FhirError, Issue, fhir_error, from_domain, invalid
from yigongti.interop.fhir.resource import Answer, all_references
from yigongti.interop.fhir.validation import validate
from yigongti.kernel import DomainError
from yigongti.security import audit

MAX_ENTRIES = 1000
_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
_STATUS_TEXT = {200: "200 OK", 201: "201 Created"}


def process_bundle(ctx: Context, bundle: dict) -> Answer:
    """Run a batch or transaction Bundle; the response Bundle."""
    validate(bundle, "Bundle")
    kind = bundle.get("type")
    if kind not in ("batch", "transaction"):
        raise invalid(
            f"POST /fhir takes a batch or transaction Bundle, not type '{kind}'",
            f"POST /fhir 只接受 batch 或 transaction 类型的 Bundle，而非 '{kind}'",
            "Bundle.type",
        )
    entries = bundle.get("entry") or []
    if len(entries) > MAX_ENTRIES:
        raise fhir_error(
            413,
            "too-costly",
            f"A Bundle may hold at most {MAX_ENTRIES} entries, this one has {len(entries)}",
            f"一个 Bundle 最多 {MAX_ENTRIES} 个条目，此 Bundle 有 {len(entries)} 个",
            "Bundle.entry",
        )
    for index, entry in enumerate(entries):
        _check_entry(index, entry)
    if kind == "transaction":
        responses = _transaction(ctx, entries)
    else:
        responses = [_batch_entry(ctx, index, entry) for index, entry in enumerate(entries)]
    return Answer(200, {"resourceType": "Bundle", "type": f"{kind}-response", "entry": responses})


def _check_entry(index: int, entry: dict) -> None:
    request = entry.get("request") or {}
    where = f"Bundle.entry[{index}].request"
    if request.get("method") not in _ORDER or not request.get("url"):
        raise invalid(
            f"{where} needs a method (GET, POST, PUT) and a url",
            f"{where} 须有 method（GET、POST、PUT）和 url",
            where,
        )
    if request["method"] in ("POST", "PUT") and not isinstance(entry.get("resource"), dict):
        raise invalid(
            f"Bundle.entry[{index}] ({request['method']}) needs a resource",
            f"Bundle.entry[{index}]（{request['method']}）缺少 resource",
            f"Bundle.entry[{index}].resource",
        )


def _transaction(ctx: Context, entries: list[dict]) -> list[dict]:
    """Every entry or none; the responses in the Bundle's entry order."""
    assigned: dict[str, str] = {}  # fullUrl (urn:uuid:...) -> Type/id
    responses: dict[int, dict] = {}
    for index in _ordered(entries):
        entry = entries[index]
        resource = _resolved(entry.get("resource"), assigned)
        try:
            answer = _run(ctx, entry["request"], resource)
        except FhirError as error:
            raise _at_entry(error, index) from None
        except DomainError as error:
            raise _at_entry(
                from_domain(error, (resource or {}).get("resourceType")), index
            ) from None
        body = answer.body or {}
        if entry.get("fullUrl") and body.get("id") and entry["request"]["method"] == "POST":
            assigned[entry["fullUrl"]] = f"{body['resourceType']}/{body['id']}"
        responses[index] = _response_entry(ctx, answer)
    return [responses[i] for i in range(len(entries))]


def _ordered(entries: list[dict]) -> list[int]:
    """Entry indices by method, and each POST after the POSTs its resource refers to."""
    full_urls = {e.get("fullUrl"): i for i, e in enumerate(entries) if e.get("fullUrl")}
    needs = {
        i: {full_urls[r] for r in all_references(e.get("resource")) if r in full_urls} - {i}
        for i, e in enumerate(entries)
    }
    order: list[int] = []
    done: set[int] = set()
    remaining = sorted(range(len(entries)), key=lambda i: _ORDER[entries[i]["request"]["method"]])
    while remaining:
        ready = [i for i in remaining if needs[i] <= done]
        if not ready:
            raise invalid(
                "The Bundle's entries refer to each other in a cycle",
                "Bundle 中的条目互相循环引用",
                f"Bundle.entry[{remaining[0]}]",
            )
        first = ready[0]
        order.append(first)
        done.add(first)
        remaining.remove(first)
    return order


def _resolved(value: object, assigned: dict[str, str]) -> object:
    """``value`` with every reference to an entry's fullUrl replaced by ``Type/id``."""
    if isinstance(value, dict):
        return {
            k: (
                assigned.get(v, v)
                if k == "reference" and isinstance(v, str)
                else _resolved(v, assigned)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_resolved(v, assigned) for v in value]
    return value


def _batch_entry(ctx: Context, index: int, entry: dict) -> dict:
    resource = entry.get("resource")
    try:
        with ctx.session.begin_nested(), audit.provisional(ctx.session):
            answer = _run(ctx, entry["request"], resource)
    except FhirError as error:
        return _failed(_at_entry(error, index))
    except DomainError as error:
        return _failed(_at_entry(from_domain(error, (resource or {}).get("resourceType")), index))
    return _response_entry(ctx, answer)


def _run(ctx: Context, request: dict, resource: object) -> Answer:
    """One entry's request, as if sent alone."""
    method, url = request["method"], request["url"]
    parts = urlsplit(url)
    path = [p for p in parts.path.strip("/").split("/") if p]
    if parts.scheme or not path:
        raise invalid(
            f"Entry url must be relative, like 'Patient/<id>': '{url}'",
            f"条目 url 应为相对地址，如 'Patient/<id>'：'{url}'",
        )
    if method == "POST" and len(path) == 1:
        condition = request.get("ifNoneExist")
        return interactions.create(
            replace(ctx, idempotency_key=request_key(None, condition)),
            path[0],
            resource,
            if_none_exist=condition,  # type: ignore[arg-type]
        )
    if method == "PUT" and len(path) == 2:
        return interactions.update(
            ctx,
            path[0],
            path[1],
            resource,
            if_match=request.get("ifMatch"),  # type: ignore[arg-type]
        )
    if method == "GET" and len(path) == 1:
        return interactions.search(ctx, path[0], parse_qsl(parts.query, keep_blank_values=True))
    if method == "GET" and len(path) == 2:
        return interactions.read(ctx, path[0], path[1])
    if method == "GET" and len(path) == 4 and path[2] == "_history":
        return interactions.vread(ctx, path[0], path[1], path[3])
    raise fhir_error(
        400,
        "not-supported",
        f"{method} {url} is not supported inside a Bundle",
        f"Bundle 中不支持 {method} {url}",
    )


def _response_entry(ctx: Context, answer: Answer) -> dict:
    body = answer.body or {}
    response: dict = {"status": _STATUS_TEXT.get(answer.status, str(answer.status))}
    if "Location" in answer.headers:
        response["location"] = answer.headers["Location"]
    if "ETag" in answer.headers:
        response["etag"] = answer.headers["ETag"]
    entry: dict = {"response": response}
    if body:
        entry["resource"] = body
        if body.get("id") and body.get("resourceType") != "Bundle":
            entry["fullUrl"] = ctx.full_url(body["resourceType"], body["id"])
    return entry


def _at_entry(error: FhirError, index: int) -> FhirError:
    """``error`` with each issue's path placed inside ``Bundle.entry[index]``."""
    issues = [
        Issue(
            i.code,
            f"Bundle.entry[{index}]: {i.en}",
            f"Bundle.entry[{index}]：{i.zh}",
            f"Bundle.entry[{index}].resource.{i.expression.split('.', 1)[-1]}"
            if i.expression and "." in i.expression
            else f"Bundle.entry[{index}]",
            i.severity,
        )
        for i in error.issues
    ]
    return FhirError(error.status, issues)


def _failed(error: FhirError) -> dict:
    return {"response": {"status": str(error.status), "outcome": error.outcome()}}

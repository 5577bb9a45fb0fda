"""The FHIR interactions, free of HTTP: read, vread, history, search, create, update.

The API and the Bundle processor both call these, so a transaction entry behaves exactly as
the same request sent alone.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl, urlencode

from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import Issue, fhir_error, invalid, operation_outcome
from yigongti.interop.fhir.resource import (
    Answer,
    ResourceType,
    Stored,
    parse_id,
    references_at,
    resource_type,
)
from yigongti.interop.fhir.search import Query, parse_query
from yigongti.interop.fhir.validation import validate
from yigongti.interop.fhir.versions import (
    latest_version,
    log_original,
    log_version,
    logged_versions,
    with_meta,
    with_metas,
)
from yigongti.kernel import DomainError, NotFound


def _etag(resource: dict) -> dict[str, str]:
    meta = resource.get("meta") or {}
    headers = {"ETag": f'W/"{meta.get("versionId", "1")}"'}
    if meta.get("lastUpdated"):
        headers["Last-Modified"] = meta["lastUpdated"]
    return headers


def read(ctx: Context, type_name: str, id_text: str) -> Answer:
    """``GET [type]/[id]``."""
    kind = resource_type(type_name)
    resource = with_meta(ctx.session, kind.read(ctx, parse_id(type_name, id_text)))
    return Answer(200, resource, _etag(resource))


def vread(ctx: Context, type_name: str, id_text: str, version_text: str) -> Answer:
    """``GET [type]/[id]/_history/[vid]``: the version from the log (the actor must see it now)."""
    current = read(ctx, type_name, id_text).body or {}
    if version_text == current["meta"]["versionId"]:
        return Answer(200, current, _etag(current))
    for version in logged_versions(ctx.session, type_name, current["id"]):
        if str(version.version) == version_text:
            return Answer(200, version.content, _etag(version.content))
    raise fhir_error(
        404,
        "not-found",
        f"{type_name}/{id_text} has no version {version_text}",
        f"{type_name}/{id_text} 无版本 {version_text}",
    )


def history(ctx: Context, type_name: str, id_text: str) -> Answer:
    """``GET [type]/[id]/_history``: the logged versions, newest first (version 1 if none)."""
    current = read(ctx, type_name, id_text).body or {}
    versions = logged_versions(ctx.session, type_name, current["id"])
    pairs = [(v.content, v.method) for v in versions] or [(current, "POST")]
    entries = [
        {
            "fullUrl": ctx.full_url(type_name, content["id"]),
            "resource": content,
            "request": {"method": method, "url": f"{type_name}/{content['id']}"},
            "response": {"status": "201" if method == "POST" else "200", **_etag_of(content)},
        }
        for content, method in pairs
    ]
    bundle = {"resourceType": "Bundle", "type": "history", "total": len(entries)}
    return Answer(200, {**bundle, "entry": entries})


def _etag_of(resource: dict) -> dict[str, str]:
    return {"etag": _etag(resource)["ETag"]}


def search(
    ctx: Context, type_name: str, items: list[tuple[str, str]], *, lenient: bool = False
) -> Answer:
    """``GET [type]?...``: a searchset Bundle with paging links and included resources."""
    kind = resource_type(type_name)
    query = parse_query(type_name, kind.search_params, kind.sorts, items, lenient=lenient)
    if query.summary_count:
        query.count = 0
    total, found = kind.search(ctx, query)
    entries = [
        {
            "fullUrl": ctx.full_url(type_name, r["id"]),
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in with_metas(ctx.session, found)
    ]
    entries += _included(ctx, kind, query, found)
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": _links(ctx, type_name, items, query, total),
        "entry": entries,
    }
    if not entries:
        del bundle["entry"]
    return Answer(200, bundle)


def _included(ctx: Context, kind: ResourceType, query: Query, found: list[dict]) -> list[dict]:
    seen: set[str] = set()
    entries = []
    for param in query.include:
        for resource in found:
            for reference in references_at(resource, param.path or ""):
                target, _, ident = reference.rpartition("/")
                if reference in seen or (param.target and target != param.target):
                    continue
                seen.add(reference)
                try:
                    included = read(ctx, target, ident).body
                except (NotFound, DomainError):
                    continue  # out of the actor's scope: not included, no hint
                entries.append(
                    {
                        "fullUrl": ctx.full_url(target, ident),
                        "resource": included,
                        "search": {"mode": "include"},
                    }
                )
    return entries


def _links(
    ctx: Context, type_name: str, items: list[tuple[str, str]], query: Query, total: int
) -> list[dict]:
    base = [(k, v) for k, v in items if k not in ("_getpagesoffset", "_count")]

    def url(offset: int) -> str:
        params = [*base, ("_count", str(query.count)), ("_getpagesoffset", str(offset))]
        return f"{ctx.base_url}/{type_name}?{urlencode(params)}"

    links = [{"relation": "self", "url": url(query.offset)}]
    if query.count == 0:
        return links
    links.append({"relation": "first", "url": url(0)})
    if query.offset + query.count < total:
        links.append({"relation": "next", "url": url(query.offset + query.count)})
    if query.offset > 0:
        links.append({"relation": "previous", "url": url(max(0, query.offset - query.count))})
    last = max(0, (total - 1) // query.count * query.count) if total else 0
    links.append({"relation": "last", "url": url(last)})
    return links


def create(
    ctx: Context, type_name: str, resource: dict, *, if_none_exist: str | None = None
) -> Answer:
    """``POST [type]`` (conditional with ``If-None-Exist``): 201 with the stored resource."""
    kind = resource_type(type_name)
    validate(resource, type_name)
    if if_none_exist is not None:
        existing = _conditional_match(ctx, kind, if_none_exist)
        if existing is not None:
            return Answer(200, existing, {**_etag(existing), "Location": _location(ctx, existing)})
    content = {k: v for k, v in resource.items() if k not in ("id", "meta")}
    retried = kind.existing(ctx, content)
    made = Stored(retried, "existing") if retried is not None else kind.create(ctx, content)
    if isinstance(made, Stored) and made.outcome == "held":
        issue = Issue("informational", made.en, made.zh, severity="information")
        return Answer(202, operation_outcome([issue]))
    if isinstance(made, Stored):
        existing = with_meta(ctx.session, kind.read(ctx, made.id))  # type: ignore[arg-type]
        return Answer(200, existing, {**_etag(existing), "Location": _location(ctx, existing)})
    stored = log_version(ctx.session, kind.read(ctx, made), "POST")
    return Answer(201, stored, {**_etag(stored), "Location": _location(ctx, stored)})


def _conditional_match(ctx: Context, kind: ResourceType, criteria: str) -> dict | None:
    items = parse_qsl(criteria.lstrip("?"), keep_blank_values=True)
    if not items:
        raise invalid(
            "If-None-Exist needs search criteria", "If-None-Exist 缺少检索条件", "If-None-Exist"
        )
    query = parse_query(kind.name, kind.search_params, kind.sorts, items)
    query.count = 2
    total, found = kind.search(ctx, query)
    if total > 1:
        raise fhir_error(
            412,
            "multiple-matches",
            f"If-None-Exist matches {total} {kind.name} resources; make the criteria selective",
            f"If-None-Exist 条件匹配到 {total} 条 {kind.name}，请使用更精确的条件",
            "If-None-Exist",
        )
    return with_meta(ctx.session, found[0]) if found else None


def update(
    ctx: Context, type_name: str, id_text: str, resource: dict, *, if_match: str | None = None
) -> Answer:
    """``PUT [type]/[id]``: replace an existing resource's content (no create-on-update)."""
    kind = resource_type(type_name)
    validate(resource, type_name)
    if resource.get("id") != id_text:
        raise invalid(
            f"The resource's id ('{resource.get('id')}') must equal the URL's ('{id_text}')",
            "资源的 id 应与 URL 中的 id 一致",
            f"{type_name}.id",
        )
    resource_id = parse_id(type_name, id_text)
    current = with_meta(ctx.session, kind.read(ctx, resource_id))
    if if_match is not None and if_match.strip() not in (
        f'W/"{current["meta"]["versionId"]}"',
        f'"{current["meta"]["versionId"]}"',
    ):
        raise fhir_error(
            412,
            "conflict",
            f"Version conflict: {type_name}/{id_text} is at version {current['meta']['versionId']}",
            f"版本冲突：{type_name}/{id_text} 当前为版本 {current['meta']['versionId']}",
        )
    kind.update(ctx, resource_id, {k: v for k, v in resource.items() if k != "meta"})
    if latest_version(ctx.session, type_name, current["id"]) is None:
        log_original(ctx.session, current)
    stored = log_version(ctx.session, kind.read(ctx, resource_id), "PUT")
    return Answer(200, stored, {**_etag(stored), "Location": _location(ctx, stored)})


def _location(ctx: Context, resource: dict) -> str:
    version = (resource.get("meta") or {}).get("versionId", "1")
    return f"{ctx.full_url(resource['resourceType'], resource['id'])}/_history/{version}"


def new_id_of(answer: Answer) -> uuid.UUID:
    """The id of the resource a create answered with."""
    return uuid.UUID((answer.body or {})["id"])

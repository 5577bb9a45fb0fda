"""``docs/fhir.md``, generated from the registry of resource types so it cannot drift.

Regenerate with ``uv run python -m yigongti.interop.fhir.docs >docs/fhir.md``.
"""

from __future__ import annotations

from yigongti.interop.fhir import systems
from yigongti.interop.fhir.resource import OPERATIONS, RESOURCE_TYPES

_INTRO = """# FHIR R4 API

yigongti serves FHIR R4 (4.0.1 JSON) at `/fhir`, over the same records, permissions and audit
as the JSON API: a FHIR resource is a view of a domain record, not a second copy of it.
`/fhir/metadata` (no login) is the CapabilityStatement; this page is generated from the same
registry (`interop/fhir/docs.py`), so both list exactly what is served. How the shared record
maps (codes, extensions, decisions) is in `docs/fhir-record.md`.

## Connecting
- **Tokens**: `POST /api/v1/auth/token`: people with the password grant; an institution's HIS
  or LIS with `grant_type=client_credentials` (its machine account, role `integration`, scoped
  to its institution). Send `Authorization: Bearer <token>`.
- **Content**: `application/fhir+json` in and out (`application/json` is accepted too).
- **Identifiers are masked** (`330784********123X`, `139****1111`) unless the caller's role may
  see them in full and asks with `X-Reveal: true`; every such view is audited as a reveal.
- **Bureau roles** read personal records only with a reason: `X-Reason: <percent-encoded text>`
  (at least a few words); it is stored with every audit row of the request.
- **Scope**: searches return only what the caller's role may see (a township doctor: his town's
  residents and his center's patients); a record outside it answers 404, as if absent.

## Interactions
- read `GET [type]/[id]`, vread `GET [type]/[id]/_history/[vid]`, history
  `GET [type]/[id]/_history`, search `GET [type]?...` or `POST [type]/_search`.
- create `POST [type]`, conditional create with `If-None-Exist: <search>`, update
  `PUT [type]/[id]` (optionally `If-Match: W/"<version>"`), where the table below says so.
- batch and transaction Bundles `POST /fhir`: a transaction is all or nothing; its entries run
  in dependency order and references to another entry's `fullUrl` (`urn:uuid:...`) are
  rewritten to the created resource. At most 1,000 entries.
- Result parameters: `_count` (default 20, at most 200; `_count=0` or `_summary=count` for the
  total alone), `_getpagesoffset` (the paging links carry it), `_sort` (listed per type, `-`
  for descending), `_include` (listed per type). An unknown parameter is a 400 naming it,
  unless the request says `Prefer: handling=lenient`.
- Versions: each create or update through FHIR is logged; `meta.versionId` counts them. A
  record never written through FHIR is at version 1.

## Errors
Every error is an `OperationOutcome`; each issue's `expression` is the FHIRPath of the element
at fault (`Patient.identifier[0].value`, `Bundle.entry[2].resource.gender`), and `diagnostics`
gives the English message, then the Chinese one. 400 for invalid content or parameters, 401
without a valid token, 403 when the role may not, 404 for a missing or out-of-scope record,
409/412 for conflicts and version or condition mismatches, 413 for oversized Bundles or bodies,
415 for a body that is not FHIR JSON.
"""


def render_docs() -> str:
    """The whole of ``docs/fhir.md``, from every type and operation the server registers."""
    from yigongti.interop import bulk  # noqa: F401 - registers $import and $export
    from yigongti.interop.fhir import resources  # noqa: F401 - registers every type

    parts = [_INTRO, _identifier_systems(), "## Resources\n"]
    for name in sorted(RESOURCE_TYPES):
        parts.append(_resource(name))
    parts.append(_operations())
    return "\n".join(parts)


def _identifier_systems() -> str:
    rows = [
        ("resident ID number (居民身份证号, GB 11643)", systems.ID_NUMBER),
        (
            "the same, as the OID of the WS/T 500 sharing documents (accepted on input)",
            systems.ID_NUMBER_OID,
        ),
        (
            "an institution's medical-record number (病案号/门诊号)",
            systems.MRN_PREFIX + "<institution code>",
        ),
        ("e-health card number (电子健康卡号)", systems.EHEALTH_CARD),
        ("institution code", systems.INSTITUTION_CODE),
        ("medical community code", systems.COMMUNITY_CODE),
    ]
    lines = ["## Identifier systems\n", "| identifier | system |", "|---|---|"]
    lines += [f"| {what} | `{uri}` |" for what, uri in rows]
    return "\n".join(lines) + "\n"


def _resource(name: str) -> str:
    kind = RESOURCE_TYPES[name]
    writes = "read, search, create, update" if kind.writable else "read, search"
    lines = [f"### {name}\n", f"{kind.doc}\n", f"Interactions: {writes}.\n"]
    if kind.search_params:
        lines += ["| parameter | type | meaning |", "|---|---|---|"]
        lines += [f"| `{p.name}` | {p.type} | {p.doc} |" for p in kind.search_params]
    extras = []
    if kind.sorts:
        extras.append("`_sort`: " + ", ".join(f"`{s}`" for s in kind.sorts))
    includes = [f"`{name}:{p.name}`" for p in kind.search_params if p.type == "reference"]
    if includes:
        extras.append("`_include`: " + ", ".join(includes))
    if extras:
        lines.append("\n" + "; ".join(extras) + ".")
    return "\n".join(lines) + "\n"


def _operations() -> str:
    lines = [
        "## Operations\n",
        "| operation | where | methods | what it does |",
        "|---|---|---|---|",
    ]
    for (owner, instance, name), op in sorted(OPERATIONS.items(), key=lambda x: str(x[0])):
        where = "system" if owner is None else f"{owner}/[id]" if instance else owner
        lines.append(f"| `${name}` | {where} | {', '.join(op.methods)} | {op.doc} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_docs(), end="")

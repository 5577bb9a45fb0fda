"""The CapabilityStatement at ``/fhir/metadata``: exactly what the registry serves."""

from __future__ import annotations

from yigongti.interop.fhir.resource import OPERATIONS, RESOURCE_TYPES, ResourceType

FHIR_VERSION = "4.0.1"


def capability_statement(base_url: str, software_version: str) -> dict:
    """What this server supports, listed from the registered types and operations."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-07",
        "publisher": "yigongti",
        "kind": "instance",
        "software": {"name": "yigongti", "version": software_version},
        "implementation": {
            "description": "yigongti county medical community platform",
            "url": base_url,
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "extension": [_oauth_uris(base_url)],
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": "Bearer tokens from POST /api/v1/auth/token (password or "
                    "client_credentials); the same roles and scopes as the JSON API.",
                },
                "resource": [
                    _resource(t) for t in sorted(RESOURCE_TYPES.values(), key=lambda t: t.name)
                ],
                "interaction": [{"code": "batch"}, {"code": "transaction"}],
                "operation": [
                    {"name": op.name, "definition": _definition(op.name), "documentation": op.doc}
                    for (kind, _, _), op in sorted(OPERATIONS.items(), key=lambda x: str(x[0]))
                    if kind is None
                ],
            }
        ],
    }


def _oauth_uris(base_url: str) -> dict:
    """SMART's ``oauth-uris`` extension: where clients obtain tokens (the JSON API's endpoint)."""
    token = base_url.removesuffix("/fhir") + "/api/v1/auth/token"
    return {
        "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
        "extension": [{"url": "token", "valueUri": token}],
    }


def _resource(kind: ResourceType) -> dict:
    interactions = ["read", "vread", "search-type", "history-instance"]
    if kind.writable:
        interactions += ["create", "update"]
    entry: dict = {
        "type": kind.name,
        "documentation": kind.doc,
        "interaction": [{"code": code} for code in interactions],
        "versioning": "versioned",
        "readHistory": True,
        "updateCreate": False,
        "conditionalCreate": kind.writable,
        "searchParam": [
            {"name": p.name, "type": p.type, "documentation": p.doc} for p in kind.search_params
        ]
        + [{"name": "_count", "type": "number", "documentation": "page size (max 200)"}],
    }
    includes = [f"{kind.name}:{p.name}" for p in kind.search_params if p.type == "reference"]
    if includes:
        entry["searchInclude"] = includes
    operations = [
        {"name": op.name, "definition": _definition(op.name), "documentation": op.doc}
        for (owner, _, _), op in OPERATIONS.items()
        if owner == kind.name
    ]
    if operations:
        entry["operation"] = operations
    return entry


def _definition(name: str) -> str:
    known = {
        "everything": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
        "match": "http://hl7.org/fhir/OperationDefinition/Patient-match",
        "export": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
        "import": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/import",
    }
    return known.get(name, f"https://yigongti.org/fhir/OperationDefinition/{name}")

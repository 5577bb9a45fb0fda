"""The resource types the FHIR API serves, and the operations it offers.

One module per resource (``resources/patient.py`` ...) subclasses ``ResourceType`` and maps
between FHIR JSON and its domain's service functions; the API, the CapabilityStatement,
transactions and bulk data all go through this one registry, so a resource is supported
everywhere or nowhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from yigongti.interop.fhir.context import Context
from yigongti.interop.fhir.errors import FhirError, Issue, fhir_error, from_domain, invalid
from yigongti.interop.fhir.search import Query, SearchParam
from yigongti.kernel import DomainError, Invalid

RESOURCE_TYPES: dict[str, ResourceType] = {}


@dataclass(frozen=True)
class Stored:
    """What a create did when it is more than "made a new one".

    ``existing``: the resource describes one already held (a Patient the master patient index
    linked to a resident), answered 200 with it. ``held``: kept aside for a person to decide
    (the index's review queue), answered 202 with an informational OperationOutcome.
    """

    id: uuid.UUID | None
    outcome: str  # "existing" | "held"
    en: str = ""
    zh: str = ""


class ResourceType:
    """The mapping of one FHIR resource type onto a domain's services.

    Subclasses set ``name`` and ``search_params`` and implement what they support: ``read``
    and ``search`` always; ``create`` and ``update`` when FHIR clients may write them. Every
    method goes through the domain's services, which check permissions and audit.
    """

    name: ClassVar[str]
    doc: ClassVar[str] = ""
    search_params: ClassVar[tuple[SearchParam, ...]] = ()
    sorts: ClassVar[tuple[str, ...]] = ()
    writable: ClassVar[bool] = False  # create (with If-None-Exist) and update

    def read(self, ctx: Context, resource_id: uuid.UUID) -> dict:
        """The current resource; ``NotFound`` when absent or out of the actor's scope."""
        raise NotImplementedError

    def search(self, ctx: Context, query: Query) -> tuple[int, list[dict]]:
        """The total and one page of resources matching ``query`` in the actor's scope."""
        raise NotImplementedError

    def create(self, ctx: Context, resource: dict) -> uuid.UUID | Stored:
        """Store a new resource (already validated against the R4B model); its new id."""
        raise _not_writable(self.name)

    def update(self, ctx: Context, resource_id: uuid.UUID, resource: dict) -> None:
        """Replace the resource's content with ``resource`` (validated)."""
        raise _not_writable(self.name)

    def existing(self, ctx: Context, resource: dict) -> uuid.UUID | None:
        """The id of what an earlier create with the same idempotency key made, if any."""

    def create_many(
        self, ctx: Context, resources: list[dict]
    ) -> list[uuid.UUID | FhirError] | None:
        """Store many new resources at once (bulk import): per resource its new id or the error
        that refused it, nothing written for a refused one. ``None``: the type has no batched
        path, and each resource goes through ``create`` alone."""
        return None

    def references(self, resource: dict) -> list[str]:
        """References (``Type/id``) of a resource, for ``_include`` and ``$everything``."""
        found = []
        for param in self.search_params:
            if param.type == "reference" and param.path:
                found += [r for r in references_at(resource, param.path)]
        return found


def references_at(resource: dict, path: str) -> list[str]:
    """The references held at ``path`` (``subject``, or nested: ``participant.member``)."""
    items: list[Any] = [resource]
    for step in path.split("."):
        found: list[Any] = []
        for item in items:
            value = item.get(step) if isinstance(item, dict) else None
            found += value if isinstance(value, list) else [value]
        items = found
    return [i["reference"] for i in items if isinstance(i, dict) and i.get("reference")]


def created_in_bulk(
    resources: list[dict],
    parse: Callable[[dict], Any],
    record: Callable[[list[Any]], list[Any]],
    resource_type: str,
    elements: dict[str, str],
) -> list[uuid.UUID | FhirError]:
    """The usual ``create_many``: ``parse`` each resource into the service's input (an error
    refuses it), ``record`` all parsed ones with one service call that answers per item a view
    or a ``DomainError``, and place each error's fields on the resource's ``elements``."""
    parsed: list[Any] = []
    for resource in resources:
        try:
            parsed.append(parse(resource))
        except FhirError as error:
            parsed.append(error)
        except DomainError as error:
            parsed.append(error_on_elements(resource_type, elements, error))
    news = [p for p in parsed if not isinstance(p, FhirError)]
    recorded = iter(record(news) if news else [])
    out: list[uuid.UUID | FhirError] = []
    for item in parsed:
        if isinstance(item, FhirError):
            out.append(item)
            continue
        result = next(recorded)
        is_error = isinstance(result, DomainError)
        out.append(error_on_elements(resource_type, elements, result) if is_error else result.id)
    return out


def error_on_elements(
    resource_type: str, elements: dict[str, str], error: DomainError
) -> FhirError:
    """A service's error as a FHIR error, its fields named by the resource's elements."""
    if isinstance(error, Invalid) and error.fields:
        return FhirError(
            400,
            [
                Issue("invalid", f.en, f.zh, f"{resource_type}.{elements.get(f.field, f.field)}")
                for f in error.fields
            ],
        )
    return from_domain(error, resource_type)


def all_references(value: object) -> list[str]:
    """Every ``reference`` text anywhere inside ``value`` (a resource or part of one)."""
    if isinstance(value, dict):
        own = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return own + [r for v in value.values() for r in all_references(v)]
    if isinstance(value, list):
        return [r for v in value for r in all_references(v)]
    return []


def _not_writable(name: str) -> Exception:
    return fhir_error(
        405,
        "not-supported",
        f"{name} is read-only on this server",
        f"本服务器的 {name} 资源只读",
    )


def register(cls: type[ResourceType]) -> type[ResourceType]:
    """Class decorator: serve ``cls`` under its ``name``."""
    RESOURCE_TYPES[cls.name] = cls()
    return cls


def resource_type(name: str) -> ResourceType:
    """The registered type ``name``; a 404 OperationOutcome when it is not served."""
    found = RESOURCE_TYPES.get(name)
    if found is None:
        raise fhir_error(
            404,
            "not-supported",
            f"Resource type '{name}' is not supported; see /fhir/metadata",
            f"不支持资源类型 '{name}'，见 /fhir/metadata",
        )
    return found


def parse_id(resource_type_name: str, text: str) -> uuid.UUID:
    """A resource id as our UUID; a 404 when it cannot be one of ours."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise fhir_error(
            404,
            "not-found",
            f"{resource_type_name}/{text} does not exist",
            f"{resource_type_name}/{text} 不存在",
        ) from None


def reference_id(reference: dict | None, target: str, expression: str) -> uuid.UUID:
    """The id of a ``{"reference": "Patient/<id>"}`` to a ``target`` resource."""
    text = (reference or {}).get("reference")
    kind, _, ident = (text or "").rpartition("/")
    if not text or kind.rsplit("/", 1)[-1] != target:
        raise invalid(
            f"{expression} must refer to a {target} ('{target}/<id>')",
            f"{expression} 应引用 {target} 资源",
            expression,
        )
    try:
        return uuid.UUID(ident)
    except ValueError:
        raise invalid(
            f"{expression}: {text} does not exist", f"{expression}：{text} 不存在", expression
        ) from None


@dataclass(frozen=True)
class Answer:
    """An operation's answer: status, FHIR JSON body (or none) and headers."""

    status: int = 200
    body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)


OperationHandler = Callable[[Context, "OperationCall"], Answer]


@dataclass(frozen=True)
class OperationCall:
    """What an operation receives: its target, query items and the parsed JSON body."""

    resource_type: str | None
    resource_id: str | None
    method: str
    items: list[tuple[str, str]]
    body: dict | None
    raw_body: bytes
    content_type: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Operation:
    """An operation (``$everything``, ``$match``, ``$export`` ...) and where it applies."""

    name: str  # without the $
    resource_type: str | None  # None: system level
    instance: bool
    methods: tuple[str, ...]
    handler: OperationHandler
    doc: str


OPERATIONS: dict[tuple[str | None, bool, str], Operation] = {}


def register_operation(
    name: str,
    *,
    resource_type: str | None = None,
    instance: bool = False,
    methods: tuple[str, ...] = ("GET", "POST"),
    doc: str = "",
) -> Callable[[OperationHandler], OperationHandler]:
    """Decorator: serve ``handler`` as ``[type/[id/]]$name``."""

    def add(handler: OperationHandler) -> OperationHandler:
        OPERATIONS[(resource_type, instance, name)] = Operation(
            name, resource_type, instance, methods, handler, doc
        )
        return handler

    return add


def operation(resource_type: str | None, instance: bool, name: str, method: str) -> Operation:
    """The operation ``$name`` at that level; a 404/405 OperationOutcome otherwise."""
    found = OPERATIONS.get((resource_type, instance, name))
    if found is None:
        where = resource_type or "system"
        raise fhir_error(
            404,
            "not-supported",
            f"Operation ${name} is not supported at {where} level; see /fhir/metadata",
            f"不支持操作 ${name}（{where}），见 /fhir/metadata",
        )
    if method not in found.methods:
        raise fhir_error(
            405,
            "not-supported",
            f"${name} does not accept {method}",
            f"${name} 不支持 {method} 方法",
        )
    return found

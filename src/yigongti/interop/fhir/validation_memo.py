"""R4B validation that asks the models once per shape of element, not once per resource.

An R4B model (fhir.resources) accepts a JSON object when

- each of its complex elements (``CodeableConcept``, ``Reference``, a backbone element ...),
  given as a JSON object or a list of them, is accepted by that element's own model: the
  field's validator does nothing but ``model_validate`` the object (and takes the instance
  made as it is);
- each primitive element passes its field's type (a pydantic schema of its own: the regex of
  a ``code``, the format of a ``dateTime`` ...);
- the model's own checks pass, and they look only at which elements are present and whether
  they are ``null`` (unknown elements, required elements, one value of a choice, no ``null``
  in a list of complex elements, the ``resourceType`` given to ``__init__``).

So a JSON object's *shape* — its element names, for a primitive element its JSON type, for a
complex one that it is an object (or a list of so many objects) — settles the model's own
checks. Once the model accepted an object of some shape (validated in full, the usual way),
another object of the same shape is accepted when its complex elements are (the same reasoning,
one level down) and each primitive value passes its field's type. Shapes are only used for
models with exactly those checks (not, e.g., a primitive's extension ``_status``, whose model
checks more, nor where such an extension is present: the required-element check looks inside
it); anything else is validated by its model in full.

Bulk files repeat their shapes and values across thousands of lines (codings, units,
references): elements already accepted (by their exact JSON) and primitive values that
passed are remembered too.

:func:`accepted` only ever *accepts*: when anything fails it answers ``False`` and the caller
validates the original resource the usual way, which gives the precise error. A resource it
accepts is one the R4B model accepts.
"""

from __future__ import annotations

import types
import typing
from functools import cache

import orjson
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase
from pydantic import BaseModel, ConfigDict, TypeAdapter

MAX_REMEMBERED = 8192  # entries of each memo; a memo starts afresh when full
MAX_REMEMBERED_BYTES = 512  # longer elements and texts are checked each time, not remembered

_FieldSpec = tuple[type[BaseModel], bool]  # (the element's model, whether it is a list)
_Check = tuple[str, TypeAdapter]  # (element name, the type check of its field)
_shapes: dict[tuple, tuple[_Check, ...]] = {}  # accepted shape -> its primitives' checks
_elements: set[tuple[type, bytes]] = set()  # (model, exact JSON) of accepted elements
_primitives: set[tuple[int, type, object]] = set()  # (check, JSON type, value) that passed
_MODEL_CHECKS = {"reject_null_complex_elements", "validate_after_model_construction"}
_RESOURCE_TYPE_KEYS = ("resourceType", "resource_type")
# Values JSON has no text for (datetimes, dataclasses, subclasses of str, int, dict, list)
# raise instead of printing like a JSON value they are not.
_EXACT = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


class _NotShown(Exception):
    """The object was not shown valid here (it may still be): the model must decide."""


def accepted(model: type[BaseModel], resource: dict) -> bool:
    """Whether ``model`` accepts ``resource``, shown from shapes and values seen before (and
    the model itself for a new shape).

    ``resource`` is a value parsed from JSON (dicts, lists, texts, numbers, booleans, null).
    ``False`` means "not shown valid here", not "invalid": validate the original then.
    """
    try:
        _verify(model, resource)
    except Exception:  # any failure: the full validation decides
        return False
    return True


def forget() -> None:
    """Drop every remembered shape, element and primitive value (for tests)."""
    _shapes.clear()
    _elements.clear()
    _primitives.clear()


def _verify(model: type[BaseModel], data: dict) -> None:
    """Return when ``model`` accepts ``data``; raise when that is not shown."""
    shape = _shape(model, data)  # verifies the complex elements on the way
    checks = _shapes.get(shape) if shape is not None else None
    if checks is not None:
        _check_primitives(data, checks)
        return
    model.model_validate(data)  # in full, the usual way
    if shape is not None:
        _learn(model, shape, data)


def _element(model: type[BaseModel], value: dict) -> None:
    """Return when the element's model accepts ``value``, remembered by its exact JSON."""
    try:
        key = (model, orjson.dumps(value, option=_EXACT))
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, a non-JSON value: the model
        model.model_validate(value)
        return
    # orjson prints NaN and Infinity (which json.loads reads) as null: such a text is not the
    # value's exact JSON, so it is neither looked up nor remembered.
    exact = b"null" not in key[1]
    if exact and key in _elements:
        return
    if _plain_checks(model):
        _verify(model, value)
    else:
        model.model_validate(value)
    if exact and len(key[1]) <= MAX_REMEMBERED_BYTES:
        _remember(_elements, key)


def _shape(model: type[BaseModel], data: dict) -> tuple | None:
    """What the model's own checks see of ``data``, its complex elements verified on the way;
    None when the model must decide (unknown or repeated names, a primitive's extension, a
    complex element that is not an object)."""
    if not _plain_checks(model):
        return None
    fields = _complex_fields(model)
    names = _field_names(model)
    seen: set[str] = set()
    parts: list[object] = [model]
    for key, value in data.items():
        if key in _RESOURCE_TYPE_KEYS:
            if not isinstance(value, str):
                return None
            parts.append((key, value))
            continue
        name = names.get(key)
        if name is None or name in seen or name.endswith("__ext"):
            return None
        seen.add(name)
        spec = fields.get(key)
        if spec is None:
            parts.append((key, type(value)))
            continue
        element, is_list = spec
        if is_list:
            if not (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
                return None
            for item in value:
                _element(element, item)
            parts.append((key, "elements", len(value)))
        elif isinstance(value, dict):
            _element(element, value)
            parts.append((key, "element"))
        else:
            return None
    return tuple(parts)


def _learn(model: type[BaseModel], shape: tuple, data: dict) -> None:
    """Remember a shape the model accepted, with the type checks of its primitive elements."""
    fields = _complex_fields(model)
    names = _field_names(model)
    checks = tuple(
        (key, _primitive_check(model, names[key]))
        for key in data
        if key not in _RESOURCE_TYPE_KEYS and key not in fields
    )
    if len(_shapes) >= MAX_REMEMBERED:
        _shapes.clear()
    _shapes[shape] = checks


def _check_primitives(data: dict, checks: tuple[_Check, ...]) -> None:
    """Each primitive element through its field's type; raises when one fails."""
    for key, check in checks:
        value = data[key]
        hashable = isinstance(value, (int, float, bool)) or (  # True == 1: keyed on type too
            isinstance(value, str) and len(value) <= MAX_REMEMBERED_BYTES
        )
        if hashable and (id(check), type(value), value) in _primitives:
            continue
        check.validate_python(value)
        if hashable:
            _remember(_primitives, (id(check), type(value), value))


def _remember(memo: set, key: object) -> None:
    if len(memo) >= MAX_REMEMBERED:
        memo.clear()
    memo.add(key)


@cache
def _plain_checks(model: type[BaseModel]) -> bool:
    """Whether the model's only checks beyond its fields' types are FHIRAbstractModel's."""
    decorators = model.__pydantic_decorators__
    return (
        issubclass(model, FHIRAbstractModel)
        and model.__init__ is FHIRAbstractModel.__init__
        and set(decorators.model_validators) == _MODEL_CHECKS
        and not decorators.field_validators
        and not decorators.validators
        and not decorators.root_validators
        and all(not f.metadata for f in model.model_fields.values())
    )


@cache
def _field_names(model: type[BaseModel]) -> dict[str, str]:
    """Field name by JSON name and by field name (the models take both)."""
    found = {name: name for name in model.model_fields}
    found.update({f.alias: name for name, f in model.model_fields.items() if f.alias})
    return found


@cache
def _primitive_check(model: type[BaseModel], name: str) -> TypeAdapter:
    """The type check of one of the model's fields, on its own, under the model's config."""
    config = ConfigDict(**model.model_config)  # type: ignore[typeddict-item]
    return TypeAdapter(model.model_fields[name].annotation, config=config)


@cache
def _complex_fields(model: type[BaseModel]) -> dict[str, _FieldSpec]:
    """The model's elements of a complex type, by JSON name (and by field name), each with its
    model and whether it repeats.

    Only elements whose validator is the plain one (a JSON object to that model, an instance
    taken as it is) are listed; others (e.g. ``contained`` resources of any type) are left
    out, and the shape of an object that has one is one the model decides.
    """
    found: dict[str, _FieldSpec] = {}
    for name, field in model.model_fields.items():
        spec = _element_of(field.annotation)
        if spec is None:
            continue
        found[name] = spec
        if field.alias:
            found[field.alias] = spec
    return found


def _element_of(annotation: object) -> _FieldSpec | None:
    """(model, repeats) of ``X``, ``X | None`` or ``list[X] | None`` for a plain element type."""
    is_list = False
    inner = annotation
    origin = typing.get_origin(inner)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(inner) if a is not type(None)]
        if len(args) != 1:
            return None
        inner = args[0]
        origin = typing.get_origin(inner)
    if origin is list:
        (inner,) = typing.get_args(inner)
        is_list = True
    if not (isinstance(inner, type) and issubclass(inner, FhirBase)):
        return None
    if inner.fhir_model_validator.__func__ is not FhirBase.fhir_model_validator.__func__:  # type: ignore[attr-defined]
        return None
    element = inner.get_model_klass()
    if not (isinstance(element, type) and issubclass(element, BaseModel)):
        return None
    return element, is_list

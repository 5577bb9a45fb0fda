"""R4B validation that validates each distinct complex element once.

The R4B models (fhir.resources) validate an element of a complex type (``CodeableConcept``,
``Reference``, a backbone element ...) by its own model and nothing else: the field's
validator turns a JSON object into that model's instance (``model_validate``) and takes an
instance of the model as it is; the parent's own checks (unknown elements, required elements,
one value of a choice, no ``null`` in a list of elements) look only at which of its elements
are present. Whether an element is valid therefore depends on its type and its JSON value
alone, and the same value gives the same answer every time.

Bulk files repeat their elements across thousands of lines (the same codings, units,
organisations). :func:`accepted` validates a resource with every complex element it has
already seen replaced by the instance its model made of it then, and every new complex
element validated (the same way, recursively) and remembered; what is left for the resource's
own model is its primitive elements and its own checks.

Those checks, too, are answered once per *shape*: the element names present, with for each
primitive element its JSON type, for each complex one that it is a valid element (or a list
of so many). The model's own checks (``reject_null_complex_elements``, required elements,
one value of a choice, the resource type of ``__init__``) look at nothing else, and each
primitive element is validated by its own field's type alone. So once the model accepted a
shape, a resource of the same shape is accepted when each of its primitive values passes its
field's type (the same pydantic schema, on its own). Shapes are only learned for models with
exactly those checks, and not when a primitive's extension sibling (``_status``) is present:
the required-element check looks inside that one.

It only ever *accepts*: when anything fails, or a value is not plainly a JSON object (or a
list of them) where an element is expected, it answers ``False`` and the caller validates the
original resource the usual way, which gives the precise error. A resource it accepts is one
the R4B model accepts.
"""

from __future__ import annotations

import types
import typing
from functools import cache

import orjson
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase
from pydantic import BaseModel, ConfigDict, TypeAdapter

MAX_REMEMBERED = 8192  # distinct (type, value) pairs; the memo starts afresh when full

_FieldSpec = tuple[type[BaseModel], bool]  # (the element's model, whether it is a list)
_remembered: dict[tuple[type, bytes], BaseModel] = {}
# shape -> the (element name, type check) of its primitive elements
_shapes: dict[tuple, tuple[tuple[str, TypeAdapter], ...]] = {}
_primitives: set[tuple[int, type, object]] = set()  # (check, JSON type, value) that passed
_MODEL_CHECKS = {"reject_null_complex_elements", "validate_after_model_construction"}
_RESOURCE_TYPE_KEYS = ("resourceType", "resource_type")


def accepted(model: type[BaseModel], resource: dict) -> bool:
    """Whether ``model`` accepts ``resource``, its repeated elements validated once.

    ``False`` means "not shown valid here", not "invalid": validate the original then.
    """
    try:
        data = _with_instances(model, resource)
        shape = _shape(model, data)
        checks = _shapes.get(shape) if shape is not None else None
        if checks is not None:
            _check_primitives(data, checks)
            return True
        model.model_validate(data)
        if shape is not None:
            _learn(model, shape, data)
    except Exception:  # any failure: the full validation decides
        return False
    return True


def forget() -> None:
    """Drop every remembered element, shape and primitive value (for tests)."""
    _remembered.clear()
    _shapes.clear()
    _primitives.clear()


def _shape(model: type[BaseModel], data: dict) -> tuple | None:
    """What the model's own checks see of ``data`` (its elements replaced by instances);
    None when its verdict must come from the model itself."""
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
            return None  # unknown, given twice, or a primitive's extension: the model decides
        seen.add(name)
        if key in fields:
            if isinstance(value, BaseModel):
                parts.append((key, "element"))
            elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
                parts.append((key, "elements", len(value)))
            else:
                return None  # left as it was: the model judges it
        else:
            parts.append((key, type(value)))
    return tuple(parts)


def _learn(model: type[BaseModel], shape: tuple, data: dict) -> None:
    """Remember an accepted shape with the type checks of its primitive elements."""
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


def _check_primitives(data: dict, checks: tuple[tuple[str, TypeAdapter], ...]) -> None:
    """Each primitive element through its field's type; raises when one fails."""
    for key, check in checks:
        value = data[key]
        hashable = isinstance(value, (str, int, float, bool))  # bool is an int: key on type
        if hashable and (id(check), type(value), value) in _primitives:
            continue
        check.validate_python(value)
        if hashable:
            if len(_primitives) >= MAX_REMEMBERED:
                _primitives.clear()
            _primitives.add((id(check), type(value), value))


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


def _with_instances(model: type[BaseModel], data: dict) -> dict:
    """``data`` (a copy) with each complex element replaced by its model's instance.

    Raises when an element is invalid. A value that is not a JSON object (or a list of
    them) where an element is expected is left as it is: the model then judges it.
    """
    fields = _complex_fields(model)
    out = dict(data)
    for key, value in data.items():
        spec = fields.get(key)
        if spec is None:
            continue
        element, is_list = spec
        if is_list:
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                out[key] = [_instance(element, v) for v in value]
        elif isinstance(value, dict):
            out[key] = _instance(element, value)
    return out


def _instance(element: type[BaseModel], value: dict) -> BaseModel:
    """The model's instance of an element's JSON object, remembered by its exact JSON."""
    try:
        key = (element, orjson.dumps(value))
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits: not remembered
        return element.model_validate(_with_instances(element, value))
    made = _remembered.get(key)
    if made is None:
        made = element.model_validate(_with_instances(element, value))
        if len(_remembered) >= MAX_REMEMBERED:
            _remembered.clear()
        _remembered[key] = made
    return made


@cache
def _complex_fields(model: type[BaseModel]) -> dict[str, _FieldSpec]:
    """The model's elements of a complex type, by JSON name (and by field name, which the
    models also take), each with its model and whether it repeats.

    Only elements whose validator is the plain one (a JSON object to that model, an instance
    taken as it is) are listed; others (e.g. ``contained`` resources of any type) are left
    to the model.
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

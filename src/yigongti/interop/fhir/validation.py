"""Validation of incoming resources against the FHIR R4B models (fhir.resources).

The models check structure, types, cardinality and unknown elements; they do not check value
sets, so each mapping checks the codes it binds (gender, identifier systems, ...) itself.
"""

from __future__ import annotations

import json
from functools import cache

from pydantic import ValidationError

from yigongti.interop.fhir.errors import from_validation, invalid
from yigongti.interop.fhir.validation_memo import accepted

MAX_DEPTH = 40


def parse_json(raw: bytes) -> dict:
    """The JSON object in ``raw``; a 400 OperationOutcome when it is not one."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid(
            f"Body is not valid JSON: {error}", f"请求体不是有效的 JSON：{error}"
        ) from None
    if not isinstance(value, dict):
        raise invalid(
            "Body must be a JSON object (a FHIR resource)", "请求体应为 JSON 对象（FHIR 资源）"
        )
    return value


@cache
def _model(resource_type: str) -> type | None:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return None


def validate(resource: dict, expected: str | None = None) -> dict:
    """``resource`` checked against its R4B model (and ``expected`` type); returned as is.

    Shapes and elements the model accepted before are not validated again
    (``validation_memo``); a resource not shown valid that way goes to the model, whose
    errors are the ones reported.
    """
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or not kind:
        raise invalid("resourceType is missing", "缺少 resourceType", "resourceType")
    if expected is not None and kind != expected:
        raise invalid(
            f"resourceType is '{kind}' but this endpoint takes {expected}",
            f"resourceType 为 '{kind}'，此处应为 {expected}",
            "resourceType",
        )
    model = _model(kind)
    if model is None:
        raise invalid(
            f"Unknown resourceType '{kind}'", f"未知的 resourceType '{kind}'", "resourceType"
        )
    if accepted(model, resource):  # repeated elements validated once; else the model decides
        return resource
    try:
        model.model_validate(resource)
    except ValidationError as error:
        raise from_validation(kind, error.errors(include_url=False)) from None
    except (ValueError, TypeError) as error:  # the models raise these for some bad primitives
        raise invalid(f"{kind}: {error}", f"{kind} 内容无效：{error}") from None
    return resource

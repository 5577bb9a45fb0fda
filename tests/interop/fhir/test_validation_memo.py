"""R4B validation with repeated elements and shapes remembered refuses exactly what the model
refuses, with the same issues, however warm its memo is."""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Iterator
from unittest import mock

import pytest

from yigongti.bench.ingest.mix import county_mix
from yigongti.interop.fhir import validation, validation_memo
from yigongti.interop.fhir.errors import FhirError, Issue
from yigongti.interop.fhir.validation import _model, validate


def _issues_of_model(resource: dict) -> list[Issue] | None:
    """The R4B model's own verdict (``validate`` with the memo out of the way): None when it
    accepts, else the issues we report."""
    with mock.patch.object(validation, "accepted", return_value=False):
        try:
            validation.validate(copy.deepcopy(resource))
        except FhirError as error:
            return error.issues
    return None


def _issues(resource: dict) -> list[Issue] | None:
    """``validate``'s verdict (memo first): None when it accepts, else its issues."""
    try:
        validate(resource)
    except FhirError as error:
        return error.issues
    return None


def _mix(count: int = 300) -> list[dict]:
    villages = [uuid.UUID(int=i) for i in range(1, 6)]
    return list(county_mix(count, 7, "320000", villages, uuid.UUID(int=99), set()))


@pytest.fixture(autouse=True)
def _fresh_memo() -> Iterator[None]:
    validation_memo.forget()
    yield
    validation_memo.forget()


def _warm(resources: list[dict]) -> None:
    for resource in resources:
        assert _issues(resource) is None


def _observation() -> dict:
    return next(r for r in _mix() if r["resourceType"] == "Observation")


def _encounter() -> dict:
    return next(r for r in _mix() if r["resourceType"] == "Encounter")


def _patient() -> dict:
    return next(r for r in _mix() if r["resourceType"] == "Patient")


def _set(resource: dict, path: tuple, value: object) -> dict:
    changed = copy.deepcopy(resource)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def _drop(resource: dict, key: str) -> dict:
    changed = copy.deepcopy(resource)
    del changed[key]
    return changed


# Each refused by the R4B model; the memo has seen the good resource (and its shape) first.
BAD = {
    "unknown top-level element": lambda: _set(_observation(), ("colour",), "red"),
    "unknown element in a coding": lambda: _set(_observation(), ("code", "coding", 0, "x"), 1),
    "unknown element in a reference": lambda: _set(_observation(), ("subject", "kind"), "p"),
    "unknown element in a second list item": lambda: _set(
        _observation(), ("category",), [*_observation()["category"], {"coding": [], "x": 1}]
    ),
    "code with a trailing space": lambda: _set(
        _observation(), ("code", "coding", 0, "code"), "8867-4 "
    ),
    "decimal as text": lambda: _set(_observation(), ("valueQuantity", "value"), "high"),
    "status as a number": lambda: _set(_observation(), ("status",), 5),
    "status empty": lambda: _set(_observation(), ("status",), ""),
    "code with spaces only": lambda: _set(_observation(), ("code", "coding", 0, "code"), "  "),
    "bad dateTime": lambda: _set(_observation(), ("effectiveDateTime",), "yesterday"),
    "bad id": lambda: _set(_observation(), ("id",), "o 1/2"),
    "reference as text": lambda: _set(_observation(), ("subject",), "Patient/p1"),
    "null in a list of elements": lambda: _set(_observation(), ("category",), [None]),
    "one element where a list is due": lambda: _set(
        _observation(), ("category",), _observation()["category"][0]
    ),
    "list where one element is due": lambda: _set(
        _observation(), ("code",), [_observation()["code"]]
    ),
    "required element missing": lambda: _drop(_observation(), "code"),
    "two values of a choice": lambda: _set(_observation(), ("valueString",), "high"),
    "encounter without class": lambda: _drop(_encounter(), "class"),
    "encounter status null": lambda: _set(_encounter(), ("status",), None),
    "bad period start": lambda: _set(_encounter(), ("period", "start"), "2025-13-01"),
    "patient name as text": lambda: _set(_patient(), ("name",), "王五"),
    "patient given as text": lambda: _set(_patient(), ("name", 0, "given"), "王"),
    "patient unknown gender type": lambda: _set(_patient(), ("gender",), ["male"]),
    "patient birthDate a number": lambda: _set(_patient(), ("birthDate",), 19800101),
    "extension without url": lambda: _set(
        _patient(), ("address", 0, "extension", 0), {"valueString": "x"}
    ),
    "primitive extension empty": lambda: _set(_encounter(), ("_status",), {}),
    "unknown element in a quantity": lambda: _set(_observation(), ("valueQuantity", "v"), 1),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_resource_is_refused_with_the_models_issues_after_good_ones(case: str) -> None:
    bad = BAD[case]()
    expected = _issues_of_model(bad)
    assert expected is not None, "the case must be one the R4B model refuses"
    _warm(_mix())
    assert not validation_memo.accepted(_model(bad["resourceType"]), bad)
    assert _issues(bad) == expected
    assert _issues(bad) == expected  # and again, with whatever the first try remembered


def test_good_resources_are_accepted_cold_and_warm() -> None:
    resources = _mix()
    for resource in resources:
        assert validation_memo.accepted(_model(resource["resourceType"]), resource)
    for resource in resources:  # now from remembered elements and shapes
        assert validation_memo.accepted(_model(resource["resourceType"]), resource)


def test_the_memo_leaves_the_resource_as_it_was() -> None:
    resource = _observation()
    before = copy.deepcopy(resource)
    validate(resource)
    validate(resource)
    assert resource == before


def _leaves(value: object, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, index)
            yield from _leaves(item, (*path, index))


_REPLACEMENTS = (
    None,
    "",
    " ",
    "x",
    "final",
    "2025-02-30",
    "2025-02-07T00:11:00+08:00",
    0,
    -1,
    1.5,
    True,
    2**40,
    [],
    [None],
    ["x"],
    {},
    {"x": 1},
    {"text": "t"},
    {"reference": "Patient/p1"},
)


def _mutated(resource: dict, rng: random.Random) -> dict:
    """The resource with one element replaced, removed or added somewhere."""
    changed = copy.deepcopy(resource)
    path = rng.choice(list(_leaves(changed)))
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    action = rng.random()
    if action < 0.6:
        parent[path[-1]] = copy.deepcopy(rng.choice(_REPLACEMENTS))
    elif action < 0.8 and isinstance(parent, dict) and path[-1] != "resourceType":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        name = rng.choice(("extra", "valueString", "status", "_status", "code", "period"))
        parent[name] = copy.deepcopy(rng.choice(_REPLACEMENTS))
    return changed


def test_random_changes_get_the_models_verdict_and_issues() -> None:
    rng = random.Random(20261207)
    resources = _mix(200)
    refused = 0
    for round_ in range(3):  # cold, then warmer: the memo keeps what earlier rounds taught it
        for resource in resources:
            changed = _mutated(resource, rng)
            expected = _issues_of_model(changed)
            refused += expected is not None
            assert _issues(changed) == expected, (round_, changed)
            assert _issues(resource) is None
    assert refused > 100  # the changes do reach the model's refusals


def test_long_elements_and_texts_are_checked_without_being_remembered() -> None:
    long_text = "长" * (validation_memo.MAX_REMEMBERED_BYTES + 10)
    good = _set(_observation(), ("code", "text"), long_text)
    _warm([good, good])
    bad = _set(good, ("code", "coding", 0, "code"), " ")
    assert _issues(bad) == _issues_of_model(bad) is not None
    assert not any(
        len(key[1]) > validation_memo.MAX_REMEMBERED_BYTES for key in validation_memo._elements
    )
    assert not any(
        isinstance(value, str) and len(value) > validation_memo.MAX_REMEMBERED_BYTES
        for _, _, value in validation_memo._primitives
    )


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_a_number_json_cannot_hold_is_not_taken_for_the_null_it_prints_as(number: float) -> None:
    # json.loads (the REST API's parser) reads NaN and Infinity; orjson prints them as null.
    with_null = _set(_observation(), ("valueQuantity", "value"), None)
    with_number = _set(_observation(), ("valueQuantity", "value"), number)
    _warm([with_null, with_null])
    assert _issues(with_number) == _issues_of_model(with_number)
    assert _issues(with_number) == _issues_of_model(with_number)

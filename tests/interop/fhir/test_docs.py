"""docs/fhir.md is generated from the registry of resource types, so it lists what is served."""

from __future__ import annotations

from pathlib import Path

from yigongti.interop.fhir import resources  # noqa: F401 - registers every type
from yigongti.interop.fhir.docs import render_docs
from yigongti.interop.fhir.resource import RESOURCE_TYPES

DOCS = Path(__file__).parents[3] / "docs" / "fhir.md"


def test_the_documented_api_is_the_served_api() -> None:
    regenerate = "uv run python -m yigongti.interop.fhir.docs >docs/fhir.md"
    assert DOCS.read_text(encoding="utf-8") == render_docs(), f"regenerate it: {regenerate}"


def test_every_served_type_and_search_parameter_is_documented() -> None:
    text = render_docs()
    for name, kind in RESOURCE_TYPES.items():
        assert f"### {name}" in text
        for param in kind.search_params:
            assert f"`{param.name}`" in text

"""A line's references made ours: imported ones rewritten, ours kept, others refused with the
element's path; the Patients it refers to collected on the way."""

from __future__ import annotations

import uuid

import pytest

from yigongti.interop.bulk.service.lines import Rejected, rewritten

OURS = uuid.UUID("0191d9a4-0000-7000-8000-000000000001")
IMPORTED = uuid.UUID("0191d9a4-0000-7000-8000-000000000002")
ENCOUNTER = uuid.UUID("0191d9a4-0000-7000-8000-000000000003")


def _observation(**changes: object) -> dict:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "meta": {"versionId": "3"},
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "encounter": {"reference": "Encounter/e1"},
        "performer": [{"reference": f"Practitioner/{OURS}"}, {"display": "Dr Wang"}],
        **changes,
    }


TARGETS = {("Patient", "p1"): IMPORTED, ("Encounter", "e1"): ENCOUNTER}


def test_imported_references_become_ours_and_our_ids_stay() -> None:
    patients: set[uuid.UUID] = set()
    body = rewritten(_observation(), TARGETS, patients)
    assert "id" not in body and "meta" not in body
    assert body["subject"] == {"reference": f"Patient/{IMPORTED}"}
    assert body["encounter"] == {"reference": f"Encounter/{ENCOUNTER}"}
    assert body["performer"][0] == {"reference": f"Practitioner/{OURS}"}
    assert patients == {IMPORTED}


def test_a_patient_given_by_our_id_is_collected_too() -> None:
    patients: set[uuid.UUID] = set()
    rewritten(_observation(subject={"reference": f"Patient/{OURS}"}), TARGETS, patients)
    assert patients == {OURS}


def test_the_original_line_is_left_as_it_was() -> None:
    line = _observation()
    rewritten(line, TARGETS, set())
    assert line == _observation()


@pytest.mark.parametrize(
    ("changes", "expression"),
    [
        ({"subject": {"reference": "Patient/nobody"}}, "Observation.subject.reference"),
        (
            {"performer": [{"display": "x"}, {"reference": "Practitioner/dr9"}]},
            "Observation.performer[1].reference",
        ),
        (
            {"hasMember": [{"reference": "Observation/o2", "extension": []}]},
            "Observation.hasMember[0].reference",
        ),
    ],
)
def test_a_reference_neither_imported_nor_ours_is_refused_at_its_element(
    changes: dict, expression: str
) -> None:
    patients: set[uuid.UUID] = set()
    with pytest.raises(Rejected) as refused:
        rewritten(_observation(**changes), TARGETS, patients)
    (issue,) = refused.value.issues
    assert issue.code == "not-found"
    assert issue.expression == expression
    assert issue.en.startswith(expression.removesuffix(".reference") + ": ")
    assert patients == set()  # a refused line adds no Patient

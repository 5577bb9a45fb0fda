"""UUIDv7 record identifiers (RFC 9562): sortable by creation time."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from yigongti.kernel import uuid7

millis = st.integers(min_value=0, max_value=2**48 - 1)
tails = st.binary(min_size=10, max_size=10)


@given(ms=millis, tail=tails)
def test_uuid7_is_version_7_with_the_rfc_variant_and_its_timestamp(ms: int, tail: bytes) -> None:
    made = uuid7(ms, tail)
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert made.int >> 80 == ms


@given(earlier=millis, later=millis, tail_a=tails, tail_b=tails)
def test_a_later_millisecond_always_sorts_after_an_earlier_one(
    earlier: int, later: int, tail_a: bytes, tail_b: bytes
) -> None:
    if earlier == later:
        return
    earlier, later = sorted((earlier, later))
    assert uuid7(earlier, tail_a) < uuid7(later, tail_b)
    assert str(uuid7(earlier, tail_a)) < str(uuid7(later, tail_b))


def test_fresh_uuids_are_distinct_and_of_version_7() -> None:
    made = [uuid7() for _ in range(1000)]
    assert len(set(made)) == 1000
    assert {u.version for u in made} == {7}

"""When a score links, goes to a clerk, or makes a new resident; and when an ID number is
trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

from yigongti.interop.empi.model import Score
from yigongti.kernel import Invalid, parse_resident_id


@dataclass(frozen=True)
class Thresholds:
    """Match probability at or above ``link`` links; from ``review`` up, a clerk decides."""

    link: float = 0.99
    review: float = 0.80

    def decide(self, probability: float | None, id_conflict: bool = False) -> str:
        """``linked``, ``review`` or ``new``.

        A record whose valid ID number belongs to a resident it does not resemble is never
        made a new resident silently: at worst a clerk sees it.
        """
        if probability is not None and probability >= self.link:
            return "linked"
        if id_conflict or (probability is not None and probability >= self.review):
            return "review"
        return "new"


def valid_id_number(number: str | None) -> bool:
    """Whether ``number`` passes GB 11643 (length, area, birth date, check character)."""
    if not number:
        return False
    try:
        parse_resident_id(number)
    except Invalid:
        return False
    return True


def id_conflict(score: Score) -> bool:
    """The holder of a record's ID number differs badly in name or birth date."""
    return score.agreements.get("name") == "different" or (
        score.agreements.get("birth_date") == "different"
    )

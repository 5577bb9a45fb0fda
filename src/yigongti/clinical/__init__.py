"""The shared resident record: conditions, encounters and fee lines from every institution."""

from yigongti.clinical.service import (
    EncounterSummary,
    conditions_of,
    encounters_by_tier,
    encounters_of,
    fee_breakdown,
)

__all__ = [
    "EncounterSummary",
    "conditions_of",
    "encounters_by_tier",
    "encounters_of",
    "fee_breakdown",
]

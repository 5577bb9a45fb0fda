"""The linkage model: comparisons (one table, as Splink SQL and as Python), its Splink
settings, and the trained m/u weights applied to one record's candidates.

Each comparison level is written twice, side by side: the SQL condition Splink evaluates in
DuckDB for batch linkage and training, and the Python test the single-record scorer runs on
the few candidates blocking found. The trained model is Splink's settings JSON, kept as data
(``data/model.json``); both paths read the same m and u probabilities from it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from yigongti.interop.empi.features import Features

Test = Callable[[Features, Features], bool]
MODEL_RESOURCE = "data/model.json"
NOT_OBSERVED = 1e-6
CLAMP = 1e-300  # Splink clamps m and u from below at this


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions, swaps."""
    if a == b:
        return 0
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def _both(field: str) -> Test:
    return lambda a, b: a[field] is not None and b[field] is not None


def _same(field: str) -> Test:
    return lambda a, b: a[field] == b[field]


def _within(field: str, edits: int) -> Test:
    return lambda a, b: edit_distance(a[field] or "", b[field] or "") <= edits


def _swapped(a: Features, b: Features) -> bool:
    return a["name"] == b["name_rot"] or a["name_rot"] == b["name"]


@dataclass(frozen=True)
class Level:
    """One level of a comparison; ``agreement`` is what a clerk is shown."""

    label: str
    agreement: str  # exact | close | different | missing
    sql: str
    test: Test


@dataclass(frozen=True)
class Comparison:
    """One field's comparison: a null level first, then levels from strongest to weakest."""

    field: str
    levels: tuple[Level, ...]


def _null(field: str) -> Level:
    return Level(
        "missing",
        "missing",
        f'"{field}_l" IS NULL OR "{field}_r" IS NULL',
        lambda a, b: not _both(field)(a, b),
    )


def _exact(field: str) -> Level:
    return Level("exact", "exact", f'"{field}_l" = "{field}_r"', _same(field))


def _edits(field: str, edits: int) -> Level:
    return Level(
        f"within {edits} edit{'s' if edits > 1 else ''}",
        "close",
        f'damerau_levenshtein("{field}_l", "{field}_r") <= {edits}',
        _within(field, edits),
    )


ELSE = Level("different", "different", "ELSE", lambda a, b: True)

COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "name",
        (
            _null("name"),
            _exact("name"),
            Level("same pinyin", "close", '"name_py_l" = "name_py_r"', _same("name_py")),
            Level(
                "given name first",
                "close",
                '"name_l" = "name_rot_r" OR "name_rot_l" = "name_r"',
                _swapped,
            ),
            Level(
                "one character differs",
                "close",
                'levenshtein("name_l", "name_r") <= 1',
                lambda a, b: edit_distance(a["name"] or "", b["name"] or "") <= 1,
            ),
            ELSE,
        ),
    ),
    Comparison("sex", (_null("sex"), _exact("sex"), ELSE)),
    Comparison(
        "birth_date", (_null("birth_date"), _exact("birth_date"), _edits("birth_date", 1), ELSE)
    ),
    Comparison("phone", (_null("phone"), _exact("phone"), _edits("phone", 1), ELSE)),
    Comparison(
        "id_number", (_null("id_number"), _exact("id_number"), _edits("id_number", 1), ELSE)
    ),
    Comparison(
        "address",
        (
            _null("town"),
            Level("same village", "exact", '"village_l" = "village_r"', _same("village")),
            Level("same town", "close", '"town_l" = "town_r"', _same("town")),
            ELSE,
        ),
    ),
)

# Candidate pairs: any of these agreeing (Splink's blocking; the single-record path asks the
# same of the resident table in SQL).
BLOCKING_COLUMNS: tuple[tuple[str, ...], ...] = (
    ("birth_date",),
    ("name_py", "sex"),
    ("phone",),
    ("id_a",),
    ("id_b",),
)


def splink_settings(link_type: str = "link_only", prior: float = 1e-4) -> Any:
    """Splink settings of the model (untrained): the comparisons and blocking rules above."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons = [
        cl.CustomComparison(
            output_column_name=c.field,
            comparison_levels=[
                {"sql_condition": lv.sql, "label_for_charts": lv.label}
                | ({"is_null_level": True} if lv.agreement == "missing" else {})
                for lv in c.levels
            ],
        )
        for c in COMPARISONS
    ]
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="uid",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_on(*cols) for cols in BLOCKING_COLUMNS],
        probability_two_random_records_match=prior,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


@dataclass(frozen=True)
class Score:
    """A candidate pair's match weight, probability and per-field agreement."""

    match_weight: float
    probability: float
    agreements: dict[str, str]
    levels: dict[str, str]


@dataclass(frozen=True)
class TrainedModel:
    """The log2 Bayes factors of every comparison level and the prior, from Splink's JSON."""

    prior_weight: float
    weights: dict[str, tuple[float, ...]]  # field -> one per level, null level 0

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> TrainedModel:
        """Read the trained m and u probabilities from a Splink settings dictionary."""
        prior = settings["probability_two_random_records_match"]
        weights: dict[str, tuple[float, ...]] = {}
        by_name = {c["output_column_name"]: c for c in settings["comparisons"]}
        for comparison in COMPARISONS:
            levels = by_name[comparison.field]["comparison_levels"]
            weights[comparison.field] = tuple(_log2_bf(lv) for lv in levels)
        return cls(math.log2(prior / (1 - prior)), weights)

    def score(self, left: Features, right: Features) -> Score:
        """Compare two records level by level and add up the weights."""
        total = self.prior_weight
        agreements: dict[str, str] = {}
        levels: dict[str, str] = {}
        for comparison in COMPARISONS:
            for index, level in enumerate(comparison.levels):
                if level.test(left, right):
                    total += self.weights[comparison.field][index]
                    agreements[comparison.field] = level.agreement
                    levels[comparison.field] = level.label
                    break
        return Score(total, probability_of(total), agreements, levels)


def probability_of(match_weight: float) -> float:
    """Match probability of a match weight (log2 odds)."""
    return 1.0 / (1.0 + 2.0 ** (-match_weight))


def completed(settings: dict[str, Any]) -> dict[str, Any]:
    """The trained settings with every level's m and u set: one training did not observe
    (Splink leaves it out, and would guess a default) counts as 1e-6, as Splink counts a
    level it marked unobserved. Predict with these so Splink and the scorer agree."""
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level"):
                for key in ("m_probability", "u_probability"):
                    level[key] = _probability(level.get(key))
    return settings


def _log2_bf(level: dict[str, Any]) -> float:
    # As Splink weighs a level: m and u clamped from below.
    if level.get("is_null_level"):
        return 0.0
    m, u = _probability(level.get("m_probability")), _probability(level.get("u_probability"))
    return math.log2(max(m, CLAMP) / max(u, CLAMP))


def _probability(value: object) -> float:
    return float(value) if isinstance(value, float | int) else NOT_OBSERVED


@cache
def trained_model() -> TrainedModel:
    """The model shipped with the code (trained on a generated linkage set)."""
    raw = resources.files("yigongti.interop.empi").joinpath(MODEL_RESOURCE).read_text()
    return TrainedModel.from_settings(json.loads(raw))


def load_model(path: Path) -> TrainedModel:
    """A model saved by Splink (``save_model_to_json``) at ``path``."""
    return TrainedModel.from_settings(json.loads(path.read_text()))

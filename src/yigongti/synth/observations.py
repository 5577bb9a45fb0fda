"""Observation rows drawn as arrays: numbers rounded as instruments show them, interpreted
against the catalog's normal range and critical limits exactly as the clinical service does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from yigongti.clinical.codes import OBSERVATION_SYSTEM, observation_catalog
from yigongti.synth.loader import BulkWriter

Columns = dict[str, Sequence[object]]
BP_PANEL, SYSTOLIC, DIASTOLIC = "85354-9", "8480-6", "8462-4"


def interpret(code: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """H, L or N (None without a normal range) of each value, and whether it is critical."""
    entry = observation_catalog()[code]
    normal, limits = entry.get("normal"), entry.get("critical")
    if normal:
        flags = np.where(values < normal[0], "L", np.where(values > normal[1], "H", "N"))
        flags = flags.astype(object)
    else:
        flags = np.full(len(values), None, dtype=object)
    critical = np.zeros(len(values), dtype=bool)
    if limits:
        critical = (values <= limits[0]) | (values >= limits[1])
    return flags, critical


def draw_value(
    rng: np.random.Generator, code: str, mean: np.ndarray | float, sd: float, n: int, digits: int
) -> np.ndarray:
    """Normal values within the code's plausible bounds, rounded to ``digits``."""
    low, high = observation_catalog()[code]["bounds"]
    return np.round(np.clip(rng.normal(mean, sd, n), low, high), digits)


def quantity_rows(
    writer: BulkWriter,
    code: str,
    values: np.ndarray,
    base: Columns,
) -> Columns:
    """Rows of a numeric observation; ``base`` gives id, resident, institution, encounter,
    report and effective_at columns."""
    entry = observation_catalog()[code]
    flags, critical = interpret(code, values)
    n = len(values)
    return {
        **base,
        "category": [entry["category"]] * n,
        "code_system": [OBSERVATION_SYSTEM] * n,
        "code": [code] * n,
        "value": values.astype(float).tolist(),
        "unit": [entry["unit"]] * n,
        "value_text": [None] * n,
        "components": [None] * n,
        "interpretation": flags.tolist(),
        "critical": writer.flags(critical),
        "status": ["final"] * n,
    }


def blood_pressure_rows(
    writer: BulkWriter, systolic: np.ndarray, diastolic: np.ndarray, base: Columns
) -> Columns:
    """Rows of blood-pressure panels with their systolic and diastolic components."""
    s_flag, s_critical = interpret(SYSTOLIC, systolic)
    d_flag, d_critical = interpret(DIASTOLIC, diastolic)
    panel = np.where(
        (s_flag == "H") | (d_flag == "H"),
        "H",
        np.where((s_flag == "L") | (d_flag == "L"), "L", "N"),
    )
    components = [
        f'[{{"code": "{SYSTOLIC}", "value": {s:.1f}, "unit": "mm[Hg]", "interpretation": "{sf}"}}, '
        f'{{"code": "{DIASTOLIC}", "value": {d:.1f}, "unit": "mm[Hg]", "interpretation": "{df}"}}]'
        for s, d, sf, df in zip(
            systolic.tolist(), diastolic.tolist(), s_flag.tolist(), d_flag.tolist(), strict=True
        )
    ]
    n = len(systolic)
    return {
        **base,
        "category": ["vital-signs"] * n,
        "code_system": [OBSERVATION_SYSTEM] * n,
        "code": [BP_PANEL] * n,
        "value": [None] * n,
        "unit": [None] * n,
        "value_text": [None] * n,
        "components": components,
        "interpretation": panel.tolist(),
        "critical": writer.flags(s_critical | d_critical),
        "status": ["final"] * n,
    }

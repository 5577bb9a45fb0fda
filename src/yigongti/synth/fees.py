"""What an encounter costs, by fee category, in integer fen.

Each (kind of visit, tier) has a profile: per category the chance it appears on the bill, its
mean in yuan and the spread of its lognormal. The profiles are tuned to the model county's
report: drug share about 28%, outpatient visits averaging roughly 275 yuan at county hospitals,
115 at township centers and 50 at village clinics, inpatient stays about 9,000 and 3,000 yuan.
"""

from __future__ import annotations

import numpy as np

CATEGORIES = ("drug", "exam", "lab", "consumable", "service", "bed")
DRUG = CATEGORIES.index("drug")
BED = CATEGORIES.index("bed")

Profile = dict[str, tuple[float, float, float]]  # category -> (chance, mean yuan, sigma)

PROFILES: dict[tuple[str, str], Profile] = {
    ("outpatient", "village"): {
        "drug": (0.93, 30, 0.6), "exam": (0.04, 35, 0.4), "lab": (0.08, 25, 0.5),
        "consumable": (0.3, 5, 0.5), "service": (1.0, 12, 0.3),
    },
    ("outpatient", "township"): {
        "drug": (0.85, 55, 0.7), "exam": (0.22, 95, 0.6), "lab": (0.28, 65, 0.6),
        "consumable": (0.4, 15, 0.6), "service": (1.0, 18, 0.4),
    },
    ("outpatient", "county"): {
        "drug": (0.78, 112, 0.8), "exam": (0.38, 215, 0.7), "lab": (0.45, 135, 0.7),
        "consumable": (0.4, 40, 0.7), "service": (1.0, 32, 0.5),
    },
    ("emergency", "township"): {
        "drug": (0.85, 90, 0.7), "exam": (0.4, 110, 0.6), "lab": (0.5, 80, 0.6),
        "consumable": (0.6, 30, 0.6), "service": (1.0, 40, 0.4),
    },
    ("emergency", "county"): {
        "drug": (0.82, 210, 0.8), "exam": (0.62, 260, 0.7), "lab": (0.7, 160, 0.7),
        "consumable": (0.6, 70, 0.7), "service": (1.0, 65, 0.5),
    },
    ("inpatient", "township"): {
        "drug": (1.0, 800, 0.6), "exam": (0.9, 440, 0.6), "lab": (1.0, 430, 0.5),
        "consumable": (1.0, 350, 0.6), "service": (1.0, 700, 0.5),
    },
    ("inpatient", "county"): {
        "drug": (1.0, 2180, 0.7), "exam": (1.0, 1550, 0.6), "lab": (1.0, 1250, 0.5),
        "consumable": (1.0, 1950, 0.9), "service": (1.0, 1850, 0.6),
    },
}  # fmt: skip

# Bed fee per day in yuan by tier; stays in days: (mean, sigma) of a lognormal.
BED_PER_DAY = {"township": 30.0, "county": 55.0}
STAY = {"township": (6.5, 0.45), "county": (8.5, 0.55)}
# Inpatient items grow with the length of stay, less than in proportion.
STAY_ELASTICITY = 0.5


def _lognormal(rng: np.random.Generator, mean: float, sigma: float, n: int) -> np.ndarray:
    return rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, n)


def stay_days(rng: np.random.Generator, tier: str, n: int) -> np.ndarray:
    """Lengths of inpatient stays in whole days, at least one."""
    mean, sigma = STAY[tier]
    return np.maximum(np.rint(_lognormal(rng, mean, sigma, n)), 1).astype(np.int64)


def amounts(
    rng: np.random.Generator, kind: str, tier: str, stays: np.ndarray | None = None, n: int = 0
) -> np.ndarray:
    """(n, categories) amounts in fen for ``n`` encounters; 0 where a category is absent.

    Inpatient encounters pass their ``stays`` (days), which sets ``n`` and the bed fee.
    """
    if stays is not None:
        n = len(stays)
    fen = np.zeros((n, len(CATEGORIES)), dtype=np.int64)
    scale = np.ones(n)
    if kind == "inpatient" and stays is not None:
        scale = (stays / STAY[tier][0]) ** STAY_ELASTICITY
        fen[:, BED] = np.rint(stays * BED_PER_DAY[tier] * 100)
    for category, (chance, mean, sigma) in PROFILES[(kind, tier)].items():
        present = rng.random(n) < chance
        yuan = _lognormal(rng, mean, sigma, n) * scale
        fen[:, CATEGORIES.index(category)] = np.where(
            present, np.maximum(np.rint(yuan * 100), 100), 0
        )
    return fen

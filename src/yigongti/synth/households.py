"""Who lives together: households of one to six people drawn from family types.

A household is a row of six slots. Slot 0 holds the man of the core couple (or the single
person), slot 1 the woman, slots 2-4 their children, slots 4-5 the man's parents. Ages are drawn
per family type and the type shares are tuned so that the county ages like rural Zhejiang: about
22% aged 65 and over, 14% under 15, median age around 45.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SLOTS = 6
RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "other")
HEAD, SPOUSE, CHILD, PARENT, GRANDCHILD, OTHER = range(len(RELATIONS))
BOY_SHARE = 0.53  # sex ratio at birth of the 2000s-2010s, about 1.12
OLDEST = 99.5


@dataclass
class Grid:
    """Households as (n, 6) arrays; ``mother``/``father`` are slot numbers or -1."""

    valid: np.ndarray
    age: np.ndarray  # years, fractional
    male: np.ndarray
    relation: np.ndarray
    mother: np.ndarray
    father: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Grid:
        """``n`` households with nobody in them yet."""
        return cls(
            valid=np.zeros((n, SLOTS), dtype=bool),
            age=np.zeros((n, SLOTS)),
            male=np.zeros((n, SLOTS), dtype=bool),
            relation=np.zeros((n, SLOTS), dtype=np.int8),
            mother=np.full((n, SLOTS), -1, dtype=np.int8),
            father=np.full((n, SLOTS), -1, dtype=np.int8),
        )

    def put(self, rows: np.ndarray, slot: int, age: np.ndarray, male: np.ndarray | bool) -> None:
        """Place people of these ages and sexes in ``slot`` of households ``rows``."""
        self.valid[rows, slot] = True
        self.age[rows, slot] = age
        self.male[rows, slot] = male

    def sizes(self) -> np.ndarray:
        """People per household."""
        return self.valid.sum(axis=1)


def _within(rng: np.random.Generator, age: np.ndarray, low: float, high: float) -> np.ndarray:
    """Ages outside [low, high] redrawn just inside it: clipping would pile people onto one
    birth day, and ID sequences run out at 500 a day."""
    age = np.where(age > high, high - rng.uniform(0, 8, len(age)), age)
    return np.where(age < low, low + rng.uniform(0, 3, len(age)), age)


def _older(rng: np.random.Generator, n: int, start: float, scale: float) -> np.ndarray:
    return _within(rng, start + rng.gamma(2.0, scale, n), start, OLDEST)


def _wife_age(rng: np.random.Generator, husband: np.ndarray, floor: float) -> np.ndarray:
    return _within(rng, husband - rng.normal(2.0, 2.5, len(husband)), floor, OLDEST)


def _elder_single(g: Grid, rng: np.random.Generator, rows: np.ndarray) -> None:
    g.put(rows, 0, _older(rng, len(rows), 62, 6.5), rng.random(len(rows)) < 0.42)


def _elder_couple(g: Grid, rng: np.random.Generator, rows: np.ndarray) -> None:
    husband = _older(rng, len(rows), 61, 5.5)
    g.put(rows, 0, husband, True)
    g.put(rows, 1, _wife_age(rng, husband, 58), False)
    wife_heads = rng.random(len(rows)) < 0.15
    g.relation[rows, 0] = np.where(wife_heads, SPOUSE, HEAD)
    g.relation[rows, 1] = np.where(wife_heads, HEAD, SPOUSE)


def _adult_single(g: Grid, rng: np.random.Generator, rows: np.ndarray) -> None:
    g.put(rows, 0, rng.triangular(19, 27, 64.9, len(rows)), rng.random(len(rows)) < 0.75)


def _couple(g: Grid, rng: np.random.Generator, rows: np.ndarray) -> None:
    young = rng.random(len(rows)) < 0.28
    husband = np.where(young, rng.uniform(22, 36, len(rows)), rng.uniform(46, 67, len(rows)))
    g.put(rows, 0, husband, True)
    g.put(rows, 1, _wife_age(rng, husband, 20), False)
    g.relation[rows, 1] = SPOUSE


# Births per year by five-year band of the children's age today (0-4 ... 20-24): fewer births
# in the last years, as in the county's records.
CHILD_BANDS = np.array([0.62, 0.85, 1.0, 1.0, 0.9])


def _child_ages(
    rng: np.random.Generator, n: int, counts: np.ndarray, oldest_cap: float
) -> np.ndarray:
    """(n, 3) ages of up to three children, oldest first, NaN where there is no child."""
    bands = int(np.ceil(oldest_cap / 5))
    p = CHILD_BANDS[:bands] / CHILD_BANDS[:bands].sum()
    band = rng.choice(bands, size=n, p=p) * 5.0
    oldest = band + rng.random(n) * np.minimum(5.0, oldest_cap - band)
    ages = np.full((n, 3), np.nan)
    ages[:, 0] = oldest
    for k in (1, 2):
        younger = ages[:, k - 1] - rng.uniform(1.5, 7, n)
        ages[:, k] = np.where((counts > k) & (younger >= 0), younger, np.nan)
    return ages


def _mother_age(rng: np.random.Generator, oldest_child: np.ndarray) -> np.ndarray:
    return oldest_child + np.clip(rng.normal(27, 3.5, len(oldest_child)), 20, 42)


def _place_children(g: Grid, rng: np.random.Generator, rows: np.ndarray, ages: np.ndarray) -> None:
    """Children in slots 2-4, linked to whichever parents the household holds."""
    for k in range(3):
        has = ~np.isnan(ages[:, k])
        sub = rows[has]
        g.put(sub, 2 + k, ages[has, k], rng.random(len(sub)) < BOY_SHARE)
        g.relation[sub, 2 + k] = CHILD
        g.mother[sub, 2 + k] = np.where(g.valid[sub, 1], 1, -1)
        g.father[sub, 2 + k] = np.where(g.valid[sub, 0] & g.male[sub, 0], 0, -1)


def _nuclear(g: Grid, rng: np.random.Generator, rows: np.ndarray) -> None:
    counts = rng.choice([1, 2, 3], size=len(rows), p=[0.5, 0.43, 0.07])
    kids = _child_ages(rng, len(rows), counts, 24.9)
    mother = _mother_age(rng, kids[:, 0])
    g.put(rows, 0, mother + rng.normal(2.0, 2.0, len(rows)), True)
    g.put(rows, 1, mother, False)
    mother_heads = rng.random(len(rows)) < 0.2
    g.relation[rows, 0] = np.where(mother_heads, SPOUSE, HEAD)
    g.relation[rows, 1] = np.where(mother_heads, HEAD, SPOUSE)
    _place_children(g, rng, rows, kids)


def _single_parent(g: Grid, rng: np.random.Generator, rows: np.ndarray) -> None:
    counts = rng.choice([1, 2], size=len(rows), p=[0.7, 0.3])
    kids = _child_ages(rng, len(rows), counts, 19.9)
    parent = _mother_age(rng, kids[:, 0]) + 1.0
    male = rng.random(len(rows)) < 0.3
    # A mother sits in slot 1, so the children's links come out right either way.
    g.put(rows[male], 0, parent[male], True)
    g.put(rows[~male], 1, parent[~male], False)
    g.relation[rows[~male], 1] = HEAD
    _place_children(g, rng, rows, kids)


def _three_generations(g: Grid, rng: np.random.Generator, rows: np.ndarray) -> None:
    counts = rng.choice([1, 2], size=len(rows), p=[0.55, 0.45])
    kids = _child_ages(rng, len(rows), counts, 17.9)
    kids[:, 2] = np.nan  # slot 4 belongs to the grandfather here
    mother = _mother_age(rng, kids[:, 0])
    father = mother + rng.normal(2.0, 2.0, len(rows))
    g.put(rows, 0, father, True)
    g.put(rows, 1, mother, False)
    g.relation[rows, 1] = SPOUSE
    _place_children(g, rng, rows, kids)
    grandfather = _within(rng, father + rng.uniform(24, 33, len(rows)), 45, OLDEST)
    elders = rng.choice([1, 2], size=len(rows), p=[0.4, 0.6])
    widow = (elders == 1) & (rng.random(len(rows)) < 0.65)
    has_man, has_woman = ~widow, (elders == 2) | widow
    g.put(rows[has_man], 4, grandfather[has_man], True)
    g.put(rows[has_woman], 5, _wife_age(rng, grandfather[has_woman], 45), False)
    g.relation[rows[has_man], 4] = PARENT
    g.relation[rows[has_woman], 5] = PARENT
    # In about half of them the grandparents hold the household register (户主).
    elder_heads = rows[rng.random(len(rows)) < 0.5]
    g.relation[elder_heads, 0] = CHILD
    g.relation[elder_heads, 1] = OTHER
    g.relation[elder_heads, 2:4] = GRANDCHILD
    g.relation[elder_heads, 4:6] = SPOUSE
    g.relation[elder_heads, np.where(g.valid[elder_heads, 4], 4, 5)] = HEAD


Filler = Callable[[Grid, np.random.Generator, np.ndarray], None]

# family type -> (share of households, how to fill it)
FAMILY_TYPES: dict[str, tuple[float, Filler]] = {
    "elder_single": (0.11, _elder_single),
    "elder_couple": (0.17, _elder_couple),
    "adult_single": (0.11, _adult_single),
    "couple": (0.24, _couple),
    "nuclear": (0.18, _nuclear),
    "single_parent": (0.03, _single_parent),
    "three_generations": (0.14, _three_generations),
}
ADULT_SINGLE = list(FAMILY_TYPES).index("adult_single")


def compose(rng: np.random.Generator, types: np.ndarray) -> Grid:
    """Households of the given family type indices."""
    grid = Grid.empty(len(types))
    for t, (_, fill) in enumerate(FAMILY_TYPES.values()):
        rows = np.flatnonzero(types == t)
        if len(rows):
            fill(grid, rng, rows)
    return grid


def draw_households(rng: np.random.Generator, people: int) -> Grid:
    """Households holding exactly ``people`` people; single adults make up the remainder."""
    shares = np.array([share for share, _ in FAMILY_TYPES.values()])
    estimate = int(people / 2.6 * 1.1) + 8
    grid = compose(rng, rng.choice(len(shares), size=estimate, p=shares / shares.sum()))
    total = np.cumsum(grid.sizes())
    keep = int(np.searchsorted(total, people, side="right"))
    if keep == estimate and total[-1] < people:
        raise RuntimeError("household estimate too small")  # sizes average well above 2.6
    rest = people - (int(total[keep - 1]) if keep else 0)
    tail = compose(rng, np.full(rest, ADULT_SINGLE))
    return Grid(
        *(
            np.concatenate([getattr(grid, f)[:keep], getattr(tail, f)])
            for f in ("valid", "age", "male", "relation", "mother", "father")
        )
    )

"""Resident ID numbers (GB 11643) and mobile numbers, unique across every chunk of a build."""

from __future__ import annotations

import numpy as np

from yigongti.kernel.resident_id import CHECK_CHARS, WEIGHTS

# Real-looking county codes of the provinces that send most migrant workers to Zhejiang
# (Anhui, Guizhou, Sichuan, Jiangxi, Hunan, Henan, Guangxi, Yunnan).
OUTSIDE_AREAS = (
    "341221", "341222", "341621", "522121", "522422", "522427", "511321",
    "513723", "362427", "431023", "412726", "452226", "532128",
)  # fmt: skip

MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180",
    "181", "182", "183", "184", "185", "186", "187", "188", "189", "191", "198", "199",
)  # fmt: skip

# Birth days are counted from 1880-01-01, the earliest date an ID number may carry.
FIRST_DAY = np.datetime64("1880-01-01", "D")
DAYS = 160 * 366
SEQUENCES_PER_SEX = 500


def ascii_rows(codes: np.ndarray) -> list[str]:
    """Rows of a (n, k) array of ASCII codes as ``n`` strings."""
    n, k = codes.shape
    text = np.ascontiguousarray(codes, dtype=np.uint8).tobytes().decode("ascii")
    return [text[i : i + k] for i in range(0, n * k, k)]


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Decimal digits of non-negative integers, most significant first, as a (n, width) array."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values.astype(np.int64)[:, None] // powers) % 10


def yyyymmdd(days: np.ndarray) -> np.ndarray:
    """Dates (``datetime64[D]``) as integers such as 19650412."""
    year = days.astype("datetime64[Y]")
    month = days.astype("datetime64[M]")
    y = year.astype(np.int64) + 1970
    m = (month - year).astype(np.int64) + 1
    d = (days - month).astype(np.int64) + 1
    return y * 10000 + m * 100 + d


class IdNumbers:
    """Issues ID numbers whose 3-digit sequence never repeats for an area, birth day and sex."""

    def __init__(self, areas: list[str]) -> None:
        self.areas = areas
        self.area_digits = np.array([[int(c) for c in a] for a in areas], dtype=np.int64)
        self.issued = np.zeros(len(areas) * DAYS * 2, dtype=np.int32)

    def issue(self, area: np.ndarray, birth: np.ndarray, male: np.ndarray) -> list[str]:
        """ID numbers for people of these area indices, birth dates (``datetime64[D]``), sexes."""
        day = (birth - FIRST_DAY).astype(np.int64)
        key = (area.astype(np.int64) * DAYS + day) * 2 + male
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
        rank_sorted = np.arange(len(key)) - np.repeat(starts, np.diff(np.r_[starts, len(key)]))
        rank = np.empty_like(rank_sorted)
        rank[order] = rank_sorted
        taken = self.issued[key] + rank
        if len(taken) and taken.max() >= SEQUENCES_PER_SEX:
            raise RuntimeError("more than 500 people of one sex born on one day in one area")
        np.add.at(self.issued, key, 1)
        # Spread the sequence numbers of a day over the range instead of counting up from 000.
        offset = (key.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(SEQUENCES_PER_SEX)
        k = (offset.astype(np.int64) + taken * 7) % SEQUENCES_PER_SEX
        sequence = 2 * k + male
        digits = np.concatenate(
            [self.area_digits[area], _digits(yyyymmdd(birth), 8), _digits(sequence, 3)], axis=1
        )
        check = (digits * np.array(WEIGHTS)).sum(axis=1) % 11
        check_codes = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[check]
        return ascii_rows(np.concatenate([digits + 48, check_codes[:, None]], axis=1))


class Phones:
    """Mobile numbers: an affine map of a counter, so numbers never repeat within a build."""

    def __init__(self, rng: np.random.Generator) -> None:
        # A multiplier coprime to 10^8 (odd, not a multiple of 5) makes the map a bijection.
        self.a = int(rng.integers(10**6, 10**7)) * 10 + 3
        self.b = int(rng.integers(0, 10**8))
        prefixes = np.array([[ord(c) for c in p] for p in MOBILE_PREFIXES], dtype=np.int64)
        self.prefixes = prefixes[rng.permutation(len(prefixes))]

    def numbers(self, counters: np.ndarray) -> list[str]:
        """The mobile numbers of these distinct counters (below 10^8 each)."""
        counters = counters.astype(np.int64)
        prefix = counters % len(self.prefixes)
        # Shifting by the prefix keeps the map one-to-one and neighbours far apart.
        tail = (self.a * (counters // len(self.prefixes) + prefix * 7919) + self.b) % 10**8
        return ascii_rows(np.concatenate([self.prefixes[prefix], _digits(tail, 8) + 48], axis=1))

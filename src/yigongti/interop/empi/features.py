"""What a record is compared on: name characters, pinyin and initials, sex, birth date, phone,
ID number halves, and the town and village its address names.

The same features feed Splink (batch linkage, training) and the single-record scorer, so a
record is judged the same way whichever path it takes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache

Features = dict[str, str | None]
FEATURE_COLUMNS = (
    "name",
    "name_py",
    "name_rot",
    "initials",
    "sex",
    "birth_date",
    "phone",
    "id_number",
    "id_a",
    "id_b",
    "town",
    "village",
)
_NAME_NOISE = re.compile(r"[\s·•.]")


@cache
def _syllable(char: str) -> str:
    # Imported on first use: pypinyin loads its dictionaries at import.
    from pypinyin import lazy_pinyin

    found = lazy_pinyin(char, errors="ignore")
    return found[0] if found else char


def pinyin_of(name: str) -> str:
    """Toneless pinyin of a name, syllables joined: ``张伟`` -> ``zhangwei``."""
    return "".join(_syllable(ch) for ch in name)


def clean_name(name: str) -> str:
    """A name as compared: no spaces or middle dots."""
    return _NAME_NOISE.sub("", name or "")


@dataclass(frozen=True)
class Gazetteer:
    """The county's towns and villages by name, to read an address at whatever granularity."""

    towns: frozenset[str]
    village_town: dict[str, str]  # village name -> its town's name
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Gazetteer:
        """From (town name, village name) pairs (the same pairs again: the same gazetteer,
        its pattern compiled once)."""
        return _gazetteer(tuple(pairs))

    @classmethod
    def _made(cls, pairs: tuple[tuple[str, str], ...]) -> Gazetteer:
        towns = frozenset(t for t, _ in pairs)
        villages = {v: t for t, v in pairs}
        # Longest first, so 上塘村 wins over 塘村.
        words = sorted(towns | set(villages), key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(w) for w in words) or "(?!)")
        return cls(towns, villages, pattern)

    def place_of(self, address: str | None) -> tuple[str | None, str | None]:
        """(town, village) named in ``address``; a village alone tells its town."""
        if not address:
            return None, None
        town = village = None
        for match in self.pattern.finditer(address):
            word = match.group(0)
            if word in self.towns and town is None:
                town = word
            elif word in self.village_town and village is None:
                village = word
        if village is not None and town is None:
            town = self.village_town[village]
        return town, village


@lru_cache(maxsize=8)
def _gazetteer(pairs: tuple[tuple[str, str], ...]) -> Gazetteer:
    return Gazetteer._made(pairs)


def features_of(
    *,
    name: str,
    sex: str | None,
    birth_date: date | str | None,
    id_number: str | None,
    phone: str | None,
    town: str | None,
    village: str | None,
) -> Features:
    """The comparison features of one record (index or incoming)."""
    name = clean_name(name)
    number = (id_number or "").strip().upper() or None
    born = birth_date.isoformat() if isinstance(birth_date, date) else birth_date
    return {
        "name": name or None,
        "name_py": pinyin_of(name) or None,
        "name_rot": (name[1:] + name[:1]) if len(name) > 1 else None,
        "initials": "".join(s[:1] for s in map(_syllable, name)) or None,
        "sex": sex or None,
        "birth_date": born or None,
        "phone": (phone or "").strip() or None,
        "id_number": number,
        "id_a": number[:14] if number and len(number) >= 14 else None,
        "id_b": number[10:] if number and len(number) == 18 else None,
        "town": town,
        "village": village,
    }

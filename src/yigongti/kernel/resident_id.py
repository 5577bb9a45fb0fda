"""Resident identity numbers (居民身份证号码), GB 11643-1999.

18 characters: a 6-digit GB/T 2260 area code, the 8-digit birth date, a 3-digit sequence whose
last digit is odd for men and even for women, and a check character. 15-digit legacy numbers
(birth year without century, no check character) are still accepted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from yigongti.kernel.errors import invalid_field

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


@cache
def province_codes() -> dict[str, str]:
    """GB/T 2260 province-level codes and names."""
    raw = resources.files("yigongti.kernel").joinpath("data/gbt2260_provinces.json").read_text()
    return json.loads(raw)["provinces"]


@dataclass(frozen=True)
class ResidentId:
    """A validated resident ID number and what it encodes."""

    number: str
    area_code: str
    birth_date: date
    sex: str  # "male" | "female"


def check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def _fail(en: str, zh: str, field: str) -> None:
    raise invalid_field(field, en, zh)


def parse_resident_id(value: str, field: str = "id_number") -> ResidentId:
    """Validate ``value`` and return what it encodes.

    Raises ``Invalid`` naming what is wrong and what was expected, e.g. "ID number check digit
    wrong: 18th character should be X" / "居民身份证号校验位错误：第18位应为 X".
    """
    number = value.strip().upper()
    if len(number) not in (15, 18):
        _fail(
            f"ID number must have 18 characters (or 15 for old cards), got {len(number)}",
            f"居民身份证号应为18位（旧证15位），实为{len(number)}位",
            field,
        )
    body = number[:17] if len(number) == 18 else number
    if not body.isdigit() or not body.isascii():
        position = next(i for i, ch in enumerate(body, 1) if not (ch.isascii() and ch.isdigit()))
        _fail(
            f"ID number character {position} must be a digit",
            f"居民身份证号第{position}位应为数字",
            field,
        )
    if len(number) == 18 and not (number[17].isdigit() or number[17] == "X"):
        _fail(
            "ID number 18th character must be a digit or X",
            "居民身份证号第18位应为数字或 X",
            field,
        )
    area = number[:6]
    if area[:2] not in province_codes():
        _fail(
            f"ID number area code {area} is not a GB/T 2260 code (province {area[:2]} unknown)",
            f"居民身份证号地区码 {area} 无效（省级代码 {area[:2]} 不存在）",
            field,
        )
    raw_date = number[6:14] if len(number) == 18 else "19" + number[6:12]
    try:
        birth = date(int(raw_date[:4]), int(raw_date[4:6]), int(raw_date[6:8]))
    except ValueError:
        birth = None
    if birth is None or birth.year < 1880 or birth > date.today():
        _fail(
            f"ID number birth date {raw_date} is not a valid past date",
            f"居民身份证号出生日期 {raw_date} 不是有效日期",
            field,
        )
    if len(number) == 18:
        expected = check_char(number[:17])
        if number[17] != expected:
            _fail(
                f"ID number check digit wrong: 18th character should be {expected}",
                f"居民身份证号校验位错误：第18位应为 {expected}",
                field,
            )
    sequence = number[14:17] if len(number) == 18 else number[12:15]
    sex = "male" if int(sequence[-1]) % 2 else "female"
    return ResidentId(number=number, area_code=area, birth_date=birth, sex=sex)


def make_resident_id(area_code: str, birth: date, sequence: int) -> str:
    """An 18-character ID number for ``area_code``, ``birth`` and a 3-digit ``sequence``."""
    first17 = f"{area_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)

"""A linkage set with known truth: a resident index and incoming records with the data-entry
noise of Chinese clinics.

People live in households (shared surname, address and contact phone; children, some twins),
so the hard negatives are realistic. Each incoming record comes from one person, who is in
the index (truth: that resident) or not (truth: a new resident), and carries noise: homophone
and look-alike characters, the given name written first, mistyped or swapped ID digits, a
parent's ID on a child's record, missing IDs for children, changed phones, addresses at
different granularity or after a move, and missing fields.
"""

from __future__ import annotations

import json
import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources

import numpy as np

from yigongti.synth.identity import OUTSIDE_AREAS, IdNumbers, Phones
from yigongti.synth.names import GIVEN, SURNAMES, TWO_CHAR_SHARE, era_of
from yigongti.synth.places import NamePool

COUNTY = "330784"
TOWNS, VILLAGES_PER_TOWN = 20, 14
IN_INDEX = 0.9  # share of people already in the resident index
REFERENCE = date(2026, 1, 1)

# Noise rates of an incoming record (each drawn independently).
HOMOPHONE, LOOKALIKE, GIVEN_FIRST = 0.04, 0.02, 0.01
SEX_MISSING, SEX_WRONG = 0.015, 0.003
BIRTH_MISSING, BIRTH_TYPO = 0.02, 0.01
ID_MISSING = ((0, 0.6), (6, 0.2), (16, 0.05))  # (age from, share) steps
ID_MISTYPED, ID_SWAPPED, PARENT_ID = 0.02, 0.015, 0.015
PHONE_MISSING, PHONE_CHANGED, PHONE_TYPO = 0.12, 0.1, 0.01
# address granularity: full, village and house, town only, town and village, none; then moved
ADDRESS_FORMS = (0.45, 0.15, 0.15, 0.15, 0.1)
MOVED = 0.05


@dataclass
class Person:
    """One real person of the generated county."""

    name: str
    sex: str
    birth: date
    town: str
    village: str
    house: int
    id_number: str | None = None
    phone: str | None = None
    parent: int | None = None  # index of a parent in the household, for children


@dataclass
class LinkageSet:
    """The index, the incoming records, and who each record really is."""

    places: list[tuple[str, str]]  # (town, village)
    index: list[dict[str, object]]
    incoming: list[dict[str, object]]
    truth: dict[str, str | None] = field(default_factory=dict)  # incoming uid -> index uid


@cache
def lookalikes() -> dict[str, str]:
    """Character -> the look-alike characters of its group (data file)."""
    raw = resources.files("yigongti.bench.empi").joinpath("data/lookalikes.json").read_text()
    table: dict[str, str] = {}
    for group in json.loads(raw)["groups"]:
        for ch in group:
            others = "".join(sorted(set(group) - {ch}))
            if others:
                table[ch] = table.get(ch, "") + others
    return table


@cache
def homophones() -> dict[str, list[str]]:
    """Toneless pinyin -> common characters (GB 2312 level 1) read that way."""
    from pypinyin.pinyin_dict import pinyin_dict

    table: dict[str, list[str]] = defaultdict(list)
    for code in sorted(pinyin_dict):
        ch = chr(code)
        try:
            encoded = ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        if len(encoded) == 2 and 0xB0 <= encoded[0] <= 0xD7:
            table[_toneless(pinyin_dict[code].split(",")[0])].append(ch)
    return dict(table)


def _toneless(syllable: str) -> str:
    plain = unicodedata.normalize("NFD", syllable)
    return "".join(c for c in plain if not unicodedata.combining(c)).replace("u\u0308", "v")


def _homophone(rnd: random.Random, ch: str) -> str:
    from pypinyin import lazy_pinyin

    others = [c for c in homophones().get(lazy_pinyin(ch)[0], []) if c != ch]
    return rnd.choice(others) if others else ch


def _places(rnd: random.Random) -> list[tuple[str, str]]:
    pool = NamePool(np.random.default_rng(rnd.randrange(2**32)))
    places = []
    for t in range(TOWNS):
        town = pool.draw() + ("街道" if t < 3 else "镇" if t < 15 else "乡")
        places += [(town, pool.draw(0.25) + "村") for _ in range(VILLAGES_PER_TOWN)]
    return places


def _given(rnd: random.Random, birth: date, male: bool, avoid: set[str]) -> str:
    era = int(era_of(np.array([birth.year]))[0])
    pool = GIVEN[(min(era, 2), male)]
    while True:
        given = rnd.choice(pool)
        if rnd.random() < TWO_CHAR_SHARE[era]:
            given += rnd.choice(pool)
        if given not in avoid:
            return given


def _birth(rnd: random.Random, age: float) -> date:
    return REFERENCE - timedelta(days=int(age * 365.25) + rnd.randrange(365))


def _people(rnd: random.Random, count: int, places: list[tuple[str, str]]) -> list[Person]:
    surnames, weights = list(SURNAMES), list(SURNAMES.values())
    people: list[Person] = []
    house = 0
    while len(people) < count:
        house += 1
        town, village = places[rnd.randrange(len(places))]
        head_male = rnd.random() < 0.8
        head_age = rnd.uniform(22, 85)
        family = rnd.choices(surnames, weights)[0]
        members: list[tuple[str, bool, date, int | None]] = [
            (family, head_male, _birth(rnd, head_age), None)
        ]
        if rnd.random() < 0.8:
            spouse_age = max(20.0, head_age + rnd.uniform(-5, 5))
            members.append(
                (rnd.choices(surnames, weights)[0], not head_male, _birth(rnd, spouse_age), None)
            )
        if head_age < 62:
            for _ in range(rnd.choice((0, 1, 1, 2, 2, 3))):
                child_age = head_age - rnd.uniform(22, 36)
                if child_age < 0:
                    continue
                birth = _birth(rnd, child_age)
                members.append((family, rnd.random() < 0.52, birth, 0))
                if rnd.random() < 0.015:  # twins
                    members.append((family, rnd.random() < 0.52, birth, 0))
        given_used: set[str] = set()
        base = len(people)
        for surname, male, birth, parent in members:
            given = _given(rnd, birth, male, given_used)
            given_used.add(given)
            people.append(
                Person(
                    name=surname + given,
                    sex="male" if male else "female",
                    birth=birth,
                    town=town,
                    village=village,
                    house=house,
                    parent=None if parent is None else base + parent,
                )
            )
    return people[:count]


def _age(person: Person) -> float:
    return (REFERENCE - person.birth).days / 365.25


def _identify(rnd: random.Random, people: list[Person]) -> None:
    """ID numbers (a third of infants have none yet) and phones (a child's is a parent's)."""
    area = np.array(
        [0 if rnd.random() < 0.9 else rnd.randrange(1, len(OUTSIDE_AREAS) + 1) for _ in people]
    )
    births = np.array([np.datetime64(p.birth, "D") for p in people])
    male = np.array([p.sex == "male" for p in people])
    numbers = IdNumbers([COUNTY, *OUTSIDE_AREAS]).issue(area, births, male)
    phones = Phones(np.random.default_rng(rnd.randrange(2**32))).numbers(np.arange(len(people)))
    for person, number, phone in zip(people, numbers, phones, strict=True):
        age = _age(person)
        person.id_number = None if age < 1 and rnd.random() < 0.3 else number
        person.phone = phone if age >= 16 and rnd.random() < (0.5 if age >= 80 else 0.97) else None
    for person in people:
        if person.parent is not None and person.phone is None:
            person.phone = people[person.parent].phone


def _index_row(uid: str, p: Person) -> dict[str, object]:
    return {
        "uid": uid,
        "name": p.name,
        "sex": p.sex,
        "birth_date": p.birth,
        "id_number": p.id_number,
        "phone": p.phone,
        "address": f"{p.town}{p.village}{p.house}号",
    }


def _noisy_name(rnd: random.Random, name: str) -> str:
    u = rnd.random()
    if u < HOMOPHONE + LOOKALIKE:
        at = rnd.randrange(len(name))
        ch = name[at]
        if u >= HOMOPHONE and ch in lookalikes():
            new = rnd.choice(lookalikes()[ch])
        else:
            new = _homophone(rnd, ch)
        return name[:at] + new + name[at + 1 :]
    if u < HOMOPHONE + LOOKALIKE + GIVEN_FIRST:
        return name[1:] + name[0]
    return name


def _noisy_id(rnd: random.Random, p: Person, people: list[Person]) -> str | None:
    age = _age(p)
    missing = next(share for start, share in reversed(ID_MISSING) if age >= start)
    if p.id_number is None or rnd.random() < missing:
        return None
    u = rnd.random()
    number = p.id_number
    if u < ID_MISTYPED:
        at = rnd.randrange(17)
        digit = str((int(number[at]) + rnd.randrange(1, 10)) % 10)
        return number[:at] + digit + number[at + 1 :]
    if u < ID_MISTYPED + ID_SWAPPED:
        at = rnd.randrange(16)
        if number[at] != number[at + 1]:
            return number[:at] + number[at + 1] + number[at] + number[at + 2 :]
    if p.parent is not None and age < 14 and rnd.random() < PARENT_ID:
        return people[p.parent].id_number
    return number


def _noisy_phone(rnd: random.Random, p: Person) -> str | None:
    u = rnd.random()
    if p.phone is None or u < PHONE_MISSING:
        return None
    if u < PHONE_MISSING + PHONE_CHANGED:
        return "1" + rnd.choice("3589") + "".join(rnd.choice("0123456789") for _ in range(9))
    if u < PHONE_MISSING + PHONE_CHANGED + PHONE_TYPO:
        at = rnd.randrange(3, 11)
        return p.phone[:at] + str((int(p.phone[at]) + 1) % 10) + p.phone[at + 1 :]
    return p.phone


def _noisy_birth(rnd: random.Random, birth: date) -> date | None:
    u = rnd.random()
    if u < BIRTH_MISSING:
        return None
    if u < BIRTH_MISSING + BIRTH_TYPO:
        for _ in range(10):
            text = birth.strftime("%Y%m%d")
            at = rnd.randrange(2, 8)
            text = text[:at] + rnd.choice("0123456789") + text[at + 1 :]
            try:
                return date(int(text[:4]), int(text[4:6]), int(text[6:]))
            except ValueError:
                continue
    return birth


def _noisy_address(rnd: random.Random, p: Person, places: list[tuple[str, str]]) -> str | None:
    town, village = p.town, p.village
    if rnd.random() < MOVED:
        town, village = places[rnd.randrange(len(places))]
    form = rnd.choices(range(5), ADDRESS_FORMS)[0]
    return (
        f"{town}{village}{p.house}号",
        f"{village}{p.house}号",
        town,
        f"{town}{village}",
        None,
    )[form]


def _noisy_sex(rnd: random.Random, sex: str) -> str | None:
    u = rnd.random()
    if u < SEX_MISSING:
        return None
    if u < SEX_MISSING + SEX_WRONG:
        return "female" if sex == "male" else "male"
    return sex


def generate(records: int, seed: int) -> LinkageSet:
    """``records`` incoming records of ``records`` people, 90% of whom are in the index."""
    rnd = random.Random(seed)
    places = _places(rnd)
    people = _people(rnd, records, places)
    _identify(rnd, people)
    index, uid_of = [], {}
    for n, person in enumerate(people):
        if rnd.random() < IN_INDEX:
            uid_of[n] = f"r{n}"
            index.append(_index_row(uid_of[n], person))
    incoming, truth = [], {}
    for k in range(records):
        n = rnd.randrange(len(people))
        p = people[n]
        uid = f"s{k}"
        truth[uid] = uid_of.get(n)
        incoming.append(
            {
                "uid": uid,
                "name": _noisy_name(rnd, p.name),
                "sex": _noisy_sex(rnd, p.sex),
                "birth_date": _noisy_birth(rnd, p.birth),
                "id_number": _noisy_id(rnd, p, people),
                "phone": _noisy_phone(rnd, p),
                "address": _noisy_address(rnd, p, places),
            }
        )
    return LinkageSet(places, index, incoming, truth)

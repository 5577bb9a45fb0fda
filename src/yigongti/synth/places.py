"""Towns and villages of the county, named from our own syllable pools (never Faker's).

Codes follow GB/T 10114: a town is the county code plus three digits (001-099 subdistricts,
100-199 towns, 200-299 townships); a village adds three more (001-199 urban communities,
200-399 villages).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from yigongti.registry.models import Town, Village
from yigongti.synth.ids import one_uuid7

# Syllables of place names: a first character (a feature or a quality) and a landform.
FIRST = "石柳清龙桃芝古花西象唐舟方岩金白青双东南北凤梅竹松枫兰杏汤槐芦"
LANDFORM = "溪湖桥源坑岙塘山岭田口头塔川坪埠渡浦湾峰阳林洲垄畈"
PREFIX = "上下前后新大小"

# kind -> (how many, code offset, suffix, villages per town: low, high, share of communities)
TOWN_KINDS: dict[str, tuple[int, int, str, int, int, float]] = {
    "subdistrict": (4, 1, "街道", 8, 14, 0.8),
    "town": (11, 101, "镇", 12, 25, 0.1),
    "township": (5, 201, "乡", 8, 16, 0.0),
}

VILLAGE_PREFIX_SHARE = 0.25  # villages named like 上塘村 or 下王村
# Urban communities hold more people than villages.
COMMUNITY_SIZE = 2.5


@dataclass(frozen=True)
class Places:
    """The towns and villages as written, with what later stages look up by index."""

    town_ids: list[uuid.UUID]
    town_names: list[str]
    town_kinds: list[str]
    village_ids: list[uuid.UUID]
    village_names: list[str]
    village_town: np.ndarray  # town index of each village
    village_is_community: np.ndarray  # urban community (社区) rather than village (村)
    village_weight: np.ndarray  # share of the county's households


class NamePool:
    """Unique place names drawn from the syllable pools."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def draw(self, prefix_share: float = 0.0) -> str:
        """A two-character name (three with a prefix such as 上/下) not drawn before."""
        while True:
            stem = self.rng.choice(list(FIRST)) + self.rng.choice(list(LANDFORM))
            if self.rng.random() < prefix_share:
                stem = self.rng.choice(list(PREFIX)) + stem
            if stem not in self.used:
                self.used.add(stem)
                return stem


def _village_kinds(rng: np.random.Generator, n: int, community_share: float) -> list[bool]:
    """Which of a town's ``n`` villages are urban communities; towns keep at least one."""
    flags = [bool(rng.random() < community_share) for _ in range(n)]
    if community_share > 0 and not any(flags):
        flags[0] = True
    return sorted(flags, reverse=True)  # communities take the low codes


def build_places(
    session: Session, rng: np.random.Generator, county_code: str, base_ms: int
) -> Places:
    """Create the towns and villages in ``session`` (flushed, not committed)."""
    pool = NamePool(rng)
    town_ids, town_names, town_kinds = [], [], []
    village_ids, village_names, village_town, is_community = [], [], [], []
    for kind, (count, offset, suffix, low, high, community_share) in TOWN_KINDS.items():
        for number in range(count):
            town = Town(
                id=one_uuid7(rng, base_ms),
                code=f"{county_code}{offset + number:03d}",
                name=pool.draw() + suffix,
                kind=kind,
                county_code=county_code,
            )
            session.add(town)
            t = len(town_ids)
            town_ids.append(town.id)
            town_names.append(town.name)
            town_kinds.append(kind)
            flags = _village_kinds(rng, int(rng.integers(low, high + 1)), community_share)
            n_communities = sum(flags)
            for v, community in enumerate(flags):
                code = v + 1 if community else 200 + v - n_communities
                village = Village(
                    id=one_uuid7(rng, base_ms),
                    town_id=town.id,
                    code=f"{town.code}{code:03d}",
                    name=pool.draw(VILLAGE_PREFIX_SHARE) + ("社区" if community else "村"),
                    kind="community" if community else "village",
                )
                session.add(village)
                village_ids.append(village.id)
                village_names.append(village.name)
                village_town.append(t)
                is_community.append(community)
    session.flush()
    communities = np.array(is_community)
    weight = rng.lognormal(0.0, 0.45, size=len(village_ids))
    weight[communities] *= COMMUNITY_SIZE
    return Places(
        town_ids=town_ids,
        town_names=town_names,
        town_kinds=town_kinds,
        village_ids=village_ids,
        village_names=village_names,
        village_town=np.array(village_town, dtype=np.int32),
        village_is_community=communities,
        village_weight=weight / weight.sum(),
    )

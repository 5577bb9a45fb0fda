"""Chinese personal names: a Zhejiang-flavoured surname table and given-name pools by era and sex.

Names are drawn as indices into these pools so that a million of them cost a few array
operations; the strings and their pinyin initials are joined at the end.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from yigongti.registry import pinyin_initials

# Surname -> relative frequency (per mille, roughly as in central Zhejiang). Surnames whose
# reading differs from the character's common reading (单 Shan, 曾 Zeng, 解 Xie) are left out,
# because initials are taken per character.
SURNAMES: dict[str, float] = {
    "王": 62, "陈": 58, "李": 38, "张": 40, "吴": 34, "徐": 32, "周": 30, "黄": 26, "胡": 28,
    "朱": 24, "应": 14, "金": 20, "楼": 10, "何": 16, "俞": 11, "刘": 20, "杨": 18, "赵": 10,
    "孙": 10, "郑": 16, "林": 16, "叶": 14, "方": 13, "程": 9, "施": 10, "沈": 12, "汪": 9,
    "潘": 11, "蒋": 11, "范": 7, "童": 7, "丁": 6, "傅": 8, "曹": 6, "鲍": 5, "宋": 6, "吕": 8,
    "余": 10, "章": 10, "钱": 6, "邵": 7, "严": 5, "蔡": 6, "虞": 4, "厉": 4, "郭": 6, "罗": 5,
    "倪": 5, "洪": 5, "毛": 7, "许": 9, "袁": 5, "卢": 6, "陆": 5, "江": 5, "姚": 6, "谢": 5,
    "马": 5, "郎": 3, "高": 6, "邱": 4, "骆": 4, "舒": 3, "盛": 3, "葛": 4, "龚": 3, "华": 3,
}  # fmt: skip

# Given-name characters by era of birth (before 1960, 1960-1989, from 1990) and sex.
GIVEN: dict[tuple[int, bool], str] = {
    (0, True): "根土法荣福林金水富贵德明发祥生宝财松山春海洪忠志国华建良",
    (0, False): "秀英凤兰娥香菊珍花桂芝翠娟妹仙月云琴彩玉梅素爱宝金巧",
    (1, True): "伟强军勇杰磊涛斌超明华建国平新志海峰刚辉鹏飞东波兵亮文武",
    (1, False): "芳娟敏静丽艳霞燕玲红英萍秀兰慧琴丹洁颖莉芬琳娜倩美晓",
    (2, True): "浩宇轩睿博晨昊然泽子豪俊鑫磊哲航涛楷翔凯铭逸嘉琪诚毅",
    (2, False): "婷雪琳佳欣怡梦雨诗涵萱悦瑶可馨彤妍琪钰蕾颖晴思语菲",
}

# Share of two-character given names, by era: single-character names were commonest in the
# 1960s-80s and are rare among the young.
TWO_CHAR_SHARE = (0.85, 0.65, 0.9)


def era_of(birth_year: np.ndarray) -> np.ndarray:
    """0 for births before 1960, 1 for 1960-1989, 2 from 1990."""
    return np.digitize(birth_year, [1960, 1990]).astype(np.int8)


@cache
def _surname_table() -> tuple[list[str], np.ndarray]:
    names = list(SURNAMES)
    weights = np.array([SURNAMES[n] for n in names], dtype=float)
    return names, weights / weights.sum()


def surname_count() -> int:
    """How many surnames the table holds."""
    return len(SURNAMES)


def draw_surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` surname indices drawn by frequency."""
    _, p = _surname_table()
    return rng.choice(len(p), size=n, p=p).astype(np.int16)


@cache
def _initial(text: str) -> str:
    return pinyin_initials(text)


def full_names(
    rng: np.random.Generator, surname: np.ndarray, male: np.ndarray, birth_year: np.ndarray
) -> tuple[list[str], list[str]]:
    """Names and their uppercase pinyin initials for people with these surnames, sexes, years."""
    surnames, _ = _surname_table()
    era = era_of(birth_year)
    n = len(surname)
    two = rng.random(n) < np.take(TWO_CHAR_SHARE, era)
    first = rng.random(n)
    second = rng.random(n)
    names: list[str] = []
    initials: list[str] = []
    for s, m, e, t, a, b in zip(
        surname.tolist(),
        male.tolist(),
        era.tolist(),
        two.tolist(),
        first.tolist(),
        second.tolist(),
        strict=True,
    ):
        pool = GIVEN[(e, m)]
        given = pool[int(a * len(pool))]
        if t:
            given += pool[int(b * len(pool))]
        name = surnames[s] + given
        names.append(name)
        initials.append("".join(_initial(ch) for ch in name))
    return names, initials

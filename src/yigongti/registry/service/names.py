"""Pinyin initials of Chinese names, for search by 拼音首字母."""

from __future__ import annotations

from functools import cache

from pypinyin import Style, lazy_pinyin


@cache
def _initial(char: str) -> str:
    letters = lazy_pinyin(char, style=Style.FIRST_LETTER, errors="ignore")
    return letters[0][:1].upper() if letters else ""


def pinyin_initials(name: str) -> str:
    """``张三丰`` -> ``ZSF``; characters without pinyin are skipped."""
    return "".join(_initial(ch) for ch in name if not ch.isspace())[:10]

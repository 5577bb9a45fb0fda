"""Pinyin initials of Chinese names, for search by 拼音首字母."""

from __future__ import annotations

from functools import cache


@cache
def _initial(char: str) -> str:
    # Imported on first use: pypinyin loads its dictionaries at import, which ``ygt serve``
    # need not pay before it answers.
    from pypinyin import Style, lazy_pinyin

    letters = lazy_pinyin(char, style=Style.FIRST_LETTER, errors="ignore")
    return letters[0][:1].upper() if letters else ""


def pinyin_initials(name: str) -> str:
    """``张三丰`` -> ``ZSF``; characters without pinyin are skipped."""
    return "".join(_initial(ch) for ch in name if not ch.isspace())[:10]

"""The UI's one translation function, ``t``: the msgid is the Chinese text itself.

Chinese is the default language and needs no catalog; ``locales/en.json`` maps every Chinese
msgid to its English text. Each user's choice lives in his NiceGUI user storage, so it
survives reloads and logins on the same browser.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

DEFAULT_LANGUAGE = "zh"
# Each language is named in itself, so a user can find his own in the switch.
LANGUAGES: dict[str, str] = {"zh": "中文", "en": "English"}
_STORAGE_KEY = "lang"
_LOCALES = Path(__file__).parent / "locales"


@cache
def english_catalog() -> dict[str, str]:
    """The English catalog: Chinese msgid -> English text."""
    return json.loads((_LOCALES / "en.json").read_text(encoding="utf-8"))


def current_language() -> str:
    """The language of the user being served: ``zh`` or ``en`` (``zh`` outside a request)."""
    from nicegui import app

    try:
        lang = app.storage.user.get(_STORAGE_KEY, DEFAULT_LANGUAGE)
    except (RuntimeError, AssertionError):
        # No UI request is being served (start-up, tests of plain functions): the default.
        return DEFAULT_LANGUAGE
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def set_language(lang: str) -> None:
    """Remember ``lang`` for the user being served; unknown codes are ignored."""
    from nicegui import app

    if lang in LANGUAGES:
        app.storage.user[_STORAGE_KEY] = lang


def t(text: str) -> str:
    """``text`` (a Chinese msgid) in the user's language; the msgid itself if untranslated."""
    if current_language() == "zh":
        return text
    return english_catalog().get(text, text)


def pick(zh: str, en: str) -> str:
    """Choose between the two names a code table carries (e.g. ``ROLES[code].zh/.en``)."""
    return zh if current_language() == "zh" else en

"""The English catalog is complete, holds nothing unused, and no page shows untranslated Chinese.

Every UI string goes through ``t("中文")``; the test reads the page modules' source (AST), so a
string is checked even when no test opens the page that shows it.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import yigongti
from yigongti.web import i18n

PACKAGE = Path(yigongti.__file__).parent
HAN = re.compile(r"[\u3400-\u9fff]")


def ui_modules() -> list[Path]:
    """Modules that define UI: everything under web/ui/ and every domain's pages module(s)."""
    return sorted(
        [
            *(PACKAGE / "web" / "ui").rglob("*.py"),
            *PACKAGE.glob("*/pages.py"),
            *PACKAGE.glob("*/*/pages.py"),  # packages inside a top package (interop/empi)
            *PACKAGE.glob("*/pages/*.py"),
        ]
    )


def _is_t_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t"


def msgids_in(path: Path) -> set[str]:
    """The literal msgids of ``t("...")`` calls in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if _is_t_call(node) and node.args and isinstance(node.args[0], ast.Constant):
            found.add(node.args[0].value)
    return found


def _docstrings(tree: ast.Module) -> set[int]:
    """The docstring nodes of a module: written for readers of the code, never shown."""
    owners = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, owners)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def untranslated_chinese(path: Path) -> list[str]:
    """Chinese string literals of a module that are neither docstrings nor ``t()``'s msgid."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    wrapped = {id(node.args[0]) for node in ast.walk(tree) if _is_t_call(node) and node.args}
    wrapped |= _docstrings(tree)
    return [
        f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and HAN.search(node.value)
        and id(node) not in wrapped
    ]


def all_msgids() -> set[str]:
    """Every msgid the UI uses."""
    return set().union(*(msgids_in(path) for path in ui_modules()))


def test_ui_modules_are_found() -> None:
    names = {path.name for path in ui_modules()}
    assert {"shell.py", "login.py", "pages.py"} <= names


def test_every_msgid_has_an_english_translation() -> None:
    catalog = i18n.english_catalog()
    missing = sorted(all_msgids() - set(catalog))
    assert not missing, "missing from web/locales/en.json: " + ", ".join(missing)


def test_the_catalog_has_no_unused_entries() -> None:
    unused = sorted(set(i18n.english_catalog()) - all_msgids())
    assert not unused, "unused entries in web/locales/en.json: " + ", ".join(unused)


def test_english_texts_are_not_empty_and_not_chinese() -> None:
    bad = [k for k, v in i18n.english_catalog().items() if not v.strip() or HAN.search(v)]
    assert not bad, f"English text empty or Chinese for: {bad}"


def test_placeholders_match_between_languages() -> None:
    field = re.compile(r"\{(\w*)\}")
    bad = [
        msgid
        for msgid, english in i18n.english_catalog().items()
        if sorted(field.findall(msgid)) != sorted(field.findall(english))
    ]
    assert not bad, f"placeholders differ: {bad}"


def test_catalog_file_is_valid_json_without_duplicates() -> None:
    path = PACKAGE / "web" / "locales" / "en.json"

    def no_duplicates(pairs: list[tuple[str, str]]) -> dict[str, str]:
        keys = [key for key, _ in pairs]
        duplicated = {key for key in keys if keys.count(key) > 1}
        assert not duplicated, f"duplicate msgids: {duplicated}"
        return dict(pairs)

    json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=no_duplicates)


@pytest.mark.parametrize("path", ui_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_page_modules_show_no_chinese_outside_t(path: Path) -> None:
    found = untranslated_chinese(path)
    assert not found, "wrap these in t(): " + "; ".join(found)


def test_t_is_chinese_outside_a_request_and_english_from_the_catalog(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert i18n.t("首页") == "首页"
    monkeypatch.setattr(i18n, "current_language", lambda: "en")
    assert i18n.t("首页") == i18n.english_catalog()["首页"]
    assert i18n.pick("居民", "Resident") == "Resident"

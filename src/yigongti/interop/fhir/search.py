"""Search parameters: their declaration on a resource type and the parsing of a query string.

Each resource type declares its parameters (name, type, the element a reference sits in);
``parse_query`` turns the request's query into a typed ``Query`` the mapping translates into
its service's filters. Unknown parameters are refused (400) unless the client sends
``Prefer: handling=lenient``, so a misspelt filter never silently returns everything.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from yigongti.interop.fhir.errors import invalid
from yigongti.kernel import SHANGHAI

ParamType = Literal["token", "string", "date", "reference", "number", "uri"]
DEFAULT_COUNT = 20
MAX_COUNT = 200
# Result parameters every type accepts; the ones we do not act on are listed as refused.
_CONTROL = {"_count", "_sort", "_getpagesoffset", "_include", "_summary", "_total", "_format"}


@dataclass(frozen=True)
class SearchParam:
    """A search parameter of a resource type."""

    name: str
    type: ParamType
    doc: str
    path: str | None = None  # for references: the element holding it (``subject``)
    target: str | None = None  # for references: the type referred to (``Patient``)


@dataclass(frozen=True)
class Token:
    """A token value ``system|code``; either part may be absent."""

    system: str | None
    code: str | None


@dataclass(frozen=True)
class DateRange:
    """Instants ``start <= t < end`` (either open), from one or more ``date`` values."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass
class Query:
    """A parsed search: filters, sort, page and includes."""

    filters: dict[str, list[object]] = field(default_factory=dict)
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (param, descending)
    count: int = DEFAULT_COUNT
    offset: int = 0
    include: list[SearchParam] = field(default_factory=list)
    summary_count: bool = False

    def values(self, name: str) -> list[object]:
        """Every value (OR) given for parameter ``name``."""
        return self.filters.get(name, [])

    def token(self, name: str) -> Token | None:
        """The token given for ``name`` (the first when several are ORed)."""
        values = self.values(name)
        return values[0] if values else None  # type: ignore[return-value]

    def string(self, name: str) -> str | None:
        """The text given for ``name``."""
        values = self.values(name)
        return str(values[0]) if values else None

    def date(self, name: str) -> DateRange | None:
        """The instant range given for ``name``."""
        values = self.values(name)
        return values[0] if values else None  # type: ignore[return-value]

    def reference(self, name: str) -> uuid.UUID | None:
        """The id referred to by ``name`` (``Patient/<id>`` or ``<id>``)."""
        values = self.values(name)
        return values[0] if values else None  # type: ignore[return-value]


def parse_query(
    resource_type: str,
    params: tuple[SearchParam, ...],
    sorts: tuple[str, ...],
    items: list[tuple[str, str]],
    *,
    lenient: bool = False,
) -> Query:
    """The ``Query`` of a request's ``items`` (name, value) for ``resource_type``."""
    known = {p.name: p for p in params}
    query = Query()
    dates: dict[str, list[tuple[str, str]]] = {}
    for raw_name, value in items:
        name, _, modifier = raw_name.partition(":")
        if name in _CONTROL:
            _control(query, resource_type, known, sorts, name, value)
            continue
        param = known.get(name)
        if param is None:
            if lenient:
                continue
            raise invalid(
                f"Unknown search parameter '{raw_name}' for {resource_type}; "
                f"supported: {', '.join(sorted(known)) or 'none'}",
                f"{resource_type} 不支持检索参数 '{raw_name}'",
                raw_name,
            )
        if modifier:
            raise invalid(
                f"Modifier ':{modifier}' is not supported on '{name}'",
                f"检索参数 '{name}' 不支持修饰符 ':{modifier}'",
                raw_name,
            )
        if param.type == "date":
            dates.setdefault(name, []).append((raw_name, value))
            continue
        if name in query.filters:
            raise invalid(
                f"Parameter '{name}' given twice; use commas for alternatives",
                f"检索参数 '{name}' 重复；多个取值请用逗号分隔",
                name,
            )
        query.filters[name] = [_value(resource_type, param, v) for v in value.split(",")]
    for name, given in dates.items():
        query.filters[name] = [_date_range(given)]
    return query


def _control(
    query: Query,
    resource_type: str,
    known: dict[str, SearchParam],
    sorts: tuple[str, ...],
    name: str,
    value: str,
) -> None:
    if name == "_count":
        query.count = min(_natural(name, value), MAX_COUNT)
        query.summary_count = query.summary_count or query.count == 0
    elif name == "_getpagesoffset":
        query.offset = _natural(name, value)
    elif name == "_sort":
        for key in filter(None, value.split(",")):
            descending = key.startswith("-")
            key = key.lstrip("-")
            if key not in sorts:
                raise invalid(
                    f"Cannot sort {resource_type} by '{key}'; "
                    f"sortable: {', '.join(sorts) or 'none'}",
                    f"{resource_type} 不支持按 '{key}' 排序",
                    "_sort",
                )
            query.sort.append((key, descending))
    elif name == "_include":
        query.include.append(_include(resource_type, known, value))
    elif name == "_summary":
        if value not in ("count", "false"):
            raise invalid("Only _summary=count is supported", "仅支持 _summary=count", "_summary")
        query.summary_count = value == "count"
    elif name == "_format" and value not in ("json", "application/fhir+json", "application/json"):
        raise invalid("Only JSON is served (_format=json)", "仅提供 JSON 格式", "_format")


def _include(resource_type: str, known: dict[str, SearchParam], value: str) -> SearchParam:
    source, _, name = value.partition(":")
    param = known.get(name)
    if source != resource_type or param is None or param.type != "reference":
        references = [f"{resource_type}:{p.name}" for p in known.values() if p.type == "reference"]
        raise invalid(
            f"Cannot _include '{value}'; supported: {', '.join(references) or 'none'}",
            f"不支持 _include '{value}'",
            "_include",
        )
    return param


def _natural(name: str, value: str) -> int:
    if not value.isdigit():
        raise invalid(
            f"'{name}' must be a whole number, not '{value}'", f"'{name}' 应为非负整数", name
        )
    return int(value)


def _value(resource_type: str, param: SearchParam, value: str) -> object:
    if value == "":
        raise invalid(
            f"Empty value for '{param.name}'", f"检索参数 '{param.name}' 为空", param.name
        )
    if param.type == "token":
        system, bar, code = value.partition("|")
        return Token(system or None, code or None) if bar else Token(None, value)
    if param.type == "reference":
        return _reference_id(param, value)
    if param.type == "number":
        if not re.fullmatch(r"-?\d+(\.\d+)?", value):
            raise invalid(
                f"'{param.name}' must be a number", f"'{param.name}' 应为数字", param.name
            )
        return float(value)
    return value


def _reference_id(param: SearchParam, value: str) -> uuid.UUID:
    kind, slash, ident = value.rpartition("/")
    if slash and param.target and kind.rsplit("/", 1)[-1] != param.target:
        raise invalid(
            f"'{param.name}' refers to {param.target}, not '{kind}'",
            f"'{param.name}' 应引用 {param.target}",
            param.name,
        )
    try:
        return uuid.UUID(ident if slash else value)
    except ValueError:
        raise invalid(
            f"'{param.name}' must be a {param.target or 'resource'} id, not '{value}'",
            f"'{param.name}' 应为资源 id",
            param.name,
        ) from None


_PREFIXES = ("eq", "ge", "le", "gt", "lt")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def _date_range(given: list[tuple[str, str]]) -> DateRange:
    """The range meant by ``date=ge2025-01-01&date=lt2025-07`` and the like."""
    start: datetime | None = None
    end: datetime | None = None
    for name, value in given:
        prefix = value[:2] if value[:2] in _PREFIXES else "eq"
        low, high = _instant_bounds(name, value[2:] if value[:2] in _PREFIXES else value)
        if prefix in ("eq", "ge", "gt"):
            bound = high if prefix == "gt" else low
            start = bound if start is None else max(start, bound)
        if prefix in ("eq", "le", "lt"):
            bound = low if prefix == "lt" else high
            end = bound if end is None else min(end, bound)
    return DateRange(start, end)


def _instant_bounds(name: str, text: str) -> tuple[datetime, datetime]:
    """The first instant of the period ``text`` names and the first instant after it."""
    match = _DATE.match(text)
    if match:
        year, month, day = int(match[1]), int(match[2] or 1), int(match[3] or 1)
        try:
            first = date(year, month, day)
        except ValueError:
            raise _bad_date(name, text) from None
        if match[3]:
            after = first + timedelta(days=1)
        elif match[2]:
            after = date(year + month // 12, month % 12 + 1, 1)
        else:
            after = date(year + 1, 1, 1)
        return _local_midnight(first), _local_midnight(after)
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad_date(name, text) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=SHANGHAI)
    return instant, instant + timedelta(seconds=1)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=SHANGHAI)


def _bad_date(name: str, text: str):
    return invalid(
        f"'{name}' must be a date like 2025-06-30 (optionally with ge/le/gt/lt), not '{text}'",
        f"'{name}' 应为日期，如 2025-06-30（可带 ge/le/gt/lt 前缀）",
        name,
    )

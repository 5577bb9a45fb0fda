"""Checks of a catalog entry before it is saved: the bureau adds indicators in a page, not code.

Every formula is read with sqlglot (DuckDB's dialect) and walked node by node against a short
list of what a condition may contain: comparisons, AND/OR/NOT, IN, BETWEEN, IS NULL, LIKE,
literals, columns, + - * /, parentheses and a few functions that mean the same in every engine
(coalesce, lower, upper, trim, length, substr, year, month, abs). Whatever else it meets — a
subquery, an aggregate, a second statement, an unknown function — is refused with a message
that names it. Types are followed through the walk, so a text column compared with a number,
LIKE on a number or a true/false column in arithmetic is refused before any engine sees it.

A numerator or denominator may only use measure codes, numbers and + - * / ( ). Division by
zero is not an error: the compiler wraps every division in ``NULLIF(…, 0)``.

Each problem names the field, and says what is wrong and what is allowed, in Chinese and English.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from yigongti.analytics.catalog.model import (
    AGGREGATES,
    DIRECTIONS,
    UNITS,
    Catalog,
    Indicator,
    Measure,
    indicator_from,
    measure_from,
)
from yigongti.analytics.lake.schema import DATASETS, INSTITUTIONS, TIERS
from yigongti.analytics.results import GRAINS

CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
YEAR = re.compile(r"^\d{4}$")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$")
# Columns of the institution dimension a condition on an institution's rows may use.
INSTITUTION_FIELDS = ("tier", "kind", "ownership", "community_id")
FUNCTIONS = "coalesce, lower, upper, trim, length, substr, year, month, abs"
# Type names of the walk, and how each reads in a message.
TEXT, NUMBER, BOOLEAN, DATE, TIMESTAMP, NULL = (
    "text",
    "number",
    "boolean",
    "date",
    "timestamp",
    "null",
)
TYPE_ZH = {
    TEXT: "文本",
    NUMBER: "数值",
    BOOLEAN: "是/否",
    DATE: "日期",
    TIMESTAMP: "时间",
    NULL: "空值",
}
TYPE_EN = {TEXT: "text", NUMBER: "a number", BOOLEAN: "true/false", DATE: "a date",
           TIMESTAMP: "a timestamp", NULL: "NULL"}  # fmt: skip
TEMPORAL = (DATE, TIMESTAMP)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a catalog entry: the field, and what is wrong, in both languages."""

    field: str
    zh: str
    en: str


@dataclass(frozen=True)
class Visible:
    """A column a measure's condition may name: where it lives and what type it has."""

    name: str  # as written in a condition
    table: str  # "d": the measure's dataset; "i": the institution dimension
    column: str  # the column's name in that table
    type: str  # text | number | boolean | date | timestamp
    choices: tuple[str, ...] = ()


def type_of(arrow: pa.DataType) -> str:
    """The walk's name of an Arrow type."""
    if pa.types.is_boolean(arrow):
        return BOOLEAN
    if pa.types.is_integer(arrow) or pa.types.is_floating(arrow) or pa.types.is_decimal(arrow):
        return NUMBER
    if pa.types.is_date(arrow):
        return DATE
    if pa.types.is_timestamp(arrow):
        return TIMESTAMP
    return TEXT


def visible_columns(dataset: str) -> dict[str, Visible]:
    """The columns a condition over ``dataset`` may name, by name.

    A dataset's own column wins over the institution's of the same name (``kind`` of a visit is
    the kind of visit); the institution's is then ``institution_<name>`` (``institution_kind``).
    """
    ds = DATASETS[dataset]
    columns = {c.name: Visible(c.name, "d", c.name, type_of(c.type), c.choices) for c in ds.columns}
    if ds.by_institution:
        for name in INSTITUTION_FIELDS:
            c = INSTITUTIONS.column(name)
            alias = f"institution_{name}" if name in columns else name
            columns[alias] = Visible(alias, "i", name, type_of(c.type), c.choices)
    return columns


def _listing(names: Iterable[str], sep: str) -> str:
    return sep.join(names)


def _unknown_column(field: str, name: str, dataset: str) -> Problem:
    visible = visible_columns(dataset)
    own = [v.name for v in visible.values() if v.table == "d"]
    dim = [v.name for v in visible.values() if v.table == "i"]
    zh = f"未知列 {name}：{dataset} 数据集的列有 {_listing(own, '、')}"
    en = f"unknown column {name}: {dataset} has {_listing(own, ', ')}"
    if dim:
        zh += f"；机构维度列有 {_listing(dim, '、')}"
        en += f"; and the institution's {_listing(dim, ', ')}"
    return Problem(field, zh, en)


@functools.lru_cache(maxsize=4096)
def _read(text: str) -> tuple[exp.Expression | None, str | None]:
    """``text`` parsed once (the catalog is checked and compiled on every computation): the one
    expression it holds, or why it holds none ("semicolon", "empty" or where reading stopped)."""
    if ";" in text:
        return None, "semicolon"
    try:
        parsed = [e for e in sqlglot.parse(text, read="duckdb") if e is not None]
    except (ParseError, TokenError) as error:
        return None, _reason(error)
    if len(parsed) != 1:
        return None, "empty"
    return parsed[0], None


def _parse(
    field: str, text: str, what_zh: str, what_en: str
) -> tuple[exp.Expression | None, list[Problem]]:
    """The one expression ``text`` holds (a copy: callers may change it), or the problem."""
    tree, reason = _read(text)
    if tree is not None:
        return tree.copy(), []
    if reason == "semicolon":
        zh, en = f"{what_zh}只能写一个表达式，不能含分号", f"one {what_en} only: no semicolons"
    elif reason == "empty":
        zh, en = f"{what_zh}为空", f"the {what_en} is empty"
    else:
        zh, en = f"{what_zh}无法解析：{reason}", f"cannot read the {what_en}: {reason}"
    return None, [Problem(field, zh, en)]


def _reason(error: ParseError | TokenError) -> str:
    """Where sqlglot stopped reading, without its internals' class names."""
    details = getattr(error, "errors", None) or []
    if details and details[0].get("col"):
        near = details[0].get("highlight") or ""
        return f"near column {details[0]['col']}" + (f" ({near})" if near else "")
    return str(error).splitlines()[0] if str(error) else type(error).__name__


class _Where:
    """Walks a condition, collecting problems and following types (None: already refused)."""

    def __init__(self, field: str, dataset: str) -> None:
        self.field = field
        self.dataset = dataset
        self.columns = visible_columns(dataset)
        self.problems: list[Problem] = []
        self.rules: dict[type[exp.Expression], Callable[[Any], str | None]] = {
            exp.Paren: lambda n: self.type(n.this),
            exp.Column: self._column,
            exp.Literal: lambda n: TEXT if n.is_string else NUMBER,
            exp.Boolean: lambda n: BOOLEAN,
            exp.Null: lambda n: NULL,
            exp.Neg: lambda n: self._operands(n, [n.this], NUMBER, "-"),
            exp.Add: lambda n: self._arithmetic(n, "+"),
            exp.Sub: lambda n: self._arithmetic(n, "-"),
            exp.Mul: lambda n: self._arithmetic(n, "*"),
            exp.Div: lambda n: self._arithmetic(n, "/"),
            exp.And: lambda n: self._operands(n, [n.left, n.right], BOOLEAN, "AND"),
            exp.Or: lambda n: self._operands(n, [n.left, n.right], BOOLEAN, "OR"),
            exp.Not: lambda n: self._operands(n, [n.this], BOOLEAN, "NOT"),
            exp.EQ: self._comparison,
            exp.NEQ: self._comparison,
            exp.GT: self._comparison,
            exp.GTE: self._comparison,
            exp.LT: self._comparison,
            exp.LTE: self._comparison,
            exp.In: self._in,
            exp.Between: self._between,
            exp.Is: self._is,
            exp.Like: self._like,
            exp.ILike: self._like,
            exp.Coalesce: self._coalesce,
            exp.Lower: lambda n: self._function(n, "lower", [n.this], TEXT, TEXT),
            exp.Upper: lambda n: self._function(n, "upper", [n.this], TEXT, TEXT),
            exp.Trim: self._trim,
            exp.Length: lambda n: self._function(n, "length", [n.this], TEXT, NUMBER),
            exp.Substring: self._substring,
            exp.Year: lambda n: self._function(n, "year", [n.this], TEMPORAL, NUMBER),
            exp.Month: lambda n: self._function(n, "month", [n.this], TEMPORAL, NUMBER),
            exp.Abs: lambda n: self._function(n, "abs", [n.this], NUMBER, NUMBER),
        }

    def refuse(self, zh: str, en: str) -> None:
        self.problems.append(Problem(self.field, zh, en))

    def type(self, node: exp.Expression) -> str | None:
        rule = self.rules.get(type(node))
        if rule is not None:
            return rule(node)
        self._refuse_node(node)
        return None

    def _refuse_node(self, node: exp.Expression) -> None:
        text = node.sql(dialect="duckdb")
        if isinstance(node, exp.AggFunc):
            self.refuse(
                f"条件中不能用聚合函数 {text}：求和或计数由指标项的“聚合方式”完成",
                f"no aggregates in a condition ({text}): the measure's aggregate does the sum "
                "or count",
            )
        elif isinstance(node, exp.Subquery | exp.Select | exp.Query):
            self.refuse(f"条件中不能有子查询（{text}）", f"no subqueries in a condition ({text})")
        elif isinstance(node, exp.Anonymous | exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            self.refuse(
                f"不允许的函数 {name}：可用的函数有 {FUNCTIONS}",
                f"function {name} is not allowed; allowed: {FUNCTIONS}",
            )
        else:
            self.refuse(
                f"条件中不允许 {text}：可用比较、AND/OR/NOT、IN、BETWEEN、IS NULL、LIKE、+ - * "
                f"/ 和函数 {FUNCTIONS}",
                f"{text} is not allowed in a condition: use comparisons, AND/OR/NOT, IN, BETWEEN, "
                f"IS NULL, LIKE, + - * / and {FUNCTIONS}",
            )

    def _column(self, node: exp.Column) -> str | None:
        if node.table:
            self.refuse(
                f"列名前不要写表名：写 {node.name}，而不是 {node.sql(dialect='duckdb')}",
                f"name columns without a table: write {node.name}, not "
                f"{node.sql(dialect='duckdb')}",
            )
            return None
        visible = self.columns.get(node.name.lower())
        if visible is None:
            self.problems.append(_unknown_column(self.field, node.name, self.dataset))
            return None
        return visible.type

    def _expect(
        self, node: exp.Expression, got: str | None, want: str | tuple[str, ...], what: str
    ) -> None:
        wants = (want,) if isinstance(want, str) else want
        if got is None or got == NULL or got in wants:
            return
        text = node.sql(dialect="duckdb")
        if got == BOOLEAN and NUMBER in wants:
            self.refuse(
                f"{text} 是是/否值，不能用于 {what} 运算",
                f"{text} is true/false and cannot be used in arithmetic ({what})",
            )
            return
        self.refuse(
            f"{what} 需要{'或'.join(TYPE_ZH[w] for w in wants)}，而 {text} 是{TYPE_ZH[got]}",
            f"{what} needs {' or '.join(TYPE_EN[w] for w in wants)}, but {text} is {TYPE_EN[got]}",
        )

    def _operands(
        self, node: exp.Expression, operands: list[exp.Expression], want: str, what: str
    ) -> str:
        for operand in operands:
            self._expect(operand, self.type(operand), want, what)
        return want

    def _arithmetic(self, node: exp.Binary, what: str) -> str:
        return self._operands(node, [node.left, node.right], NUMBER, what)

    def _comparable(
        self, left: exp.Expression, a: str | None, right: exp.Expression, b: str | None
    ) -> None:
        if a is None or b is None or NULL in (a, b) or a == b:
            return
        if a in TEMPORAL and b in TEMPORAL:
            return
        for t, other, node in ((a, b, right), (b, a, left)):
            # A day written as text ('2026-03-01') is read as a date by every engine.
            if (
                t in TEMPORAL
                and other == TEXT
                and isinstance(node, exp.Literal)
                and ISO_DAY.match(node.this)
            ):
                return
        l_sql, r_sql = left.sql(dialect="duckdb"), right.sql(dialect="duckdb")
        zh = f"类型不符：{l_sql} 是{TYPE_ZH[a]}，{r_sql} 是{TYPE_ZH[b]}，不能比较"
        en = f"type mismatch: {l_sql} is {TYPE_EN[a]} but {r_sql} is {TYPE_EN[b]}"
        if TEXT in (a, b) and NUMBER in (a, b):
            zh += "（文本值要加单引号，如 category = 'drug'）"
            en += " (quote text values, e.g. category = 'drug')"
        self.refuse(zh, en)

    def _choices(self, column: exp.Expression, value: exp.Expression) -> None:
        """A text literal compared with a column of fixed values must be one of them."""
        if not (
            isinstance(column, exp.Column)
            and not column.table
            and isinstance(value, exp.Literal)
            and value.is_string
        ):
            return
        visible = self.columns.get(column.name.lower())
        if visible is None or not visible.choices or value.this in visible.choices:
            return
        self.refuse(
            f"{visible.name} 没有取值 '{value.this}'：可选值为 {'、'.join(visible.choices)}",
            f"{visible.name} has no value '{value.this}': its values are "
            f"{', '.join(visible.choices)}",
        )

    def _comparison(self, node: exp.Binary) -> str:
        self._comparable(node.left, self.type(node.left), node.right, self.type(node.right))
        self._choices(node.left, node.right)
        self._choices(node.right, node.left)
        return BOOLEAN

    def _in(self, node: exp.In) -> str:
        if node.args.get("query") is not None or node.args.get("unnest") is not None:
            self.refuse(
                f"IN 后只能列出取值，不能有子查询（{node.sql(dialect='duckdb')}）",
                f"IN takes a list of values, not a subquery ({node.sql(dialect='duckdb')})",
            )
            return BOOLEAN
        left = self.type(node.this)
        for item in node.expressions:
            self._comparable(node.this, left, item, self.type(item))
            self._choices(node.this, item)
        return BOOLEAN

    def _between(self, node: exp.Between) -> str:
        left = self.type(node.this)
        for bound in (node.args["low"], node.args["high"]):
            self._comparable(node.this, left, bound, self.type(bound))
        return BOOLEAN

    def _is(self, node: exp.Is) -> str:
        left = self.type(node.this)
        right = node.expression
        if isinstance(right, exp.Boolean):
            self._expect(node.this, left, BOOLEAN, "IS TRUE/FALSE")
        elif not isinstance(right, exp.Null):
            self.refuse(
                f"IS 后只能是 NULL、TRUE 或 FALSE（{node.sql(dialect='duckdb')}）",
                f"IS takes NULL, TRUE or FALSE ({node.sql(dialect='duckdb')})",
            )
        return BOOLEAN

    def _like(self, node: exp.Binary) -> str:
        for side in (node.left, node.right):
            self._expect(side, self.type(side), TEXT, "LIKE")
        return BOOLEAN

    def _coalesce(self, node: exp.Coalesce) -> str | None:
        items = [node.this, *node.expressions]
        types = [self.type(item) for item in items]
        known = [t for t in types if t not in (None, NULL)]
        for item, t in zip(items[1:], types[1:], strict=True):
            self._comparable(items[0], types[0], item, t)
        return known[0] if known else NULL

    def _trim(self, node: exp.Trim) -> str:
        if node.args.get("expression") is not None or node.args.get("position") is not None:
            self.refuse("trim 只能去掉两端空格：trim(列)", "trim takes one argument: trim(column)")
        return self._function(node, "trim", [node.this], TEXT, TEXT)

    def _substring(self, node: exp.Substring) -> str:
        self._expect(node.this, self.type(node.this), TEXT, "substr")
        for arg in (node.args.get("start"), node.args.get("length")):
            if arg is not None:
                self._expect(arg, self.type(arg), NUMBER, "substr")
        return TEXT

    def _function(
        self,
        node: exp.Expression,
        name: str,
        args: list[exp.Expression],
        want: str | tuple[str, ...],
        gives: str,
    ) -> str:
        for arg in args:
            self._expect(arg, self.type(arg), want, name)
        return gives


def check_where(field: str, where: str, dataset: str) -> list[Problem]:
    """Problems of a measure's condition over ``dataset``'s rows; empty when it is fine."""
    tree, problems = _parse(field, where, "条件", "condition")
    if tree is None:
        return problems
    walk = _Where(field, dataset)
    result = walk.type(tree)
    if result not in (None, BOOLEAN, NULL) and not walk.problems:
        text = tree.sql(dialect="duckdb")
        walk.refuse(
            f"条件的结果必须是“是/否”，而 {text} 是{TYPE_ZH[result]}（是否漏了比较，如 {text} "
            "= '…'？）",
            f"a condition must be true or false, but {text} is {TYPE_EN[result]} "
            f"(a comparison missing, e.g. {text} = '…'?)",
        )
    return walk.problems


def parse_where(where: str) -> exp.Expression:
    """The parsed condition (``ValueError`` if it does not parse: check it first)."""
    tree, problems = _parse("where", where, "条件", "condition")
    if tree is None:
        raise ValueError(problems[0].en)
    return tree


def parse_formula(formula: str) -> exp.Expression:
    """The parsed numerator or denominator (``ValueError`` if it does not parse)."""
    tree, problems = _parse("formula", formula, "公式", "formula")
    if tree is None:
        raise ValueError(problems[0].en)
    return tree


def measures_of(formula: str | None) -> list[str]:
    """The measure codes a numerator or denominator names, in order of first use."""
    if not formula:
        return []
    found: list[str] = []
    for column in parse_formula(formula).find_all(exp.Column):
        if column.name not in found:
            found.append(column.name)
    return found


def check_formula(field: str, formula: str, catalog: Catalog) -> list[Problem]:
    """Problems of a numerator or denominator: measure codes, numbers and + - * / ( ) only."""
    tree, problems = _parse(field, formula, "公式", "formula")
    if tree is None:
        return problems
    allowed = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Paren, exp.Neg, exp.Identifier)
    for node in tree.walk():
        if isinstance(node, exp.Column):
            if node.table or node.name not in catalog.measures:
                problems.append(
                    Problem(
                        field,
                        f"未知指标项 {node.sql(dialect='duckdb')}：可用的指标项有 "
                        f"{'、'.join(catalog.measures)}",
                        f"unknown measure {node.sql(dialect='duckdb')}: the measures are "
                        f"{', '.join(catalog.measures)}",
                    )
                )
        elif isinstance(node, exp.Literal):
            if node.is_string:
                problems.append(
                    Problem(
                        field,
                        f"公式中只能有数字，不能有文本 '{node.this}'",
                        f"numbers only, not text '{node.this}'",
                    )
                )
        elif not isinstance(node, allowed):
            text = node.sql(dialect="duckdb")
            problems.append(
                Problem(
                    field,
                    f"公式中只能用指标项代码、数字和 + - * / ( )，不能用 {text}",
                    f"a formula may use only measure codes, numbers and + - * / ( ), not {text}",
                )
            )
            break  # its children would only repeat the same refusal
    return problems


def _is_identifier(code: str) -> bool:
    """Whether ``code`` reads as a plain column name in a formula (not a keyword)."""
    try:
        tree = sqlglot.parse_one(code, read="duckdb")
    except (ParseError, TokenError):
        return False
    return isinstance(tree, exp.Column) and tree.name == code and not tree.table


def _check_code(code: str) -> list[Problem]:
    if CODE.match(code) and _is_identifier(code):
        return []
    return [
        Problem(
            "code",
            f"代码 {code!r} 无效：以小写字母开头，只用小写字母、数字和下划线，最长 40 位，"
            "且不能是 SQL 关键字",
            f"code {code!r} is invalid: a lower-case letter, then lower-case letters, digits and "
            "underscores, at most 40, and not an SQL keyword",
        )
    ]


def _check_texts(entry: Measure | Indicator, names: tuple[str, ...]) -> list[Problem]:
    return [
        Problem(name, f"{name} 不能为空", f"{name} may not be empty")
        for name in names
        if not str(getattr(entry, name) or "").strip()
    ]


def check_measure(measure: Measure, catalog: Catalog) -> list[Problem]:
    """Problems of ``measure`` as it would be saved into ``catalog``; empty when it is fine.

    Indicators of the catalog that use the measure are checked again with it, so a change of
    dataset that leaves an indicator at a grain its data lacks is refused too.
    """
    problems = _check_code(measure.code) + _check_texts(measure, ("zh", "en"))
    dataset = DATASETS.get(measure.dataset)
    facts = [d for d in DATASETS if d != INSTITUTIONS.name]
    if dataset is None or dataset is INSTITUTIONS:
        problems.append(
            Problem(
                "dataset",
                f"未知数据集 {measure.dataset}：可用的有 {'、'.join(facts)}",
                f"unknown dataset {measure.dataset}: the datasets are {', '.join(facts)}",
            )
        )
        return problems
    problems += _check_aggregate(measure)
    if measure.where is not None and measure.where.strip():
        problems += check_where("where", measure.where, measure.dataset)
    if measure.stock and not dataset.by_institution:
        problems.append(
            Problem(
                "stock",
                f"{measure.dataset} 不分机构，不能是期末余额（余额按机构取期末月份）",
                f"{measure.dataset} has no institutions: a balance is taken per institution",
            )
        )
    if measure.stock and measure.aggregate != "sum":
        problems.append(
            Problem("stock", "期末余额必须是对某列求和", "a balance (stock) must sum a column")
        )
    if not problems:
        changed = catalog.with_measure(measure)
        for indicator in changed.indicators.values():
            if measure.code in _measures_of_indicator(indicator):
                problems += [
                    Problem(
                        "dataset",
                        f"指标 {indicator.code}：{p.zh}",
                        f"indicator {indicator.code}: {p.en}",
                    )
                    for p in _check_grains(indicator, changed)
                ]
    return problems


def _check_aggregate(measure: Measure) -> list[Problem]:
    if measure.aggregate not in AGGREGATES:
        return [
            Problem(
                "aggregate",
                f"聚合方式 {measure.aggregate} 无效：可选 sum（求和）或 count（计数）",
                f"aggregate {measure.aggregate} is invalid: sum or count",
            )
        ]
    if measure.aggregate == "count":
        if measure.column:
            return [
                Problem(
                    "column",
                    "count 计数行数：列留空，条件写在 where 中",
                    "count counts rows: leave column empty and put the condition in where",
                )
            ]
        return []
    if not measure.column:
        return [Problem("column", "sum 需要指定求和的列", "sum needs the column to sum")]
    visible = visible_columns(measure.dataset).get(measure.column)
    if visible is None or visible.table != "d":
        return [_unknown_column("column", measure.column, measure.dataset)]
    if visible.type != NUMBER:
        numeric = [
            v.name
            for v in visible_columns(measure.dataset).values()
            if v.type == NUMBER and v.table == "d"
        ]
        return [
            Problem(
                "column",
                f"{measure.column} 是{TYPE_ZH[visible.type]}列，不能求和：{measure.dataset} "
                f"的数值列有 {'、'.join(numeric)}",
                f"{measure.column} is {TYPE_EN[visible.type]}, not a number to sum: "
                f"{measure.dataset}'s numeric columns are {', '.join(numeric)}",
            )
        ]
    return []


def _measures_of_indicator(indicator: Indicator) -> list[str]:
    try:
        return measures_of(indicator.numerator) + measures_of(indicator.denominator)
    except ValueError:
        return []


def feasible_grains(
    indicator: Indicator, catalog: Catalog, _seen: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """The grains of ``indicator`` at which all its measures' data exist (the county only, for
    data without institutions); a growth indicator's are those of the one it grows from."""
    if indicator.growth_of is not None:
        base = catalog.indicators.get(indicator.growth_of)
        if base is None or indicator.code in _seen:
            return ()
        of_base = feasible_grains(base, catalog, (*_seen, indicator.code))
        return tuple(g for g in indicator.grains if g in of_base)
    grains = indicator.grains
    for code in _measures_of_indicator(indicator):
        measure = catalog.measures.get(code)
        if measure is not None and not DATASETS[measure.dataset].by_institution:
            grains = tuple(g for g in grains if g == "county")
    return grains


def _check_grains(indicator: Indicator, catalog: Catalog) -> list[Problem]:
    if indicator.growth_of is not None:
        return []
    problems = []
    for code in _measures_of_indicator(indicator):
        measure = catalog.measures.get(code)
        if measure is None or measure.dataset not in DATASETS:
            continue
        if not DATASETS[measure.dataset].by_institution:
            wrong = [g for g in indicator.grains if g != "county"]
            if wrong:
                problems.append(
                    Problem(
                        "grains",
                        f"指标项 {code} 的数据（{measure.dataset}）只有全县汇总："
                        f"统计层级只能是 county，不能有 {'、'.join(wrong)}",
                        f"measure {code} ({measure.dataset}) exists only for the whole county: "
                        f"grains must be county, not {', '.join(wrong)}",
                    )
                )
    return problems


def _check_growth(indicator: Indicator, catalog: Catalog) -> list[Problem]:
    problems = []
    if indicator.numerator or indicator.denominator:
        problems.append(
            Problem(
                "growth_of",
                "增长率指标由所引用指标的同比得出：分子、分母留空",
                "a growth indicator is the year-on-year growth of another: leave numerator and "
                "denominator empty",
            )
        )
    base = catalog.indicators.get(indicator.growth_of or "")
    if base is None or indicator.growth_of == indicator.code:
        others = [c for c in catalog.indicators if c != indicator.code]
        problems.append(
            Problem(
                "growth_of",
                f"growth_of 引用了未知指标 {indicator.growth_of}：可用的有 {'、'.join(others)}",
                f"growth_of names an unknown indicator {indicator.growth_of}: the indicators are "
                f"{', '.join(others)}",
            )
        )
        return problems
    chain = [indicator.code]
    current: Indicator | None = base
    while current is not None:
        chain.append(current.code)
        if current.code == indicator.code:
            problems.append(
                Problem(
                    "growth_of",
                    f"growth_of 形成循环：{' → '.join(chain)}",
                    f"growth_of forms a cycle: {' → '.join(chain)}",
                )
            )
            return problems
        if current.growth_of is None or current.code in chain[:-1]:
            break
        current = catalog.indicators.get(current.growth_of)
    missing = [g for g in indicator.grains if g not in base.grains]
    if missing:
        problems.append(
            Problem(
                "grains",
                f"{base.code} 只在 {'、'.join(base.grains)} 层级计算，增长率不能有 "
                f"{'、'.join(missing)}",
                f"{base.code} is computed only at {', '.join(base.grains)}: its growth cannot "
                "be at "
                f"{', '.join(missing)}",
            )
        )
    return problems


def _check_values(indicator: Indicator) -> list[Problem]:
    problems = []
    if indicator.direction not in DIRECTIONS:
        problems.append(
            Problem(
                "direction",
                f"方向 {indicator.direction} 无效：higher（越高越好）或 lower（越低越好）",
                f"direction {indicator.direction} is invalid: higher or lower (is better)",
            )
        )
    if indicator.unit not in UNITS:
        problems.append(
            Problem(
                "unit",
                f"单位 {indicator.unit} 无效：可选 {'、'.join(UNITS)}",
                f"unit {indicator.unit} is invalid: one of {', '.join(UNITS)}",
            )
        )
    bad = [g for g in indicator.grains if g not in GRAINS]
    if bad or not indicator.grains or len(set(indicator.grains)) != len(indicator.grains):
        problems.append(
            Problem(
                "grains",
                f"统计层级无效（{'、'.join(indicator.grains) or '空'}）：从 "
                f"{'、'.join(GRAINS)} 中选，不重复",
                f"grains are invalid ({', '.join(indicator.grains) or 'none'}): choose from "
                f"{', '.join(GRAINS)}, each once",
            )
        )
    if not math.isfinite(indicator.scale) or indicator.scale == 0:
        problems.append(
            Problem(
                "scale", "系数必须是非零的有限数", "scale must be a finite number other than zero"
            )
        )
    return problems


def _check_targets(indicator: Indicator) -> list[Problem]:
    problems = []
    least = indicator.min_denominator
    if least is not None and (not math.isfinite(least) or least < 0):
        problems.append(
            Problem(
                "min_denominator",
                "最小分母必须是非负的有限数",
                "min_denominator must be a finite number, zero or more",
            )
        )
    unknown = [t for t in indicator.target_tiers or () if t not in TIERS]
    if unknown or indicator.target_tiers == ():
        problems.append(
            Problem(
                "target_tiers",
                f"目标约束的层级无效（{'、'.join(unknown) or '空'}）：从 {'、'.join(TIERS)} 中选，"
                "或留空表示全部层级",
                f"target tiers are invalid ({', '.join(unknown) or 'none'}): choose from "
                f"{', '.join(TIERS)}, or leave empty for every tier",
            )
        )
    for year, target in indicator.targets.items():
        field = f"targets.{year}"
        if not YEAR.match(year):
            problems.append(
                Problem(
                    field,
                    f"目标年份 {year} 应为四位年份",
                    f"target year {year} must be four digits",
                )
            )
        values = [target.target] + ([] if target.alert is None else [target.alert])
        if not all(math.isfinite(v) for v in values):
            problems.append(
                Problem(
                    field, "目标值和预警值必须是有限数", "target and alert must be finite numbers"
                )
            )
            continue
        if target.alert is None or indicator.direction not in DIRECTIONS:
            continue
        if indicator.direction == "higher" and target.alert > target.target:
            problems.append(
                Problem(
                    field,
                    f"{year} 年预警值 {target.alert:g} 应不高于目标值 {target.target:g}（"
                    "越高越好，预警在差的一侧）",
                    f"{year}: alert {target.alert:g} must not be above target {target.target:g} "
                    "(higher is better: the alert is on the worse side)",
                )
            )
        if indicator.direction == "lower" and target.alert < target.target:
            problems.append(
                Problem(
                    field,
                    f"{year} 年预警值 {target.alert:g} 应不低于目标值 {target.target:g}（"
                    "越低越好，预警在差的一侧）",
                    f"{year}: alert {target.alert:g} must not be below target {target.target:g} "
                    "(lower is better: the alert is on the worse side)",
                )
            )
    return problems


def check_indicator(indicator: Indicator, catalog: Catalog) -> list[Problem]:
    """Problems of ``indicator`` as it would be saved into ``catalog``; empty when it is fine."""
    problems = _check_code(indicator.code)
    problems += _check_texts(
        indicator, ("zh", "en", "caliber_zh", "caliber_en", "source", "source_version")
    )
    problems += _check_values(indicator) + _check_targets(indicator)
    changed = catalog.with_indicator(indicator)
    if indicator.growth_of is not None:
        return problems + _check_growth(indicator, changed)
    if not indicator.numerator:
        problems.append(
            Problem(
                "numerator",
                "需要分子（或 growth_of 指定增长率）",
                "a numerator is needed (or growth_of)",
            )
        )
        return problems
    formulas = [("numerator", indicator.numerator), ("denominator", indicator.denominator)]
    for field, formula in formulas:
        if formula is not None and formula.strip():
            problems += check_formula(field, formula, changed)
    if not problems and not measures_of(indicator.numerator):
        problems.append(
            Problem(
                "numerator",
                "分子至少要用一个指标项（只有数字的分子没有数据可算）",
                "the numerator must use at least one measure (a number alone has no data)",
            )
        )
    if not problems:
        problems += _check_grains(indicator, changed)
    return problems


def check_catalog(catalog: Catalog) -> list[Problem]:
    """Problems of every entry of ``catalog``, each field prefixed with the entry's code."""
    problems = []
    for measure in catalog.measures.values():
        problems += [
            Problem(f"{measure.code}.{p.field}", p.zh, p.en)
            for p in check_measure(measure, catalog)
        ]
    for indicator in catalog.indicators.values():
        problems += [
            Problem(f"{indicator.code}.{p.field}", p.zh, p.en)
            for p in check_indicator(indicator, catalog)
        ]
    return problems


# The stored forms' fields: name -> (required, the types it may have, how to name them).
_TEXT = ((str,), "文本", "text")
_NUMBER = ((int, float), "数字", "a number")
_MEASURE_FIELDS: dict[str, tuple[bool, tuple[tuple[type, ...], str, str]]] = {
    "code": (True, _TEXT), "zh": (True, _TEXT), "en": (True, _TEXT), "dataset": (True, _TEXT),
    "aggregate": (True, _TEXT), "column": (False, _TEXT), "where": (False, _TEXT),
    "stock": (False, ((bool,), "是/否", "true/false")),
}  # fmt: skip
_INDICATOR_FIELDS: dict[str, tuple[bool, tuple[tuple[type, ...], str, str]]] = {
    "code": (True, _TEXT), "zh": (True, _TEXT), "en": (True, _TEXT),
    "caliber_zh": (True, _TEXT), "caliber_en": (True, _TEXT), "source": (True, _TEXT),
    "source_version": (True, ((str, int), "文本", "text")), "unit": (True, _TEXT),
    "direction": (True, _TEXT), "numerator": (False, _TEXT), "denominator": (False, _TEXT),
    "scale": (False, _NUMBER), "growth_of": (False, _TEXT),
    "grains": (False, ((list, tuple), "列表", "a list")),
    "target_tiers": (False, ((list, tuple), "列表", "a list")),
    "min_denominator": (False, _NUMBER),
    "targets": (False, ((dict,), "对象", "an object")),
}  # fmt: skip


def _check_shape(
    data: Mapping[str, Any], fields: Mapping[str, tuple[bool, tuple[tuple[type, ...], str, str]]]
) -> list[Problem]:
    problems = []
    for name, (required, (types, zh, en)) in fields.items():
        value = data.get(name)
        if value is None:
            if required:
                problems.append(Problem(name, f"缺少 {name}", f"{name} is missing"))
            continue
        # bool is an int in Python: a number field must not take true/false.
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            problems.append(Problem(name, f"{name} 应为{zh}", f"{name} must be {en}"))
    return problems


def _check_target_shape(targets: Mapping[str, Any]) -> list[Problem]:
    problems = []
    for year, target in targets.items():
        field = f"targets.{year}"
        if not isinstance(target, Mapping) or "target" not in target:
            problems.append(
                Problem(
                    field,
                    "目标应写成 {target: 数字, alert: 数字或空}",
                    "a target is {target: number, alert: number or null}",
                )
            )
            continue
        for key in ("target", "alert"):
            value = target.get(key)
            if (value is None and key == "alert") or (
                isinstance(value, int | float) and not isinstance(value, bool)
            ):
                continue
            problems.append(
                Problem(
                    f"{field}.{key}",
                    f"{year} 年的 {key} 应为数字：{value!r}",
                    f"{year} {key} must be a number: {value!r}",
                )
            )
    return problems


def read_measure(data: Mapping[str, Any]) -> tuple[Measure | None, list[Problem]]:
    """A measure from its stored form, or the problems of the form's fields and types."""
    problems = _check_shape(data, _MEASURE_FIELDS)
    if problems:
        return None, problems
    return measure_from(
        {**data, "where": data.get("where") or None, "column": data.get("column") or None}
    ), []


def read_indicator(data: Mapping[str, Any]) -> tuple[Indicator | None, list[Problem]]:
    """An indicator from its stored form, or the problems of the form's fields and types
    (targets included: each a number, its alert a number or empty)."""
    problems = _check_shape(data, _INDICATOR_FIELDS)
    if isinstance(data.get("targets"), Mapping):
        problems += _check_target_shape(data["targets"])
    grains = data.get("grains")
    if isinstance(grains, list | tuple) and not all(isinstance(g, str) for g in grains):
        problems.append(Problem("grains", "统计层级应为文本列表", "grains must be a list of text"))
    if problems:
        return None, problems
    cleaned = {
        **data,
        "numerator": data.get("numerator") or None,
        "denominator": data.get("denominator") or None,
        "growth_of": data.get("growth_of") or None,
        # An empty list of grains is a mistake to report, not "every grain" (the default).
        "grains": data.get("grains") if data.get("grains") is not None else list(GRAINS),
    }
    indicator = indicator_from(cleaned)
    if cleaned["grains"] == []:
        indicator = replace(indicator, grains=())
    return indicator, []

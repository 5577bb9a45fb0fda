"""The catalog compiled to SQL: one text, written in DuckDB's dialect and transpiled with
sqlglot for Spark, over views named after the lake's datasets.

The query is a pipeline of named stages (common table expressions). The scans are read once
each, so even an engine that inlines a CTE wherever it is named (Spark) scans every dataset
once; the Spark engine keeps the small stages that are joined to themselves in memory.

1. ``scan_<dataset>``: ONE scan of each dataset grouped by institution and month, every
   measure of that dataset one aggregate in it: ``COALESCE(SUM(col) FILTER (WHERE …), 0)`` or
   ``COUNT(*) FILTER (WHERE …)``. Conditions may name the institution's tier, kind, ownership
   and community, so the scan joins the institution dimension when one of them does.
   Datasets without institutions (out-of-county stays) are grouped by month alone.
2. ``monthly``: the scans stacked and folded into one row per institution and month.
3. ``rolled``: each institution's months rolled up to months, quarters and years (a cross
   join with the three period kinds): flows are summed; a stock (assets, liabilities) takes
   the value of the last month with data in the period.
4. ``measures``: institutions rolled up to their medical community and the county (a cross
   join with the three grains), by summing. A measure is empty where its dataset has no rows
   for that unit and period (no data is not zero).
5. ``ratios`` and ``values_0``: each indicator's numerator and denominator over the measures,
   value = (numerator) × scale ÷ NULLIF((denominator), 0), only at the indicator's grains and
   only where every measure it uses has data (out-of-county stays exist for the county only).
6. ``values_<n>``: growth indicators, the year-on-year growth of the indicator they name,
   layer by layer (a growth of a growth is one layer further), where the same period a year
   before has a row.
7. the result: every value with its yoy and mom, joining on integer period indexes
   (``year*12+month-1``, ``year*4+quarter-1``, ``year``): yoy against the index 12, 4 or 1
   before, mom against the index before.

The columns are those of ``analytics.results.RESULTS``, in no particular row order (a global
sort is a job of its own on Spark; the engines sort the small result themselves).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import sqlglot
from sqlglot import exp

from yigongti.analytics.catalog.check import (
    check_catalog,
    feasible_grains,
    measures_of,
    parse_formula,
    parse_where,
    visible_columns,
)
from yigongti.analytics.catalog.model import Catalog, Indicator, Measure
from yigongti.analytics.lake.schema import DATASETS, INSTITUTIONS
from yigongti.analytics.results import GRAINS, PERIOD_KINDS, months_of

DIALECTS = ("duckdb", "spark")
# How far back "the same period last year" is, in period indexes of each kind.
YOY_LAG = "CASE {0}.period_kind WHEN 'month' THEN 12 WHEN 'quarter' THEN 4 ELSE 1 END"


class CatalogError(ValueError):
    """The catalog does not pass its checks; the message lists the problems."""


def q(name: str) -> str:
    """``name`` as a quoted identifier (codes come from the bureau: never trust them bare)."""
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def lit(text: str) -> str:
    """``text`` as an SQL string literal, quotes escaped."""
    return exp.Literal.string(text).sql(dialect="duckdb")


def number(value: float) -> str:
    """A DOUBLE literal: a bare ``0.01`` is a DECIMAL, and the engines' decimal rules differ."""
    return f"CAST({value!r} AS DOUBLE)"


def col(code: str) -> str:
    """The column of measure ``code`` in the stages (prefixed, so no code meets a key column)."""
    return q(f"m_{code}")


@dataclass(frozen=True)
class Compiled:
    """The catalog as named stages and a final query, in DuckDB's dialect."""

    stages: tuple[tuple[str, str], ...]
    final: str

    def sql(self, dialect: str = "duckdb") -> str:
        """The whole computation as one statement in ``dialect`` (duckdb or spark)."""
        if not self.stages:
            return translate(self.final, dialect)
        ctes = ",\n".join(f"{name} AS (\n{body}\n)" for name, body in self.stages)
        return translate(f"WITH {ctes}\n{self.final}", dialect)


def translate(sql: str, dialect: str) -> str:
    """DuckDB SQL written for ``dialect`` by sqlglot."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; one of {', '.join(DIALECTS)}")
    if dialect == "duckdb":
        return sql
    return sqlglot.transpile(sql, read="duckdb", write=dialect)[0]


def condition_sql(measure: Measure) -> str | None:
    """The measure's condition over ``d`` (its dataset) and ``i`` (the institution dimension)."""
    if not measure.where or not measure.where.strip():
        return None
    visible = visible_columns(measure.dataset)

    def qualify(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column):
            column = visible[node.name.lower()]
            return exp.column(column.column, table=column.table, quoted=True)
        return node

    return parse_where(measure.where).transform(qualify).sql(dialect="duckdb")


def _joins_institutions(measures: Iterable[Measure]) -> bool:
    """Whether any condition names a column of the institution dimension."""
    for measure in measures:
        sql = condition_sql(measure)
        if sql is not None and f"{q('i')}." in sql:
            return True
    return False


def _aggregate(measure: Measure) -> str:
    condition = condition_sql(measure)
    keep = f" FILTER (WHERE {condition})" if condition else ""
    if measure.aggregate == "count":
        return f"COUNT(*){keep}"
    # A month with rows but none kept is a zero, not an empty value.
    return f"COALESCE(SUM(d.{q(measure.column or '')}){keep}, 0)"


def _scan(dataset: str, measures: list[Measure]) -> str:
    by_institution = DATASETS[dataset].by_institution
    institution = "d.institution_id" if by_institution else "CAST(NULL AS VARCHAR)"
    columns = ",\n  ".join(f"{_aggregate(m)} AS {col(m.code)}" for m in measures)
    join = ""
    if by_institution and _joins_institutions(measures):
        join = f"\nLEFT JOIN {INSTITUTIONS.name} AS i ON i.institution_id = d.institution_id"
    group = "d.institution_id, d.month" if by_institution else "d.month"
    return (
        f"SELECT {institution} AS institution_id, d.month AS month,\n  {columns}\n"
        f"FROM {dataset} AS d{join}\nGROUP BY {group}"
    )


def _periods(month: str, kind: str) -> tuple[str, str]:
    """The period label and integer index of ``month`` (a "YYYY-MM" column) for ``kind``."""
    year = f"CAST(SUBSTR({month}, 1, 4) AS INTEGER)"
    number_of_month = f"CAST(SUBSTR({month}, 6, 2) AS INTEGER)"
    quarter = f"(({number_of_month} - 1) // 3)"
    label = (
        f"CASE {kind} WHEN 'month' THEN {month} "
        f"WHEN 'quarter' THEN SUBSTR({month}, 1, 4) || 'Q' || CAST({quarter} + 1 AS VARCHAR) "
        f"ELSE SUBSTR({month}, 1, 4) END"
    )
    index = (
        f"CASE {kind} WHEN 'month' THEN {year} * 12 + {number_of_month} - 1 "
        f"WHEN 'quarter' THEN {year} * 4 + {quarter} ELSE {year} END"
    )
    return label, index


def _monthly(by_dataset: dict[str, list[Measure]]) -> str:
    """The scans stacked and folded: one row per institution and month, every measure a column,
    empty where its dataset has no rows (out-of-county stays sit on a row of no institution)."""
    every = [m for ms in by_dataset.values() for m in ms]
    branches = []
    for dataset, measures in by_dataset.items():
        own = {m.code for m in measures}
        columns = ", ".join(
            col(m.code) if m.code in own else f"CAST(NULL AS BIGINT) AS {col(m.code)}"
            for m in every
        )
        branches.append(f"SELECT institution_id, month, {columns} FROM scan_{dataset}")
    stacked = "\n      UNION ALL ".join(branches)
    # Each measure comes from one branch: MAX folds away the other branches' NULLs.
    folded = ",\n  ".join(f"MAX(x.{col(m.code)}) AS {col(m.code)}" for m in every)
    return (
        f"SELECT x.institution_id, x.month,\n  {folded}\n"
        f"FROM ({stacked}) AS x\nGROUP BY x.institution_id, x.month"
    )


def _rolled(measures: list[Measure]) -> str:
    """Each institution's months rolled up to months, quarters and years."""
    label, index = _periods("s.month", "k.period_kind")
    columns = ",\n  ".join(
        # A balance is the last month that reported it: months without it have no key.
        f"MAX_BY(p.{col(m.code)}, CASE WHEN p.{col(m.code)} IS NOT NULL THEN p.month END) "
        f"AS {col(m.code)}"
        if m.stock
        else f"SUM(p.{col(m.code)}) AS {col(m.code)}"
        for m in measures
    )
    return (
        f"SELECT p.institution_id, p.period_kind, p.period, p.pidx,\n  {columns}\n"
        f"FROM (SELECT s.*, k.period_kind, {label} AS period, {index} AS pidx\n"
        "      FROM monthly AS s CROSS JOIN period_kinds AS k) AS p\n"
        "GROUP BY p.institution_id, p.period_kind, p.period, p.pidx"
    )


def _measures(measures: list[Measure], county_code: str) -> str:
    """Institutions rolled up to their community and the county: every measure per grain,
    unit and period (a sum of empty values is empty: no data, not zero)."""
    columns = ",\n  ".join(
        f"CAST(SUM(u.{col(m.code)}) AS DOUBLE) AS {col(m.code)}" for m in measures
    )
    unit = (
        "CASE g.grain WHEN 'institution' THEN r.institution_id "
        f"WHEN 'community' THEN i.community_id ELSE {lit(county_code)} END"
    )
    return (
        f"SELECT u.grain, u.unit_id, u.period_kind, u.period, u.pidx,\n  {columns}\n"
        f"FROM (SELECT g.grain, {unit} AS unit_id, r.*\n"
        "      FROM rolled AS r\n"
        f"      LEFT JOIN {INSTITUTIONS.name} AS i ON i.institution_id = r.institution_id\n"
        "      CROSS JOIN grains AS g\n"
        f"      WHERE {unit} IS NOT NULL) AS u\n"
        "GROUP BY u.grain, u.unit_id, u.period_kind, u.period, u.pidx"
    )


def arithmetic(formula: str, table: str = "m") -> str:
    """A numerator or denominator over the ``measures`` stage: each measure its column, each
    number a DOUBLE, each division by ``NULLIF(…, 0)``."""

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column):
            return exp.column(f"m_{node.name}", table=table, quoted=True)
        if isinstance(node, exp.Literal):
            return exp.cast(exp.Literal.number(float(node.this)), "DOUBLE")
        if isinstance(node, exp.Paren | exp.Neg):
            return type(node)(this=rewrite(node.this))
        if isinstance(node, exp.Div):
            divisor = exp.Nullif(
                this=exp.paren(rewrite(node.right)), expression=exp.Literal.number(0)
            )
            return exp.Div(this=exp.paren(rewrite(node.left)), expression=divisor)
        if isinstance(node, exp.Add | exp.Sub | exp.Mul):
            return type(node)(
                this=exp.paren(rewrite(node.left)), expression=exp.paren(rewrite(node.right))
            )
        raise CatalogError(f"not allowed in a formula: {node.sql()}")  # check_formula refuses it

    return rewrite(parse_formula(formula)).sql(dialect="duckdb")


def _union(rows: list[str]) -> str:
    return "\nUNION ALL ".join(rows)


def _table(names: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A constant table: rows of SQL literals named ``names``. One VALUES list, not a UNION of
    one-row selects: Spark would make a partition (a task) of every select."""
    listed = ",\n  ".join(f"({', '.join(row)})" for row in rows)
    return f"SELECT * FROM (VALUES\n  {listed}) AS t({', '.join(names)})"


def _cases(pairs: list[tuple[str, str]], subject: str, otherwise: str = "NULL") -> str:
    whens = " ".join(f"WHEN {lit(code)} THEN {sql}" for code, sql in pairs)
    return f"CASE {subject} {whens} ELSE {otherwise} END"


def _ratios(indicators: list[Indicator]) -> tuple[str, str, str]:
    """The ``defs``, ``ratios`` and ``values_0`` stages of the indicators with a formula."""
    defs = _table(
        ("indicator", "version", "grain"),
        [(lit(i.code), str(i.version), lit(g)) for i in indicators for g in i.grains],
    )
    numerators = [(i.code, arithmetic(i.numerator or "")) for i in indicators]
    denominators = [(i.code, arithmetic(i.denominator)) for i in indicators if i.denominator]
    present = [
        (
            i.code,
            " AND ".join(
                f"m.{col(c)} IS NOT NULL"
                for c in measures_of(i.numerator) + measures_of(i.denominator)
            ),
        )
        for i in indicators
    ]
    ratios = (
        "SELECT d.indicator, d.version, m.grain, m.unit_id, m.period_kind, m.period, m.pidx,\n"
        f"  {_cases(numerators, 'd.indicator', 'CAST(NULL AS DOUBLE)')} AS numerator,\n"
        f"  {_cases(denominators, 'd.indicator', 'CAST(NULL AS DOUBLE)')} AS denominator,\n"
        f"  {_cases(present, 'd.indicator', 'FALSE')} AS present\n"
        "FROM measures AS m JOIN defs AS d ON d.grain = m.grain"
    )
    values = [
        (
            i.code,
            f"r.numerator * {number(i.scale)} / NULLIF(r.denominator, 0)"
            if i.denominator
            else f"r.numerator * {number(i.scale)}",
        )
        for i in indicators
    ]
    values_0 = (
        "SELECT r.indicator, r.version, r.grain, r.unit_id, r.period_kind, r.period, r.pidx,\n"
        f"  r.numerator, r.denominator,\n"
        f"  {_cases(values, 'r.indicator', 'CAST(NULL AS DOUBLE)')} AS value\n"
        "FROM ratios AS r WHERE r.present"
    )
    return defs, ratios, values_0


def _growth(layer: int, indicators: list[Indicator]) -> tuple[str, str]:
    """The definitions and values of growth indicators of one layer (their bases one below)."""
    defs = _table(
        ("indicator", "version", "base", "grain"),
        [
            (lit(i.code), str(i.version), lit(i.growth_of or ""), lit(g))
            for i in indicators
            for g in i.grains
        ],
    )
    below = f"values_{layer - 1}"
    values = (
        "SELECT g.indicator, g.version, v.grain, v.unit_id, v.period_kind, v.period, v.pidx,\n"
        "  v.value AS numerator, p.value AS denominator,\n"
        f"  (v.value - p.value) / NULLIF(ABS(p.value), 0) * {number(100.0)} AS value\n"
        f"FROM {below} AS v\n"
        f"JOIN growth_{layer} AS g ON g.base = v.indicator AND g.grain = v.grain\n"
        f"JOIN {below} AS p ON p.indicator = v.indicator AND p.grain = v.grain "
        "AND p.unit_id = v.unit_id AND p.period_kind = v.period_kind "
        f"AND p.pidx = v.pidx - {YOY_LAG.format('v')}"
    )
    return defs, values


FINAL = """SELECT v.indicator, CAST(v.version AS INTEGER) AS version, v.grain, v.unit_id,
  v.period_kind, v.period, v.numerator, v.denominator, v.value,
  (v.value - y.value) / NULLIF(ABS(y.value), 0) * CAST(100.0 AS DOUBLE) AS yoy,
  (v.value - p.value) / NULLIF(ABS(p.value), 0) * CAST(100.0 AS DOUBLE) AS mom
FROM all_values AS v
LEFT JOIN all_values AS y ON y.indicator = v.indicator AND y.grain = v.grain
  AND y.unit_id = v.unit_id AND y.period_kind = v.period_kind AND y.pidx = v.pidx - {lag}
LEFT JOIN all_values AS p ON p.indicator = v.indicator AND p.grain = v.grain
  AND p.unit_id = v.unit_id AND p.period_kind = v.period_kind AND p.pidx = v.pidx - 1""".format(
    lag=YOY_LAG.format("v")
)

EMPTY = """SELECT CAST(NULL AS VARCHAR) AS indicator, CAST(NULL AS INTEGER) AS version,
  CAST(NULL AS VARCHAR) AS grain, CAST(NULL AS VARCHAR) AS unit_id,
  CAST(NULL AS VARCHAR) AS period_kind, CAST(NULL AS VARCHAR) AS period,
  CAST(NULL AS DOUBLE) AS numerator, CAST(NULL AS DOUBLE) AS denominator,
  CAST(NULL AS DOUBLE) AS value, CAST(NULL AS DOUBLE) AS yoy, CAST(NULL AS DOUBLE) AS mom
WHERE 1 = 0"""


def _layers(catalog: Catalog) -> list[list[Indicator]]:
    """Indicators by layer: formulas first, then each growth one layer above what it grows from;
    each at the grains its data exist at, and left out where there are none."""
    depth: dict[str, int] = {}

    def depth_of(indicator: Indicator) -> int:
        if indicator.code not in depth:
            base = catalog.indicators[indicator.growth_of] if indicator.growth_of else None
            depth[indicator.code] = 0 if base is None else depth_of(base) + 1
        return depth[indicator.code]

    layers: list[list[Indicator]] = []
    for indicator in catalog.indicators.values():
        grains = tuple(g for g in GRAINS if g in feasible_grains(indicator, catalog))
        if not grains:
            continue
        level = depth_of(indicator)
        layers.extend([] for _ in range(level + 1 - len(layers)))
        layers[level].append(replace(indicator, grains=grains))
    # A layer left empty (its indicators had no grains) ends the chain above it.
    for level, indicators in enumerate(layers):
        if not indicators:
            return layers[:level]
    return layers


def compile_catalog(catalog: Catalog, county_code: str) -> Compiled:
    """The whole catalog as SQL over the dataset views; ``CatalogError`` if it fails its checks.

    Only measures an indicator uses are computed; the county's row carries ``county_code``.
    """
    problems = check_catalog(catalog)
    if problems:
        raise CatalogError("; ".join(f"{p.field}: {p.en}" for p in problems))
    layers = _layers(catalog)
    if not layers:
        return Compiled((), EMPTY)
    used = {c for i in layers[0] for c in measures_of(i.numerator) + measures_of(i.denominator)}
    by_dataset: dict[str, list[Measure]] = {}
    for measure in catalog.measures.values():
        if measure.code in used:
            by_dataset.setdefault(measure.dataset, []).append(measure)
    stages: list[tuple[str, str]] = [
        ("period_kinds", _table(("period_kind",), [(lit(k),) for k in PERIOD_KINDS])),
        ("grains", _table(("grain",), [(lit(g),) for g in GRAINS])),
    ]
    for dataset, measures in by_dataset.items():
        stages.append((f"scan_{dataset}", _scan(dataset, measures)))
    every = [m for ms in by_dataset.values() for m in ms]
    stages.append(("monthly", _monthly(by_dataset)))
    stages.append(("rolled", _rolled(every)))
    stages.append(("measures", _measures(every, county_code)))
    defs, ratios, values_0 = _ratios(layers[0])
    stages += [("defs", defs), ("ratios", ratios), ("values_0", values_0)]
    for layer, indicators in enumerate(layers[1:], start=1):
        growth_defs, growth_values = _growth(layer, indicators)
        stages += [(f"growth_{layer}", growth_defs), (f"values_{layer}", growth_values)]
    every = _union([f"SELECT * FROM values_{n}" for n in range(len(layers))])
    stages.append(("all_values", every))
    return Compiled(tuple(stages), FINAL)


def catalog_sql(catalog: Catalog, county_code: str, dialect: str = "duckdb") -> str:
    """The whole catalog as one SQL statement in ``dialect`` (duckdb or spark)."""
    return compile_catalog(catalog, county_code).sql(dialect)


def records_sql(
    catalog: Catalog,
    indicator: str,
    side: str,
    grain: str,
    unit_id: str,
    period: str,
    *,
    limit: int | None = 1000,
) -> dict[str, str]:
    """SQL selecting the lake rows behind one side of an indicator's value, per measure.

    ``side`` is ``numerator`` or ``denominator``; each measure it names gives the rows of its
    dataset the measure kept (its condition), in the unit (an institution, the institutions of
    a community, the county) and the months of ``period``. A stock measure's rows are those of
    each institution's last month with data, as the value took. Columns are the dataset's own.
    ``ValueError`` for a growth indicator (its rows are those of the indicator it grows from, in
    this period and a year before), an unknown side or a grain the data lack.
    """
    found = catalog.indicators.get(indicator)
    if found is None:
        raise ValueError(f"unknown indicator {indicator!r}")
    if found.growth_of is not None:
        raise ValueError(
            f"{indicator} is the growth of {found.growth_of}: drill into {found.growth_of} "
            "for this period and the same period a year before"
        )
    if side not in ("numerator", "denominator"):
        raise ValueError(f"side must be numerator or denominator, not {side!r}")
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    months = ", ".join(lit(m) for m in months_of(period))
    formula = found.numerator if side == "numerator" else found.denominator
    return {
        code: _records(catalog.measures[code], grain, unit_id, months, limit)
        for code in measures_of(formula)
    }


def _records(measure: Measure, grain: str, unit_id: str, months: str, limit: int | None) -> str:
    dataset = DATASETS[measure.dataset]
    if not dataset.by_institution and grain != "county":
        raise ValueError(f"{dataset.name} exists only for the whole county, not per {grain}")
    where = [f"d.month IN ({months})"]
    condition = condition_sql(measure)
    if condition:
        where.append(f"({condition})")
    if grain == "institution":
        where.append(f"d.institution_id = {lit(unit_id)}")
    elif grain == "community":
        where.append(f"i.community_id = {lit(unit_id)}")
    if measure.stock:
        # The value took each institution's last month with rows, kept or not by the condition.
        where.append(
            f"d.month = (SELECT MAX(l.month) FROM {dataset.name} AS l "
            f"WHERE l.institution_id = d.institution_id AND l.month IN ({months}))"
        )
    join = ""
    if dataset.by_institution:
        join = f" LEFT JOIN {INSTITUTIONS.name} AS i ON i.institution_id = d.institution_id"
    order = ", ".join(f"d.{q(c)}" for c in dict.fromkeys(("month", dataset.key)))
    sql = f"SELECT d.* FROM {dataset.name} AS d{join} WHERE {' AND '.join(where)} ORDER BY {order}"
    return sql + (f" LIMIT {int(limit)}" if limit is not None else "")

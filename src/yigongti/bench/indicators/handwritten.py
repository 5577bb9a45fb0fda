"""The built-in indicators written by hand in DuckDB SQL, without the catalog or its compiler:
the reference the compiled catalog is timed and checked against.

Written as a person would for DuckDB: one scan per dataset into a monthly table, a macro that
expands a month to its month, quarter and year, ``GROUPING SETS`` for the institution,
community and county roll-ups, one query per family of indicators (revenue structure, average
costs, visits and referrals, the in-county rate, finance, bookings), growth against the period
labelled a year before, and yoy/mom joined on period indexes. Another formulation than the
compiler's (cross joins, stacked scans, CASE over codes), so a mistake in either shows.

The semantics are the catalog's documented ones: a measure is empty where its dataset has no
rows for the unit and period, and a value only exists where all its measures do; a balance is
the last month with a report; every division is by ``NULLIF(…, 0)``.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from yigongti.analytics.engines import as_results

MONTHLY = [
    """CREATE TEMP MACRO periods(m) AS [
      {kind: 'month', period: m, pidx: CAST(m[1:4] AS INT) * 12 + CAST(m[6:7] AS INT) - 1},
      {kind: 'quarter', period: m[1:4] || 'Q' || CAST((CAST(m[6:7] AS INT) + 2) // 3 AS VARCHAR),
       pidx: CAST(m[1:4] AS INT) * 4 + (CAST(m[6:7] AS INT) - 1) // 3},
      {kind: 'year', period: m[1:4], pidx: CAST(m[1:4] AS INT)}
    ]""",
    """CREATE TEMP TABLE fee_months AS
    SELECT institution_id, month,
      SUM(amount_fen) AS medical,
      COALESCE(SUM(amount_fen) FILTER (category = 'drug'), 0) AS drug,
      COALESCE(SUM(amount_fen) FILTER (category IN ('service', 'bed')), 0) AS service,
      COALESCE(SUM(amount_fen) FILTER (category IN ('exam', 'lab')), 0) AS exam_lab,
      COALESCE(SUM(amount_fen) FILTER (category = 'consumable'), 0) AS consumable,
      COALESCE(SUM(amount_fen) FILTER (kind IN ('outpatient', 'emergency')), 0) AS outpatient,
      COALESCE(SUM(amount_fen) FILTER (kind = 'inpatient'), 0) AS inpatient
    FROM fees GROUP BY institution_id, month""",
    """CREATE TEMP TABLE visit_months AS
    SELECT v.institution_id, v.month,
      COUNT(*) FILTER (v.kind IN ('outpatient', 'emergency')) AS outpatient_visits,
      COUNT(*) FILTER (v.kind IN ('outpatient', 'emergency')
                       AND i.tier IN ('township', 'village')) AS primary_visits,
      COUNT(*) FILTER (v.kind = 'inpatient') AS discharges,
      COUNT(*) FILTER (v.referral = 'up') AS up_referrals,
      COUNT(*) FILTER (v.referral = 'down') AS down_referrals
    FROM visits AS v LEFT JOIN institutions AS i USING (institution_id)
    GROUP BY v.institution_id, v.month""",
    """CREATE TEMP TABLE finance_months AS
    SELECT institution_id, month, SUM(assets_fen) AS assets, SUM(liabilities_fen) AS liabilities
    FROM finance GROUP BY institution_id, month""",
    """CREATE TEMP TABLE stay_months AS
    SELECT month, COUNT(*) AS outside FROM outside_stays GROUP BY month""",
    """CREATE TEMP TABLE booking_months AS
    SELECT institution_id, month,
      COUNT(*) FILTER (status NOT IN ('held', 'expired')) AS bookings,
      COUNT(*) FILTER (status NOT IN ('held', 'expired')
                       AND channel IN ('online', 'external')) AS online,
      COUNT(*) FILTER (status NOT IN ('held', 'expired')
                       AND channel IN ('online', 'external', 'kiosk')) AS self_service,
      COUNT(*) FILTER (checked_in_at IS NOT NULL) AS checked_in,
      COUNT(*) FILTER (on_time) AS on_time,
      COUNT(*) FILTER (status IN ('checked_in', 'called', 'skipped', 'completed', 'no_show'))
        AS due,
      COUNT(*) FILTER (status = 'no_show') AS no_shows,
      COALESCE(SUM(wait_seconds) FILTER (wait_seconds IS NOT NULL), 0) AS wait_seconds,
      COUNT(*) FILTER (wait_seconds IS NOT NULL) AS calls
    FROM bookings GROUP BY institution_id, month""",
]

# An institution-bound monthly table rolled up to every grain and period: {columns} are
# "SUM(x)::DOUBLE AS x, ..." over the monthly columns.
ROLLUP = """CREATE TEMP TABLE {name} AS
WITH expanded AS (
  SELECT t.*, i.community_id, p.u.kind AS period_kind, p.u.period AS period, p.u.pidx AS pidx
  FROM {monthly} AS t LEFT JOIN institutions AS i USING (institution_id),
       unnest(periods(t.month)) AS p(u)
)
SELECT CASE WHEN GROUPING(institution_id) = 0 THEN 'institution'
            WHEN GROUPING(community_id) = 0 THEN 'community' ELSE 'county' END AS grain,
       CASE WHEN GROUPING(institution_id) = 0 THEN institution_id
            WHEN GROUPING(community_id) = 0 THEN community_id ELSE getvariable('county') END
         AS unit_id,
       period_kind, period, pidx, {columns}
FROM {source}
GROUP BY GROUPING SETS ((period_kind, period, pidx, institution_id),
                        (period_kind, period, pidx, community_id),
                        (period_kind, period, pidx))
HAVING NOT (GROUPING(community_id) = 0 AND community_id IS NULL)"""

ROLLUPS = [
    ROLLUP.format(
        name="fee_units",
        monthly="fee_months",
        source="expanded",
        columns=", ".join(
            f"SUM({c})::DOUBLE AS {c}"
            for c in (
                "medical",
                "drug",
                "service",
                "exam_lab",
                "consumable",
                "outpatient",
                "inpatient",
            )
        ),
    ),
    ROLLUP.format(
        name="visit_units",
        monthly="visit_months",
        source="expanded",
        columns=", ".join(
            f"SUM({c})::DOUBLE AS {c}"
            for c in (
                "outpatient_visits",
                "primary_visits",
                "discharges",
                "up_referrals",
                "down_referrals",
            )
        ),
    ),
    ROLLUP.format(
        name="booking_units",
        monthly="booking_months",
        source="expanded",
        columns=", ".join(
            f"SUM({c})::DOUBLE AS {c}"
            for c in (
                "bookings",
                "online",
                "self_service",
                "checked_in",
                "on_time",
                "due",
                "no_shows",
                "wait_seconds",
                "calls",
            )
        ),
    ),
    # A balance is each institution's last reported month of the period, then summed.
    ROLLUP.format(
        name="finance_units",
        monthly="finance_months",
        source="""(SELECT institution_id, community_id, period_kind, period, pidx,
                          arg_max(assets, month) AS assets,
                          arg_max(liabilities, month) AS liabilities
                   FROM expanded GROUP BY ALL)""",
        columns="SUM(assets)::DOUBLE AS assets, SUM(liabilities)::DOUBLE AS liabilities",
    ),
    """CREATE TEMP TABLE stay_units AS
    SELECT 'county' AS grain, getvariable('county') AS unit_id, p.u.kind AS period_kind,
           p.u.period AS period, p.u.pidx AS pidx, SUM(outside)::DOUBLE AS outside
    FROM stay_months, unnest(periods(month)) AS p(u)
    GROUP BY ALL""",
]

KEYS = "grain, unit_id, period_kind, period, pidx"
FAMILIES = {
    "revenue structure": f"""
    SELECT 'medical_revenue_total' AS indicator, {KEYS}, medical AS numerator,
           NULL::DOUBLE AS denominator, medical / 1e6 AS value FROM fee_units
    UNION ALL SELECT 'drug_share', {KEYS}, drug, medical, drug * 100 / NULLIF(medical, 0)
      FROM fee_units
    UNION ALL SELECT 'service_revenue_share', {KEYS}, service, medical,
           service * 100 / NULLIF(medical, 0) FROM fee_units
    UNION ALL SELECT 'exam_lab_share', {KEYS}, exam_lab, medical,
           exam_lab * 100 / NULLIF(medical, 0) FROM fee_units
    UNION ALL SELECT 'consumables_per_100', {KEYS}, consumable, medical - drug,
           consumable * 100 / NULLIF(medical - drug, 0) FROM fee_units""",
    "average costs": f"""
    SELECT 'avg_outpatient_cost' AS indicator, {KEYS}, f.outpatient AS numerator,
           v.outpatient_visits AS denominator,
           f.outpatient / 100 / NULLIF(v.outpatient_visits, 0) AS value
    FROM fee_units AS f JOIN visit_units AS v USING ({KEYS})
    UNION ALL SELECT 'avg_inpatient_cost', {KEYS}, f.inpatient, v.discharges,
           f.inpatient / 100 / NULLIF(v.discharges, 0)
    FROM fee_units AS f JOIN visit_units AS v USING ({KEYS})""",
    "visits and referrals": f"""
    SELECT 'primary_visit_share' AS indicator, {KEYS}, primary_visits AS numerator,
           outpatient_visits AS denominator,
           primary_visits * 100 / NULLIF(outpatient_visits, 0) AS value
    FROM visit_units WHERE grain IN ('community', 'county')
    UNION ALL SELECT 'up_referral_share', {KEYS}, up_referrals, primary_visits,
           up_referrals * 100 / NULLIF(primary_visits, 0)
    FROM visit_units WHERE grain IN ('community', 'county')
    UNION ALL SELECT 'up_referrals', {KEYS}, up_referrals, NULL, up_referrals FROM visit_units
    UNION ALL SELECT 'down_referrals', {KEYS}, down_referrals, NULL, down_referrals
      FROM visit_units""",
    "in-county rate": f"""
    SELECT 'in_county_visit_rate' AS indicator, {KEYS}, v.discharges AS numerator,
           v.discharges + s.outside AS denominator,
           v.discharges * 100 / NULLIF(v.discharges + s.outside, 0) AS value
    FROM visit_units AS v JOIN stay_units AS s USING ({KEYS})""",
    "finance": f"""
    SELECT 'asset_liability_ratio' AS indicator, {KEYS}, liabilities AS numerator,
           assets AS denominator, liabilities * 100 / NULLIF(assets, 0) AS value
    FROM finance_units""",
    "bookings": f"""
    SELECT 'online_booking_share' AS indicator, {KEYS}, online AS numerator,
           bookings AS denominator, online * 100 / NULLIF(bookings, 0) AS value
    FROM booking_units
    UNION ALL SELECT 'self_service_share', {KEYS}, self_service, bookings,
           self_service * 100 / NULLIF(bookings, 0) FROM booking_units
    UNION ALL SELECT 'on_time_rate', {KEYS}, on_time, checked_in,
           on_time * 100 / NULLIF(checked_in, 0) FROM booking_units
    UNION ALL SELECT 'no_show_rate', {KEYS}, no_shows, due, no_shows * 100 / NULLIF(due, 0)
      FROM booking_units
    UNION ALL SELECT 'avg_wait_minutes', {KEYS}, wait_seconds, calls,
           wait_seconds / 60 / NULLIF(calls, 0) FROM booking_units""",
}

# Growth: this period's value against the period labelled a year before (2026-03 → 2025-03,
# 2026Q1 → 2025Q1, 2026 → 2025), only where that period has a row.
GROWTH = """
CREATE TEMP TABLE growth_values AS
SELECT g.indicator, v.grain, v.unit_id, v.period_kind, v.period, v.pidx,
       v.value AS numerator, b.value AS denominator,
       (v.value - b.value) / NULLIF(abs(b.value), 0) * 100 AS value
FROM (VALUES ('total_cost_growth', 'medical_revenue_total'),
             ('avg_outpatient_cost_growth', 'avg_outpatient_cost'),
             ('avg_inpatient_cost_growth', 'avg_inpatient_cost')) AS g(indicator, base)
JOIN base_values AS v ON v.indicator = g.base
JOIN base_values AS b ON b.indicator = v.indicator AND b.grain = v.grain
  AND b.unit_id = v.unit_id AND b.period_kind = v.period_kind
  AND b.period = CAST(CAST(v.period[1:4] AS INT) - 1 AS VARCHAR) || v.period[5:]"""

FINAL = """
WITH every AS (SELECT * FROM base_values UNION ALL SELECT * FROM growth_values)
SELECT v.indicator, 1 AS version, v.grain, v.unit_id, v.period_kind, v.period,
       v.numerator, v.denominator, v.value,
       (v.value - y.value) / NULLIF(abs(y.value), 0) * 100 AS yoy,
       (v.value - p.value) / NULLIF(abs(p.value), 0) * 100 AS mom
FROM every AS v
LEFT JOIN every AS y ON y.indicator = v.indicator AND y.grain = v.grain
  AND y.unit_id = v.unit_id AND y.period_kind = v.period_kind
  AND y.period = CAST(CAST(v.period[1:4] AS INT) - 1 AS VARCHAR) || v.period[5:]
LEFT JOIN every AS p ON p.indicator = v.indicator AND p.grain = v.grain
  AND p.unit_id = v.unit_id AND p.period_kind = v.period_kind AND p.pidx = v.pidx - 1"""


def handwritten_results(con: duckdb.DuckDBPyConnection, county_code: str) -> pa.Table:
    """The built-in catalog's values computed by the hand-written SQL over ``con``'s dataset
    views, as a RESULTS table (version 1: the hand-written calibers are the built-in ones)."""
    con.execute("SET VARIABLE county = ?", [county_code])
    for statement in MONTHLY + ROLLUPS:
        con.execute(statement)
    families = "\nUNION ALL\n".join(f"SELECT * FROM ({sql})" for sql in FAMILIES.values())
    con.execute(f"CREATE TEMP TABLE base_values AS {families}")
    con.execute(GROWTH)
    return as_results(con.sql(FINAL).to_arrow_table())

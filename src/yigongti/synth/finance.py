"""What the county's institutions and the insurance bureau push to the data center for a year:
monthly finance reports (月度财务报表) and the settlements of out-of-county stays (县外住院).

Both are drawn from a built county (its institutions, residents and encounters), as Arrow
tables with the lake's schemas (``FINANCE`` and ``OUTSIDE_STAYS``), and written as the CSV an
institution uploads. The same county, year and seed give the same tables.

Finance reports come from the county hospitals and the township and community centers. Village
clinics send none: under the county's integrated township-village management (乡村一体化管理)
a clinic's assets and debts are carried on its township center's books, the "one ledger"
(一本账) of the community, so a clinic has no balance sheet of its own. The bureau and the
CDC are not medical institutions of the reform indicators, and private hospitals report to
nobody's ledger but their own.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
from sqlalchemy import Connection, Engine, Row, Select, String, func, select, type_coerce
from sqlalchemy.orm import Session

from yigongti.analytics.lake.schema import FINANCE, OUTSIDE_STAYS
from yigongti.clinical.models import Encounter
from yigongti.kernel.timeutil import SHANGHAI
from yigongti.registry.models import Institution, MedicalCommunity, Resident
from yigongti.synth import ids, timing
from yigongti.synth.encounters import INPATIENT

Source = Session | Engine | Connection

REPORTING_KINDS = ("county_hospital", "township_center", "community_center")
# Total assets at the start of the year in yuan, (mean, sigma) of a lognormal, clipped to the
# range of the tier: a lead hospital in the hundreds of millions, a center in the tens.
ASSETS = {
    "lead": (6.0e8, 0.35),
    "county_hospital": (1.6e8, 0.3),
    "township_center": (3.2e7, 0.4),
    "community_center": (2.2e7, 0.35),
}
ASSET_RANGE = {"county": (1.0e8, 2.0e9), "township": (1.0e7, 9.0e7)}
ASSET_GROWTH = (0.005, 0.004)  # per month: mean, spread (about 6% a year)
# Asset-liability ratio (资产负债率): seed 002 reports 30.47% for its five public hospitals,
# "falling year by year" (逐年下降). The county hospitals' December ratio is set to that
# figure; each institution starts around it with a spread and drifts down slowly.
LIABILITY_RATIO = 0.3047
RATIO_SPREAD = {"county": 0.06, "township": 0.08}
RATIO_RANGE = (0.08, 0.65)
RATIO_DRIFT = (-0.001, 0.0025)  # per month: mean, spread of the step

# In-county visit rate (县域就诊率): seed 002 reports 81.8% (市域内就诊率) — county residents'
# stays inside the county over all their stays, the outside ones known from the settlements.
IN_COUNTY_RATE = 0.818
# Residents living elsewhere most of the year (not 常住) use the county's own care less and
# are admitted where they live, on the county's insurance: three times as often outside.
AWAY_OUTSIDE = 3.0
CHILD_AGE = 14


class Hospital(NamedTuple):
    """A hospital outside the county: where it is, whom it takes, how long and how dear."""

    name: str
    region: str
    adults: float  # share of the adults' outside stays
    children: float  # share of the children's
    stay_days: float  # mean
    cost_yuan: float  # mean of a stay of mean length


# The city and provincial hospitals county residents go to, as fictional as the county: the
# county's prefecture city, the provincial capital, and Shanghai for the few who go that far.
CITY = "云州市"
HOSPITALS = (
    Hospital("云州市第一人民医院", CITY, 0.24, 0.20, 9.0, 14_000),
    Hospital("云州市中心医院", CITY, 0.16, 0.10, 9.0, 13_000),
    Hospital("云州市中医院", CITY, 0.08, 0.02, 10.0, 11_000),
    Hospital("云州市妇幼保健院", CITY, 0.06, 0.18, 5.0, 7_000),
    Hospital("省人民医院", "杭州市", 0.13, 0.05, 8.0, 22_000),
    Hospital("之江大学医学院附属第一医院", "杭州市", 0.13, 0.05, 8.0, 26_000),
    Hospital("之江大学医学院附属第二医院", "杭州市", 0.09, 0.05, 8.0, 25_000),
    Hospital("省肿瘤医院", "杭州市", 0.06, 0.0, 9.0, 28_000),
    Hospital("之江大学医学院附属儿童医院", "杭州市", 0.0, 0.33, 6.0, 12_000),
    Hospital("沪江大学附属第一医院", "上海市", 0.05, 0.02, 8.0, 35_000),
)
STAY_SIGMA, COST_SIGMA = 0.5, 0.6
EPOCH = date(1970, 1, 1)  # day 0 of NumPy's days
STAY_ELASTICITY = 0.5  # a longer stay costs more, less than in proportion


def finance_reports(source: Source, year: int, seed: int) -> pa.Table:
    """The monthly finance reports of ``year``: one row per reporting institution (county
    hospitals, township and community centers, public and active) and month, with total
    assets and total liabilities at the month's end, in fen.

    The county hospitals' asset-weighted liability ratio in December is seed 002's 30.47%;
    each institution has its own ratio around it, drifting slowly from month to month.
    """
    leads = {row[0] for row in _rows(source, select(MedicalCommunity.lead_institution_id))}
    institutions = _rows(
        source,
        select(Institution.id, Institution.kind, Institution.tier)
        .where(
            Institution.kind.in_(REPORTING_KINDS),
            Institution.ownership == "public",
            Institution.active.is_(True),
        )
        .order_by(Institution.code),
    )
    if not institutions:
        return FINANCE.arrow_schema().empty_table()
    rng = ids.stream(seed, ids.FINANCE, year)
    sizes = [ASSETS["lead" if i in leads else kind] for i, kind, _ in institutions]
    tiers = np.array([tier for _, _, tier in institutions])
    assets = _assets(rng, np.array(sizes), tiers)
    ratio = _liability_ratios(rng, tiers, assets)
    assets_fen = np.rint(assets * 100).astype(np.int64)
    liabilities_fen = np.rint(assets_fen * ratio).astype(np.int64)
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    # Month by month, the institutions in code order within each month.
    return pa.table(
        {
            "institution_id": [str(row[0]) for _ in months for row in institutions],
            "month": [m for m in months for _ in institutions],
            "assets_fen": assets_fen.T.ravel(),
            "liabilities_fen": liabilities_fen.T.ravel(),
        },
        schema=FINANCE.arrow_schema(),
    )


def _assets(rng: np.random.Generator, sizes: np.ndarray, tiers: np.ndarray) -> np.ndarray:
    """(institution, month) total assets in yuan at each month's end, growing slowly."""
    mean, sigma = sizes[:, 0], sizes[:, 1]
    low, high = np.array([ASSET_RANGE[t] for t in tiers.tolist()]).T
    first = np.clip(rng.lognormal(np.log(mean) - sigma**2 / 2, sigma), low, high)
    growth = 1 + rng.normal(*ASSET_GROWTH, size=(len(tiers), 12))
    return first[:, None] * np.cumprod(growth, axis=1)


def _liability_ratios(
    rng: np.random.Generator, tiers: np.ndarray, assets: np.ndarray
) -> np.ndarray:
    """(institution, month) liability ratios: each institution's own, around the seed's,
    drifting; the county hospitals' together at the seed's figure in December."""
    spread = np.array([RATIO_SPREAD[t] for t in tiers.tolist()])
    first = np.clip(LIABILITY_RATIO + spread * rng.standard_normal(len(tiers)), *RATIO_RANGE)
    ratio = first[:, None] + np.cumsum(rng.normal(*RATIO_DRIFT, size=assets.shape), axis=1)
    county = tiers == "county"
    if county.any():
        december = assets[county, -1]
        ratio[county] *= LIABILITY_RATIO * december.sum() / (december * ratio[county, -1]).sum()
    return ratio


def outside_stays(source: Source, year: int, seed: int) -> pa.Table:
    """The settlements of ``year``'s out-of-county inpatient stays of the county's insured
    residents, as the insurance bureau's settlement file lists them (one row a stay,
    settled in the month of discharge).

    There are as many as put the in-county visit rate at seed 002's 81.8%: the county's
    inpatient encounters discharged in the year (the lake counts a stay in its month of
    discharge, as the settlements do) over those plus these. The patients are drawn by their
    age's admission rate, residents living elsewhere (not 常住) three times as often.
    """
    inside = _rows(
        source,
        select(func.count()).where(
            Encounter.kind == "inpatient",
            Encounter.ended_at >= _new_year(year),
            Encounter.ended_at < _new_year(year + 1),
        ),
    )[0][0]
    n = round(inside * (1 - IN_COUNTY_RATE) / IN_COUNTY_RATE)
    rng = ids.stream(seed, ids.SETTLEMENTS, year)
    resident, age, weight = _insured(source, year)
    if n == 0 or len(resident) == 0:
        return OUTSIDE_STAYS.arrow_schema().empty_table()
    who = rng.choice(len(resident), size=n, p=weight / weight.sum())
    child = age[who] <= CHILD_AGE
    adults = np.array([h.adults for h in HOSPITALS])
    children = np.array([h.children for h in HOSPITALS])
    hospital = np.where(
        child,
        rng.choice(len(HOSPITALS), size=n, p=children / children.sum()),
        rng.choice(len(HOSPITALS), size=n, p=adults / adults.sum()),
    )
    stay_mean = np.array([h.stay_days for h in HOSPITALS])[hospital]
    days = np.maximum(np.rint(_lognormal(rng, stay_mean, STAY_SIGMA)), 1).astype(np.int64)
    cost_mean = np.array([h.cost_yuan for h in HOSPITALS])[hospital]
    cost = _lognormal(rng, cost_mean, COST_SIGMA) * (days / stay_mean) ** STAY_ELASTICITY
    discharged = _discharge_days(rng, year, n)
    order = np.lexsort((who, discharged))
    who, hospital, days, cost, discharged = (
        a[order] for a in (who, hospital, days, cost, discharged)
    )
    out_day = [EPOCH + timedelta(days=d) for d in discharged.tolist()]
    county_code = _rows(source, select(Institution.county_code).order_by(Institution.code))
    prefix = f"YB{county_code[0][0] if county_code else ''}"
    return pa.table(
        {
            "settlement_id": [f"{prefix}{d:%Y%m}{s:07d}" for s, d in enumerate(out_day, 1)],
            "month": [f"{d:%Y-%m}" for d in out_day],
            "resident_key": [str(uuid.UUID(str(i))) for i in resident[who].tolist()],
            "hospital_name": [HOSPITALS[h].name for h in hospital.tolist()],
            "hospital_region": [HOSPITALS[h].region for h in hospital.tolist()],
            "admitted_on": [d - timedelta(days=int(s)) for d, s in zip(out_day, days, strict=True)],
            "discharged_on": out_day,
            "amount_fen": np.maximum(np.rint(cost * 100), 100).astype(np.int64),
        },
        schema=OUTSIDE_STAYS.arrow_schema(),
    )


def to_csv_bytes(table: pa.Table) -> bytes:
    """``table`` as the lake's upload CSV: UTF-8, a header of the column names, ISO dates and
    times, empty fields for nulls, quoted only where a value needs it, a newline after every
    row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.column_names)
    columns = [[_csv_text(v) for v in column.to_pylist()] for column in table.itercolumns()]
    writer.writerows(zip(*columns, strict=True))
    return out.getvalue().encode("utf-8")


def _csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _rows(source: Source, query: Select[Any]) -> list[Row[Any]]:
    """The rows of ``query`` on a session, a connection or (in a connection of its own) an
    engine."""
    if isinstance(source, Engine):
        with source.connect() as connection:
            return list(connection.execute(query).all())
    return list(source.execute(query).all())


def _new_year(year: int) -> datetime:
    """00:00 on 1 January of ``year`` in Asia/Shanghai."""
    return datetime(year, 1, 1, tzinfo=SHANGHAI)


def _insured(source: Source, year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Insured residents alive at the start of ``year``, in id order: their ids (as the
    database gives them), ages on 1 January, and weights of being admitted outside the
    county."""
    jan_1 = date(year, 1, 1)
    rows = _rows(
        source,
        # The id as stored, made a UUID only for the few drawn: parsing a million is slow.
        select(type_coerce(Resident.id, String()), Resident.birth_date, Resident.permanent)
        .where(
            Resident.insurance_type != "none",
            Resident.deceased_on.is_(None) | (Resident.deceased_on >= jan_1),
        )
        .order_by(Resident.id),
    )
    resident = np.array([r[0] for r in rows], dtype=object)
    epoch = EPOCH.toordinal()
    birth = np.fromiter((r[1].toordinal() - epoch for r in rows), np.int64, len(rows))
    born_year = birth.astype("datetime64[D]").astype("datetime64[Y]")
    on_jan_1 = birth == born_year.astype("datetime64[D]").astype(np.int64)
    # Born during the year (none yet on 1 January): counted as infants.
    age = np.maximum(year - (born_year.astype(np.int64) + 1970) - np.where(on_jan_1, 0, 1), 0)
    permanent = np.array([bool(r[2]) for r in rows])
    edges = np.array([a for a, _ in INPATIENT])
    rates = np.array([r for _, r in INPATIENT])
    admissions = rates[np.searchsorted(edges, age, side="right") - 1]
    weight = admissions * np.where(permanent, 1.0, AWAY_OUTSIDE)
    return resident, age, weight


def _lognormal(rng: np.random.Generator, mean: np.ndarray, sigma: float) -> np.ndarray:
    return rng.lognormal(np.log(mean) - sigma**2 / 2, sigma)


def _discharge_days(rng: np.random.Generator, year: int, n: int) -> np.ndarray:
    """Discharge days (days since the epoch) in ``year``: months by the season of visits,
    weekdays as inpatient movements go."""
    days = np.concatenate([timing.month_days(year, m) for m in range(1, 13)])
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    weight = (
        timing.SEASON[month]
        / np.array([len(timing.month_days(year, m)) for m in range(1, 13)])[month]
    )
    weight = weight * np.take(timing.WEEKDAYS["inpatient"], timing.weekday(days))
    return rng.choice(days, size=n, p=weight / weight.sum()).astype(np.int64)

"""A synthetic county's lake of any size, written fast with NumPy and PyArrow.

Sixty institutions in two medical communities (three county hospitals, one outside every
community; fifteen township and community centers; forty-two village clinics, four of them
private), 24 months, and as many visits as it takes to reach the fee lines asked for. Every
visit's fee lines are drawn from ``synth.fees``' profiles of its kind and tier; the visits carry
their total cost and referrals (up-referrals received at county hospitals, down-referrals at
centers); finance reports come monthly from hospitals and centers (the hospital outside the
communities reports quarterly, and one center misses a month, so balances are taken from the
last month that reported); the insurance bureau's out-of-county stays are about a tenth of the
county's discharges; hospitals and centers have bookings.

Files go through the lake's own writer (``analytics.lake.store``), one per dataset, month and
institution, as an export would write them. The same rows and seed give the same lake.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yigongti.analytics.lake.schema import DATASETS
from yigongti.analytics.lake.store import Lake, LakeTransaction
from yigongti.synth import fees as fee_profiles

MARKER = "bench-indicators.json"
FORMAT = 1
MONTHS = tuple(f"{year}-{month:02d}" for year in (2025, 2026) for month in range(1, 13))
NAMESPACE = uuid.UUID("5d1c5e0a-4d8e-4a43-9e53-2f0d1c4b8a11")
KINDS = ("outpatient", "emergency", "inpatient")
# Outpatient visits a month relative to the lead hospital's, by institution kind; emergency
# and inpatient visits as a share of outpatient ones, by tier.
VOLUME = {"lead": 1.0, "tcm": 0.55, "outside": 0.3, "center": 0.08, "clinic": 0.012}
SHARE = {
    "county": {"emergency": 0.1, "inpatient": 0.06},
    "township": {"emergency": 0.04, "inpatient": 0.025},
    "village": {},
}
CHANNELS = ("online", "external", "kiosk", "window", "phone", "referral")
CHANNEL_P = (0.42, 0.08, 0.16, 0.24, 0.05, 0.05)
STATUSES = (
    "completed",
    "no_show",
    "cancelled",
    "held",
    "expired",
    "checked_in",
    "called",
    "skipped",
)
STATUS_P = (0.8, 0.06, 0.06, 0.02, 0.02, 0.01, 0.02, 0.01)
DEPARTMENTS = ("01", "02", "03", "04", "05", "07", "12", "30", "50")
DIAGNOSES = ("I10", "E11.9", "J06.9", "J18.9", "K29.7", "M54.5", "N39.0", "R50.9", "Z00.0")
HOSPITALS = (
    ("浙江大学医学院附属第一医院", "杭州市"),
    ("浙江省人民医院", "杭州市"),
    ("金华市中心医院", "金华市"),
    ("上海交通大学医学院附属瑞金医院", "上海市"),
)
Progress = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    del stage, done, total


@dataclass(frozen=True)
class Institution:
    """One institution of the bench's county."""

    id: str
    code: str
    name: str
    tier: str
    kind: str
    ownership: str
    community: int | None  # 0 or 1; None outside every community
    role: str  # lead | tcm | outside | center | clinic


@dataclass(frozen=True)
class BenchLake:
    """What was built: where, how many rows of each dataset, and whether it was reused."""

    root: Path
    rows: int  # fee lines asked for
    seed: int
    counts: dict[str, int]
    reused: bool
    seconds: float

    @property
    def fee_lines(self) -> int:
        """Fee lines in the lake (the visits are drawn to come close to ``rows``)."""
        return self.counts.get("fees", 0)


def county(seed: int) -> list[Institution]:
    """The bench county's sixty institutions, with ids fixed by the seed."""

    def make(n: int, name: str, tier: str, kind: str, role: str, community: int | None,
             ownership: str = "public") -> Institution:  # fmt: skip
        return Institution(
            str(uuid.uuid5(NAMESPACE, f"{seed}-{n}")), f"BENCH{n:03d}", name, tier, kind,
            ownership, community, role,
        )  # fmt: skip

    institutions = [
        make(0, "人民医院", "county", "county_hospital", "lead", 0),
        make(1, "中医院", "county", "county_hospital", "tcm", 1),
        make(2, "妇幼保健院", "county", "county_hospital", "outside", None),
    ]
    for n in range(15):
        kind = "community_center" if n in (0, 8) else "township_center"
        institutions.append(make(3 + n, f"第{n + 1}卫生院", "township", kind, "center", n % 2))
    for n in range(42):
        private = n % 11 == 10
        institutions.append(
            make(
                18 + n,
                f"第{n + 1}村卫生室",
                "village",
                "village_clinic",
                "clinic",
                n % 2,
                "private" if private else "public",
            )
        )
    return institutions


def institutions_table(institutions: list[Institution]) -> pa.Table:
    """The institution dimension of the bench county."""
    community_ids = [str(uuid.uuid5(NAMESPACE, f"community-{c}")) for c in (0, 1)]
    return pa.table(
        {
            "institution_id": [i.id for i in institutions],
            "code": [i.code for i in institutions],
            "name": [i.name for i in institutions],
            "tier": [i.tier for i in institutions],
            "kind": [i.kind for i in institutions],
            "ownership": [i.ownership for i in institutions],
            "community_id": [
                None if i.community is None else community_ids[i.community] for i in institutions
            ],
            "community_name": [
                None if i.community is None else f"第{i.community + 1}医共体" for i in institutions
            ],
        }
    )


def _lines_per_visit(kind: str, tier: str) -> float:
    """Expected fee lines of one visit (a category appears with its chance; a stay has a bed)."""
    profile = fee_profiles.PROFILES.get((kind, tier))
    if profile is None:
        return 0.0
    return sum(chance for chance, _, _ in profile.values()) + (1.0 if kind == "inpatient" else 0.0)


def _season(month: str) -> float:
    """Winter peaks and a second year about 6% busier, so growth and yoy are not zero."""
    m = int(month[5:7])
    return (1.0 + 0.15 * np.cos(2 * np.pi * (m - 1) / 12)) * (1.06 if month[:4] == "2026" else 1.0)


def plan_visits(
    institutions: list[Institution], rows: int, months: tuple[str, ...] = MONTHS
) -> dict[tuple[int, str, str], int]:
    """Visits per (institution index, month, kind), scaled so fee lines come to about ``rows``."""
    weights: dict[tuple[int, str, str], float] = {}
    for n, inst in enumerate(institutions):
        for month in months:
            base = VOLUME[inst.role] * _season(month)
            weights[(n, month, "outpatient")] = base
            for kind, share in SHARE[inst.tier].items():
                weights[(n, month, kind)] = base * share
    lines = sum(
        w * _lines_per_visit(kind, institutions[n].tier) for (n, _, kind), w in weights.items()
    )
    scale = rows / lines
    return {key: round(w * scale) for key, w in weights.items()}


def _text(prefix: str, numbers: np.ndarray) -> pa.Array:
    """``prefix`` + each number, built in Arrow (no Python string per row)."""
    return pc.binary_join_element_wise(prefix, pa.array(numbers).cast(pa.string()), "")


def _first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def _month_start(month: str) -> datetime:
    # The month's first midnight in Asia/Shanghai (UTC+8), as UTC.
    day = _first_day(month)
    return datetime(day.year, day.month, 1, tzinfo=UTC) - timedelta(hours=8)


class _Writer:
    """Draws one month of one institution at a time and stages it in the lake transaction."""

    def __init__(self, tx: LakeTransaction, institutions: list[Institution], seed: int) -> None:
        self.tx = tx
        self.institutions = institutions
        self.rng = np.random.default_rng(seed)
        self.next_visit = 0
        self.next_line = 0
        self.counts = {name: 0 for name in DATASETS}

    def stage(self, dataset: str, table: pa.Table, month: str, institution_id: str | None) -> None:
        if table.num_rows:
            self.tx.write_table(dataset, table, month, institution_id, f"export-{month}")
            self.counts[dataset] += table.num_rows

    def visits_and_fees(self, n: int, month: str, per_kind: dict[str, int]) -> int:
        """Visits and their fee lines of institution ``n`` in ``month``; the outpatient count."""
        inst = self.institutions[n]
        rng = self.rng
        visit_parts: list[dict[str, object]] = []
        fee_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]] = []
        for kind in KINDS:
            count = per_kind.get(kind, 0)
            if not count:
                continue
            stays = fee_profiles.stay_days(rng, inst.tier, count) if kind == "inpatient" else None
            fen = fee_profiles.amounts(rng, kind, inst.tier, stays, count)
            ids = np.arange(self.next_visit, self.next_visit + count)
            self.next_visit += count
            visit_parts.append(self._visit_columns(inst, month, kind, ids, fen, stays))
            rows, categories = np.nonzero(fen)
            fee_parts.append((ids[rows], categories, fen[rows, categories], kind))
        self.stage("visits", _concat_visits(visit_parts, inst.id, month), month, inst.id)
        self.stage("fees", self._fees(fee_parts, inst.id, month), month, inst.id)
        return per_kind.get("outpatient", 0) + per_kind.get("emergency", 0)

    def _visit_columns(
        self,
        inst: Institution,
        month: str,
        kind: str,
        ids: np.ndarray,
        fen: np.ndarray,
        stays: np.ndarray | None,
    ) -> dict[str, object]:
        rng = self.rng
        count = len(ids)
        start = _month_start(month)
        offset = rng.integers(0, 27 * 86400, count) * 1_000_000
        ended = None
        started = np.datetime64(start.replace(tzinfo=None), "us") + offset.astype("timedelta64[us]")
        if stays is not None:
            # A stay counts in the month of discharge: it ends in this month, began days before.
            ended = started
            started = ended - (stays * 86400 * 1_000_000).astype("timedelta64[us]")
        referral = np.full(count, None, dtype=object)
        referred_from = np.full(count, None, dtype=object)
        if inst.tier == "county":
            up = rng.random(count) < 0.03
            referral[up] = "up"
            centers = [i.id for i in self.institutions if i.role == "center"]
            if centers:
                referred_from[up] = rng.choice(centers, int(up.sum()))
        elif inst.tier == "township":
            down = rng.random(count) < 0.01
            referral[down] = "down"
            referred_from[down] = next(
                (i.id for i in self.institutions if i.tier == "county"), None
            )
        return {
            "visit_id": ids,
            "resident_key": rng.integers(0, 400_000, count),
            "kind": kind,
            "started_at": started,
            "ended_at": ended,
            "department": rng.choice(DEPARTMENTS, count),
            "diagnosis_code": rng.choice(DIAGNOSES, count),
            "total_fen": fen.sum(axis=1),
            "referral": referral,
            "referred_from_id": referred_from,
        }

    def _fees(
        self,
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]],
        institution_id: str,
        month: str,
    ) -> pa.Table:
        if not parts:
            return DATASETS["fees"].arrow_schema().empty_table()
        visit_ids = np.concatenate([p[0] for p in parts])
        count = len(visit_ids)
        lines = np.arange(self.next_line, self.next_line + count)
        self.next_line += count
        categories = np.array(fee_profiles.CATEGORIES)[np.concatenate([p[1] for p in parts])]
        kinds = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
        return pa.table(
            {
                "line_id": _text("L", lines),
                "visit_id": _text("V", visit_ids),
                "institution_id": pa.repeat(institution_id, count),
                "month": pa.repeat(month, count),
                "kind": pa.array(kinds),
                "category": pa.array(categories),
                "amount_fen": pa.array(np.concatenate([p[2] for p in parts]), pa.int64()),
            }
        )

    def bookings(self, n: int, month: str, outpatient: int) -> None:
        """About a quarter of a hospital's or center's outpatient visits were booked."""
        inst = self.institutions[n]
        if inst.tier == "village":
            return
        rng = self.rng
        count = max(1, outpatient // 4)
        status = rng.choice(STATUSES, count, p=STATUS_P)
        channel = rng.choice(CHANNELS, count, p=CHANNEL_P)
        arrived = np.isin(status, ("completed", "checked_in", "called", "skipped"))
        called = np.isin(status, ("completed", "called", "skipped"))
        start = _month_start(month)
        day = np.datetime64(_first_day(month), "D") + rng.integers(0, 27, count)
        checked = np.datetime64(start.replace(tzinfo=None), "us") + (
            rng.integers(0, 27 * 86400, count) * 1_000_000
        ).astype("timedelta64[us]")
        wait = np.rint(rng.lognormal(np.log(900), 0.7, count)).astype(np.int64)
        on_time = rng.random(count) < 0.9
        table = pa.table(
            {
                "booking_id": _text(f"B{n:02d}{month}-", np.arange(count)),
                "institution_id": pa.repeat(inst.id, count),
                "month": pa.repeat(month, count),
                "day": pa.array(day, pa.date32()),
                "channel": pa.array(channel),
                "slot_channel": pa.array(channel),
                "status": pa.array(status),
                "on_time": pa.array(on_time, mask=~arrived),
                "checked_in_at": pa.array(checked, pa.timestamp("us", tz="UTC"), mask=~arrived),
                "called_at": pa.array(
                    checked + (wait * 1_000_000).astype("timedelta64[us]"),
                    pa.timestamp("us", tz="UTC"),
                    mask=~called,
                ),
                "wait_seconds": pa.array(wait, pa.int64(), mask=~called),
            }
        )
        self.stage("bookings", table, month, inst.id)

    def finance(self, balances: dict[int, tuple[float, float]], month: str) -> None:
        """Monthly balance sheets of hospitals and centers (village clinics keep none)."""
        rng = self.rng
        for n, inst in enumerate(self.institutions):
            if inst.tier == "village":
                continue
            if inst.role == "outside" and int(month[5:7]) % 3:
                continue  # reports at quarter ends only
            if inst.code == "BENCH004" and month.endswith("-06"):
                continue  # missed June: the quarter's balance is May's
            assets, ratio = balances.get(n, (0.0, 0.0))
            if not assets:
                assets = rng.lognormal(np.log(6e10 if inst.tier == "county" else 4e9), 0.3)
                ratio = rng.uniform(0.25, 0.55)
            assets *= 1 + rng.normal(0.004, 0.01)
            ratio = float(np.clip(ratio + rng.normal(0, 0.01), 0.1, 0.9))
            balances[n] = (assets, ratio)
            table = pa.table(
                {
                    "institution_id": [inst.id],
                    "month": [month],
                    "assets_fen": pa.array([round(assets)], pa.int64()),
                    "liabilities_fen": pa.array([round(assets * ratio)], pa.int64()),
                }
            )
            self.stage("finance", table, month, inst.id)

    def outside_stays(self, month: str, discharges: int) -> None:
        """The insurance bureau's settlements of stays outside the county in ``month``."""
        rng = self.rng
        count = max(1, discharges // 9)
        hospital = rng.integers(0, len(HOSPITALS), count)
        discharged = np.datetime64(_first_day(month), "D") + rng.integers(0, 27, count)
        days = np.maximum(np.rint(rng.lognormal(np.log(9), 0.5, count)), 1).astype("timedelta64[D]")
        table = pa.table(
            {
                "settlement_id": _text(f"S{month}-", np.arange(count)),
                "month": pa.repeat(month, count),
                "resident_key": _text("R", rng.integers(0, 400_000, count)),
                "hospital_name": pa.array([HOSPITALS[h][0] for h in hospital]),
                "hospital_region": pa.array([HOSPITALS[h][1] for h in hospital]),
                "admitted_on": pa.array(discharged - days, pa.date32()),
                "discharged_on": pa.array(discharged, pa.date32()),
                "amount_fen": pa.array(
                    np.rint(rng.lognormal(np.log(2.2e6), 0.6, count)).astype(np.int64)
                ),
            }
        )
        self.stage("outside_stays", table, month, None)


def _concat_visits(parts: list[dict[str, object]], institution_id: str, month: str) -> pa.Table:
    if not parts:
        return DATASETS["visits"].arrow_schema().empty_table()
    count = sum(len(p["visit_id"]) for p in parts)  # type: ignore[arg-type]
    ts = pa.timestamp("us", tz="UTC")

    def joined(name: str) -> np.ndarray:
        return np.concatenate([np.asarray(p[name]) for p in parts])

    ended = [
        pa.array(p["ended_at"], ts)
        if p["ended_at"] is not None
        else pa.nulls(len(p["visit_id"]), ts)  # type: ignore[arg-type]
        for p in parts
    ]
    kinds = np.concatenate([np.full(len(p["visit_id"]), p["kind"]) for p in parts])  # type: ignore[arg-type]
    return pa.table(
        {
            "visit_id": _text("V", joined("visit_id")),
            "institution_id": pa.repeat(institution_id, count),
            "month": pa.repeat(month, count),
            "resident_key": _text("R", joined("resident_key")),
            "kind": pa.array(kinds),
            "started_at": pa.array(joined("started_at"), ts),
            "ended_at": pa.concat_arrays(ended),
            "department": pa.array(joined("department")),
            "diagnosis_code": pa.array(joined("diagnosis_code")),
            "total_fen": pa.array(joined("total_fen"), pa.int64()),
            "referral": pa.array(joined("referral"), pa.string()),
            "referred_from_id": pa.array(joined("referred_from_id"), pa.string()),
        }
    )


def _marker(root: Path) -> dict[str, object] | None:
    try:
        return json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _clear(root: Path) -> None:
    """Empty a lake the bench built before (never a directory it did not make)."""
    if not root.exists():
        return
    if _marker(root) is None and any(root.iterdir()):
        raise ValueError(
            f"{root} holds files the bench did not write: give --lake an empty or new directory"
        )
    for child in root.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def build_lake(
    root: Path,
    rows: int,
    seed: int = 1,
    *,
    members: tuple[int, ...] | None = None,
    months: tuple[str, ...] = MONTHS,
    progress: Progress = _quiet,
) -> BenchLake:
    """The bench's lake of about ``rows`` fee lines under ``root``, reused when the same figures
    were built there before (a lake of other figures there is replaced).

    ``members`` keeps only those institutions of the county (indexes into ``county``) and
    ``months`` only those months: tests build a lake of a few hundred files that way.
    """
    began = time.perf_counter()
    root = Path(root)
    figures = {
        "format": FORMAT,
        "rows": rows,
        "seed": seed,
        "members": None if members is None else list(members),
        "months": list(months),
    }
    marker = _marker(root)
    if marker and {k: marker.get(k) for k in figures} == figures:
        counts = {str(k): int(v) for k, v in dict(marker["counts"]).items()}  # type: ignore[arg-type]
        return BenchLake(root, rows, seed, counts, True, time.perf_counter() - began)
    _clear(root)
    everyone = county(seed)
    institutions = everyone if members is None else [everyone[n] for n in members]
    plan = plan_visits(institutions, rows, months)
    with Lake(root).transaction() as tx:
        writer = _Writer(tx, institutions, seed)
        tx.write_table("institutions", institutions_table(institutions), None, None, "institutions")
        balances: dict[int, tuple[float, float]] = {}
        for done, month in enumerate(months):
            progress("lake", done, len(months))
            discharges = 0
            for n in range(len(institutions)):
                per_kind = {k: plan.get((n, month, k), 0) for k in KINDS}
                discharges += per_kind["inpatient"]
                outpatient = writer.visits_and_fees(n, month, per_kind)
                writer.bookings(n, month, outpatient)
            writer.finance(balances, month)
            writer.outside_stays(month, discharges)
        progress("lake", len(months), len(months))
    counts = dict(writer.counts)
    counts["institutions"] = len(institutions)
    (root / MARKER).write_text(json.dumps({**figures, "counts": counts}), encoding="utf-8")
    return BenchLake(root, rows, seed, counts, False, time.perf_counter() - began)

"""What follows the encounters into the record, drawn as each month's encounters are written:
a lab report with a few results for a share of the county hospitals' encounters, and the
referral request (转诊申请) behind each up-referred encounter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import Connection

from yigongti.registry import icd10
from yigongti.synth import ids
from yigongti.synth.institutions import Network
from yigongti.synth.loader import BulkWriter
from yigongti.synth.observations import Columns, draw_value, quantity_rows

MINUTE_MS, HOUR_MS, DAY_MS = 60_000, 3_600_000, 86_400_000
# Share of county hospital encounters with a lab report, by kind.
LAB_SHARE = {"outpatient": 0.04, "emergency": 0.25, "inpatient": 0.6}
# Reports: LOINC panel code -> its results as (LOINC code, mean, sd, decimals).
PANELS = {
    "58410-2": (("718-7", 135, 16, 0), ("6690-2", 6.8, 2.2, 1), ("777-3", 230, 60, 0)),
    "24323-8": (("14771-0", 5.6, 1.1, 1), ("14682-9", 78, 22, 0), ("14647-2", 4.8, 0.9, 2)),
}
NORMAL, ABNORMAL = "未见明显异常", "部分指标异常，请结合临床"
REFERRAL_LEAD_DAYS = (1, 5)  # the request is written this many days before the visit


def _ms(texts: Sequence[object]) -> np.ndarray:
    """UTC milliseconds of timestamps as the bulk writer wrote them (``+00`` on PostgreSQL)."""
    stamps = np.array([str(t)[:26] for t in texts], dtype="datetime64[us]")
    return stamps.astype(np.int64) // 1000


class OrderFactory:
    """Draws lab reports and referral requests for the encounters as they are written."""

    def __init__(self, seed: int, network: Network) -> None:
        self.seed = seed
        self.county_hospital = {
            i.hex
            for i, kind in zip(network.ids, network.kinds, strict=True)
            if kind == "county_hospital"
        }
        self.months = 0
        self.counts = dict.fromkeys(("diagnostic_reports", "observations", "service_requests"), 0)

    def listen(self, writer: BulkWriter, connection: Connection) -> BulkWriter:
        """A bulk writer that writes through ``writer`` and follows its encounters."""
        return _Following(connection, writer, self)

    def follow(self, columns: dict[str, Sequence[object]], writer: BulkWriter) -> None:
        """Write the reports and requests of one month's encounters (after the encounters)."""
        self.months += 1
        rng = ids.stream(self.seed, ids.ORDERS, self.months)
        start = _ms(columns["started_at"])
        kinds = np.array(columns["kind"])
        at_county = np.fromiter(
            (i in self.county_hospital for i in columns["institution_id"]), bool, len(start)
        )
        share = np.select([kinds == k for k in LAB_SHARE], list(LAB_SHARE.values()), 0.0)
        tested = np.flatnonzero(at_county & (rng.random(len(start)) < share))
        self._reports(rng, writer, columns, start, tested)
        up = np.flatnonzero(np.array(columns["referral"], dtype=object) == "up")
        self._referrals(rng, writer, columns, start, up)

    def _reports(
        self,
        rng: np.random.Generator,
        writer: BulkWriter,
        columns: dict[str, Sequence[object]],
        start: np.ndarray,
        rows: np.ndarray,
    ) -> None:
        if len(rows) == 0:
            return
        panel_codes = np.array(list(PANELS))
        panel = rng.integers(0, len(panel_codes), len(rows))
        effective = start[rows] + rng.integers(10, 60, len(rows)) * MINUTE_MS
        issued = effective + rng.integers(1, 4, len(rows), endpoint=True) * HOUR_MS
        hi, lo = ids.uuid7_bits(rng, effective)
        report_hex = np.array(ids.hex_ids(hi, lo))
        resident = np.array(columns["resident_id"], dtype=object)[rows]
        institution = np.array(columns["institution_id"], dtype=object)[rows]
        encounter = np.array(columns["id"], dtype=object)[rows]
        abnormal = np.zeros(len(rows), dtype=bool)
        results: list[Columns] = []
        for p, code in enumerate(panel_codes.tolist()):
            mine = np.flatnonzero(panel == p)
            for result, mean, sd, digits in PANELS[code]:
                values = draw_value(rng, result, mean, sd, len(mine), digits)
                r_hi, r_lo = ids.uuid7_bits(rng, effective[mine])
                base: Columns = {
                    "id": ids.hex_ids(r_hi, r_lo),
                    "resident_id": resident[mine].tolist(),
                    "encounter_id": encounter[mine].tolist(),
                    "institution_id": institution[mine].tolist(),
                    "practitioner_id": [None] * len(mine),
                    "report_id": report_hex[mine].tolist(),
                    "effective_at": writer.timestamps(effective[mine]),
                }
                observed = quantity_rows(writer, result, values, base)
                abnormal[mine] |= np.array(observed["interpretation"], dtype=object) != "N"
                results.append(observed)
        n = len(rows)
        writer.insert(
            "diagnostic_reports",
            {
                "id": report_hex.tolist(),
                "resident_id": resident.tolist(),
                "encounter_id": encounter.tolist(),
                "institution_id": institution.tolist(),
                "performer_id": [None] * n,
                "category": ["LAB"] * n,
                "code": panel_codes[panel].tolist(),
                "status": ["final"] * n,
                "effective_at": writer.timestamps(effective),
                "issued_at": writer.timestamps(issued),
                "conclusion": np.where(abnormal, ABNORMAL, NORMAL).tolist(),
            },
        )
        self.counts["diagnostic_reports"] += n
        for observed in results:  # after their report: they name it
            self.counts["observations"] += writer.insert("observations", observed)

    def _referrals(
        self,
        rng: np.random.Generator,
        writer: BulkWriter,
        columns: dict[str, Sequence[object]],
        start: np.ndarray,
        rows: np.ndarray,
    ) -> None:
        if len(rows) == 0:
            return
        n = len(rows)
        days = rng.integers(REFERRAL_LEAD_DAYS[0], REFERRAL_LEAD_DAYS[1], n, endpoint=True)
        authored = start[rows] - days * DAY_MS - rng.integers(0, 8 * 60, n) * MINUTE_MS
        hi, lo = ids.uuid7_bits(rng, authored)
        diagnosis = [str(columns["diagnosis_code"][i]) for i in rows.tolist()]
        names = icd10()
        writer.insert(
            "service_requests",
            {
                "id": ids.hex_ids(hi, lo),
                "resident_id": [columns["resident_id"][i] for i in rows.tolist()],
                "encounter_id": [None] * n,
                "requester_institution_id": [columns["referred_from_id"][i] for i in rows.tolist()],
                "requester_id": [None] * n,
                "performer_institution_id": [columns["institution_id"][i] for i in rows.tolist()],
                "category": ["referral"] * n,
                "code": [None] * n,
                "text": [f"上转：{names[d]['zh']}" if d in names else "上转" for d in diagnosis],
                "reason_code": [d if d in names else None for d in diagnosis],
                "status": ["completed"] * n,
                "intent": ["order"] * n,
                "authored_at": writer.timestamps(authored),
                "fulfilled_by_id": [columns["id"][i] for i in rows.tolist()],
            },
        )
        self.counts["service_requests"] += n


class _Following(BulkWriter):
    """Writes through another bulk writer and shows it the encounters it wrote."""

    def __init__(self, connection: Connection, inner: BulkWriter, orders: OrderFactory) -> None:
        super().__init__(connection)
        self.inner, self.orders = inner, orders

    def insert(self, table: str, columns: dict[str, Sequence[object]]) -> int:
        written = self.inner.insert(table, columns)
        if table == "encounters":
            self.orders.follow(columns, self.inner)
        return written

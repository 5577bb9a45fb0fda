"""Bookings drawn from the outpatient visits as the encounters are written.

A share of the outpatient visits was booked (55% at county hospitals, 25% at township and
community centers; village clinics and private hospitals take no bookings), and every visit
referred up to a county hospital, whose referring doctor booked it; no-shows (爽约) and
cancellations are drawn beside them, for other patients, on the same visits' times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from sqlalchemy import Connection

from yigongti.synth import ids
from yigongti.synth.booking.codes import CANCELLED, COMPLETED, NO_SHOW
from yigongti.synth.booking.schedules import Doctor
from yigongti.synth.institutions import Network
from yigongti.synth.loader import BulkWriter
from yigongti.synth.people import Population

# Share of outpatient visits that were booked, by kind of institution.
BOOKED_SHARE = {"county_hospital": 0.55, "township_center": 0.25, "community_center": 0.25}
NO_SHOW_SHARE, CANCELLED_SHARE = 0.065, 0.05  # of all bookings
_KEPT = 1.0 - NO_SHOW_SHARE - CANCELLED_SHARE


@dataclass
class Drawn:
    """Bookings drawn from one month of visits, before they are placed in sessions."""

    resident: np.ndarray  # population index
    inst: np.ndarray
    dept: np.ndarray
    doctor: np.ndarray  # index into the senior doctors, -1 for anyone else
    start: np.ndarray  # visit start (the call), UTC ms; a missed booking's wished time
    end: np.ndarray  # visit end, UTC ms
    status: np.ndarray
    referred_from: np.ndarray  # institution that referred the visit up, -1 for none

    @classmethod
    def join(cls, parts: list[Drawn]) -> Drawn:
        """The bookings of several months, one after the other."""
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))

    def take(self, rows: np.ndarray) -> Drawn:
        """The bookings at ``rows``."""
        return Drawn(*(getattr(self, f.name)[rows] for f in fields(self)))


class _Listening(BulkWriter):
    """A bulk writer that shows the encounters it writes to the visits it draws from."""

    def __init__(self, connection: Connection, visits: Visits) -> None:
        super().__init__(connection)
        self.visits = visits

    def insert(self, table: str, columns: dict[str, Sequence[object]]) -> int:
        if table == "encounters":
            self.visits.observe(columns)
        return super().insert(table, columns)


def _ms(texts: list[str]) -> np.ndarray:
    """UTC milliseconds of timestamps as the bulk writer wrote them (``+00`` on PostgreSQL)."""
    stamps = np.array([t[:26] for t in texts], dtype="datetime64[us]")
    return stamps.astype(np.int64) // 1000


def _hex_keys(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """The 32-digit hex ids of (high, low) halves as a sortable byte-string array."""
    buf = np.empty((len(hi), 2), dtype=">u8")
    buf[:, 0], buf[:, 1] = hi, lo
    return np.frombuffer(buf.tobytes().hex().encode(), dtype="S32")


class Visits:
    """The bookings behind the outpatient visits, drawn month by month as they are written."""

    def __init__(
        self, seed: int, population: Population, network: Network, doctors: list[Doctor]
    ) -> None:
        self.seed = seed
        self.inst_index = {i.hex: n for n, i in enumerate(network.ids)}
        self.dept_index = {d.hex: n for n, d in enumerate(network.department_ids)}
        self.doctor_index = {d.hex: n for n, d in enumerate(doctors)}
        self.share = np.array([BOOKED_SHARE.get(k, 0.0) for k in network.kinds])
        keys = _hex_keys(population.hi, population.lo)
        self.pop_order = np.argsort(keys, kind="stable")
        self.pop_keys = keys[self.pop_order]
        self.months: list[Drawn] = []

    def listen(self, connection: Connection) -> BulkWriter:
        """A bulk writer for the encounters that lets these visits see them."""
        return _Listening(connection, self)

    def _residents(self, texts: list[str]) -> np.ndarray:
        keys = np.array(texts, dtype="S32")
        return self.pop_order[np.searchsorted(self.pop_keys, keys)]

    def observe(self, columns: dict[str, Sequence[object]]) -> None:
        """Draw the bookings of one month's encounters (called once a month, in order)."""
        rng = ids.stream(self.seed, ids.BOOKINGS, len(self.months) + 1)
        n = len(columns["id"])
        inst = np.fromiter(map(self.inst_index.__getitem__, columns["institution_id"]), np.int64, n)
        outpatient = np.array(columns["kind"]) == "outpatient"
        up = np.array(columns["referral"], dtype=object) == "up"
        booked = (rng.random(n) < self.share[inst]) | up
        visited = np.flatnonzero(booked & outpatient)
        extra = rng.poisson(len(visited) / _KEPT * np.array([NO_SHOW_SHARE, CANCELLED_SHARE]))
        if len(visited) == 0:
            extra[:] = 0
        # A missed or cancelled booking takes the place and time of a booked visit, for
        # someone else who saw a doctor this month.
        rows = np.concatenate(
            [visited, visited[rng.integers(0, max(len(visited), 1), extra.sum())]]
        )
        who = np.concatenate([visited, rng.integers(0, n, extra.sum())]).tolist()
        picked = rows.tolist()
        residents, depts = columns["resident_id"], columns["department_id"]
        practitioners = columns["practitioner_id"]
        self.months.append(
            Drawn(
                resident=self._residents([residents[i] for i in who]),
                inst=inst[rows],
                dept=np.fromiter(
                    (self.dept_index[depts[i]] for i in picked), np.int64, len(picked)
                ),
                doctor=np.fromiter(
                    (self.doctor_index.get(str(practitioners[i]), -1) for i in picked),
                    np.int64,
                    len(picked),
                ),
                start=_ms([str(columns["started_at"][i]) for i in picked]),
                end=_ms([str(columns["ended_at"][i]) for i in picked]),
                status=np.repeat(
                    np.array([COMPLETED, NO_SHOW, CANCELLED], np.int8), [len(visited), *extra]
                ),
                referred_from=self._referrers(columns["referred_from_id"], visited, up, extra),
            )
        )

    def _referrers(
        self,
        referred_from: Sequence[object],
        visited: np.ndarray,
        up: np.ndarray,
        extra: np.ndarray,
    ) -> np.ndarray:
        """Referring institution of each booked visit that came up by referral, -1 for the
        others and for the missed and cancelled bookings (other patients)."""
        out = np.full(len(visited) + int(extra.sum()), -1, dtype=np.int64)
        rows = np.flatnonzero(up[visited])
        out[rows] = [self.inst_index[str(referred_from[i])] for i in visited[rows].tolist()]
        return out

    def drawn(self) -> Drawn | None:
        """The bookings of all months drawn so far, one after the other (None without any);
        the months are let go."""
        d = Drawn.join(self.months) if self.months else None
        self.months = []
        return d

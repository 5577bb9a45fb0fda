"""The year's bookings placed in sessions of the catalog and numbered in their slots.

Each booking goes to the doctor's own schedule or a clinic room of its department, on the
day and half-day of the visit; rooms and places per slice are sized to the demand
(``ROOM_LOAD``, ``FULL_SHARE``), and numbers are given under the booking service's rules.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING

import numpy as np

from yigongti.booking.codes import PERIODS
from yigongti.booking.service.schedules import MAX_SLICES_CAPACITY, spread_channels
from yigongti.synth.booking.codes import (
    CANCELLED,
    CHANNEL_INDEX,
    CHANNELS,
    COMPLETED,
    DAY_PERIODS,
    KIOSK,
    MINUTE_MS,
    PHONE,
    REFERRAL,
    WINDOW,
    local_ms,
)
from yigongti.synth.booking.schedules import SLICE_MINUTES
from yigongti.synth.booking.visits import Drawn
from yigongti.synth.timing import DAY_S, UTC_OFFSET_S

if TYPE_CHECKING:
    from yigongti.synth.booking.factory import BookingFactory

# Channel mix (CHANNELS order) of booked visits, and of bookings made ahead that were missed
# or cancelled (nobody books at a kiosk or window and then stays away): about 81% self-service
# (online, kiosk, external) over all. A visit that was referred up took the referral channel
# (about 3% of county hospital bookings); the mix is that of the others.
VISIT_CHANNELS = {
    True: (0.59, 0.15, 0.09, 0.05, 0.12, 0.0),  # county hospital
    False: (0.66, 0.12, 0.17, 0.05, 0.0, 0.0),  # township or community center
}
AHEAD_CHANNELS = {True: (0.72, 0.0, 0.0, 0.12, 0.11, 0.05), False: (0.84, 0.0, 0.0, 0.16, 0.0, 0.0)}
# Days between booking and visit (0 to the 7 of the release) for bookings made ahead.
LEAD_DAYS = np.array([0.30, 0.25, 0.15, 0.10, 0.07, 0.05, 0.04, 0.04])
WAIT_MEDIAN_MIN, WAIT_SIGMA = 9.0, 0.65  # check-in to call, lognormal
LATE_SHARE = 0.13  # bookings made ahead whose patient arrives after his slot has ended
ROOM_LOAD = 30  # bookings a clinic room takes on its busiest half-day
FULL_SHARE = 0.02  # of a schedule's bookings that may find their session full


def _rank(keys: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal ``keys`` (which must be sorted)."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    starts = np.repeat(first, np.diff(np.r_[first, n]))
    return np.arange(n) - starts


class Plan:
    """The year's bookings placed in sessions and slots, with their times, ready to write."""

    def __init__(self, factory: BookingFactory, rng: np.random.Generator, d: Drawn | None):
        self.f, self.rng = factory, rng
        if d is None:
            d = Drawn(*(np.zeros(0, np.int64) for _ in fields(Drawn)))
        self._draw_times(d)
        d = self._route(d)
        self._sessions(d)
        self._size()
        self._place()

    # channels and times that do not depend on the slot

    def _draw_times(self, d: Drawn) -> None:
        rng, n = self.rng, len(d.status)
        county = self.f.county[d.inst]
        channel = np.zeros(n, dtype=np.int64)
        for tier in (True, False):
            for ahead, mix in ((False, VISIT_CHANNELS[tier]), (True, AHEAD_CHANNELS[tier])):
                rows = np.flatnonzero((county == tier) & ((d.status != COMPLETED) == ahead))
                p = np.array(mix)
                channel[rows] = rng.choice(len(CHANNELS), size=len(rows), p=p / p.sum())
        channel[d.referred_from >= 0] = REFERRAL
        wait = np.clip(rng.lognormal(np.log(WAIT_MEDIAN_MIN), WAIT_SIGMA, n), 1, 120)
        checkin = d.start - (wait * MINUTE_MS).astype(np.int64)
        local_s = d.start // 1000 + UTC_OFFSET_S
        day = local_s // DAY_S
        on_site = (channel == KIOSK) | (channel == WINDOW)
        # Booked ahead: a lead of 0-7 days; on the day at 07:00 or later, before arriving.
        lead = rng.choice(len(LEAD_DAYS), size=n, p=LEAD_DAYS)
        lead = np.where(d.status == CANCELLED, np.maximum(lead, 1), lead)
        earliest = np.where(lead == 7, 8 * 60, 7 * 60)  # the release is at 08:00
        created = local_ms(day - lead, earliest) + (
            rng.random(n) * (23 * 60 - earliest) * MINUTE_MS
        ).astype(np.int64)
        today = lead == 0
        first = local_ms(day, 7 * 60)
        last = np.maximum(checkin - 10 * MINUTE_MS, first + MINUTE_MS)
        created[today] = first[today] + (
            rng.random(int(today.sum())) * (last - first)[today]
        ).astype(np.int64)
        phone = channel == PHONE  # office hours
        created[phone & ~today] = local_ms(day - lead, 8 * 60)[phone & ~today] + (
            rng.random(int((phone & ~today).sum())) * 9 * 60 * MINUTE_MS
        ).astype(np.int64)
        at_desk = on_site & (d.status == COMPLETED)
        created[at_desk] = checkin[at_desk] - (
            rng.uniform(2, 15, int(at_desk.sum())) * MINUTE_MS
        ).astype(np.int64)
        self.late = (rng.random(n) < LATE_SHARE) & ~on_site & (d.status != CANCELLED)
        self.channel, self.checkin, self.created, self.day = channel, checkin, created, day
        self.period = (local_s % DAY_S >= 12 * 3600).astype(np.int64)
        self.weekday = (day + 3) % 7  # 1970-01-01 was a Thursday

    # schedules

    def _route(self, d: Drawn) -> Drawn:
        """Doctor's schedule or a clinic room of each booking; drop those with no session."""
        f, rng = self.f, self.rng
        works = f.catalog.works()
        sched = np.full(len(d.status), -1, dtype=np.int64)
        wd, period = self.weekday, self.period
        doctor_spec = np.where(d.doctor >= 0, f.catalog.doctor_spec[np.maximum(d.doctor, 0)], -1)
        spec_dept = np.array([s.dept for s in f.catalog.specs], dtype=np.int64)
        own = (doctor_spec >= 0) & (spec_dept[np.maximum(doctor_spec, 0)] == d.dept)
        own &= works[np.maximum(doctor_spec, 0), wd, period]
        sched[own] = doctor_spec[own]
        room1 = f.catalog.room1[d.dept]
        clinic = ~own & (room1 >= 0) & works[np.maximum(room1, 0), wd, period]
        # Rooms a department opens on each half-day: as many as its busiest such half-day needs.
        holds = d.status != CANCELLED
        key = (room1 * 400 + (self.day - f.first_day)) * 2 + period
        rows = np.flatnonzero(clinic & holds)
        groups, counts = np.unique(key[rows], return_counts=True)
        busiest = np.zeros((len(f.catalog.specs), 7, 2), dtype=np.int64)
        g_spec = groups // 800
        g_day = (groups // 2) % 400 + f.first_day
        np.maximum.at(busiest, (g_spec, (g_day + 3) % 7, groups % 2), counts)
        need = np.maximum(-(-busiest // ROOM_LOAD), 1) * works[:, :, :]
        rooms = np.zeros(
            (len(f.catalog.specs), 7, 2, max(int(need.max(initial=1)), 1)), dtype=np.int64
        )
        rooms[:, :, :, 0] = np.arange(len(f.catalog.specs))[:, None, None]
        for s in np.flatnonzero(need.max(axis=(1, 2)) > 1).tolist():
            f.catalog.more_rooms(s, need[s], rooms)
        # Balanced over the rooms open that half-day, in random order.
        room = np.zeros(len(d.status), dtype=np.int64)
        opened = need[np.maximum(room1, 0), wd, period]
        order = np.lexsort((rng.random(len(rows)), key[rows]))
        sorted_rows = rows[order]
        room[sorted_rows] = _rank(key[sorted_rows]) % opened[sorted_rows]
        gone = np.flatnonzero(clinic & ~holds)
        room[gone] = (rng.random(len(gone)) * opened[gone]).astype(np.int64)
        sched[clinic] = rooms[room1[clinic], wd[clinic], period[clinic], room[clinic]]
        kept = sched >= 0
        self.sched = sched[kept]
        for name in ("channel", "checkin", "created", "day", "period", "weekday", "late"):
            setattr(self, name, getattr(self, name)[kept])
        return d.take(np.flatnonzero(kept))

    # sessions

    def _sessions(self, d: Drawn) -> None:
        f = self.f
        key = (self.sched * 400 + (self.day - f.first_day)) * 2 + self.period
        groups, self.session = np.unique(key, return_inverse=True)
        self.s_sched = groups // 800
        self.s_day = (groups // 2) % 400 + f.first_day
        self.s_period = groups % 2
        start_minute = np.array(
            [PERIODS[p][2].hour * 60 + PERIODS[p][2].minute for p in DAY_PERIODS]
        )
        end_minute = np.array([PERIODS[p][3].hour * 60 + PERIODS[p][3].minute for p in DAY_PERIODS])
        self.s_start = local_ms(self.s_day, start_minute[self.s_period])
        self.s_end = local_ms(self.s_day, end_minute[self.s_period])
        self.d = d

    def _size(self) -> None:
        """Places per slice of each day schedule: the fewest with which at most ``FULL_SHARE``
        of its bookings find their session full for their channel (those patients came
        without a booking, as walk-ins)."""
        f = self.f
        holds = self.d.status != CANCELLED
        demand = np.zeros((len(self.s_sched), len(CHANNELS)), dtype=np.int64)
        np.add.at(demand, (self.session[holds], self.channel[holds]), 1)
        quota_sets: list[dict[str, int]] = []
        quota_of = np.zeros(len(f.catalog.specs), dtype=np.int64)
        for s, spec in enumerate(f.catalog.specs):
            if spec.quotas not in quota_sets:
                quota_sets.append(spec.quotas)
            quota_of[s] = quota_sets.index(spec.quotas)
        # Booked schedules are day clinics and doctors: 7 slices of 30 minutes a session.
        slices = f.catalog.specs[0].period_minutes(DAY_PERIODS[0]) // SLICE_MINUTES
        largest = MAX_SLICES_CAPACITY // slices
        places = np.zeros((len(quota_sets), largest + 1, len(CHANNELS)), dtype=np.int64)
        for q, quotas in enumerate(quota_sets):
            for cap in range(1, largest + 1):
                for c in spread_channels(slices * cap, quotas):
                    places[q, cap, CHANNEL_INDEX[c]] += 1
        n_specs = len(f.catalog.specs)
        held = np.bincount(self.s_sched, weights=demand.sum(axis=1), minlength=n_specs)
        chosen = np.zeros(n_specs, dtype=np.int64)
        q_of_session = quota_of[self.s_sched]
        for cap in range(1, largest + 1):
            have = places[q_of_session, cap]
            over = np.maximum(demand[:, :REFERRAL] - have[:, :REFERRAL], 0).sum(axis=1)
            lost = np.maximum(demand[:, REFERRAL] + over - have[:, REFERRAL], 0)
            lost_by_spec = np.bincount(self.s_sched, weights=lost, minlength=n_specs)
            fits = (chosen == 0) & (lost_by_spec <= FULL_SHARE * held)
            chosen[fits] = cap
            if (chosen > 0).all():
                break
        chosen[chosen == 0] = largest
        booked = np.zeros(n_specs, dtype=bool)
        booked[self.s_sched] = True
        for s in np.flatnonzero(booked).tolist():
            f.catalog.specs[s].capacity = max(f.catalog.specs[s].capacity, int(chosen[s]))

    # slots

    def _place(self) -> None:
        """Numbers of the bookings, under the rules of the booking service.

        A patient on time has a place of his channel in the slice he arrived in or a later
        one (a public channel may take a released referral place when its own are over); a
        late one has a place that ended before he came. Places taken twice go to the earlier
        booking, the other moves to a referral place or, with none left, was never booked.
        """
        d, rng = self.d, self.rng
        self._layouts()
        counts, base = self.counts.ravel(), self.base.ravel()
        sched, status, channel = self.sched, d.status, self.channel
        start = self.s_start[self.session]
        step = self.slice_ms[sched]
        arrived = np.clip((self.checkin - start) // step, 0, self.n_slices[sched] - 1)
        late = self.late & (arrived >= 1) & (status != CANCELLED)
        wish = np.where(late, arrived - 1, arrived)
        holds = status != CANCELLED
        public = channel != REFERRAL

        def find(slot_channel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Position among the schedule's places of ``slot_channel`` wished by each."""
            layout = sched * len(CHANNELS) + slot_channel
            key = layout * 64 + wish
            after = np.searchsorted(self.flat_key, key) - base[layout]
            before = np.searchsorted(self.flat_key, key, side="right") - base[layout] - 1
            pos = np.where(late, before, after)
            return pos, (pos >= 0) & (pos < counts[layout])

        _, own_found = find(channel)
        _, ref_found = find(np.full(len(sched), REFERRAL))
        slot_channel = np.where(public & ~own_found & ref_found, REFERRAL, channel)
        chose = public & (slot_channel == REFERRAL)
        # At a kiosk or window on the day, a place that is over cannot be booked: a patient
        # who finds none still to come is seen without a booking.
        on_site = (channel == KIOSK) | (channel == WINDOW)
        dropped = on_site & holds & ~own_found & ~ref_found
        # Two rounds: a full channel sends a public booking to the referral places, a full
        # referral pool sends it back; what is left over then was never booked.
        for last in (False, True):
            rows = np.flatnonzero(holds & ~dropped)
            order = rows[
                np.lexsort(
                    (self.created[rows], public[rows], slot_channel[rows], self.session[rows])
                )
            ]
            group = self.session[order] * 8 + slot_channel[order]
            layout = sched[order] * len(CHANNELS) + slot_channel[order]
            over = order[_rank(group) >= counts[layout]]
            if last:
                dropped[over] = True
                break
            back = chose[over]
            slot_channel[over[back]] = channel[over[back]]
            spill = over[~back & public[over]]
            slot_channel[spill] = REFERRAL
            dropped[over[~back & ~public[over]]] = True

        # Numbers: each the wished place or the nearest free one after it, moved earlier only
        # where the last places are taken.
        number = np.zeros(len(sched), dtype=np.int64)
        pos, _ = find(slot_channel)
        rows = np.flatnonzero(holds & ~dropped)
        order = rows[
            np.lexsort((d.start[rows], wish[rows], slot_channel[rows], self.session[rows]))
        ]
        group = self.session[order] * 8 + slot_channel[order]
        i = _rank(group)
        layout = sched[order] * len(CHANNELS) + slot_channel[order]
        group_no = np.cumsum(np.r_[True, group[1:] != group[:-1]]) - 1
        size = np.bincount(group_no)[group_no]
        p = np.clip(pos[order], 0, counts[layout])
        climb = np.maximum.accumulate(p - i + group_no * 1_000) - group_no * 1_000
        j = np.minimum(i + climb, counts[layout] - size + i)
        number[order] = self.flat_number[base[layout] + j]
        # A cancelled booking had a place of its channel (or a referral one); it is free again.
        gone = np.flatnonzero(~holds)
        own = counts[sched[gone] * len(CHANNELS) + channel[gone]] > 0
        slot_channel[gone] = np.where(own, channel[gone], REFERRAL)
        layout = sched[gone] * len(CHANNELS) + slot_channel[gone]
        p = np.clip(pos[gone], 0, np.maximum(counts[layout] - 1, 0))
        number[gone] = self.flat_number[base[layout] + p]

        kept = np.flatnonzero(~dropped)
        self.dropped = int(dropped.sum())
        self.d = d = d.take(kept)
        for name in ("sched", "session", "channel", "checkin", "created", "day"):
            setattr(self, name, getattr(self, name)[kept])
        self.number, self.slot_channel = number[kept], slot_channel[kept]
        slice_no = (self.number - 1) // self.capacity[self.sched]
        self.slot_start = self.s_start[self.session] + slice_no * self.slice_ms[self.sched]
        self.slot_end = self.slot_start + self.slice_ms[self.sched]
        # Who was not late but had an earlier place came within it and waited to be called.
        status = d.status
        prompt = (status == COMPLETED) & ~late[kept] & (self.checkin > self.slot_end)
        came = self.slot_end - (rng.random(len(status)) * self.slice_ms[self.sched]).astype(
            np.int64
        )
        self.checkin = np.where(prompt, came, self.checkin)
        # Booked before the slot ended, a visit's booking before its check-in; a public
        # booking of a referral place was made after the place's release (24 hours before
        # the session), a cancelled one before the cancellation deadline.
        created = np.minimum(self.created, self.slot_end - MINUTE_MS)
        created = np.where(
            status == COMPLETED, np.minimum(created, self.checkin - 2 * MINUTE_MS), created
        )
        release = self.s_start[self.session] - 24 * 3600 * 1000
        fix = np.flatnonzero(
            (self.slot_channel == REFERRAL) & (self.channel != REFERRAL) & (created < release)
        )
        upper = np.where(
            status[fix] == CANCELLED,
            release[fix] + 20 * 3600 * 1000,
            np.minimum(created[fix] + 24 * 3600 * 1000, self.slot_end[fix]) - 2 * MINUTE_MS,
        )
        upper = np.where(status[fix] == COMPLETED, np.minimum(upper, self.checkin[fix]), upper)
        created[fix] = release[fix] + (
            rng.random(len(fix)) * np.maximum(upper - release[fix] - MINUTE_MS, 0)
        ).astype(np.int64)
        self.created = created

    def _layouts(self) -> None:
        """Each schedule's places by channel in number order: flat arrays grouped by
        (schedule, channel), keyed ``(schedule * 6 + channel) * 64 + slice``."""
        specs = self.f.catalog.specs
        self.layouts, numbers, slices = [], [], []
        self.counts = np.zeros((len(specs), len(CHANNELS)), dtype=np.int64)
        for s, spec in enumerate(specs):
            total = spec.slices() * spec.capacity
            codes = np.array([CHANNEL_INDEX[c] for c in spread_channels(total, spec.quotas)])
            self.layouts.append(codes)
            for c in range(len(CHANNELS)):
                mine = np.flatnonzero(codes == c)
                self.counts[s, c] = len(mine)
                numbers.append(mine + 1)
                slices.append(mine // spec.capacity)
        flat = self.counts.ravel()
        self.base = np.concatenate([[0], np.cumsum(flat)[:-1]]).reshape(self.counts.shape)
        self.flat_number = np.concatenate(numbers)
        self.flat_key = np.repeat(np.arange(flat.size), flat) * 64 + np.concatenate(slices)
        self.capacity = np.array([s.capacity for s in specs], dtype=np.int64)
        self.slice_ms = np.array([s.slice_minutes for s in specs], dtype=np.int64) * MINUTE_MS
        self.n_slices = np.array([s.slices() for s in specs], dtype=np.int64)

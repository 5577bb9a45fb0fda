"""The booking stage: it watches the encounters as they are written, then writes the booking
tables of the year in a transaction of its own."""

from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import Connection

from yigongti.synth import ids
from yigongti.synth.booking.plan import Plan
from yigongti.synth.booking.schedules import Catalog, Doctor
from yigongti.synth.booking.visits import Visits
from yigongti.synth.booking.writer import BookingTally, write_tables
from yigongti.synth.institutions import Network
from yigongti.synth.loader import BulkWriter
from yigongti.synth.people import Population
from yigongti.synth.places import Places
from yigongti.synth.staff import Staff


class BookingFactory:
    """Collects booked visits while encounters are written, then writes the booking tables."""

    def __init__(
        self,
        seed: int,
        year: int,
        population: Population,
        places: Places,
        network: Network,
        staff: Staff,
        doctors: list[Doctor],
    ) -> None:
        self.network, self.staff = network, staff
        self.first_day = int(np.datetime64(date(year, 1, 1), "D").astype(np.int64))
        self.base_ms = ids.shanghai_midnight_ms(date(year, 1, 1))
        self.county = np.array([k == "county_hospital" for k in network.kinds])
        self.pop = population
        self.age = population.age
        self.center = network.town_center[places.village_town[population.village]]
        self.inst_hex = np.array([i.hex for i in network.ids], dtype=object)
        self.dept_hex = np.array([d.hex for d in network.department_ids], dtype=object)
        self.visits = Visits(seed, population, network, doctors)
        self.rng = ids.stream(seed, ids.BOOKINGS, 0)
        self.catalog = Catalog(self.rng, network, doctors)

    def listen(self, connection: Connection) -> BulkWriter:
        """A bulk writer for the encounters that lets this factory see them."""
        return self.visits.listen(connection)

    def write(self, connection: Connection) -> BookingTally:
        """Size the schedules, place the bookings and write every booking table (in the
        connection's transaction)."""
        plan = Plan(self, self.rng, self.visits.drawn())
        return write_tables(connection, plan)

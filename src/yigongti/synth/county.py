"""The whole county, stage by stage: places, institutions, practitioners, residents, encounters
(with the lab reports and referral requests that follow them), the bookings behind the visits,
and the year's chronic follow-ups, prescriptions and immunizations.

The small registries go through the ORM in one unit of work. Residents and encounters are
drawn in chunks (50,000 people, one month of visits) and streamed through the bulk writer,
one transaction per stage, while their tables' secondary indexes wait until the end. The
booking stage watches the encounters as they are written, then writes schedules, sessions,
slots and bookings in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine

from yigongti.db import unit_of_work
from yigongti.settings import get_settings
from yigongti.synth import ids
from yigongti.synth.booking import BookingFactory, BookingTally, senior_doctors
from yigongti.synth.encounters import EncounterFactory, VisitTally
from yigongti.synth.followups import FollowUpFactory
from yigongti.synth.institutions import build_network
from yigongti.synth.loader import BulkWriter, bulk_connection, deferred_indexes
from yigongti.synth.orders import OrderFactory
from yigongti.synth.people import Population, ResidentFactory
from yigongti.synth.places import build_places
from yigongti.synth.staff import build_staff

Progress = Callable[[str, int, int], None]

CHUNK = 50_000  # residents per chunk and transaction
# Tables of a resident chunk in the order their foreign keys need.
RESIDENT_TABLES = ("households", "residents", "guardianships", "conditions")
ENCOUNTER_TABLES = ("encounters", "fee_lines")
BOOKING_TABLES = ("clinic_sessions", "slots", "bookings")
RECORD_TABLES = (
    "diagnostic_reports",
    "observations",
    "immunizations",
    "medication_requests",
    "service_requests",
)


@dataclass(frozen=True)
class CountySummary:
    """What ``build_county`` wrote, and two indicators measured on what it wrote.

    ``primary_care_share``: outpatient and emergency visits at township/community centers and
    village clinics over all outpatient and emergency visits (基层就诊率). ``drug_share``: drug
    revenue over all medical revenue (药占比). Both are 0.0 when no encounters were generated.
    ``up_referrals`` / ``down_referrals``: encounters referred up from a township center or
    village clinic to a county hospital (上转人次), and down from a county hospital stay to a
    township center (下转人次).
    ``schedules`` to ``bookings``: rows of the booking tables, all 0 without bookings.
    ``observations`` to ``service_requests``: rows of the clinical record's other tables, all 0
    without encounters.
    """

    towns: int
    villages: int
    institutions: int
    communities: int
    practitioners: int
    teams: int
    residents: int
    households: int
    conditions: int
    encounters: int
    fee_lines: int
    primary_care_share: float
    drug_share: float
    up_referrals: int
    down_referrals: int
    schedules: int
    clinic_sessions: int
    slots: int
    bookings: int
    observations: int = 0
    diagnostic_reports: int = 0
    immunizations: int = 0
    medication_requests: int = 0
    service_requests: int = 0


def _quiet(stage: str, done: int, total: int) -> None:
    """The progress callback used when the caller gives none."""


def build_county(
    engine: Engine,
    *,
    residents: int = 20_000,
    seed: int = 1,
    year: int = 2025,
    encounters: bool = True,
    bookings: bool = True,
    progress: Progress | None = None,
) -> CountySummary:
    """Generate a synthetic county into an already-migrated, empty database.

    The same ``seed`` (a non-negative integer), ``residents`` and ``year`` build the same
    county, on SQLite and on PostgreSQL. Registries, residents, encounters and bookings commit in
    their own transaction, so a build that fails part-way leaves a partial county: start again
    on an empty database. ``bookings`` (only with ``encounters``) adds schedules and a year of
    bookings behind the outpatient visits. ``progress(stage, done, total)`` is called as each
    stage advances (stages: places, institutions, practitioners, residents, encounters,
    bookings, indexes).
    """
    if residents < 1 or seed < 0:
        raise ValueError("residents must be positive and seed non-negative")
    report = progress or _quiet
    settings = get_settings()
    county_code, county_name = settings.county_code, settings.county_name
    base_ms = ids.shanghai_midnight_ms(date(year, 1, 1))

    with unit_of_work(engine) as session:
        report("places", 0, 1)
        places = build_places(session, ids.stream(seed, ids.PLACES), county_code, base_ms)
        report("places", 1, 1)
        report("institutions", 0, 1)
        network = build_network(
            session, ids.stream(seed, ids.INSTITUTIONS), places, county_code, county_name, base_ms
        )
        report("institutions", 1, 1)
        report("practitioners", 0, 1)
        factory = ResidentFactory(seed, places, network, county_code, year)
        staff = build_staff(
            session, ids.stream(seed, ids.STAFF), network, factory.phones, year, base_ms
        )
        doctors = senior_doctors(session, network) if encounters and bookings else []
        report("practitioners", 1, 1)

    counts = dict.fromkeys(RESIDENT_TABLES, 0)
    tally = VisitTally()
    booked = BookingTally()
    book = encounters and bookings
    bulk_tables = (
        RESIDENT_TABLES
        + (ENCOUNTER_TABLES + RECORD_TABLES if encounters else ())
        + (BOOKING_TABLES if book else ())
    )
    record = dict.fromkeys(RECORD_TABLES, 0)
    with bulk_connection(engine) as connection:
        with deferred_indexes(connection, bulk_tables):
            parts = _write_residents(connection, factory, residents, counts, report)
            if encounters:
                population = Population.join(parts)
                visits = EncounterFactory(seed, year, population, places, network, staff)
                planner = (
                    BookingFactory(seed, year, population, places, network, staff, doctors)
                    if book
                    else None
                )
                orders = OrderFactory(seed, network)
                _write_encounters(connection, visits, tally, report, planner, orders)
                if planner is not None:
                    booked = _write_bookings(connection, planner, report)
                follow_ups = FollowUpFactory(seed, year, population, places, network)
                _write_record(connection, follow_ups, orders, record, report)
            report("indexes", 0, 1)
        report("indexes", 1, 1)
    return CountySummary(
        towns=len(places.town_ids),
        villages=len(places.village_ids),
        institutions=len(network.ids),
        communities=len(network.community_ids),
        practitioners=staff.practitioners,
        teams=staff.teams,
        residents=counts["residents"],
        households=counts["households"],
        conditions=counts["conditions"],
        encounters=tally.encounters,
        fee_lines=tally.fee_lines,
        primary_care_share=tally.primary_care_share,
        drug_share=tally.drug_share,
        up_referrals=tally.up_referrals,
        down_referrals=tally.down_referrals,
        schedules=booked.schedules,
        clinic_sessions=booked.clinic_sessions,
        slots=booked.slots,
        bookings=booked.bookings,
        **record,
    )


def _write_residents(
    connection: Connection,
    factory: ResidentFactory,
    residents: int,
    counts: dict[str, int],
    report: Progress,
) -> list[Population]:
    """All residents in one transaction, chunk by chunk."""
    parts = []
    report("residents", 0, residents)
    with connection.begin():
        writer = BulkWriter(connection)
        for number, start in enumerate(range(0, residents, CHUNK)):
            tables, population = factory.chunk(number, min(CHUNK, residents - start), writer)
            for table in RESIDENT_TABLES:
                counts[table] += writer.insert(table, tables[table])
            parts.append(population)
            report("residents", factory.people, residents)
    return parts


def _write_encounters(
    connection: Connection,
    visits: EncounterFactory,
    tally: VisitTally,
    report: Progress,
    planner: BookingFactory | None,
    orders: OrderFactory,
) -> None:
    """The year's encounters in one transaction, month by month; ``planner`` watches them and
    ``orders`` writes the reports and referral requests that follow them."""
    report("encounters", 0, visits.expected)
    with connection.begin():
        inner = planner.listen(connection) if planner else BulkWriter(connection)
        writer = orders.listen(inner, connection)
        for month in range(1, 13):
            visits.month(month, writer, tally)
            report("encounters", tally.encounters, max(visits.expected, tally.encounters))
    report("encounters", tally.encounters, tally.encounters)


def _write_bookings(
    connection: Connection, planner: BookingFactory, report: Progress
) -> BookingTally:
    """Schedules, sessions, slots and bookings in one transaction."""
    report("bookings", 0, 1)
    with connection.begin():
        booked = planner.write(connection)
    report("bookings", 1, 1)
    return booked


def _write_record(
    connection: Connection,
    follow_ups: FollowUpFactory,
    orders: OrderFactory,
    counts: dict[str, int],
    report: Progress,
) -> None:
    """Follow-ups, prescriptions and immunizations in one transaction; ``counts`` gets the rows
    of every record table, those written beside the encounters included."""
    report("record", 0, 1)
    with connection.begin():
        written = follow_ups.write(BulkWriter(connection))
    for table, rows in (*written.items(), *orders.counts.items()):
        counts[table] += rows
    report("record", 1, 1)

"""Two-way referral in the synthetic year: who is sent up, who is sent down, and the bookings
that up-referrals hold."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from tests.synth.helpers import Builder, Built
from yigongti.booking.models import Booking
from yigongti.clinical.models import Encounter
from yigongti.db import make_engine
from yigongti.db.migrate import upgrade
from yigongti.kernel import local
from yigongti.registry.codes import PRIMARY_KINDS
from yigongti.registry.models import Institution, Practitioner, Resident, Village
from yigongti.synth import build_county

DETERMINISM_RESIDENTS = 1_500


def _referred(session: Session) -> list[tuple[Encounter, Institution, Institution, Resident]]:
    """Referred encounters with the institution that saw and the one that referred them."""
    seen, sent = aliased(Institution), aliased(Institution)
    query = (
        select(Encounter, seen, sent, Resident)
        .join(seen, seen.id == Encounter.institution_id)
        .join(sent, sent.id == Encounter.referred_from_id)
        .join(Resident, Resident.id == Encounter.resident_id)
        .where(Encounter.referral.is_not(None))
    )
    return [tuple(row) for row in session.execute(query)]


def test_referred_from_is_set_exactly_on_referred_encounters(county: Built) -> None:
    with Session(county.engine) as session:
        pairs = Counter(
            (referral, source is not None)
            for referral, source in session.execute(
                select(Encounter.referral, Encounter.referred_from_id)
            )
        )
    assert set(pairs) == {(None, False), ("up", True), ("down", True)}
    assert pairs[("up", True)] == county.summary.up_referrals
    assert pairs[("down", True)] == county.summary.down_referrals


def test_up_referrals_come_from_the_patients_own_center_or_village_clinic(county: Built) -> None:
    with Session(county.engine) as session:
        town_of = dict(session.execute(select(Village.id, Village.town_id)).all())
        rows = [r for r in _referred(session) if r[0].referral == "up"]
    assert rows
    kinds = Counter(sent.kind for _, _, sent, _ in rows)
    for encounter, seen, sent, resident in rows:
        assert seen.kind == "county_hospital"  # private hospitals stand outside the communities
        assert sent.tier in ("township", "village")  # a lower tier than the county
        if sent.kind == "village_clinic":
            assert encounter.kind == "outpatient"
            assert sent.village_id == resident.residence_village_id
        else:
            assert sent.town_id == town_of[resident.residence_village_id]
    assert kinds["village_clinic"] > 0 and kinds["township_center"] > 0


def test_up_referral_shares_are_realistic(county: Built) -> None:
    with Session(county.engine) as session:
        rows = session.execute(
            select(Encounter.kind, Encounter.referral, Institution.kind).join(
                Institution, Institution.id == Encounter.institution_id
            )
        ).all()
    by_kind: dict[str, Counter[str | None]] = defaultdict(Counter)
    for kind, referral, inst_kind in rows:
        if inst_kind == "county_hospital":
            by_kind[kind][referral] += 1
    share = {k: c["up"] / sum(c.values()) for k, c in by_kind.items()}
    assert 0.010 <= share["outpatient"] <= 0.020
    assert 0.02 <= share["emergency"] <= 0.06
    assert 0.06 <= share["inpatient"] <= 0.14
    primary_visits = sum(1 for k, _, i in rows if k != "inpatient" and i in PRIMARY_KINDS)
    assert 0.008 <= county.summary.up_referrals / primary_visits <= 0.018  # 上转率


def test_down_referrals_follow_a_county_stay_at_the_patients_township_center(
    county: Built,
) -> None:
    with Session(county.engine) as session:
        town_of = dict(session.execute(select(Village.id, Village.town_id)).all())
        rows = [r for r in _referred(session) if r[0].referral == "down"]
        stays: dict[tuple[object, object], list[Encounter]] = defaultdict(list)
        for stay in session.scalars(select(Encounter).where(Encounter.kind == "inpatient")):
            stays[(stay.resident_id, stay.institution_id)].append(stay)
        county_stays = session.scalar(
            select(func.count())
            .select_from(Encounter)
            .join(Institution, Institution.id == Encounter.institution_id)
            .where(Encounter.kind == "inpatient", Institution.kind == "county_hospital")
        )
    assert rows
    for encounter, seen, sent, resident in rows:
        assert sent.kind == "county_hospital"  # a higher tier than the township
        assert seen.kind in ("township_center", "community_center")
        assert seen.town_id == town_of[resident.residence_village_id]
        before = [
            s
            for s in stays[(encounter.resident_id, sent.id)]
            if s.ended_at <= encounter.started_at
            and (encounter.started_at - s.ended_at).days <= 21
            and s.diagnosis_code == encounter.diagnosis_code
        ]
        assert before, "a down-referral follows a stay at the hospital that sent it"
        if encounter.kind == "outpatient":
            assert local(encounter.started_at).weekday() < 5  # a weekday clinic
    assert 0.04 <= len(rows) / county_stays <= 0.10
    kinds = Counter(e.kind for e, _, _, _ in rows)
    assert kinds["outpatient"] > kinds["inpatient"] > 0


def test_up_referred_visits_hold_referral_bookings_by_the_referring_doctor(
    county: Built,
) -> None:
    with Session(county.engine) as session:
        up_visits = {
            (e.resident_id, e.institution_id, e.started_at): e.referred_from_id
            for e in session.scalars(
                select(Encounter).where(Encounter.referral == "up", Encounter.kind == "outpatient")
            )
        }
        booked = session.execute(
            select(
                Booking.resident_id,
                Booking.institution_id,
                Booking.called_at,
                Practitioner.institution_id,
            )
            .join(Practitioner, Practitioner.id == Booking.referred_by)
            .where(Booking.channel == "referral", Booking.status == "completed")
        ).all()
    referred_by = {(r, i, called): doctor_at for r, i, called, doctor_at in booked}
    assert set(referred_by) <= set(up_visits)  # a referral booking is an up-referred visit
    assert len(referred_by) >= 0.95 * len(up_visits)  # a few found their session full
    assert all(up_visits[key] == doctor_at for key, doctor_at in referred_by.items())


def _referral_fingerprint(engine: Engine) -> str:
    digest = hashlib.sha256()
    query = select(
        Encounter.id,
        Encounter.resident_id,
        Encounter.institution_id,
        Encounter.started_at,
        Encounter.referral,
        Encounter.referred_from_id,
    ).order_by(Encounter.id)
    with engine.connect() as connection:
        for row in connection.execute(query):
            digest.update("|".join(str(value) for value in row).encode())
    return digest.hexdigest()


def test_same_seed_refers_the_same_patients(build: Builder, tmp_path: Path) -> None:
    first = build(residents=DETERMINISM_RESIDENTS, seed=11)
    engine = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    upgrade(engine)
    again = build_county(engine, residents=DETERMINISM_RESIDENTS, seed=11, bookings=False)
    assert (again.up_referrals, again.down_referrals) == (
        first.summary.up_referrals,
        first.summary.down_referrals,
    )
    assert _referral_fingerprint(engine) == _referral_fingerprint(first.engine)
    engine.dispose()

"""booking: book a place in one round trip on PostgreSQL (function booking_book)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 18:20:00

The steps of ``booking.book`` after the caller's checks (channel, key, and for staff the
patient's scope): lock the patient, read the session and its rules, count his standing,
check the rules, take the earliest free place, write the booking and its audit entry (to
``audit_pending``, as ``audit.record`` would). Each refusal is an outcome code the service
turns into its message; the booking is ``booked``, or ``replay`` for a retried idempotency
key. SQLite runs the same steps in Python (``booking/service/bookings.py``); the booking
tests run on both.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BOOKING_BOOK = """
CREATE OR REPLACE FUNCTION booking_book(
    p_booking uuid,            -- the new booking's id
    p_user uuid,               -- the booking account (idempotency keys are per account)
    p_self uuid,               -- a resident booking for himself or a ward; NULL: checked
    p_resident uuid,
    p_session uuid,
    p_channel text,
    p_public boolean,          -- a public channel (may take released referral places)
    p_slice_start timestamptz, -- NULL: the earliest free place
    p_key text,
    p_confirm boolean,
    p_expected_fee integer,
    p_referred_by uuid,
    p_rebooked_from uuid,
    p_moment timestamptz,
    p_defaults integer[],      -- hold, max active, no-show limit, window days, suspension days
    p_actor_name text,         -- the audit entry's actor, as audit.record writes it
    p_actor_role text,
    p_client text
) RETURNS TABLE (o_outcome text, o_booking uuid, o_at timestamptz, o_number integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_deceased date;
    c record;
    v_hold integer; v_max integer; v_limit integer; v_window integer; v_suspend integer;
    v_live integer; v_same_day integer; v_no_shows integer; v_lapsed integer; v_keyed integer;
    v_earlier record;
    v_until timestamptz;
    v_channels text[];
    s record;
BEGIN
    SELECT r.deceased_on INTO v_deceased FROM residents r
     WHERE r.id = p_resident
       AND (p_self IS NULL OR r.id = p_self
            OR r.id IN (SELECT g.ward_id FROM guardianships g WHERE g.guardian_id = p_self))
       FOR UPDATE OF r;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_resident', NULL::uuid, NULL::timestamptz, NULL::integer;
        RETURN;
    END IF;

    SELECT cs.institution_id, cs.department_id, cs.day, cs.status, cs.ends_at, cs.release_at,
           cs.referral_release_at, sc.fee_fen, sc.room
      INTO c
      FROM clinic_sessions cs JOIN schedules sc ON sc.id = cs.schedule_id
     WHERE cs.id = p_session;
    IF NOT FOUND THEN
        SELECT b.id, b.session_id, b.resident_id INTO v_earlier FROM bookings b
         WHERE b.booked_by = p_user AND b.idempotency_key = p_key;
        IF FOUND THEN
            RETURN QUERY SELECT
                CASE WHEN v_earlier.session_id = p_session AND v_earlier.resident_id = p_resident
                     THEN 'replay' ELSE 'key_reused' END,
                v_earlier.id, NULL::timestamptz, NULL::integer;
        ELSE
            RETURN QUERY SELECT 'no_session', NULL::uuid, NULL::timestamptz, NULL::integer;
        END IF;
        RETURN;
    END IF;

    SELECT bp.hold_minutes, bp.max_active, bp.no_show_limit, bp.no_show_window_days,
           bp.suspension_days
      INTO v_hold, v_max, v_limit, v_window, v_suspend
      FROM booking_policies bp
     WHERE bp.institution_id = c.institution_id OR bp.institution_id IS NULL
     ORDER BY bp.institution_id NULLS LAST LIMIT 1;
    IF NOT FOUND THEN
        v_hold := p_defaults[1]; v_max := p_defaults[2]; v_limit := p_defaults[3];
        v_window := p_defaults[4]; v_suspend := p_defaults[5];
    END IF;

    SELECT count(*) FILTER (WHERE b.resident_id = p_resident AND b.status IN ({live})),
           count(*) FILTER (WHERE b.resident_id = p_resident AND b.status IN ({live})
                              AND b.department_id = c.department_id AND b.day = c.day),
           count(*) FILTER (WHERE b.resident_id = p_resident AND b.status = 'no_show'
                              AND b.ended_at >= p_moment
                                                 - make_interval(days => v_window + v_suspend)),
           count(*) FILTER (WHERE b.resident_id = p_resident AND b.status = 'held'
                              AND sl.held_until < p_moment),
           count(*) FILTER (WHERE b.booked_by = p_user AND b.idempotency_key = p_key)
      INTO v_live, v_same_day, v_no_shows, v_lapsed, v_keyed
      FROM bookings b LEFT JOIN slots sl ON sl.id = b.slot_id AND sl.booking_id = b.id
     WHERE b.resident_id = p_resident OR (b.booked_by = p_user AND b.idempotency_key = p_key);

    IF v_keyed > 0 THEN
        SELECT b.id, b.session_id, b.resident_id INTO v_earlier FROM bookings b
         WHERE b.booked_by = p_user AND b.idempotency_key = p_key;
        RETURN QUERY SELECT
            CASE WHEN v_earlier.session_id = p_session AND v_earlier.resident_id = p_resident
                 THEN 'replay' ELSE 'key_reused' END,
            v_earlier.id, NULL::timestamptz, NULL::integer;
        RETURN;
    END IF;

    IF c.status = 'stopped' THEN
        RETURN QUERY SELECT 'stopped', NULL::uuid, NULL::timestamptz, NULL::integer; RETURN;
    END IF;
    IF c.ends_at <= p_moment THEN
        RETURN QUERY SELECT 'over', NULL::uuid, NULL::timestamptz, NULL::integer; RETURN;
    END IF;
    IF c.release_at > p_moment THEN
        RETURN QUERY SELECT 'unreleased', NULL::uuid, c.release_at, NULL::integer; RETURN;
    END IF;
    IF p_expected_fee IS NOT NULL AND p_expected_fee <> c.fee_fen THEN
        RETURN QUERY SELECT 'fee_changed', NULL::uuid, NULL::timestamptz, c.fee_fen; RETURN;
    END IF;

    IF v_lapsed > 0 THEN
        -- His own lapsed holds no longer count against him, whether or not the job has run.
        WITH lapsed AS (
            UPDATE bookings b SET status = 'expired', ended_at = p_moment
              FROM slots sl
             WHERE b.resident_id = p_resident AND b.status = 'held'
               AND sl.booking_id = b.id AND sl.held_until < p_moment
            RETURNING b.id, b.slot_id
        )
        UPDATE slots sl SET booking_id = NULL, held_until = NULL
          FROM lapsed WHERE sl.id = lapsed.slot_id AND sl.booking_id = lapsed.id;
        SELECT count(*) FILTER (WHERE b.status IN ({live})),
               count(*) FILTER (WHERE b.status IN ({live})
                                  AND b.department_id = c.department_id AND b.day = c.day)
          INTO v_live, v_same_day
          FROM bookings b WHERE b.resident_id = p_resident;
    END IF;

    IF v_deceased IS NOT NULL THEN
        RETURN QUERY SELECT 'deceased', NULL::uuid, NULL::timestamptz, NULL::integer; RETURN;
    END IF;
    IF p_channel = 'online' AND v_no_shows >= v_limit THEN
        -- Suspended when v_limit no-shows fall within v_window days, for v_suspend days after.
        SELECT max(t.last_at + make_interval(days => v_suspend)) INTO v_until
          FROM (SELECT b.ended_at AS first_at,
                       lead(b.ended_at, v_limit - 1) OVER (ORDER BY b.ended_at) AS last_at
                  FROM bookings b
                 WHERE b.resident_id = p_resident AND b.status = 'no_show'
                   AND b.ended_at >= p_moment - make_interval(days => v_window + v_suspend)) t
         WHERE t.last_at - t.first_at <= make_interval(days => v_window);
        IF v_until > p_moment THEN
            RETURN QUERY SELECT 'suspended', NULL::uuid, v_until, v_limit; RETURN;
        END IF;
    END IF;
    IF v_live >= v_max THEN
        RETURN QUERY SELECT 'too_many', NULL::uuid, NULL::timestamptz, v_max; RETURN;
    END IF;
    IF v_same_day > 0 THEN
        RETURN QUERY SELECT 'same_day', NULL::uuid, NULL::timestamptz, NULL::integer; RETURN;
    END IF;

    v_channels := CASE WHEN p_public AND c.referral_release_at <= p_moment
                       THEN ARRAY[p_channel, 'referral'] ELSE ARRAY[p_channel] END;
    -- Concurrent bookers skip each other's places; the lock re-checks the row it returns.
    SELECT sl.id, sl.number, sl.booking_id AS previous INTO s FROM slots sl
     WHERE sl.session_id = p_session AND sl.channel = ANY (v_channels)
       AND sl.ends_at > p_moment
       AND (sl.booking_id IS NULL OR sl.held_until < p_moment)
       AND (p_slice_start IS NULL OR sl.starts_at = p_slice_start)
     ORDER BY sl.number LIMIT 1
       FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'full', NULL::uuid, NULL::timestamptz, NULL::integer; RETURN;
    END IF;
    IF s.previous IS NOT NULL THEN
        UPDATE bookings b SET status = 'expired', ended_at = p_moment
         WHERE b.id = s.previous AND b.status = 'held';
    END IF;
    INSERT INTO bookings (
        id, slot_id, session_id, resident_id, institution_id, department_id, day, number,
        channel, status, fee_fen, booked_by, idempotency_key, referred_by, rebooked_from,
        created_at, confirmed_at, room, priority, calls)
    VALUES (
        p_booking, s.id, p_session, p_resident, c.institution_id, c.department_id, c.day,
        s.number, p_channel, CASE WHEN p_confirm THEN 'confirmed' ELSE 'held' END, c.fee_fen,
        p_user, p_key, p_referred_by, p_rebooked_from, p_moment,
        CASE WHEN p_confirm THEN p_moment END, c.room, 0, 0);
    UPDATE slots SET booking_id = p_booking,
           held_until = CASE WHEN p_confirm THEN NULL
                             ELSE p_moment + make_interval(mins => v_hold) END
     WHERE id = s.id;
    INSERT INTO audit_pending (
        at, actor_id, actor_name, actor_role, person_id, action, object_type, object_id,
        client, detail)
    VALUES (
        p_moment, p_user, p_actor_name, p_actor_role, p_resident, 'create', 'booking',
        p_booking::text, p_client,
        'channel=' || p_channel || ' status='
            || CASE WHEN p_confirm THEN 'confirmed' ELSE 'held' END);
    RETURN QUERY SELECT 'booked', p_booking, NULL::timestamptz, NULL::integer;
END
$$
""".replace("{live}", "'held', 'confirmed', 'checked_in', 'called', 'skipped'")


# A booking as people see it (``views.BookingView``) but for the names kept per process: read
# in the same statement as the booking (a volatile function sees what booking_book wrote).
BOOKING_VIEW = """
CREATE OR REPLACE FUNCTION booking_view(p_booking uuid)
RETURNS TABLE (
    id uuid, status text, resident_id uuid, resident_name text, institution_id uuid,
    institution_name text, department_id uuid, department_name text, department_code text,
    schedule_id uuid, schedule_name text, resource text, day date,
    period text, number integer, starts_at timestamptz, ends_at timestamptz, channel text,
    fee_fen integer, held_until timestamptz, room text, preparation text,
    checked_in_at timestamptz, on_time boolean, priority integer, queued_at timestamptz,
    created_at timestamptz, slot_id uuid, session_id uuid, practitioner_id uuid,
    idempotency_key text
)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN QUERY
    SELECT b.id, b.status::text, b.resident_id, r.name::text, b.institution_id,
           i.name::text, b.department_id, d.name::text, d.code::text, sc.id, sc.name::text,
           sc.resource::text, b.day, cs.period::text, b.number, sl.starts_at, sl.ends_at,
           b.channel::text, b.fee_fen, sl.held_until, coalesce(b.room, sc.room)::text,
           sc.preparation, b.checked_in_at, b.on_time, b.priority, b.queued_at, b.created_at,
           b.slot_id, b.session_id, cs.practitioner_id, b.idempotency_key::text
      FROM bookings b
      JOIN slots sl ON sl.id = b.slot_id
      JOIN clinic_sessions cs ON cs.id = b.session_id
      JOIN schedules sc ON sc.id = cs.schedule_id
      JOIN residents r ON r.id = b.resident_id
      JOIN institutions i ON i.id = b.institution_id
      JOIN departments d ON d.id = b.department_id
     WHERE b.id = p_booking;
END
$$
"""


# booking_book for a bearer token's account, checked in the same call: the booking rush's
# one statement (run in autocommit, it is its own transaction). The caller names the roles
# that may book through the channel and those that book for themselves and their wards;
# staff roles answer 'staff' and book through the service with their scope checked in Python.
BOOKING_BOOK_AS = """
CREATE OR REPLACE FUNCTION booking_book_as(
    p_booking uuid, p_user uuid, p_client text, p_allowed text[], p_self_roles text[],
    p_resident uuid, p_session uuid, p_channel text, p_public boolean,
    p_slice_start timestamptz, p_key text, p_confirm boolean, p_expected_fee integer,
    p_moment timestamptz, p_defaults integer[]
) RETURNS TABLE (o_outcome text, o_booking uuid, o_at timestamptz, o_number integer,
                 o_role text)
LANGUAGE plpgsql AS $$
DECLARE
    u record;
BEGIN
    SELECT us.username, us.role, us.resident_id, us.practitioner_id INTO u
      FROM users us WHERE us.id = p_user AND us.active;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unauthenticated', NULL::uuid, NULL::timestamptz, NULL::integer,
                            NULL::text;
        RETURN;
    END IF;
    IF NOT u.role = ANY (p_allowed) OR NOT u.role = ANY (p_self_roles)
       OR u.resident_id IS NULL THEN
        RETURN QUERY SELECT CASE WHEN u.role = ANY (p_allowed) THEN 'staff' ELSE 'forbidden' END,
                            NULL::uuid, NULL::timestamptz, NULL::integer, u.role::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT b.o_outcome, b.o_booking, b.o_at, b.o_number, u.role::text
      FROM booking_book(
        p_booking, p_user, u.resident_id, p_resident, p_session, p_channel, p_public,
        p_slice_start, p_key, p_confirm, p_expected_fee,
        CASE WHEN p_channel = 'referral' THEN u.practitioner_id END, NULL, p_moment,
        p_defaults, u.username, u.role, p_client) AS b;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BOOKING_BOOK)
        op.execute(BOOKING_VIEW)
        op.execute(BOOKING_BOOK_AS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION booking_book_as")
        op.execute("DROP FUNCTION booking_view")
        op.execute("DROP FUNCTION booking_book")

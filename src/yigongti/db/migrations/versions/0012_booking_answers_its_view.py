"""booking: booking_book answers the booking as people see it from what it read

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 01:40:00

``booking_book`` answered an outcome, and the caller read the booking as people see it with
``booking_view`` in the same statement: a second read of seven tables, among them the rows
every booking of a session shares. Under 40 concurrent bookings that read was a fifth of the
database's CPU per booking (pgbench calling the function, with and without it). The function
now reads the names with the session (institution, department, schedule) and the resident,
the place's times with the place, and answers the columns of ``booking_view`` itself; a
replayed idempotency key answers ``booking_view`` of the earlier booking. Refusals answer the
outcome with every other column NULL. ``booking_book_as`` passes it all through, with the
account's role last.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The functions' argument types, which name them for DROP FUNCTION (unchanged by this revision).
_OLD_BOOK = (
    "booking_book(uuid, uuid, uuid, uuid, uuid, text, boolean, timestamptz, text, boolean,"
    " integer, uuid, uuid, timestamptz, integer[], text, text, text)"
)
_OLD_BOOK_AS = (
    "booking_book_as(uuid, uuid, text, text[], text[], uuid, uuid, text, boolean, timestamptz,"
    " text, boolean, integer, timestamptz, integer[])"
)

# The booking as people see it: the columns of booking_view (migration 0009), in its order.
_ANSWER = """id uuid, status text, resident_id uuid, resident_name text, institution_id uuid,
    institution_name text, department_id uuid, department_name text, department_code text,
    schedule_id uuid, schedule_name text, resource text, day date,
    period text, number integer, starts_at timestamptz, ends_at timestamptz, channel text,
    fee_fen integer, held_until timestamptz, room text, preparation text,
    checked_in_at timestamptz, on_time boolean, priority integer, queued_at timestamptz,
    created_at timestamptz, slot_id uuid, session_id uuid, practitioner_id uuid,
    idempotency_key text"""

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
) RETURNS TABLE (o_outcome text, o_booking uuid, o_at timestamptz, o_number integer,
    {answer})
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_deceased date;
    v_name text;
    c record;
    v_hold integer; v_max integer; v_limit integer; v_window integer; v_suspend integer;
    v_live integer; v_same_day integer; v_no_shows integer; v_lapsed integer; v_keyed integer;
    v_earlier record;
    v_until timestamptz;
    v_channels text[];
    s record;
BEGIN
    SELECT r.deceased_on, r.name INTO v_deceased, v_name FROM residents r
     WHERE r.id = p_resident
       AND (p_self IS NULL OR r.id = p_self
            OR r.id IN (SELECT g.ward_id FROM guardianships g WHERE g.guardian_id = p_self))
       FOR UPDATE OF r;
    IF NOT FOUND THEN
        o_outcome := 'no_resident'; RETURN NEXT;
        RETURN;
    END IF;

    SELECT cs.institution_id, cs.department_id, cs.day, cs.status, cs.ends_at, cs.release_at,
           cs.referral_release_at, cs.period, cs.practitioner_id, sc.fee_fen, sc.room,
           sc.id AS schedule_id, sc.name AS schedule_name, sc.resource, sc.preparation,
           i.name AS institution_name, d.name AS department_name, d.code AS department_code
      INTO c
      FROM clinic_sessions cs JOIN schedules sc ON sc.id = cs.schedule_id
      JOIN institutions i ON i.id = cs.institution_id
      JOIN departments d ON d.id = cs.department_id
     WHERE cs.id = p_session;
    IF NOT FOUND THEN
        SELECT b.id, b.session_id, b.resident_id INTO v_earlier FROM bookings b
         WHERE b.booked_by = p_user AND b.idempotency_key = p_key;
        IF FOUND THEN
            RETURN QUERY SELECT 'replay', v_earlier.id, NULL::timestamptz, NULL::integer, v.*
              FROM booking_view(v_earlier.id) v
             WHERE v_earlier.session_id = p_session AND v_earlier.resident_id = p_resident;
            IF NOT FOUND THEN
                o_outcome := 'key_reused'; o_booking := v_earlier.id; RETURN NEXT;
            END IF;
        ELSE
            o_outcome := 'no_session'; RETURN NEXT;
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
        RETURN QUERY SELECT 'replay', v_earlier.id, NULL::timestamptz, NULL::integer, v.*
          FROM booking_view(v_earlier.id) v
         WHERE v_earlier.session_id = p_session AND v_earlier.resident_id = p_resident;
        IF NOT FOUND THEN
            o_outcome := 'key_reused'; o_booking := v_earlier.id; RETURN NEXT;
        END IF;
        RETURN;
    END IF;

    IF c.status = 'stopped' THEN
        o_outcome := 'stopped'; RETURN NEXT; RETURN;
    END IF;
    IF c.ends_at <= p_moment THEN
        o_outcome := 'over'; RETURN NEXT; RETURN;
    END IF;
    IF c.release_at > p_moment THEN
        o_outcome := 'unreleased'; o_at := c.release_at; RETURN NEXT; RETURN;
    END IF;
    IF p_expected_fee IS NOT NULL AND p_expected_fee <> c.fee_fen THEN
        o_outcome := 'fee_changed'; o_number := c.fee_fen; RETURN NEXT; RETURN;
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
        o_outcome := 'deceased'; RETURN NEXT; RETURN;
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
            o_outcome := 'suspended'; o_at := v_until; o_number := v_limit; RETURN NEXT; RETURN;
        END IF;
    END IF;
    IF v_live >= v_max THEN
        o_outcome := 'too_many'; o_number := v_max; RETURN NEXT; RETURN;
    END IF;
    IF v_same_day > 0 THEN
        o_outcome := 'same_day'; RETURN NEXT; RETURN;
    END IF;

    v_channels := CASE WHEN p_public AND c.referral_release_at <= p_moment
                       THEN ARRAY[p_channel, 'referral'] ELSE ARRAY[p_channel] END;
    -- Concurrent bookers skip each other's places; the lock re-checks the row it returns.
    SELECT sl.id, sl.number, sl.starts_at, sl.ends_at, sl.booking_id AS previous INTO s
      FROM slots sl
     WHERE sl.session_id = p_session AND sl.channel = ANY (v_channels)
       AND sl.ends_at > p_moment
       AND (sl.booking_id IS NULL OR sl.held_until < p_moment)
       AND (p_slice_start IS NULL OR sl.starts_at = p_slice_start)
     ORDER BY sl.number LIMIT 1
       FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        o_outcome := 'full'; RETURN NEXT; RETURN;
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
    v_until := CASE WHEN p_confirm THEN NULL ELSE p_moment + make_interval(mins => v_hold) END;
    UPDATE slots SET booking_id = p_booking, held_until = v_until WHERE id = s.id;
    INSERT INTO audit_pending (
        at, actor_id, actor_name, actor_role, person_id, action, object_type, object_id,
        client, detail)
    VALUES (
        p_moment, p_user, p_actor_name, p_actor_role, p_resident, 'create', 'booking',
        p_booking::text, p_client,
        'channel=' || p_channel || ' status='
            || CASE WHEN p_confirm THEN 'confirmed' ELSE 'held' END);
    -- The booking as people see it (the columns of booking_view), from what this call read.
    RETURN QUERY SELECT
        'booked', p_booking, NULL::timestamptz, NULL::integer,
        p_booking, CASE WHEN p_confirm THEN 'confirmed' ELSE 'held' END, p_resident, v_name::text,
        c.institution_id, c.institution_name::text, c.department_id, c.department_name::text,
        c.department_code::text, c.schedule_id, c.schedule_name::text, c.resource::text, c.day,
        c.period::text, s.number, s.starts_at, s.ends_at, p_channel, c.fee_fen, v_until,
        c.room::text, c.preparation, NULL::timestamptz, NULL::boolean, 0, NULL::timestamptz,
        p_moment, s.id, p_session, c.practitioner_id, p_key;
END
$$
""".replace("{live}", "'held', 'confirmed', 'checked_in', 'called', 'skipped'").replace(
    "{answer}", _ANSWER
)


BOOKING_BOOK_AS = """
CREATE OR REPLACE FUNCTION booking_book_as(
    p_booking uuid, p_user uuid, p_client text, p_allowed text[], p_self_roles text[],
    p_resident uuid, p_session uuid, p_channel text, p_public boolean,
    p_slice_start timestamptz, p_key text, p_confirm boolean, p_expected_fee integer,
    p_moment timestamptz, p_defaults integer[]
) RETURNS TABLE (o_outcome text, o_booking uuid, o_at timestamptz, o_number integer,
    {answer},
    o_role text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    u record;
BEGIN
    SELECT us.username, us.role, us.resident_id, us.practitioner_id INTO u
      FROM users us WHERE us.id = p_user AND us.active;
    IF NOT FOUND THEN
        o_outcome := 'unauthenticated'; RETURN NEXT; RETURN;
    END IF;
    IF NOT u.role = ANY (p_allowed) OR NOT u.role = ANY (p_self_roles)
       OR u.resident_id IS NULL THEN
        o_outcome := CASE WHEN u.role = ANY (p_allowed) THEN 'staff' ELSE 'forbidden' END;
        o_role := u.role;
        RETURN NEXT; RETURN;
    END IF;
    RETURN QUERY SELECT b.*, u.role::text
      FROM booking_book(
        p_booking, p_user, u.resident_id, p_resident, p_session, p_channel, p_public,
        p_slice_start, p_key, p_confirm, p_expected_fee,
        CASE WHEN p_channel = 'referral' THEN u.practitioner_id END, NULL, p_moment,
        p_defaults, u.username, u.role, p_client) AS b;
END
$$
""".replace("{answer}", _ANSWER)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The answer's columns change: the functions are dropped and made again.
        op.execute(f"DROP FUNCTION {_OLD_BOOK_AS}")
        op.execute(f"DROP FUNCTION {_OLD_BOOK}")
        op.execute(BOOKING_BOOK)
        op.execute(BOOKING_BOOK_AS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        import importlib.util
        from pathlib import Path

        spec = importlib.util.spec_from_file_location(
            "booking_function_0009", Path(__file__).with_name("0009_booking_function.py")
        )
        assert spec is not None and spec.loader is not None
        before = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(before)
        op.execute(f"DROP FUNCTION {_OLD_BOOK_AS}")
        op.execute(f"DROP FUNCTION {_OLD_BOOK}")
        op.execute(before.BOOKING_BOOK)
        op.execute(before.BOOKING_BOOK_AS)

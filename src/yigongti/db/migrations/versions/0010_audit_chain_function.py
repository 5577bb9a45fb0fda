"""security: chain pending audit entries in the database (function audit_chain_batch)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 21:30:00

``audit.chain_pending`` moved each batch through Python: read the pending rows, hash each
over its canonical JSON, ``COPY`` them into ``audit_events``, delete them. The function does
the same in one statement, so the chainer thread of a server spends no CPU of its own (and
takes no interpreter lock from the requests) while it waits for the database.

The canonical JSON is byte for byte what ``audit.entry_hash`` builds in Python: keys sorted,
no spaces, text as ``json.dumps(ensure_ascii=False)`` escapes it (``to_json`` escapes the same
characters the same way), UUIDs as 32 hex digits, times in UTC with microseconds and
``+00:00``. ``ygt audit verify`` recomputes it in Python; the audit tests check both agree.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

AUDIT_CHAIN_BATCH = """
CREATE OR REPLACE FUNCTION audit_chain_batch(p_batch integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
    v_prev text;
    v_ids bigint[] := '{}';
    v_seqs bigint[] := '{}';
    v_prevs text[] := '{}';
    v_hashes text[] := '{}';
    p record;
BEGIN
    SELECT e.seq, e.hash INTO v_seq, v_prev FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        v_seq := 0;
        v_prev := repeat('0', 64);
    END IF;
    FOR p IN SELECT * FROM audit_pending ap ORDER BY ap.id LIMIT p_batch LOOP
        v_seq := v_seq + 1;
        v_ids := v_ids || p.id;
        v_seqs := v_seqs || v_seq;
        v_prevs := v_prevs || v_prev;
        v_prev := encode(sha256(convert_to(
            '{"action":' || to_json(p.action::text)::text
            || ',"actor_id":' || coalesce('"' || replace(p.actor_id::text, '-', '') || '"', 'null')
            || ',"actor_name":' || to_json(p.actor_name::text)::text
            || ',"actor_role":' || to_json(p.actor_role::text)::text
            || ',"at":"' || to_char(p.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
            || '+00:00"'
            || ',"client":' || coalesce(to_json(p.client::text)::text, 'null')
            || ',"detail":' || coalesce(to_json(p.detail)::text, 'null')
            || ',"object_id":' || coalesce(to_json(p.object_id::text)::text, 'null')
            || ',"object_type":' || to_json(p.object_type::text)::text
            || ',"person_id":'
            || coalesce('"' || replace(p.person_id::text, '-', '') || '"', 'null')
            || ',"prev_hash":"' || v_prev || '"'
            || ',"reason":' || coalesce(to_json(p.reason::text)::text, 'null')
            || ',"seq":' || v_seq || '}', 'UTF8')), 'hex');
        v_hashes := v_hashes || v_prev;
    END LOOP;
    IF cardinality(v_ids) = 0 THEN
        RETURN 0;
    END IF;
    INSERT INTO audit_events (
        seq, at, actor_id, actor_name, actor_role, person_id, action, object_type, object_id,
        client, reason, detail, prev_hash, hash)
    SELECT c.seq, ap.at, ap.actor_id, ap.actor_name, ap.actor_role, ap.person_id, ap.action,
           ap.object_type, ap.object_id, ap.client, ap.reason, ap.detail, c.prev, c.hash
      FROM unnest(v_ids, v_seqs, v_prevs, v_hashes) AS c(id, seq, prev, hash)
      JOIN audit_pending ap ON ap.id = c.id
     ORDER BY c.seq;
    DELETE FROM audit_pending ap WHERE ap.id = ANY (v_ids);
    RETURN cardinality(v_ids);
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(AUDIT_CHAIN_BATCH)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_chain_batch")

"""booking: an index of the places a booking may take (ix_slots_open)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 22:00:00

The search for the earliest free place of a session (``booking_book``, ``bookings.book``) read
every place of the session's channel and sorted them to keep the first free one. The partial
index holds only the places still to give (free, or held: a hold may lapse), in number order,
so the search stops at the first. A confirmed place leaves the index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_OPEN = "booking_id IS NULL OR held_until IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_slots_open",
        "slots",
        ["session_id", "number"],
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_slots_open", table_name="slots")

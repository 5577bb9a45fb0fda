"""clinical record: observations, diagnostic reports, immunizations, prescriptions, service
requests; the e-health card number of residents

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 14:50:05.703252
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "immunizations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=True),
        sa.Column("vaccine_code", sa.String(length=12), nullable=False),
        sa.Column("dose_number", sa.Integer(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("lot_number", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_reason", sa.String(length=12), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("immunizations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_immunizations_resident_occurred", ["resident_id", "occurred_on"], unique=False
        )
        batch_op.create_index(
            "ix_immunizations_vaccine_occurred", ["vaccine_code", "occurred_on"], unique=False
        )

    op.create_table(
        "diagnostic_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=True),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("performer_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=4), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conclusion", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["performer_id"],
            ["practitioners.id"],
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("diagnostic_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_diagnostic_reports_code"), ["code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_diagnostic_reports_encounter_id"), ["encounter_id"], unique=False
        )
        batch_op.create_index(
            "ix_diagnostic_reports_resident_effective",
            ["resident_id", "effective_at"],
            unique=False,
        )

    op.create_table(
        "medication_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=True),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("prescriber_id", sa.Uuid(), nullable=True),
        sa.Column("medication_code", sa.String(length=12), nullable=False),
        sa.Column("medication_name", sa.String(length=60), nullable=False),
        sa.Column("dosage_text", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("quantity_unit", sa.String(length=12), nullable=False),
        sa.Column("days_supply", sa.Integer(), nullable=False),
        sa.Column("long_prescription", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("authored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["prescriber_id"],
            ["practitioners.id"],
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("medication_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_medication_requests_code_authored", ["medication_code", "authored_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_medication_requests_encounter_id"), ["encounter_id"], unique=False
        )
        batch_op.create_index(
            "ix_medication_requests_resident_authored", ["resident_id", "authored_at"], unique=False
        )

    op.create_table(
        "service_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=True),
        sa.Column("requester_institution_id", sa.Uuid(), nullable=False),
        sa.Column("requester_id", sa.Uuid(), nullable=True),
        sa.Column("performer_institution_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=12), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=True),
        sa.Column("text", sa.String(length=200), nullable=True),
        sa.Column("reason_code", sa.String(length=10), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("intent", sa.String(length=16), nullable=False),
        sa.Column("authored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fulfilled_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
        ),
        sa.ForeignKeyConstraint(
            ["fulfilled_by_id"],
            ["encounters.id"],
        ),
        sa.ForeignKeyConstraint(
            ["performer_institution_id"],
            ["institutions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["practitioners.id"],
        ),
        sa.ForeignKeyConstraint(
            ["requester_institution_id"],
            ["institutions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_requests_code_authored", ["code", "authored_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_requests_encounter_id"), ["encounter_id"], unique=False
        )
        batch_op.create_index(
            "ix_service_requests_resident_authored", ["resident_id", "authored_at"], unique=False
        )

    op.create_table(
        "observations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=True),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=True),
        sa.Column("report_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=12), nullable=False),
        sa.Column("code_system", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("components", sa.JSON(), nullable=True),
        sa.Column("interpretation", sa.String(length=2), nullable=True),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["diagnostic_reports.id"],
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_observations_code_effective", ["code", "effective_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_observations_encounter_id"), ["encounter_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_observations_report_id"), ["report_id"], unique=False)
        batch_op.create_index(
            "ix_observations_resident_effective", ["resident_id", "effective_at"], unique=False
        )

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ehealth_card_no", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_residents_ehealth_card_no", ["ehealth_card_no"])


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_constraint("uq_residents_ehealth_card_no", type_="unique")
        batch_op.drop_column("ehealth_card_no")

    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_index("ix_observations_resident_effective")
        batch_op.drop_index(batch_op.f("ix_observations_report_id"))
        batch_op.drop_index(batch_op.f("ix_observations_encounter_id"))
        batch_op.drop_index("ix_observations_code_effective")

    op.drop_table("observations")
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_service_requests_resident_authored")
        batch_op.drop_index(batch_op.f("ix_service_requests_encounter_id"))
        batch_op.drop_index("ix_service_requests_code_authored")

    op.drop_table("service_requests")
    with op.batch_alter_table("medication_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_medication_requests_resident_authored")
        batch_op.drop_index(batch_op.f("ix_medication_requests_encounter_id"))
        batch_op.drop_index("ix_medication_requests_code_authored")

    op.drop_table("medication_requests")
    with op.batch_alter_table("diagnostic_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_diagnostic_reports_resident_effective")
        batch_op.drop_index(batch_op.f("ix_diagnostic_reports_encounter_id"))
        batch_op.drop_index(batch_op.f("ix_diagnostic_reports_code"))

    op.drop_table("diagnostic_reports")
    with op.batch_alter_table("immunizations", schema=None) as batch_op:
        batch_op.drop_index("ix_immunizations_vaccine_occurred")
        batch_op.drop_index("ix_immunizations_resident_occurred")

    op.drop_table("immunizations")

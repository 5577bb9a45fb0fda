"""Tables of the shared resident record: conditions, encounters and fee lines, observations and
reports, immunizations, prescriptions and service requests."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from yigongti.db import Base, UTCDateTime, uuid_pk


class Condition(Base):
    """A chronic or long-term diagnosis on the resident's problem list."""

    __tablename__ = "conditions"

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    code: Mapped[str] = mapped_column(String(10), index=True)  # ICD-10
    onset_date: Mapped[date] = mapped_column(Date)
    institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institutions.id"))


class Encounter(Base):
    """An outpatient, emergency or inpatient encounter (就诊) at an institution."""

    __tablename__ = "encounters"
    __table_args__ = (Index("ix_encounters_institution_started", "institution_id", "started_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"), index=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("departments.id"))
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    kind: Mapped[str] = mapped_column(String(12))  # outpatient | emergency | inpatient
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    diagnosis_code: Mapped[str] = mapped_column(String(10))  # ICD-10
    total_fen: Mapped[int] = mapped_column(BigInteger)
    # Came by referral (转诊): "up" from a lower tier, "down" from a higher one, and from where.
    referral: Mapped[str | None] = mapped_column(String(4))
    referred_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("institutions.id"))


class FeeLine(Base):
    """The amount an encounter billed in one fee category (drug, exam, lab, ...), in fen."""

    __tablename__ = "fee_lines"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    category: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class DiagnosticReport(Base):
    """A report of a lab, imaging, ECG, ultrasound or pathology study, with its conclusion.

    Its results are the observations that name it (``Observation.report_id``).
    """

    __tablename__ = "diagnostic_reports"
    __table_args__ = (
        Index("ix_diagnostic_reports_resident_effective", "resident_id", "effective_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    encounter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("encounters.id"), index=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    performer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    category: Mapped[str] = mapped_column(String(4))  # LAB | RAD | ECG | US | PAT
    code: Mapped[str] = mapped_column(String(20), index=True)  # LOINC
    status: Mapped[str] = mapped_column(String(20))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    conclusion: Mapped[str | None] = mapped_column(Text)


class Observation(Base):
    """A measurement or finding: a vital sign, a lab result, an exam finding.

    A number has a UCUM unit; a panel (blood pressure) keeps its parts in ``components``, a
    list of ``{"code", "value", "unit", "interpretation"}``; a finding in words is ``value_text``.
    ``interpretation`` is H, L or N against the normal range; ``critical`` flags a critical
    value (危急值).
    """

    __tablename__ = "observations"
    __table_args__ = (
        Index("ix_observations_resident_effective", "resident_id", "effective_at"),
        Index("ix_observations_code_effective", "code", "effective_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    encounter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("encounters.id"), index=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    report_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("diagnostic_reports.id"), index=True
    )
    category: Mapped[str] = mapped_column(String(12))  # vital-signs | laboratory | exam
    code_system: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(20))  # UCUM
    value_text: Mapped[str | None] = mapped_column(Text)
    components: Mapped[list[dict[str, object]] | None] = mapped_column(JSON)
    interpretation: Mapped[str | None] = mapped_column(String(2))  # H | L | N
    critical: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))  # final | amended | entered-in-error
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Immunization(Base):
    """A vaccine dose given (or, with status not-done, not given and why)."""

    __tablename__ = "immunizations"
    __table_args__ = (
        Index("ix_immunizations_resident_occurred", "resident_id", "occurred_on"),
        Index("ix_immunizations_vaccine_occurred", "vaccine_code", "occurred_on"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    vaccine_code: Mapped[str] = mapped_column(String(12))  # clinical/data/vaccines.json
    dose_number: Mapped[int] = mapped_column(Integer)
    occurred_on: Mapped[date] = mapped_column(Date)
    lot_number: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))  # completed | not-done | entered-in-error
    status_reason: Mapped[str | None] = mapped_column(String(12))  # v3 ActReason when not done
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MedicationRequest(Base):
    """A prescription of one medicine; over 30 days' supply it is a long prescription (长处方)."""

    __tablename__ = "medication_requests"
    __table_args__ = (
        Index("ix_medication_requests_resident_authored", "resident_id", "authored_at"),
        Index("ix_medication_requests_code_authored", "medication_code", "authored_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    encounter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("encounters.id"), index=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    prescriber_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    medication_code: Mapped[str] = mapped_column(String(12))  # WHO ATC, clinical/data
    medication_name: Mapped[str] = mapped_column(String(60))
    dosage_text: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    quantity_unit: Mapped[str] = mapped_column(String(12))
    days_supply: Mapped[int] = mapped_column(Integer)
    long_prescription: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))
    authored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ServiceRequest(Base):
    """An order for a service: a referral, an imaging or lab study, a procedure."""

    __tablename__ = "service_requests"
    __table_args__ = (
        Index("ix_service_requests_resident_authored", "resident_id", "authored_at"),
        Index("ix_service_requests_code_authored", "code", "authored_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    resident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("residents.id"))
    encounter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("encounters.id"), index=True)
    requester_institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"))
    requester_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("practitioners.id"))
    performer_institution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("institutions.id")
    )
    category: Mapped[str] = mapped_column(String(12))  # referral | imaging | lab | procedure
    code: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(String(200))
    reason_code: Mapped[str | None] = mapped_column(String(10))  # ICD-10
    status: Mapped[str] = mapped_column(String(12))  # active | completed | revoked
    intent: Mapped[str] = mapped_column(String(16))  # FHIR request-intent
    authored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The encounter the request led to (the visit at the receiving institution).
    fulfilled_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("encounters.id"))

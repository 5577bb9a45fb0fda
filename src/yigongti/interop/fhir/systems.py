"""The code and identifier systems the FHIR API binds, with their URIs (documented in docs/fhir.md).

Identifier systems of a Patient:
- the resident ID number (居民身份证号, GB 11643): ``ID_NUMBER``; the OID the WS/T 500 EMR
  sharing documents use for it is accepted as an alias on input;
- each institution's medical-record number (病案号/门诊号): ``MRN_PREFIX`` + institution code;
- the e-health card number (电子健康卡号): ``EHEALTH_CARD``.

Booking (Schedule, Slot, Appointment):
- ``APPOINTMENT_REQUEST``: an Appointment's identifier is the booker's own request key (his
  appointment number, at most 64 characters), unique per account; it is the idempotency key
  of the booking, so the same key twice is the same Appointment;
- ``BOOKING_CHANNEL`` (extension ``CHANNEL_EXTENSION``): online, kiosk, window, phone,
  external, referral;
- ``BOOKING_RESOURCE`` (serviceCategory): doctor, clinic, ct, mri, ultrasound, endoscopy,
  vaccination; serviceType is the department (``DEPARTMENT``).
"""

from __future__ import annotations

BASE = "https://yigongti.org/fhir"
ID_NUMBER = f"{BASE}/sid/resident-id-number"
ID_NUMBER_OID = "urn:oid:2.16.156.10011.1.3"
MRN_PREFIX = f"{BASE}/sid/mrn/"
EHEALTH_CARD = f"{BASE}/sid/ehealth-card"
INSTITUTION_CODE = f"{BASE}/sid/institution-code"
COMMUNITY_CODE = f"{BASE}/sid/medical-community-code"
VILLAGE_CODE = f"{BASE}/sid/village-code"

ICD10 = "http://hl7.org/fhir/sid/icd-10"  # the national clinical edition's codes
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
DEPARTMENT = f"{BASE}/CodeSystem/department"  # the national department catalog (科室)
TITLE = f"{BASE}/CodeSystem/practitioner-title"  # 职称
INSTITUTION_KIND = f"{BASE}/CodeSystem/institution-kind"
TIER = f"{BASE}/CodeSystem/tier"
APPOINTMENT_REQUEST = f"{BASE}/sid/appointment-request"
BOOKING_CHANNEL = f"{BASE}/CodeSystem/booking-channel"
BOOKING_RESOURCE = f"{BASE}/CodeSystem/booking-resource"
CHANNEL_EXTENSION = f"{BASE}/StructureDefinition/booking-channel"
VISIT_NUMBER_EXTENSION = f"{BASE}/StructureDefinition/visit-number"  # 就诊序号

GENDERS = {"male": "male", "female": "female"}  # our sex -> FHIR administrative gender


def mrn_system(institution_code: str) -> str:
    """The identifier system of one institution's medical-record numbers."""
    return MRN_PREFIX + institution_code


def is_id_number_system(system: str | None) -> bool:
    """Whether ``system`` names the resident ID number (ours or the WS/T 500 OID)."""
    return system in (ID_NUMBER, ID_NUMBER_OID)

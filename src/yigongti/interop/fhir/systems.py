"""The code and identifier systems the FHIR API binds, with their URIs (documented in docs/fhir.md).

Identifier systems of a Patient:
- the resident ID number (居民身份证号, GB 11643): ``ID_NUMBER``; the OID the WS/T 500 EMR
  sharing documents use for it is accepted as an alias on input;
- each institution's medical-record number (病案号/门诊号): ``MRN_PREFIX`` + institution code;
- the e-health card number (电子健康卡号): ``EHEALTH_CARD``.

Identifier systems of an Organization: the institution code (``INSTITUTION_CODE``, the
unified social-credit or organisation code the registry holds) and the medical community's
code (``COMMUNITY_CODE``).

Code systems of the directory (codes are the registry's, see ``yigongti.registry.codes``):
- ``INSTITUTION_KIND``: county_hospital, township_center, village_clinic ... and
  ``medical_community`` (医共体), the type of a community's Organization;
- ``TIER``: county | township | village (an institution's Organization.type carries both);
- ``DEPARTMENT``: the national catalog of clinical departments (诊疗科目), on a department's
  Location.type and a PractitionerRole.specialty;
- ``TITLE``: professional titles (职称), on Practitioner.qualification;
- ``PROFESSION``: physician | nurse | public_health | technician, on PractitionerRole.code
  (with HL7's practitioner-role code beside it where one fits);
- ``TEAM_ROLE``: a family-doctor team member's place: gp | nurse | public_health | specialist,
  on CareTeam.participant.role.

Extensions: ``LEAD_INSTITUTION`` (on a community's Organization: its lead hospital).
Code systems the shared record binds and checks (the R4B models check none of them):
- diagnoses (Condition.code, Encounter.reasonCode, ServiceRequest.reasonCode): ICD-10, the
  national clinical edition's codes of the registry's table (``ICD10``);
- observations and reports: LOINC codes of the clinical code tables (``LOINC``), quantities in
  UCUM (``UCUM``); categories from ``OBSERVATION_CATEGORY`` (vital-signs, laboratory, exam) and
  v2-0074 (``DIAGNOSTIC_SECTION``: LAB, RAD, EC, RUS, SP); flags from ``INTERPRETATION`` (H/L/N);
- vaccines: the programme's short names (``clinical.VACCINE_SYSTEM``), CVX beside them
  (``CVX``); reasons a dose was not given: ``ACT_REASON``; the vaccinator's role:
  ``PERFORMER_FUNCTION``;
- medicines: WHO ATC (``clinical.MEDICATION_SYSTEM``);
- visits: v3 ActCode AMB, EMER, IMP (``ACT_CODE``);
- service-request categories: SNOMED CT (``SNOMED``); referral targets: ``DEPARTMENT``;
- the problem list's fixed statuses: ``CONDITION_CLINICAL``, ``CONDITION_VERIFICATION``,
  ``CONDITION_CATEGORY``.

Extensions of ours (``BASE``/StructureDefinition/...): ``RECORDING_INSTITUTION`` (the institution
that made a record where FHIR has no element for it), ``REFERRAL_DIRECTION`` (up/down, on an
Encounter), ``CRITICAL_VALUE`` (危急值, on an Observation), ``LONG_PRESCRIPTION`` (长处方, on a
MedicationRequest), ``FULFILLED_BY`` (the Encounter a ServiceRequest led to).
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
PROFESSION = f"{BASE}/CodeSystem/profession"
TEAM_ROLE = f"{BASE}/CodeSystem/family-doctor-team-role"
LEAD_INSTITUTION = f"{BASE}/StructureDefinition/lead-institution"
COMMUNITY_KIND = "medical_community"  # the INSTITUTION_KIND code of a medical community

HL7_ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
HL7_PRACTITIONER_ROLE = "http://terminology.hl7.org/CodeSystem/practitioner-role"
HL7_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"

HL7 = "http://terminology.hl7.org/CodeSystem"
ACT_CODE = f"{HL7}/v3-ActCode"
ACT_REASON = f"{HL7}/v3-ActReason"
INTERPRETATION = f"{HL7}/v3-ObservationInterpretation"
OBSERVATION_CATEGORY = f"{HL7}/observation-category"
DIAGNOSTIC_SECTION = f"{HL7}/v2-0074"
PERFORMER_FUNCTION = f"{HL7}/v2-0443"
CONDITION_CLINICAL = f"{HL7}/condition-clinical"
CONDITION_VERIFICATION = f"{HL7}/condition-ver-status"
CONDITION_CATEGORY = f"{HL7}/condition-category"
CVX = "http://hl7.org/fhir/sid/cvx"
SNOMED = "http://snomed.info/sct"

RECORDING_INSTITUTION = f"{BASE}/StructureDefinition/recording-institution"
REFERRAL_DIRECTION = f"{BASE}/StructureDefinition/referral-direction"
CRITICAL_VALUE = f"{BASE}/StructureDefinition/critical-value"
LONG_PRESCRIPTION = f"{BASE}/StructureDefinition/long-prescription"
FULFILLED_BY = f"{BASE}/StructureDefinition/fulfilled-by"
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

"""Building blocks that know no domain: errors, identifiers, resident-ID rules, time, masking."""

from yigongti.kernel.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    Invalid,
    Locked,
    NotFound,
    Unauthenticated,
    invalid_field,
)
from yigongti.kernel.ids import uuid7
from yigongti.kernel.masking import mask_id_number, mask_phone
from yigongti.kernel.resident_id import ResidentId, make_resident_id, parse_resident_id
from yigongti.kernel.timeutil import SHANGHAI, age_on, local, now

__all__ = [
    "SHANGHAI",
    "Conflict",
    "DomainError",
    "FieldError",
    "Forbidden",
    "Invalid",
    "Locked",
    "NotFound",
    "ResidentId",
    "Unauthenticated",
    "age_on",
    "invalid_field",
    "local",
    "make_resident_id",
    "mask_id_number",
    "mask_phone",
    "now",
    "parse_resident_id",
    "uuid7",
]

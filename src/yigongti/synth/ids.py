"""Seeded random streams and UUIDv7 identifiers made by the million.

Every stage draws from its own stream, keyed by the seed and the stage, so that changing how
much one stage draws (or skipping encounters or bookings) leaves the others as they were.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import numpy as np

from yigongti.kernel.ids import uuid7
from yigongti.kernel.timeutil import SHANGHAI

# Stream keys: one per stage, so the streams never overlap.
PLACES, INSTITUTIONS, STAFF, RESIDENTS, ENCOUNTERS, BOOKINGS = range(1, 7)
# Referrals are drawn beside the encounters; finance reports and insurance settlements from a
# built county, as its institutions and the insurance bureau would push them.
REFERRALS, FINANCE, SETTLEMENTS = range(7, 10)
# The clinical record beyond encounters: e-health cards, chronic follow-ups and prescriptions,
# immunizations, and what follows the encounters (lab reports, referral requests).
CARDS, FOLLOW_UPS, IMMUNIZATIONS, ORDERS = range(10, 14)

_U64_MAX = np.iinfo(np.uint64).max


def stream(seed: int, *keys: int) -> np.random.Generator:
    """The random stream of ``seed`` for a stage (and chunk) named by ``keys``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *keys])))


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime."""
    return int(moment.astimezone(UTC).timestamp() * 1000)


def one_uuid7(rng: np.random.Generator, ms: int) -> uuid.UUID:
    """One UUIDv7 at ``ms`` with random bits from ``rng``."""
    return uuid7(ms, rng.bytes(10))


def uuid7_bits(rng: np.random.Generator, ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UUIDv7 values at the times ``ms`` as (high, low) 64-bit halves (RFC 9562 layout)."""
    n = len(ms)
    rand = rng.integers(0, _U64_MAX, size=(n, 2), dtype=np.uint64, endpoint=True)
    hi = (ms.astype(np.uint64) << np.uint64(16)) | np.uint64(0x7000)
    hi |= rand[:, 0] & np.uint64(0x0FFF)
    lo = (rand[:, 1] & np.uint64(0x3FFF_FFFF_FFFF_FFFF)) | np.uint64(0x8000_0000_0000_0000)
    return hi, lo


def hex_ids(hi: np.ndarray, lo: np.ndarray) -> list[str]:
    """32-character lowercase hex strings of (high, low) halves, as SQLAlchemy stores a Uuid."""
    buf = np.empty((len(hi), 2), dtype=">u8")
    buf[:, 0] = hi
    buf[:, 1] = lo
    text = buf.tobytes().hex()
    return [text[i : i + 32] for i in range(0, len(text), 32)]


def shanghai_midnight_ms(day: date) -> int:
    """Milliseconds since the epoch of 00:00 in Asia/Shanghai on ``day``."""
    return epoch_ms(datetime(day.year, day.month, day.day, tzinfo=SHANGHAI))

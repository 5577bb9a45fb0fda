"""Identifiers: UUID version 7 (time-ordered), as RFC 9562 defines them."""

from __future__ import annotations

import os
import time
import uuid


def uuid7(ms: int | None = None, rand: bytes | None = None) -> uuid.UUID:
    """A UUIDv7 from a Unix time in milliseconds (now by default) and 10 random bytes."""
    if ms is None:
        ms = time.time_ns() // 1_000_000
    tail = rand if rand is not None else os.urandom(10)
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76
    value |= (int.from_bytes(tail[:2], "big") & 0x0FFF) << 64
    value |= 0b10 << 62
    value |= int.from_bytes(tail[2:10], "big") & 0x3FFF_FFFF_FFFF_FFFF
    return uuid.UUID(int=value)

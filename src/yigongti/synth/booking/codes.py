"""Codes the booking stage's parts share: channels, statuses and half-days, and local time."""

from __future__ import annotations

import numpy as np

from yigongti.synth.timing import DAY_S, UTC_OFFSET_S

# Channels in a fixed order; the first five are public, referral is kept for up-referrals.
CHANNELS = ("online", "kiosk", "window", "phone", "external", "referral")
CHANNEL_INDEX = {c: i for i, c in enumerate(CHANNELS)}
ONLINE, KIOSK, WINDOW, PHONE, EXTERNAL, REFERRAL = range(6)
STATUSES = ("completed", "no_show", "cancelled")
COMPLETED, NO_SHOW, CANCELLED = range(3)
DAY_PERIODS = ("morning", "afternoon")  # visits start 08:00-17:00: never at night
MINUTE_MS = 60_000


def local_ms(day: np.ndarray, minute: np.ndarray | int) -> np.ndarray:
    """UTC ms of ``minute`` after local midnight of ``day`` (days since the epoch)."""
    return (day * DAY_S + np.asarray(minute) * 60 - UTC_OFFSET_S) * 1000

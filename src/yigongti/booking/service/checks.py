"""Checks of a booking request that need no database: the actor's channel and the key."""

from __future__ import annotations

from yigongti.booking.codes import CHANNELS
from yigongti.booking.service.pool import check_channel_code
from yigongti.kernel import Forbidden, invalid_field
from yigongti.security import Actor, roles

MAX_KEY = 64


def check_channel(actor: Actor, channel: str) -> None:
    """The actor may book, and through ``channel`` (a known one); referral needs a referrer."""
    actor.require(roles.BOOKING_BOOK)
    check_channel_code(channel)
    if not actor.can(roles.channel(channel)):
        raise Forbidden(
            en=f"Your role ({actor.role_def.en}) does not book through the {channel} channel",
            zh=f"您的角色（{actor.role_def.zh}）不能通过“{CHANNELS[channel][0]}”渠道预约",
        )
    if channel == "referral":
        actor.require(roles.BOOKING_REFER)


def check_key(key: str | None) -> None:
    """An idempotency key, when given, is 1 to ``MAX_KEY`` characters."""
    if key is not None and not 1 <= len(key) <= MAX_KEY:
        raise invalid_field(
            "idempotency_key",
            f"An idempotency key is 1 to {MAX_KEY} characters",
            f"幂等键长度应为 1 到 {MAX_KEY}",
        )

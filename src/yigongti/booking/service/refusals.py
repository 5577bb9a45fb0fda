"""Why a booking is refused, in Chinese and English: one message per rule, for both engines.

``bookings.book`` checks the rules in Python on SQLite; on PostgreSQL the function
``booking_book`` checks them in the database and answers an outcome code. Either way the
resident reads the same sentence, built here.
"""

from __future__ import annotations

from datetime import datetime

from yigongti.kernel import Conflict, NotFound, local


def no_session() -> NotFound:
    """The session named does not exist."""
    return NotFound(en="No such clinic session", zh="出诊场次不存在")


def no_resident() -> NotFound:
    """The patient is not in the actor's scope (no hint whether he exists)."""
    return NotFound(en="No such resident in your scope", zh="您的权限范围内无此居民")


def key_reused() -> Conflict:
    """An idempotency key sent again for a different booking."""
    return Conflict(
        en="This idempotency key was used for a different booking",
        zh="该幂等键已用于另一笔预约",
    )


def stopped() -> Conflict:
    """The session was cancelled (停诊)."""
    return Conflict(en="This clinic session is cancelled (停诊)", zh="该场次已停诊")


def over() -> Conflict:
    """The session has ended."""
    return Conflict(en="This clinic session is over", zh="该场次已结束")


def unreleased(release_at: datetime) -> Conflict:
    """The session's places are not released yet."""
    opens = f"{local(release_at):%Y-%m-%d %H:%M}"
    return Conflict(
        en=f"Not released yet: booking opens at {opens}", zh=f"尚未放号，{opens} 开放预约"
    )


def fee_changed(fee_fen: int) -> Conflict:
    """The fee differs from the one the resident was shown."""
    return Conflict(
        en=f"The fee is now {fee_fen / 100:.2f} yuan; confirm again",
        zh=f"挂号费已变更为 {fee_fen / 100:.2f} 元，请重新确认",
    )


def deceased() -> Conflict:
    """The patient is recorded as deceased."""
    return Conflict(en="The resident is recorded as deceased", zh="该居民已登记死亡")


def suspended(until: datetime, no_show_limit: int) -> Conflict:
    """Online booking is suspended after repeated no-shows (爽约)."""
    return Conflict(
        en=f"Online booking is suspended until {until:%Y-%m-%d} after "
        f"{no_show_limit} no-shows; book at a window",
        zh=f"因爽约{no_show_limit}次，线上预约暂停至 {until:%Y-%m-%d}，请到窗口预约",
    )


def too_many(max_active: int) -> Conflict:
    """The resident holds the most live bookings the rules allow."""
    return Conflict(
        en=f"At most {max_active} active bookings at once; cancel one first",
        zh=f"同时最多可有 {max_active} 个有效预约，请先取消一个",
    )


def same_day() -> Conflict:
    """A second booking of one department on one day."""
    return Conflict(
        en="One booking per department a day: this resident is already booked there that day",
        zh="同一科室同一天只能预约一次：该居民当天已有该科室的预约",
    )


def taken() -> Conflict:
    """A place taken by a concurrent booker at the same moment."""
    return Conflict(
        en="This place was booked by someone else at the same moment; try again",
        zh="该号源刚被他人预约，请重试",
    )


def full() -> Conflict:
    """No place left for the channel."""
    return Conflict(
        en="No place left in this session for your channel; choose another time or doctor",
        zh="该场次在您的预约渠道已无可用号源，请选择其他时间或医生",
    )


def unique_violation(message: str) -> Conflict:
    """The conflict a unique index of ``bookings`` stands for, from the database's message.

    Reached only by concurrent requests the resident's row lock does not order: one account
    sending one idempotency key for two residents at once, or a slot taken under a lapsed hold.
    """
    if "idempotency_key" in message:
        return key_reused()
    if "department_day" in message or "department_id" in message:
        return same_day()
    return taken()

"""Code tables of booking, with Chinese and English names: channels, periods, resources."""

from __future__ import annotations

from datetime import time

# channel -> (zh, en). ``referral`` slots are kept for up-referred patients (转诊预留).
CHANNELS: dict[str, tuple[str, str]] = {
    "online": ("线上（App/微信/门户）", "Online (app, WeChat, portal)"),
    "kiosk": ("自助机", "Kiosk"),
    "window": ("窗口", "Window"),
    "phone": ("电话", "Phone"),
    "external": ("外部平台", "External platform"),
    "referral": ("转诊预留", "Referral-reserved"),
}
PUBLIC_CHANNELS = ("online", "kiosk", "window", "phone", "external")

# period -> (zh, en, local start, local end)
PERIODS: dict[str, tuple[str, str, time, time]] = {
    "morning": ("上午", "Morning", time(8, 0), time(11, 30)),
    "afternoon": ("下午", "Afternoon", time(13, 30), time(17, 0)),
    "night": ("夜间门诊", "Night clinic", time(18, 0), time(21, 0)),
}

# resource -> (zh, en): a doctor's own clinic, a department clinic, or an exam resource.
RESOURCES: dict[str, tuple[str, str]] = {
    "doctor": ("专家/医生号", "Doctor"),
    "clinic": ("普通门诊", "Department clinic"),
    "ct": ("CT", "CT"),
    "mri": ("磁共振", "MRI"),
    "ultrasound": ("超声", "Ultrasound"),
    "endoscopy": ("内镜", "Endoscopy"),
    "vaccination": ("预防接种", "Vaccination clinic"),
}
EXAMS = frozenset({"ct", "mri", "ultrasound", "endoscopy"})

STATUSES: dict[str, tuple[str, str]] = {
    "held": ("待确认", "Held"),
    "confirmed": ("已预约", "Booked"),
    "checked_in": ("已签到", "Checked in"),
    "called": ("已叫号", "Called"),
    "skipped": ("过号", "Skipped"),
    "completed": ("已就诊", "Seen"),
    "cancelled": ("已取消", "Cancelled"),
    "expired": ("已超时", "Expired"),
    "no_show": ("爽约", "No-show"),
    "stopped": ("停诊", "Clinic cancelled"),
}

CHECKIN_METHODS: dict[str, tuple[str, str]] = {
    "qr": ("扫码", "QR code"),
    "kiosk": ("自助机", "Kiosk"),
    "window": ("窗口", "Window"),
}

# Declared priorities (shown on a certificate at check-in) -> (rank, zh, en). Age 80+ and
# up-referral are recognised without a declaration.
PRIORITIES: dict[str, tuple[int, str, str]] = {
    "military": (2, "军人优先", "Military"),
    "disabled": (2, "残疾人优先", "Disabled"),
    "aged_80": (2, "80岁以上老人", "Aged 80+"),
    "referral": (1, "上转患者", "Up-referred"),
}
PRIORITY_AGE = 80

# Default share of each slice per channel, in percent (specialist and exam schedules keep
# 20% for referrals; a township clinic keeps none).
DEFAULT_QUOTAS: dict[str, int] = {
    "online": 50,
    "kiosk": 10,
    "window": 10,
    "phone": 5,
    "external": 5,
    "referral": 20,
}

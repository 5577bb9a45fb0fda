"""Use cases of security: accounts, logins with lockout, and the audit-log search."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from yigongti.db import page
from yigongti.kernel import (
    SHANGHAI,
    Conflict,
    DomainError,
    Invalid,
    Locked,
    NotFound,
    Unauthenticated,
    invalid_field,
    local,
    now,
)
from yigongti.security import audit
from yigongti.security.actor import Actor
from yigongti.security.models import AuditEvent, User
from yigongti.security.passwords import check_password, hash_password
from yigongti.security.roles import AUDIT_READ, MACHINE_ROLES, ROLES, USER_MANAGE

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
# Roles whose accounts belong to an institution; a resident account belongs to a resident.
# Residents and an external booking platform act for people, not for an institution.
_NEEDS_INSTITUTION = frozenset(ROLES) - {"resident", "booking_platform"}


@dataclass(frozen=True)
class LoginOutcome:
    """The result of a login: the user, or the error to raise once the attempt is stored."""

    user: User | None
    error: DomainError | None = None


def validate_password(password: str) -> None:
    """At least 8 characters with letters and digits (等保 2.0 password complexity)."""
    if len(password) < 8 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise invalid_field(
            "password",
            "Password needs at least 8 characters, with letters and digits",
            "密码至少8位，且须包含字母和数字",
        )


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str,
    institution_id: uuid.UUID | None = None,
    practitioner_id: uuid.UUID | None = None,
    resident_id: uuid.UUID | None = None,
) -> User:
    """Create an account; only user managers may, and the role's links must be present."""
    actor.require(USER_MANAGE)
    if not USERNAME.match(username):
        raise invalid_field(
            "username",
            "Username: 3-64 lowercase letters, digits, '.', '_' or '-', starting with a letter "
            "or digit",
            "用户名须为3-64位小写字母、数字或 . _ -，且以字母或数字开头",
        )
    if role not in ROLES:
        raise invalid_field(
            "role", f"Unknown role '{role}'; one of {', '.join(ROLES)}", f"未知角色 '{role}'"
        )
    validate_password(password)
    if role == "resident" and resident_id is None:
        raise invalid_field(
            "resident_id",
            "A resident account needs resident_id",
            "居民账号须关联居民（resident_id）",
        )
    if role in _NEEDS_INSTITUTION and institution_id is None:
        raise invalid_field(
            "institution_id",
            f"A {role} account needs institution_id",
            f"{ROLES[role].zh}账号须关联机构（institution_id）",
        )
    _check_links(
        session,
        institution_id=institution_id,
        practitioner_id=practitioner_id,
        resident_id=resident_id,
    )
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(en=f"Username '{username}' is taken", zh=f"用户名“{username}”已被使用")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name,
        institution_id=institution_id,
        practitioner_id=practitioner_id,
        resident_id=resident_id,
    )
    session.add(user)
    session.flush()
    audit.record(
        session, actor, "create", "user", user.id, person_id=resident_id, detail=f"role={role}"
    )
    return user


# What an account may be linked to, named for the error message.
_LINKS = {
    "institution_id": ("institution", "机构"),
    "practitioner_id": ("practitioner", "医务人员"),
    "resident_id": ("resident", "居民"),
}


def _check_links(session: Session, **links: uuid.UUID | None) -> None:
    """Refuse links to records that do not exist (the database would, but as a 500)."""
    for name, value in links.items():
        if value is None:
            continue
        # The column the foreign key points at; security does not import the registry.
        target = next(iter(User.__table__.c[name].foreign_keys)).column
        if session.scalar(select(target).where(target == value)) is None:
            en, zh = _LINKS[name]
            raise invalid_field(name, f"No {en} with id {value}", f"{zh}不存在：{value}")


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    client: str | None,
    max_failures: int,
    lock_minutes: int,
    machine: bool = False,
) -> LoginOutcome:
    """Check a password; after ``max_failures`` failures in a row the account locks.

    A machine account (role ``integration``) is refused unless ``machine`` (the client
    credentials grant, :func:`authenticate_client`): it gets no password login, so no session
    in the web UI either. The caller commits before raising ``outcome.error`` so the failure
    count is kept.
    """
    user = session.scalar(select(User).where(User.username == username))
    denied = Unauthenticated(en="Wrong username or password", zh="用户名或密码错误")
    if user is None or not user.active:
        return LoginOutcome(None, denied)
    moment = now()
    if user.locked_until and user.locked_until > moment:
        return LoginOutcome(None, _locked(user.locked_until))
    guest = Actor(user_id=user.id, username=user.username, role=user.role, client=client)
    if not check_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = moment + timedelta(minutes=lock_minutes)
            user.failed_logins = 0
            audit.record(session, guest, "lockout", "user", user.id)
            return LoginOutcome(None, _locked(user.locked_until))
        audit.record(session, guest, "login_failed", "user", user.id)
        return LoginOutcome(None, denied)
    user.failed_logins = 0
    user.locked_until = None
    if user.role in MACHINE_ROLES and not machine:
        audit.record(session, guest, "login_refused", "user", user.id, detail="password grant")
        return LoginOutcome(
            None,
            Unauthenticated(
                en="A machine account obtains its token with the client credentials grant",
                zh="机器账号须以客户端凭据模式（client_credentials）获取令牌",
            ),
        )
    user.last_login_at = moment
    audit.record(session, guest, "login", "user", user.id)
    return LoginOutcome(user)


def authenticate_client(
    session: Session,
    client_id: str,
    client_secret: str,
    *,
    client: str | None,
    max_failures: int,
    lock_minutes: int,
) -> LoginOutcome:
    """Check a machine account's client credentials (OAuth2 ``client_credentials`` grant).

    The client id is the account's username and the secret its (hashed) password; only
    accounts of a machine role may use this grant, and failures count towards the lockout
    as a password login's do.
    """
    user = session.scalar(select(User).where(User.username == client_id))
    unknown = Unauthenticated(
        en="Unknown client or wrong client secret", zh="客户端标识或客户端密钥错误"
    )
    if user is None or user.role not in MACHINE_ROLES:
        return LoginOutcome(None, unknown)
    outcome = authenticate(
        session,
        client_id,
        client_secret,
        client=client,
        max_failures=max_failures,
        lock_minutes=lock_minutes,
        machine=True,
    )
    if isinstance(outcome.error, Unauthenticated):
        return LoginOutcome(None, unknown)
    return outcome


def _locked(until: datetime) -> Locked:
    shown = f"{local(until):%H:%M}"
    return Locked(
        en=f"Too many failed logins; the account is locked until {shown}",
        zh=f"登录失败次数过多，账号已锁定至 {shown}",
    )


def active_user(session: Session, user_id: uuid.UUID) -> User:
    """The active account ``user_id``; ``Unauthenticated`` if it is gone or disabled."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise no_active_account()
    return user


def no_active_account() -> Unauthenticated:
    """The refusal of a token whose account is gone or disabled."""
    return Unauthenticated(en="Account not found or disabled", zh="账号不存在或已停用")


_ACTOR_OF = select(
    User.id,
    User.username,
    User.role,
    User.institution_id,
    User.practitioner_id,
    User.resident_id,
).where(User.id == bindparam("user_id"), User.active.is_(True))


def active_actor(session: Session, user_id: uuid.UUID, client: str | None = None) -> Actor:
    """The actor of the active account ``user_id`` (as ``actor_for(active_user(...))``), read in
    one prepared statement without loading the account; ``Unauthenticated`` if it is gone or
    disabled. For the request paths where every millisecond counts."""
    row = session.execute(_ACTOR_OF, {"user_id": user_id}).first()
    if row is None:
        raise no_active_account()
    return Actor(
        user_id=row.id,
        username=row.username,
        role=row.role,
        institution_id=row.institution_id,
        practitioner_id=row.practitioner_id,
        resident_id=row.resident_id,
        client=client,
    )


def actor_for(user: User, client: str | None = None) -> Actor:
    """The actor a logged-in user acts as."""
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role,
        institution_id=user.institution_id,
        practitioner_id=user.practitioner_id,
        resident_id=user.resident_id,
        client=client,
    )


def list_users(session: Session, actor: Actor, *, limit: int = 50, offset: int = 0) -> list[User]:
    """Accounts, by username; user managers only."""
    actor.require(USER_MANAGE)
    return list(session.scalars(select(User).order_by(User.username).limit(limit).offset(offset)))


def count_users(session: Session, actor: Actor) -> int:
    """How many accounts there are; user managers only."""
    actor.require(USER_MANAGE)
    return session.scalar(select(func.count()).select_from(User)) or 0


def set_user_active(session: Session, actor: Actor, user_id: uuid.UUID, active: bool) -> User:
    """Enable or disable an account (also clears a lockout)."""
    actor.require(USER_MANAGE)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(en="No such user", zh="用户不存在")
    user.active, user.failed_logins, user.locked_until = active, 0, None
    audit.record(session, actor, "enable" if active else "disable", "user", user.id)
    return user


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the audit-log search."""

    actor_name: str | None = None
    person_id: uuid.UUID | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0


def _aware(moment: datetime | None) -> datetime | None:
    """A time without a zone is read as China Standard Time, as users type it."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=SHANGHAI)


def search_audit(session: Session, actor: Actor, query: AuditQuery) -> tuple[int, list[AuditEvent]]:
    """Audit rows matching ``query``, newest first, with the total count; auditors only."""
    actor.require(AUDIT_READ)
    if query.since and query.until and _aware(query.since) > _aware(query.until):
        raise Invalid(en="'since' is after 'until'", zh="起始时间晚于结束时间")
    since, until = _aware(query.since), _aware(query.until)
    conditions = []
    if query.actor_name:
        conditions.append(AuditEvent.actor_name == query.actor_name)
    if query.person_id:
        conditions.append(AuditEvent.person_id == query.person_id)
    if query.action:
        conditions.append(AuditEvent.action == query.action)
    if since:
        conditions.append(AuditEvent.at >= since)
    if until:
        conditions.append(AuditEvent.at <= until)
    statement = select(AuditEvent).where(*conditions).order_by(AuditEvent.seq.desc())
    total, rows = page(session, statement, query.limit, query.offset)
    audit.record(session, actor, "search", "audit_log", detail=f"hits={total}")
    return total, list(rows)

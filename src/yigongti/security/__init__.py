"""Security: accounts, roles and permissions, authentication, and the audit log."""

from yigongti.security import roles
from yigongti.security.actor import Actor, system_actor
from yigongti.security.audit import (
    ChainBreak,
    chain_pending,
    chaining_in_background,
    count_events,
    count_pending,
    record,
    verify_chain,
)
from yigongti.security.models import AuditEvent, AuditPending, User
from yigongti.security.passwords import new_client_secret
from yigongti.security.roles import ROLES, Role
from yigongti.security.service import (
    AuditQuery,
    LoginOutcome,
    active_actor,
    active_user,
    actor_for,
    authenticate,
    authenticate_client,
    count_users,
    create_user,
    list_users,
    no_active_account,
    search_audit,
    set_user_active,
    validate_password,
)
from yigongti.security.tokens import issue_token, user_id_of

__all__ = [
    "ROLES",
    "Actor",
    "AuditEvent",
    "AuditPending",
    "AuditQuery",
    "ChainBreak",
    "LoginOutcome",
    "Role",
    "User",
    "active_actor",
    "active_user",
    "actor_for",
    "authenticate",
    "authenticate_client",
    "chain_pending",
    "chaining_in_background",
    "count_events",
    "count_pending",
    "count_users",
    "create_user",
    "issue_token",
    "list_users",
    "new_client_secret",
    "no_active_account",
    "record",
    "roles",
    "search_audit",
    "set_user_active",
    "system_actor",
    "user_id_of",
    "validate_password",
    "verify_chain",
]

"""The acting user every service call receives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from yigongti.kernel import Forbidden
from yigongti.security.roles import ROLES, Role


@dataclass(frozen=True)
class Actor:
    """Who acts, in which role, for which institution, from where."""

    user_id: uuid.UUID | None
    username: str
    role: str
    institution_id: uuid.UUID | None = None
    practitioner_id: uuid.UUID | None = None
    resident_id: uuid.UUID | None = None
    client: str | None = None
    extra_permissions: frozenset[str] = field(default_factory=frozenset)

    @property
    def role_def(self) -> Role:
        """The definition of the actor's role."""
        return ROLES[self.role]

    def can(self, permission: str) -> bool:
        """Whether the actor's role grants ``permission``."""
        return permission in self.role_def.permissions or permission in self.extra_permissions

    def require(self, permission: str) -> None:
        """Raise ``Forbidden`` unless the actor holds ``permission``."""
        if not self.can(permission):
            raise Forbidden(
                en=f"Your role ({self.role_def.en}) may not do this ({permission})",
                zh=f"您的角色（{self.role_def.zh}）无此权限（{permission}）",
            )


def system_actor(client: str = "cli") -> Actor:
    """The actor of commands run by an operator on the server (migrations, synth, verify)."""
    return Actor(user_id=None, username="system", role="system_admin", client=client)

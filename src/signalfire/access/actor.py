"""Who is asking: the authenticated user in one org, with the permissions that follow."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from signalfire.access.models import OrgKind, Role
from signalfire.access.permissions import Permission


@dataclass(frozen=True)
class OrgChoice:
    org_id: uuid.UUID
    name: str
    kind: OrgKind
    role: Role


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    display_name: str
    email: str
    org_id: uuid.UUID
    org_name: str
    org_kind: OrgKind
    role: Role
    permissions: frozenset[Permission]
    via: str  # "session" or "token"
    session_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None
    csrf_token: str | None = None
    orgs: tuple[OrgChoice, ...] = field(default_factory=tuple)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def label(self) -> str:
        return f"{self.display_name} <{self.email}> ({self.org_name})"

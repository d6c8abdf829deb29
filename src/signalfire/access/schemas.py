"""API and form schemas for access. Inputs forbid unknown fields so typos fail loudly."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from signalfire.access.models import OrgKind, Role
from signalfire.core.schemas import StrictIn


class OrgOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: OrgKind
    role: Role


class MeOut(BaseModel):
    user_id: uuid.UUID
    email: str
    display_name: str
    org: OrgOut
    permissions: list[str]
    orgs: list[OrgOut]


class MemberOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    display_name: str
    role: Role


class MemberIn(StrictIn):
    email: str = Field(max_length=254)
    display_name: str = Field(default="", max_length=200)
    role: Role


class RoleIn(StrictIn):
    role: Role


class TokenIn(StrictIn):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=40)
    expires_in_days: int | None = Field(default=90, ge=1, le=366)


class TokenOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    user_id: uuid.UUID


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The secret. Shown once; store it now.")


class WebhookIn(StrictIn):
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    events: list[str] = Field(default_factory=lambda: ["*"], min_length=1, max_length=50)


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="HMAC secret for verifying Signalfire-Signature. Shown once.")

"""API and form schemas of federation peers, their collections, the push ledger and sync health."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from signalfire.core.schemas import Out, ShortText, StrictIn
from signalfire.exchange.vocab import AudienceKind, CoveredUse
from signalfire.federation.models import Direction, EventKind, PushState

MAX_NAMED_ORGS = 50
_IDENTITY_RE = re.compile(r"^identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials; give them in the credential fields")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or fragment")
    return value


def check_identity(value: str | None) -> str | None:
    if value is not None and not _IDENTITY_RE.match(value):
        raise ValueError("must be a STIX identity id (identity--<uuid>)")
    return value


def check_secret(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters (it is sent in an HTTP header)")
    return value


def check_username(value: str | None) -> str | None:
    if value is not None and (":" in value or any(ord(ch) < 32 or ord(ch) == 127 for ch in value)):
        raise ValueError("must not contain ':' or control characters (HTTP Basic)")
    return value


Url = Annotated[str, Field(min_length=8, max_length=2000), AfterValidator(check_url)]
IdentityRef = Annotated[str | None, AfterValidator(check_identity)]
Secret = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(check_secret)]
UserName = Annotated[ShortText | None, AfterValidator(check_username)]


class PeerIn(StrictIn):
    name: ShortText = Field(min_length=2, max_length=100)
    discovery_url: Url = Field(description="The TAXII 2.1 discovery URL, e.g. https://hub.example/taxii2/")
    api_root_url: Url = Field(description="The API root to use, e.g. https://hub.example/taxii2/exchange/")
    username: UserName = Field(default=None, description="HTTP Basic user name; empty: Bearer token.")
    secret: Secret = Field(description="The password or token; stored encrypted, never shown again.")
    remote_identity: IdentityRef = Field(default=None, description="The STIX identity the remote's objects carry.")
    remote_org_id: uuid.UUID | None = Field(default=None, description="For a Signalfire peer: its org's id.")
    remote_name: ShortText = ""
    signalfire: bool = True
    purpose: CoveredUse = CoveredUse.THREAT_DETECTION


class PeerUpdate(StrictIn):
    discovery_url: Url | None = None
    api_root_url: Url | None = None
    username: UserName = None
    secret: Secret | None = None
    remote_identity: IdentityRef = None
    remote_name: ShortText | None = None
    purpose: CoveredUse | None = None
    active: bool | None = None


class CollectionIn(StrictIn):
    remote_id: Annotated[str, Field(min_length=1, max_length=200)]
    title: ShortText = ""
    direction: Direction
    push_audience: AudienceKind | None = None
    push_org_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_NAMED_ORGS)
    pull_audience: AudienceKind | None = None
    pull_org_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_NAMED_ORGS)

    @model_validator(mode="after")
    def _consistent(self) -> CollectionIn:
        if self.direction.pushes and self.push_audience is None:
            raise ValueError("a push collection needs push_audience: the local audience it stands for")
        if self.direction.pulls and self.pull_audience is None:
            self.pull_audience = AudienceKind.ALL_MEMBERS
        if self.pull_audience is AudienceKind.NAMED_ORGS:
            raise ValueError("pull_audience must be all_members, government_partners or researchers")
        for audience, orgs, name in (
            (self.push_audience, self.push_org_ids, "push"),
            (self.pull_audience, self.pull_org_ids, "pull"),
        ):
            if audience is AudienceKind.NAMED_PEOPLE:
                raise ValueError(f"{name}_audience cannot be named_people: person inboxes never leave an instance")
            if audience is AudienceKind.NAMED_ORGS and not orgs:
                raise ValueError(f"{name}_audience named_orgs needs {name}_org_ids")
            if audience is not AudienceKind.NAMED_ORGS and orgs:
                raise ValueError(f"{name}_org_ids are only for {name}_audience named_orgs")
        return self


class CollectionOut(Out):
    id: uuid.UUID
    remote_id: str
    title: str
    direction: Direction
    push_audience: AudienceKind | None
    push_org_ids: list[str]
    pull_audience: AudienceKind | None
    pull_org_ids: list[str]
    added_after: str | None
    next_token: str | None = Field(default=None, exclude=True)
    last_pulled_at: datetime | None


class PeerOut(Out):
    id: uuid.UUID
    name: str
    discovery_url: str
    api_root_url: str
    username: str | None
    remote_identity: str | None
    remote_org_id: uuid.UUID | None
    remote_name: str
    signalfire: bool
    purpose: CoveredUse
    active: bool
    created_at: datetime
    last_test_at: datetime | None
    last_test_ok: bool | None
    last_success_at: datetime | None
    failing_since: datetime | None
    last_error: str | None
    pushed_count: int
    pulled_count: int
    refused_count: int


class PeerDetailOut(PeerOut):
    collections: list[CollectionOut]


class TestOut(Out):
    ok: bool
    discovery_title: str | None = None
    api_root_title: str | None = None
    collections: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None


class LedgerOut(Out):
    id: uuid.UUID
    peer_id: uuid.UUID
    collection_id: uuid.UUID
    item_id: uuid.UUID
    item_version: int
    stix_id: str
    stix_version: str
    change: str
    state: PushState
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class PulledOut(Out):
    id: uuid.UUID
    collection_id: uuid.UUID
    stix_id: str
    version: str
    created_by_ref: str | None
    item_id: uuid.UUID | None
    fetched_at: datetime


class EventOut(Out):
    id: uuid.UUID
    at: datetime
    kind: EventKind
    reason: str
    detail: dict[str, Any]


class HealthOut(Out):
    peer_id: uuid.UUID
    name: str
    active: bool
    last_success_at: datetime | None
    failing_since: datetime | None
    lag_seconds: float | None
    pushed: int
    pulled: int
    refused: int
    pending: int
    dead: int
    refusals: dict[str, int]
    last_error: str | None


class SyncOut(Out):
    peer_id: uuid.UUID
    pushed: int = 0
    push_failed: int = 0
    pulled: int = 0
    refused: int = 0
    pages: int = 0
    errors: list[str] = Field(default_factory=list)

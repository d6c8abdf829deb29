"""Tables of federation: peers (remote TAXII 2.1 servers), their collections, the push ledger, pull provenance.

A :class:`Peer` belongs to one local org and is managed by that org's admins only. Each remote
collection the org uses is a :class:`PeerCollection` with a direction (push, pull or both); for push it
names the local audience it is limited to, which decides which items may travel there (see
``federation.rules``). Every push of one item version to one peer collection is one
:class:`PushLedger` row, unique on (collection, item, version): the outbox job that sends it is written
in the transaction that publishes the version, and a second enqueue of the same version is a no-op.
Every object version pulled from a peer is one :class:`PulledObject` row (provenance), unique on
(peer, STIX id, version). :class:`PeerEvent` rows keep what went wrong, per peer, with reasons.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin, TimestampMixin, enum_column
from signalfire.exchange.vocab import AudienceKind, CoveredUse


class Direction(StrEnum):
    PUSH = "push"
    PULL = "pull"
    BOTH = "both"

    @property
    def pushes(self) -> bool:
        return self in (Direction.PUSH, Direction.BOTH)

    @property
    def pulls(self) -> bool:
        return self in (Direction.PULL, Direction.BOTH)


class PushState(StrEnum):
    PENDING = "pending"  # queued; the outbox job sends it (and retries with backoff)
    SENT = "sent"  # the peer accepted it (or already had it)
    REFUSED = "refused"  # the peer answered, and refused the objects: retrying cannot help
    DEAD = "dead"  # out of attempts: shown in the dead-letter view, may be retried by an admin


class EventKind(StrEnum):
    TEST_OK = "test_ok"
    TEST_FAILED = "test_failed"
    PUSH_FAILED = "push_failed"
    PUSH_REFUSED = "push_refused"
    PULL_FAILED = "pull_failed"
    PULL_REFUSED = "pull_refused"  # objects of a pulled page that were not imported, with reasons
    ALERTED = "alerted"


class Peer(IdMixin, TimestampMixin, Base):
    __tablename__ = "federation_peer"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_federation_peer_org_name"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The TAXII discovery URL (".../taxii2/") and the API root URL used for collections.
    discovery_url: Mapped[str] = mapped_column(String(2000))
    api_root_url: Mapped[str] = mapped_column(String(2000))
    # HTTP Basic user name (None: the secret is sent as a Bearer token); the secret itself is encrypted.
    username: Mapped[str | None] = mapped_column(String(200))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    # Who the remote is: the STIX identity its objects must be created by (None: not checked) and, for a
    # Signalfire peer, its org's id (then the identity is the one Signalfire derives from it).
    remote_identity: Mapped[str | None] = mapped_column(String(300))
    remote_org_id: Mapped[uuid.UUID | None]
    remote_name: Mapped[str] = mapped_column(String(200), default="")
    # A Signalfire peer gets the declared purpose and the reading user with every read.
    signalfire: Mapped[bool] = mapped_column(default=True)
    purpose: Mapped[CoveredUse] = mapped_column(enum_column(CoveredUse, "exchange_covered_use"))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # The local records pulled objects are published under: the remote org and a service account.
    import_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organization.id", ondelete="SET NULL"))
    import_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # Sync health.
    last_test_at: Mapped[datetime | None]
    last_test_ok: Mapped[bool | None]
    last_test_detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_success_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    alerted_at: Mapped[datetime | None]
    pushed_count: Mapped[int] = mapped_column(Integer, default=0)
    pulled_count: Mapped[int] = mapped_column(Integer, default=0)
    refused_count: Mapped[int] = mapped_column(Integer, default=0)


class PeerCollection(IdMixin, TimestampMixin, Base):
    __tablename__ = "federation_peer_collection"
    __table_args__ = (UniqueConstraint("peer_id", "remote_id", name="uq_federation_peer_collection_remote"),)

    peer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("federation_peer.id", ondelete="CASCADE"), index=True)
    remote_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300), default="")
    direction: Mapped[Direction] = mapped_column(enum_column(Direction, "federation_direction"))
    # Push: the local audience the remote collection stands for. Items go there only if addressed to it;
    # a named_orgs collection lists the orgs (ids as text) and is the only way TLP:AMBER travels.
    push_audience: Mapped[AudienceKind | None] = mapped_column(enum_column(AudienceKind, "exchange_audience_kind"))
    push_org_ids: Mapped[list[str]] = mapped_column(default=list)
    # Pull: what pulled objects are published to locally (an audience kind; named_orgs lists the orgs).
    pull_audience: Mapped[AudienceKind | None] = mapped_column(enum_column(AudienceKind, "exchange_audience_kind"))
    pull_org_ids: Mapped[list[str]] = mapped_column(default=list)
    # The pull cursor: the remote's X-TAXII-Date-Added-Last of the last committed page, and its `next`
    # while a paged run is under way. Each page commits with its cursor, so a killed run resumes there.
    added_after: Mapped[str | None] = mapped_column(String(64))
    next_token: Mapped[str | None] = mapped_column(Text)
    last_pulled_at: Mapped[datetime | None]


class PushLedger(IdMixin, Base):
    __tablename__ = "federation_push_ledger"
    __table_args__ = (
        UniqueConstraint("collection_id", "item_id", "item_version", name="uq_federation_push_ledger_version"),
        Index("ix_federation_push_ledger_state", "state", "created_at"),
    )

    collection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("federation_peer_collection.id", ondelete="CASCADE"))
    peer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("federation_peer.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"), index=True)
    item_version: Mapped[int] = mapped_column(Integer)
    # The item's STIX object id and this version's `modified` (the TAXII idempotency key on the remote).
    stix_id: Mapped[str] = mapped_column(String(300))
    stix_version: Mapped[str] = mapped_column(String(40))
    # What happened to the item: published, revised, withdrawn (a revocation travels as a new version).
    change: Mapped[str] = mapped_column(String(20))
    state: Mapped[PushState] = mapped_column(enum_column(PushState, "federation_push_state"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # The remote's answer (TAXII status id, counts) when it took the objects.
    remote_status: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PulledObject(IdMixin, Base):
    """Where one pulled object version came from (provenance), and what became of it locally."""

    __tablename__ = "federation_pulled_object"
    __table_args__ = (UniqueConstraint("peer_id", "stix_id", "version", name="uq_federation_pulled_object_version"),)

    peer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("federation_peer.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("federation_peer_collection.id", ondelete="CASCADE"), index=True
    )
    stix_id: Mapped[str] = mapped_column(String(300))
    version: Mapped[str] = mapped_column(String(40))
    created_by_ref: Mapped[str | None] = mapped_column(String(300))
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("exchange_item.id", ondelete="SET NULL"))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class PeerEvent(IdMixin, Base):
    __tablename__ = "federation_peer_event"
    __table_args__ = (Index("ix_federation_peer_event_peer_at", "peer_id", "at"),)

    peer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("federation_peer.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind, "federation_event_kind"))
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RemoteRead(IdMixin, Base):
    """A read served over TAXII to another instance, with the remote user it declared (X-Signalfire-Reader).

    The local read log row says which org (the peer's account here) read with which purpose; this row
    adds who at the reading instance asked, so the contributor sees it as it would a local read.
    """

    __tablename__ = "federation_remote_read"
    __table_args__ = (Index("ix_federation_remote_read_item", "item_id", "read_at"),)

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"))
    # The local read-log row this read made (the contributor's access log shows the remote reader beside it).
    read_log_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("exchange_read_log.id", ondelete="CASCADE"), unique=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    token_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_token.id", ondelete="SET NULL"))
    reader: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[CoveredUse] = mapped_column(enum_column(CoveredUse, "exchange_covered_use"))
    read_at: Mapped[datetime] = mapped_column(default=utcnow)

"""Tables of the TAXII 2.1 server: collection contents, per-collection clocks, add-object statuses.

A TAXII collection here is an *audience* (all member labs, one org's inbox, a person's inbox, government
partners, admitted researchers, or "shared by my org"). Its contents are rows of
:class:`TaxiiObject`, one per (collection, STIX id, version), each tied to the exchange item it came
from so every read can run through the exchange access policy in the same SQL query. Rows come from
two places: published item revisions (indexed lazily, see ``taxii_store.sync``) and objects members
POST over TAXII (each POST publishes them as one exchange item per TLP level, see ``taxii.ingest``).
Shared reference objects (TLP marking definitions, extension definitions, identities, MITRE ATLAS
stubs) have no item: anyone who may read the collection reads them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin, enum_column


class ObjectOrigin(StrEnum):
    ITEM = "item"  # derived from a published item revision (exchange.stix.convert.taxii_objects)
    POSTED = "posted"  # added by a member through TAXII "Add Objects"
    REFERENCE = "reference"  # shared by every item: markings, extension definitions, identities, ATLAS stubs


class TaxiiObject(IdMixin, Base):
    """One version of one STIX object in one collection."""

    __tablename__ = "exchange_taxii_object"
    __table_args__ = (
        # date_added is strictly increasing within a collection (see TaxiiClock): it is the paging key.
        UniqueConstraint("collection_id", "date_added", name="uq_exchange_taxii_object_collection_added"),
        UniqueConstraint("collection_id", "stix_id", "version", name="uq_exchange_taxii_object_collection_version"),
        Index("ix_exchange_taxii_object_stix_id", "stix_id"),
        Index("ix_exchange_taxii_object_item", "item_id"),
    )

    collection_id: Mapped[uuid.UUID]
    date_added: Mapped[datetime]
    stix_id: Mapped[str] = mapped_column(String(300))
    stix_type: Mapped[str] = mapped_column(String(250))
    spec_version: Mapped[str] = mapped_column(String(10))
    # The object's `modified`, else its `created`, else (cyber-observables) its date_added.
    version: Mapped[datetime]
    # Whether this is the newest / oldest version of the id in the collection: match[version]=last|first
    # become plain column tests, so a page is an index range scan however many versions there are.
    is_latest: Mapped[bool]
    is_first: Mapped[bool]
    origin: Mapped[ObjectOrigin] = mapped_column(enum_column(ObjectOrigin, "exchange_taxii_origin"))
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("exchange_item.id", ondelete="CASCADE"))
    item_version: Mapped[int | None] = mapped_column(Integer)
    # Who owns the id (the contributor org); None for the hub's reference objects.
    org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    # The object exactly as served (compact JSON), and the sha256 of its canonical form for idempotent POSTs.
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))


class TaxiiClock(Base):
    """The last date_added handed out in a collection; its row lock orders concurrent writers."""

    __tablename__ = "exchange_taxii_clock"

    collection_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    last_added: Mapped[datetime]


class TaxiiIndexed(Base):
    """An item revision whose STIX objects are in the collections (so it is never indexed twice)."""

    __tablename__ = "exchange_taxii_indexed"

    revision_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exchange_item_revision.id", ondelete="CASCADE"), primary_key=True
    )
    indexed_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaxiiSyncState(Base):
    """High-water mark of indexed revisions (by `modified`), so a sync looks only at recent revisions."""

    __tablename__ = "exchange_taxii_sync"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    high_water: Mapped[datetime | None]


class TaxiiStatus(IdMixin, Base):
    """The outcome of one TAXII "Add Objects" request. Adds run synchronously, so it is always complete."""

    __tablename__ = "exchange_taxii_status"
    __table_args__ = (Index("ix_exchange_taxii_status_org_created", "org_id", "created_at"),)

    collection_id: Mapped[uuid.UUID]
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    total_count: Mapped[int] = mapped_column(Integer)
    success_count: Mapped[int] = mapped_column(Integer)
    failure_count: Mapped[int] = mapped_column(Integer)
    pending_count: Mapped[int] = mapped_column(Integer, default=0)
    # TAXII status details: [{"id", "version", "message"?}], in envelope order.
    successes: Mapped[list[Any]] = mapped_column(default=list)
    failures: Mapped[list[Any]] = mapped_column(default=list)
    # The exchange items this add published (one per TLP level among the accepted objects).
    item_ids: Mapped[list[str]] = mapped_column(default=list)

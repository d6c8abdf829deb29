"""Reads behind the STIX and TAXII pages: the export selection and what each TAXII collection holds.

Both go through the exchange policy (``readable_items``) inside the query, so an item the viewer may not
read is neither listed, exported nor counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, defer

from signalfire.access.actor import Actor
from signalfire.access.policy import first_or_404
from signalfire.access.policy.exchange import readable_import_jobs, readable_items
from signalfire.exchange.models import ExchangeItem, ItemStatus
from signalfire.exchange.service import narrow_for_sparse_viewer
from signalfire.exchange.stix.models import StixImportJob
from signalfire.exchange.tags import TagFilter, tagged
from signalfire.exchange.taxii.collections import TaxiiCollection
from signalfire.exchange.taxii.models import TaxiiObject
from signalfire.exchange.vocab import Category, CoveredUse, Severity, Tlp

EXPORT_PREVIEW_MAX = 500


@dataclass(frozen=True)
class ExportFilters:
    """The selection on the export page; dates are whole UTC days, both ends included."""

    category: Category | None = None
    tlp: Tlp | None = None
    severity: Severity | None = None
    q: str | None = None
    published_from: date | None = None
    published_to: date | None = None
    mine: bool = False
    tags: TagFilter = field(default_factory=TagFilter)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def export_candidates(
    session: Session, actor: Actor, filters: ExportFilters, *, limit: int = EXPORT_PREVIEW_MAX
) -> tuple[list[ExchangeItem], bool]:
    """Published items the viewer may read that match the filters, newest first; and whether more matched."""
    item = ExchangeItem
    stmt = narrow_for_sparse_viewer(
        session, actor, readable_items(actor).where(item.status == ItemStatus.PUBLISHED, item.version >= 1)
    )
    if filters.mine:
        stmt = stmt.where(item.org_id == actor.org_id)
    if filters.category is not None:
        stmt = stmt.where(item.category == filters.category)
    if filters.tlp is not None:
        stmt = stmt.where(item.tlp == filters.tlp)
    if filters.severity is not None:
        stmt = stmt.where(item.severity == filters.severity)
    if filters.q:
        stmt = stmt.where(item.title.ilike(f"%{_escape_like(filters.q.strip()[:100])}%", escape="\\"))
    if filters.tags:
        stmt = stmt.where(tagged(session, filters.tags))
    if filters.published_from is not None:
        stmt = stmt.where(item.published_at >= datetime.combine(filters.published_from, time(), tzinfo=UTC))
    if filters.published_to is not None:
        end = datetime.combine(filters.published_to + timedelta(days=1), time(), tzinfo=UTC)
        stmt = stmt.where(item.published_at < end)
    rows = list(
        session.execute(
            stmt.options(defer(item.details), defer(item.indicators))
            .order_by(item.published_at.desc(), item.id.desc())
            .limit(limit + 1)
        ).scalars()
    )
    return rows[:limit], len(rows) > limit


def own_items(session: Session, actor: Actor, item_ids: Sequence[uuid.UUID]) -> list[ExchangeItem]:
    """Items of the actor's own org among ``item_ids`` (an import looks for the drafts it made before)."""
    if not item_ids:
        return []
    stmt = readable_items(actor).where(ExchangeItem.id.in_(list(item_ids)), ExchangeItem.org_id == actor.org_id)
    return list(session.execute(stmt).scalars())


def not_permitting(
    session: Session, actor: Actor, item_ids: Sequence[uuid.UUID], purpose: CoveredUse
) -> list[ExchangeItem]:
    """Of the readable items named, those of other orgs that do not permit ``purpose`` (an export would refuse)."""
    if not item_ids:
        return []
    stmt = readable_items(actor).where(ExchangeItem.id.in_(list(item_ids)), ExchangeItem.org_id != actor.org_id)
    return [i for i in session.execute(stmt).scalars() if not i.permits(purpose)]


@dataclass(frozen=True)
class CollectionCount:
    items: int
    objects: int


def collection_counts(
    session: Session, actor: Actor, collections: Sequence[TaxiiCollection]
) -> dict[uuid.UUID, CollectionCount]:
    """Per readable collection, the items addressed to it that the viewer may read, and the latest versions of
    the STIX objects stored in it that belong to those items (or to no item: markings, identities)."""
    out: dict[uuid.UUID, CollectionCount] = {}
    for collection in collections:
        if not collection.can_read:
            continue
        readable = readable_items(actor).where(collection.addresses(), ExchangeItem.version >= 1)
        items = session.execute(readable.with_only_columns(func.count(ExchangeItem.id)).order_by(None)).scalar_one()
        ids = readable.with_only_columns(ExchangeItem.id).order_by(None)
        objects = session.execute(
            select(func.count(TaxiiObject.id)).where(
                TaxiiObject.collection_id == collection.id,
                TaxiiObject.is_latest.is_(True),
                or_(TaxiiObject.item_id.is_(None), TaxiiObject.item_id.in_(ids)),
            )
        ).scalar_one()
        out[collection.id] = CollectionCount(items=items, objects=objects)
    return out


# --- import jobs ---------------------------------------------------------------------------------------


def import_job(session: Session, actor: Actor, job_id: uuid.UUID) -> StixImportJob:
    """One import of the actor's org (``readable_import_jobs``); missing and not readable are the same 404."""
    return first_or_404(session, readable_import_jobs(actor).where(StixImportJob.id == job_id), "No such import.")


def recent_import_jobs(session: Session, actor: Actor, limit: int = 10) -> list[StixImportJob]:
    """The org's latest imports, newest first (what the import page lists under the form)."""
    stmt = readable_import_jobs(actor).order_by(StixImportJob.created_at.desc(), StixImportJob.id).limit(limit)
    return list(session.execute(stmt).scalars())

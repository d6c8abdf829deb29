"""Publishing a scorecard: the org's choice to show other orgs where it stands.

Publishing freezes the scorecard as computed now into a snapshot of public items (no record titles, no
links); the org's earlier snapshot is withdrawn as superseded. Withdrawing hides it again. Nothing is
published unless the org does it, and each act is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.readiness import published_snapshots, readable_snapshots
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict
from signalfire.readiness.export import public_item
from signalfire.readiness.models import ScorecardSnapshot
from signalfire.readiness.schemas import OrgRef, PublicationOut, PublicItemOut, SnapshotOut
from signalfire.readiness.service import applies_to, compute_scorecard

MAX_LISTED = 200


def current(session: Session, org_id: uuid.UUID) -> ScorecardSnapshot | None:
    """The org's live publication, if any (system read: the org's own state)."""
    return session.execute(
        select(ScorecardSnapshot)
        .where(ScorecardSnapshot.org_id == org_id, ScorecardSnapshot.withdrawn_at.is_(None))
        .order_by(ScorecardSnapshot.published_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def publication_out(snapshot: ScorecardSnapshot | None) -> PublicationOut | None:
    if snapshot is None:
        return None
    return PublicationOut(
        snapshot_id=snapshot.id,
        as_of=snapshot.as_of,
        published_at=snapshot.published_at,
        published_by_label=snapshot.published_by_label,
    )


def _withdraw_live(session: Session, org_id: uuid.UUID, reason: str) -> int:
    now = utcnow()
    result = session.execute(
        update(ScorecardSnapshot)
        .where(ScorecardSnapshot.org_id == org_id, ScorecardSnapshot.withdrawn_at.is_(None))
        .values(withdrawn_at=now, withdrawn_reason=reason)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def publish(session: Session, actor: Actor) -> ScorecardSnapshot:
    require(actor, Permission.readiness_scorecard_publish)
    if not applies_to(actor.org_kind):
        raise Conflict(
            "Only organisations that develop or deploy models have a scorecard to publish.", slug="no-scorecard"
        )
    now = utcnow()
    card = compute_scorecard(session, actor.org_id, now)
    replaced = _withdraw_live(session, actor.org_id, "superseded by a newer publication")
    snapshot = ScorecardSnapshot(
        org_id=actor.org_id,
        as_of=card.at,
        published_at=now,
        published_by=actor.user_id,
        published_by_label=actor.display_name,
        counts=card.counts,
        items=[public_item(r).model_dump(mode="json") for r in card.items],
    )
    session.add(snapshot)
    session.flush()  # the audit entry names the snapshot
    record(
        session,
        action="readiness.scorecard.publish",
        target_type="readiness_snapshot",
        target_id=snapshot.id,
        actor=actor,
        summary={"counts": card.counts, "replaced": replaced},
    )
    return snapshot


def withdraw(session: Session, actor: Actor) -> int:
    require(actor, Permission.readiness_scorecard_publish)
    n = _withdraw_live(session, actor.org_id, "withdrawn by the organisation")
    if not n:
        raise Conflict("The scorecard is not published.", slug="not-published")
    record(
        session,
        action="readiness.scorecard.withdraw",
        target_type="organization",
        target_id=actor.org_id,
        actor=actor,
        summary={"withdrawn": n},
    )
    return n


@dataclass(frozen=True)
class Published:
    snapshot: ScorecardSnapshot
    org: Organization


def list_published(session: Session, actor: Actor) -> list[Published]:
    """Every org's live publication the actor may read, newest first."""
    rows = session.execute(
        published_snapshots(actor)
        .add_columns(Organization)
        .join(Organization, Organization.id == ScorecardSnapshot.org_id)
        .order_by(ScorecardSnapshot.published_at.desc())
        .limit(MAX_LISTED)
    ).all()
    return [Published(s, o) for s, o in rows]


def get_snapshot(session: Session, actor: Actor, snapshot_id: uuid.UUID) -> Published:
    snapshot = first_or_404(
        session, readable_snapshots(actor).where(ScorecardSnapshot.id == snapshot_id), "No such published scorecard."
    )
    org = session.get(Organization, snapshot.org_id)
    assert org is not None  # the foreign key cascades: a snapshot never outlives its org
    return Published(snapshot, org)


def snapshot_out(p: Published) -> SnapshotOut:
    s = p.snapshot
    return SnapshotOut(
        id=s.id,
        org=OrgRef(id=p.org.id, name=p.org.name, slug=p.org.slug),
        as_of=s.as_of,
        published_at=s.published_at,
        published_by_label=s.published_by_label,
        withdrawn_at=s.withdrawn_at,
        counts={k: int(v) for k, v in s.counts.items()},
        items=[PublicItemOut.model_validate(i) for i in s.items],
    )

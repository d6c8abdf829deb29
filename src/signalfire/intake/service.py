"""Triage: the queue, and every decision a person makes on a signal or a cluster.

Each decision is a Decision row (shown on the signal) and an audit entry, written in the same
transaction as the change. Promotion goes through the other channels' own services: an incident is
opened (or found) by response.service and the signal is added to its timeline; an exchange draft is
created by exchange.authoring, so the exchange's rules (audience, screening on publish) apply.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, User
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.intake import readable_clusters, readable_decisions, readable_signals
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, ValidationFailed
from signalfire.intake.ingest import Incoming, ingest
from signalfire.intake.models import (
    Addition,
    Attachment,
    Cluster,
    Decision,
    DecisionKind,
    Signal,
    SourceKind,
    TriageState,
)
from signalfire.intake.schemas import (
    DismissIn,
    ManualSignalIn,
    MergeIn,
    PromoteExchangeIn,
    PromoteIncidentIn,
    ReviewIn,
    SplitIn,
)
from signalfire.notify.outbox import publish_event
from signalfire.response.vocab import RiskDomain, Severity

Sort = Literal["severity", "relevance", "newest", "oldest"]
PAGE_SIZE = 50


# -- reading --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    state: TriageState | None = TriageState.new
    source_kind: SourceKind | None = None
    severity: Severity | None = None
    assignee_id: uuid.UUID | None = None
    unassigned: bool = False
    relevant_only: bool = False
    q: str | None = None
    sort: Sort = "severity"
    # One row per cluster (its most pressing signal) instead of one per signal.
    collapse: bool = True
    # True: only signals still waiting for the worker to cluster them ("clustering pending"); False: placed.
    placement_pending: bool | None = None


@dataclass(frozen=True)
class QueueRow:
    signal: Signal
    cluster_size: int


def _filtered(actor: Actor, f: QueueFilters) -> Select[Signal]:
    stmt = readable_signals(actor)
    if f.state is not None:
        stmt = stmt.where(Signal.state == f.state)
    if f.source_kind is not None:
        stmt = stmt.where(Signal.source_kind == f.source_kind)
    if f.severity is not None:
        stmt = stmt.where(Signal.likely_severity == f.severity)
    if f.assignee_id is not None:
        stmt = stmt.where(Signal.assignee_id == f.assignee_id)
    if f.unassigned:
        stmt = stmt.where(Signal.assignee_id.is_(None))
    if f.relevant_only:
        stmt = stmt.where(Signal.relevance > 0)
    if f.placement_pending is not None:
        stmt = stmt.where(Signal.placement_pending.is_(f.placement_pending))
    if f.q:
        pattern = f"%{f.q.strip()[:100].lower().replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(func.lower(Signal.title).like(pattern), func.lower(Signal.reference).like(pattern)))
    return stmt


def _order(sort: Sort) -> list[Any]:
    if sort == "relevance":
        return [Signal.relevance.desc(), Signal.likely_severity, Signal.received_at.desc()]
    if sort == "newest":
        return [Signal.received_at.desc()]
    if sort == "oldest":
        return [Signal.received_at]
    # "sev1" < "sev2" < ... so ascending text order is most severe first.
    return [Signal.likely_severity, Signal.relevance.desc(), Signal.received_at.desc()]


def queue(
    session: Session, actor: Actor, filters: QueueFilters, *, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[QueueRow], int]:
    """The triage queue and the number of rows it has, filtered and sorted in SQL."""
    base = _filtered(actor, filters)
    offset = (max(page, 1) - 1) * page_size
    if not filters.collapse:
        total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        signals = (
            session.execute(base.order_by(*_order(filters.sort), Signal.id).offset(offset).limit(page_size))
            .scalars()
            .all()
        )
        return [QueueRow(s, 1) for s in signals], total
    # Rank the matching signals inside each cluster and keep the first: the most pressing one.
    ranked = base.add_columns(
        func.row_number()
        .over(partition_by=func.coalesce(Signal.cluster_id, Signal.id), order_by=[*_order(filters.sort), Signal.id])
        .label("rank"),
        func.count().over(partition_by=func.coalesce(Signal.cluster_id, Signal.id)).label("size"),
    ).subquery()
    lead = select(ranked.c.id, ranked.c.size).where(ranked.c.rank == 1).subquery()
    total = session.execute(select(func.count()).select_from(lead)).scalar_one()
    stmt = (
        readable_signals(actor)
        .join(lead, lead.c.id == Signal.id)
        .add_columns(lead.c.size)
        .order_by(*_order(filters.sort), Signal.id)
        .offset(offset)
        .limit(page_size)
    )
    return [QueueRow(s, int(size)) for s, size in session.execute(stmt).all()], total


def get_signal(session: Session, actor: Actor, signal_id: uuid.UUID) -> Signal:
    return first_or_404(session, readable_signals(actor).where(Signal.id == signal_id), "No such signal.")


def get_cluster(session: Session, actor: Actor, cluster_id: uuid.UUID) -> Cluster:
    return first_or_404(session, readable_clusters(actor).where(Cluster.id == cluster_id), "No such cluster.")


def cluster_signals(session: Session, actor: Actor, cluster: Cluster) -> list[Signal]:
    return list(
        session.execute(
            readable_signals(actor).where(Signal.cluster_id == cluster.id).order_by(Signal.received_at)
        ).scalars()
    )


def decisions_for(session: Session, actor: Actor, signal: Signal) -> list[Decision]:
    return list(
        session.execute(
            readable_decisions(actor).where(Decision.signal_id == signal.id).order_by(Decision.at, Decision.id)
        ).scalars()
    )


def review_queue(session: Session, actor: Actor, limit: int = 50) -> list[Decision]:
    """Automatic decisions sampled for a person to confirm or undo, oldest first."""
    return list(
        session.execute(
            readable_decisions(actor)
            .where(Decision.review_requested.is_(True), Decision.reviewed_at.is_(None))
            .order_by(Decision.at)
            .limit(limit)
        ).scalars()
    )


def additions_of(session: Session, signal: Signal) -> list[Addition]:
    return list(
        session.execute(
            select(Addition).where(Addition.signal_id == signal.id).order_by(Addition.received_at)
        ).scalars()
    )


def attachments_of(session: Session, signal: Signal) -> list[Attachment]:
    return list(
        session.execute(
            select(Attachment).where(Attachment.signal_id == signal.id).order_by(Attachment.created_at)
        ).scalars()
    )


def get_attachment(session: Session, actor: Actor, signal_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment:
    signal = get_signal(session, actor, signal_id)
    att = first_or_404(
        session,
        select(Attachment).where(Attachment.id == attachment_id, Attachment.signal_id == signal.id),
        "No such attachment.",
    )
    record(
        session,
        action="intake.attachment.read",
        target_type="intake_attachment",
        target_id=att.id,
        actor=actor,
        summary={"signal": signal.reference, "filename": att.filename},
    )
    return att


def members(session: Session, actor: Actor) -> list[User]:
    """People a signal can be assigned to: members of the actor's org who may triage."""
    return list(
        session.execute(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == actor.org_id, User.is_active.is_(True))
            .order_by(User.display_name)
        ).scalars()
    )


def counts_by_state(session: Session, actor: Actor) -> dict[TriageState, int]:
    stmt = readable_signals(actor).with_only_columns(Signal.state, func.count()).group_by(Signal.state)
    found = {TriageState(state): int(n) for state, n in session.execute(stmt).all()}
    return {state: found.get(state, 0) for state in TriageState}


# -- decisions ------------------------------------------------------------------------------------------


def _decide(
    session: Session,
    actor: Actor,
    signal: Signal | None,
    kind: DecisionKind,
    *,
    reason: str = "",
    data: dict[str, Any] | None = None,
    cluster_id: uuid.UUID | None = None,
) -> Decision:
    now = utcnow()
    decision = Decision(
        id=uuid.uuid4(),
        org_id=actor.org_id,
        signal_id=signal.id if signal else None,
        cluster_id=cluster_id if cluster_id is not None else (signal.cluster_id if signal else None),
        kind=kind,
        automatic=False,
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        reason=reason,
        data=data or {},
        at=now,
    )
    session.add(decision)
    target_type, target_id = ("intake_signal", signal.id) if signal else ("intake_cluster", decision.cluster_id)
    record(
        session,
        action=f"intake.{kind.value}",
        target_type=target_type,
        target_id=target_id,
        actor=actor,
        summary={
            "reference": signal.reference if signal else None,
            "reason": reason[:500],
            **{k: v for k, v in (data or {}).items() if isinstance(v, str | int | float | bool)},
        },
    )
    return decision


def _require_open(signal: Signal) -> None:
    if signal.state is not TriageState.new:
        raise Conflict(
            f"{signal.reference} is already {signal.state.label.lower()}; reopen it first.", slug="signal-decided"
        )


def _close(signal: Signal, actor: Actor, state: TriageState) -> None:
    signal.state = state
    signal.decided_at = utcnow()
    signal.decided_by = actor.user_id


def create_manual(session: Session, actor: Actor, data: ManualSignalIn) -> Signal:
    require(actor, Permission.intake_signal_triage)
    return ingest(
        session,
        Incoming(
            org_id=actor.org_id,
            source_kind=SourceKind.manual,
            title=data.title,
            text=data.text,
            url=data.url,
            raw_payload=data.model_dump(mode="json"),
            raw_content_type="application/json",
            reporter_name=actor.display_name,
        ),
        actor=actor,
    )


def assign(session: Session, actor: Actor, signal: Signal, assignee_id: uuid.UUID | None) -> Signal:
    require(actor, Permission.intake_signal_triage)
    label = "nobody"
    if assignee_id is not None:
        user = session.execute(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == actor.org_id, User.id == assignee_id)
        ).scalar_one_or_none()
        if user is None:
            raise ValidationFailed.single("assignee_id", "not a member of your organisation")
        label = user.display_name
    before = signal.assignee_id
    signal.assignee_id = assignee_id
    _decide(
        session,
        actor,
        signal,
        DecisionKind.assigned,
        reason=f"Assigned to {label}.",
        data={"from": str(before) if before else "", "to": str(assignee_id) if assignee_id else ""},
    )
    return signal


def _open_cluster_mates(session: Session, actor: Actor, signal: Signal) -> list[Signal]:
    if signal.cluster_id is None:
        return []
    return list(
        session.execute(
            readable_signals(actor)
            .where(Signal.cluster_id == signal.cluster_id, Signal.id != signal.id, Signal.state == TriageState.new)
            .order_by(Signal.received_at)
        ).scalars()
    )


def dismiss(session: Session, actor: Actor, signal: Signal, data: DismissIn) -> list[Signal]:
    require(actor, Permission.intake_signal_triage)
    _require_open(signal)
    targets = [signal] + (_open_cluster_mates(session, actor, signal) if data.whole_cluster else [])
    for s in targets:
        _close(s, actor, TriageState.dismissed)
        s.dismiss_reason = data.reason
        _decide(
            session,
            actor,
            s,
            DecisionKind.dismissed,
            reason=data.reason,
            data={"with_cluster_of": signal.reference} if s is not signal else None,
        )
    return targets


def mark_duplicate(session: Session, actor: Actor, signal: Signal, original_id: uuid.UUID) -> Signal:
    require(actor, Permission.intake_signal_triage)
    _require_open(signal)
    original = first_or_404(
        session, readable_signals(actor).where(Signal.id == original_id), "No such signal to be a duplicate of."
    )
    root = original
    if original.duplicate_of_id is not None:
        root = session.get(Signal, original.duplicate_of_id) or original
    if root.id == signal.id:
        raise ValidationFailed.single("duplicate_of", "a signal cannot be a duplicate of itself")
    _close(signal, actor, TriageState.duplicate)
    signal.duplicate_of_id = root.id
    _decide(
        session,
        actor,
        signal,
        DecisionKind.duplicate,
        reason=f"Duplicate of {root.reference}.",
        data={"original": str(root.id)},
    )
    return signal


def reopen(session: Session, actor: Actor, signal: Signal, reason: str) -> Signal:
    """Back to the queue. A promoted signal stays linked: the incident or draft keeps its copy."""
    require(actor, Permission.intake_signal_triage)
    if signal.state is TriageState.new:
        raise Conflict(f"{signal.reference} is already open.", slug="signal-open")
    before = signal.state
    signal.state = TriageState.new
    signal.dismiss_reason = None
    signal.duplicate_of_id = None
    signal.decided_at = None
    signal.decided_by = None
    _decide(session, actor, signal, DecisionKind.reopened, reason=reason, data={"from": before.value})
    return signal


# -- promotion ------------------------------------------------------------------------------------------

_DOMAIN_HINTS: tuple[tuple[RiskDomain, tuple[str, ...]], ...] = (
    (RiskDomain.CBRN, ("bio", "chemical", "nuclear", "radiolog", "pathogen", "weapon")),
    (RiskDomain.MODEL_WEIGHTS, ("weights", "exfiltrat")),
    (RiskDomain.CYBER_OFFENCE, ("malware", "exploit", "ransomware", "cyber", "zero day")),
    (RiskDomain.AUTONOMY, ("autonom", "self replicat", "agent", "loss of control")),
    (RiskDomain.PRIVACY, ("privacy", "personal data", "data leak")),
    (RiskDomain.MISUSE, ("jailbreak", "misuse", "prompt injection", "abuse")),
)


def guess_risk_domain(signal: Signal) -> RiskDomain:
    text = f"{signal.title}\n{signal.text}".lower()
    for domain, hints in _DOMAIN_HINTS:
        if any(h in text for h in hints):
            return domain
    return RiskDomain.OTHER


def _timeline_body(signal: Signal) -> str:
    lines = [f"Signal {signal.reference} ({signal.source_kind.label}): {signal.title}"]
    if signal.url:
        lines.append(signal.url)
    if signal.text:
        lines.append("")
        lines.append(signal.text[:4000] + ("…" if len(signal.text) > 4000 else ""))
    if signal.attribution:
        lines.append(f"Source: {signal.attribution}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Promotion:
    signals: list[Signal]
    incident_id: uuid.UUID | None = None
    incident_reference: str | None = None
    exchange_item_id: uuid.UUID | None = None


def promote_to_incident(session: Session, actor: Actor, signal: Signal, data: PromoteIncidentIn) -> Promotion:
    """Open an incident from the signal (or pick an existing one) and add the signal to its timeline."""
    from signalfire.response import service as response
    from signalfire.response.models import TimelineKind
    from signalfire.response.schemas import IncidentCreate

    require(actor, Permission.intake_signal_triage)
    require(actor, Permission.response_incident_write)
    _require_open(signal)
    if data.incident_id is not None:
        incident = response.get_incident(session, actor, data.incident_id)
        if incident.org_id != actor.org_id:
            raise ValidationFailed.single("incident_id", "not an incident of your organisation")
    else:
        now = utcnow()
        incident = response.create_incident(
            session,
            actor,
            IncidentCreate(
                title=(data.title or signal.title)[:200].ljust(3, "."),
                summary=f"Opened from intake signal {signal.reference}.\n\n{signal.text[:4000]}".strip(),
                severity=data.severity or signal.likely_severity,
                risk_domain=data.risk_domain or guess_risk_domain(signal),
                aware_at=data.aware_at or min(signal.received_at, now),
                affected_models=data.affected_models,
                source=f"intake:signal:{signal.id}",
            ),
        )
    targets = [signal] + (_open_cluster_mates(session, actor, signal) if data.whole_cluster else [])
    for s in targets:
        response.add_timeline_entry(
            session,
            actor,
            incident,
            kind=TimelineKind.SIGNAL,
            body=_timeline_body(s),
            source=f"intake:signal:{s.id}",
            at=min(s.received_at, utcnow()),
            data={
                "reference": s.reference,
                "source_kind": s.source_kind.value,
                "url": s.url or "",
                "likely_severity": s.likely_severity.value,
            },
        )
        _close(s, actor, TriageState.promoted_incident)
        s.incident_id = incident.id
        _decide(
            session,
            actor,
            s,
            DecisionKind.promoted_incident,
            reason=f"Brought into {incident.reference}.",
            data={"incident_id": str(incident.id), "incident": incident.reference},
        )
    publish_event(
        session,
        org_id=actor.org_id,
        event="intake.signal.promoted",
        data={"id": signal.id, "reference": signal.reference, "incident_id": incident.id},
    )
    return Promotion(targets, incident_id=incident.id, incident_reference=incident.reference)


_EXCHANGE_SEVERITY = {Severity.SEV1: "critical", Severity.SEV2: "high", Severity.SEV3: "medium", Severity.SEV4: "low"}


def promote_to_exchange(session: Session, actor: Actor, signal: Signal, data: PromoteExchangeIn) -> Promotion:
    """Start an exchange draft from the signal's title and text. The reporter's identity and contact
    never travel; the draft is screened by the exchange before anyone can publish it."""
    from signalfire.exchange.authoring import create_draft
    from signalfire.exchange.schemas import ItemIn
    from signalfire.exchange.vocab import AudienceKind, Category, CoveredUse, Tlp
    from signalfire.exchange.vocab import Severity as ExchangeSeverity

    require(actor, Permission.intake_signal_triage)
    require(actor, Permission.exchange_item_write)
    _require_open(signal)
    summary = data.summary if data.summary is not None else signal.text
    item = create_draft(
        session,
        actor,
        ItemIn(
            category=Category.VULNERABILITY,
            title=(data.title or signal.title)[:300],
            summary=summary[:5000],
            details=(
                f"From intake signal {signal.reference}"
                + (f": {signal.url}" if signal.url else ".")
                + (f"\nSource: {signal.attribution}" if signal.attribution else "")
            ),
            severity=ExchangeSeverity(_EXCHANGE_SEVERITY[signal.likely_severity]),
            tlp=Tlp.AMBER_STRICT,
            permitted_uses=[CoveredUse.INCIDENT_RESPONSE, CoveredUse.THREAT_DETECTION],
            audience=[AudienceKind.ALL_MEMBERS],
        ),
    )
    from signalfire.exchange.sanitise.service import sanitise_promoted_draft

    sanitise_promoted_draft(session, actor, item, "intake")
    _close(signal, actor, TriageState.promoted_exchange)
    signal.exchange_item_id = item.id
    _decide(
        session,
        actor,
        signal,
        DecisionKind.promoted_exchange,
        reason="Exchange draft started.",
        data={"exchange_item_id": str(item.id)},
    )
    return Promotion([signal], exchange_item_id=item.id)


# -- clusters ---------------------------------------------------------------------------------------------


def _recount(session: Session, cluster_ids: Sequence[uuid.UUID]) -> None:
    for cid in cluster_ids:
        n, last = session.execute(
            select(func.count(), func.max(Signal.received_at)).where(Signal.cluster_id == cid)
        ).one()
        values: dict[str, Any] = {"signal_count": int(n)}
        if last is not None:
            values["last_signal_at"] = last
        session.execute(
            update(Cluster).where(Cluster.id == cid).values(**values).execution_options(synchronize_session="evaluate")
        )


def merge_clusters(session: Session, actor: Actor, data: MergeIn) -> Cluster:
    require(actor, Permission.intake_signal_triage)
    target = get_cluster(session, actor, data.into)
    others = [get_cluster(session, actor, cid) for cid in dict.fromkeys(data.clusters) if cid != target.id]
    if not others:
        raise ValidationFailed.single("clusters", "name at least one other cluster to merge in")
    ids = [c.id for c in others]
    moved = session.execute(select(Signal.id).where(Signal.cluster_id.in_(ids))).scalars().all()
    session.execute(
        update(Signal)
        .where(Signal.cluster_id.in_(ids))
        .values(cluster_id=target.id)
        .execution_options(synchronize_session="fetch")
    )
    session.execute(
        update(Decision)
        .where(Decision.cluster_id.in_(ids))
        .values(cluster_id=target.id)
        .execution_options(synchronize_session="fetch")
    )
    _decide(
        session,
        actor,
        None,
        DecisionKind.merged,
        cluster_id=target.id,
        reason=f"Merged {len(others)} cluster(s) ({len(moved)} signals) into this one.",
        data={"merged": ",".join(str(i) for i in ids)},
    )
    for c in others:
        session.delete(c)
    target.curated = True
    session.flush()
    _recount(session, [target.id])
    session.refresh(target)
    return target


def split_cluster(session: Session, actor: Actor, cluster: Cluster, data: SplitIn) -> Cluster:
    """Move the named signals out into a new cluster of their own."""
    require(actor, Permission.intake_signal_triage)
    wanted = set(data.signal_ids)
    signals = [s for s in cluster_signals(session, actor, cluster) if s.id in wanted]
    if len(signals) != len(wanted):
        raise ValidationFailed.single("signal_ids", "every signal must belong to this cluster")
    if len(signals) == cluster.signal_count:
        raise ValidationFailed.single("signal_ids", "leave at least one signal in the cluster")
    new = Cluster(
        id=uuid.uuid4(),
        org_id=cluster.org_id,
        title=(data.title or signals[0].title)[:300],
        signal_count=0,
        curated=True,
        created_at=utcnow(),
        last_signal_at=signals[0].received_at,
    )
    cluster.curated = True
    session.add(new)
    session.flush()
    for s in signals:
        s.cluster_id = new.id
        s.similarity = None
        _decide(
            session,
            actor,
            s,
            DecisionKind.split_off,
            cluster_id=new.id,
            reason=f"Split out of cluster {cluster.id}.",
            data={"from_cluster": str(cluster.id)},
        )
    session.flush()
    _recount(session, [cluster.id, new.id])
    session.refresh(new)
    session.refresh(cluster)
    return new


def review(session: Session, actor: Actor, decision_id: uuid.UUID, data: ReviewIn) -> Decision:
    """Confirm or undo a sampled automatic decision. Undo splits the signal out of the cluster it was
    put in and, for an automatic duplicate, reopens it."""
    require(actor, Permission.intake_signal_triage)
    decision = first_or_404(session, readable_decisions(actor).where(Decision.id == decision_id), "No such decision.")
    if not decision.automatic or decision.reviewed_at is not None:
        raise Conflict("Only an automatic decision not yet reviewed can be reviewed.", slug="not-reviewable")
    signal = get_signal(session, actor, decision.signal_id) if decision.signal_id else None
    decision.reviewed_at = utcnow()
    decision.reviewed_by = actor.user_id
    decision.review_outcome = data.outcome
    if data.outcome == "undo" and signal is not None:
        if signal.state is TriageState.duplicate and decision.kind is DecisionKind.duplicate:
            signal.state = TriageState.new
            signal.duplicate_of_id = None
            signal.decided_at = None
        cluster = session.get(Cluster, signal.cluster_id) if signal.cluster_id else None
        if cluster is not None and cluster.signal_count > 1:
            split_cluster(session, actor, cluster, SplitIn(signal_ids=[signal.id], title=signal.title))
    _decide(
        session,
        actor,
        signal,
        DecisionKind.reviewed,
        reason=f"{data.outcome.capitalize()}: automatic {decision.kind.label.lower()}. {data.note}".strip(),
        data={"decision": str(decision.id), "outcome": data.outcome},
        cluster_id=signal.cluster_id if signal else decision.cluster_id,
    )
    return decision

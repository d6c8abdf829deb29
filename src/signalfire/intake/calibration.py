"""Known-or-new answers a person decides on, the org's thresholds, and how well they fit its decisions.

A triager accepts or rejects a signal's suggested cluster in one step: accepting puts the signal in
that cluster (if clustering had not already), rejecting takes it out into a cluster of its own
(marked curated, so automatic clustering leaves it apart). Each verdict is kept on the suggestion,
as a Decision row and in the audit log; the calibration report reads the verdicts back to show
precision, recall and F1 of "known" at the org's threshold and at others.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import Select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.intake import readable_match_suggestions
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict
from signalfire.intake.models import Cluster, DecisionKind, IntakeSettings, MatchSuggestion, Signal, Verdict
from signalfire.intake.service import _decide, _recount, get_signal

GRID = tuple(round(0.05 * k, 2) for k in range(1, 20))


def suggestion_for(session: Session, actor: Actor, signal: Signal) -> MatchSuggestion | None:
    stmt: Select[MatchSuggestion] = readable_match_suggestions(actor).where(MatchSuggestion.signal_id == signal.id)
    return session.execute(stmt).scalar_one_or_none()


def decide(session: Session, actor: Actor, signal_id: uuid.UUID, *, accept: bool) -> MatchSuggestion:
    """Accept or reject the signal's suggested cluster (404 when there is none to decide)."""
    require(actor, Permission.intake_signal_triage)
    signal = get_signal(session, actor, signal_id)
    suggestion = first_or_404(
        session,
        readable_match_suggestions(actor).where(MatchSuggestion.signal_id == signal.id),
        "No suggestion for this signal.",
    )
    if suggestion.verdict is not Verdict.pending:
        raise Conflict(f"This suggestion was already {suggestion.verdict.value}.", slug="suggestion-decided")
    if suggestion.cluster_id is None:
        raise Conflict("The suggested cluster no longer exists.", slug="suggestion-gone")
    before = signal.cluster_id
    if accept and signal.cluster_id != suggestion.cluster_id:
        signal.cluster_id = suggestion.cluster_id
    elif not accept and signal.cluster_id == suggestion.cluster_id:
        alone = Cluster(
            id=uuid.uuid4(),
            org_id=signal.org_id,
            title=signal.title,
            signal_count=1,
            curated=True,
            created_at=utcnow(),
            last_signal_at=signal.received_at,
        )
        session.add(alone)
        session.flush()
        signal.cluster_id = alone.id
    suggestion.verdict = Verdict.accepted if accept else Verdict.rejected
    suggestion.decided_by = actor.user_id
    suggestion.decided_at = utcnow()
    session.flush()
    _recount(session, [c for c in {before, signal.cluster_id} if c is not None])
    _decide(
        session,
        actor,
        signal,
        DecisionKind.suggestion_accepted if accept else DecisionKind.suggestion_rejected,
        reason=("Accepted" if accept else "Rejected") + f" the suggested cluster (score {suggestion.score:.2f}).",
        data={"suggested_cluster": str(suggestion.cluster_id), "score": suggestion.score},
    )
    return suggestion


@dataclass(frozen=True)
class Point:
    threshold: float
    precision: float | None
    recall: float | None
    f1: float | None
    predicted_known: int


@dataclass
class CalibrationReport:
    cluster_threshold: float
    known_threshold: float
    embedded: bool
    decided: int = 0
    accepted: int = 0
    rejected: int = 0
    at_threshold: Point | None = None
    best: Point | None = None
    grid: list[Point] = field(default_factory=list)


def _point(threshold: float, decided: list[tuple[float, bool]]) -> Point:
    tp = sum(1 for score, ok in decided if score >= threshold and ok)
    fp = sum(1 for score, ok in decided if score >= threshold and not ok)
    fn = sum(1 for score, ok in decided if score < threshold and ok)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return Point(threshold, precision, recall, f1, tp + fp)


def calibration(session: Session, actor: Actor) -> CalibrationReport:
    """Precision, recall and F1 of "known" (score >= threshold) against the org's accepted (right)
    and rejected (wrong) suggestions, at the current threshold and over a grid."""
    from signalfire.intake.matching import thresholds_for

    require(actor, Permission.intake_signal_read)
    limits = thresholds_for(session, actor.org_id)
    rows = session.execute(
        readable_match_suggestions(actor)
        .where(MatchSuggestion.verdict.in_([Verdict.accepted, Verdict.rejected]))
        .with_only_columns(MatchSuggestion.score, MatchSuggestion.verdict)
    ).all()
    decided = [(float(score), verdict is Verdict.accepted) for score, verdict in rows]
    report = CalibrationReport(limits.cluster, limits.known, limits.embedded)
    report.decided = len(decided)
    report.accepted = sum(1 for _, ok in decided if ok)
    report.rejected = report.decided - report.accepted
    if decided:
        report.at_threshold = _point(limits.known, decided)
        report.grid = [_point(t, decided) for t in GRID]
        scored = [p for p in report.grid if p.f1 is not None]
        report.best = max(scored, key=lambda p: (p.f1 or 0.0, p.threshold)) if scored else None
    return report


def set_thresholds(
    session: Session, actor: Actor, *, cluster: float | None, known: float | None, reset: bool = False
) -> IntakeSettings:
    """Store the org's thresholds (None leaves one as it is; `reset` returns both to the defaults)."""
    from signalfire.intake.sources import settings_for

    require(actor, Permission.intake_source_manage)
    row = session.get(IntakeSettings, actor.org_id)
    if row is None:
        row = settings_for(session, actor.org_id)
        session.add(row)
    before = {"cluster": row.cluster_threshold, "known": row.known_threshold}
    if reset:
        row.cluster_threshold = row.known_threshold = None
    if cluster is not None:
        row.cluster_threshold = cluster
    if known is not None:
        row.known_threshold = known
    row.updated_at = utcnow()
    session.flush()
    record(
        session,
        action="intake.thresholds.update",
        target_type="intake_settings",
        target_id=actor.org_id,
        actor=actor,
        summary={
            "before": before,
            "after": {"cluster": row.cluster_threshold, "known": row.known_threshold},
        },
    )
    return row

"""Turning anything that arrives into one signal: normalise, score, find its cluster, store.

Every channel (public form, downstream API, alerts, feeds, imports, manual entry) ends here, so a
signal looks the same wherever it came from and near-duplicates are found across all sources.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.intake.models import Cluster, Decision, DecisionKind, Signal, SourceKind, TriageState
from signalfire.intake.normalize import normalize_for_matching
from signalfire.intake.receipts import new_reference
from signalfire.intake.scoring import Inventory, inventory_for, likely_severity
from signalfire.notify.outbox import publish_event

if TYPE_CHECKING:
    from signalfire.intake.clustering import Match

MAX_TITLE = 300
MAX_STORED_TEXT = 100_000
# Share of automatic cluster/duplicate decisions flagged for a person to confirm or undo.
REVIEW_SAMPLE_RATE = 0.05
SYSTEM = "Signalfire intake"


@dataclass
class Incoming:
    """A signal about to be stored; `text` is already plain text (see normalize.html_to_text)."""

    org_id: uuid.UUID
    source_kind: SourceKind
    title: str
    text: str
    raw_payload: dict[str, Any] = field(default_factory=dict)
    raw_content_type: str | None = None
    url: str | None = None
    dedupe_key: str | None = None
    feed_id: uuid.UUID | None = None
    alert_source_id: uuid.UUID | None = None
    published_at: datetime | None = None
    received_at: datetime | None = None
    reporter_name: str | None = None
    reporter_contact: str | None = None
    anonymous: bool = False
    submitter_org_id: uuid.UUID | None = None
    submitter_user_id: uuid.UUID | None = None
    attribution: str | None = None
    alert_labels: dict[str, Any] | None = None
    alert_status: str | None = None
    # What near-duplicate detection compares instead of `text`, when `text` is mostly boilerplate
    # (an alert's label dump is the same for every alert of a system).
    dedup_text: str | None = None


_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value: str, limit: int) -> str:
    """Drop control characters other than newlines and tabs (and NUL, which PostgreSQL refuses); bound."""
    return _CONTROLS.sub("", value).strip()[:limit]


def _hash(normalized: str) -> str:
    return hashlib.sha256(normalized.encode()).hexdigest()


def _unused_reference(session: Session) -> str:
    for _ in range(8):
        ref = new_reference()
        if session.execute(select(Signal.id).where(Signal.reference == ref)).first() is None:
            return ref
    raise RuntimeError("could not draw an unused signal reference")  # 2^40 space: practically unreachable


def sampled_for_review(signal_id: uuid.UUID, rate: float | None = None) -> bool:
    """A stable pseudo-random sample: the same signal is always in or out, whichever process asks."""
    rate = REVIEW_SAMPLE_RATE if rate is None else rate
    return (signal_id.int % 10_000) < rate * 10_000


def find_by_dedupe_key(session: Session, org_id: uuid.UUID, key: str) -> Signal | None:
    return session.execute(select(Signal).where(Signal.org_id == org_id, Signal.dedupe_key == key)).scalar_one_or_none()


def ingest(
    session: Session,
    incoming: Incoming,
    *,
    inventory: Inventory | None = None,
    actor: Actor | None = None,
    actor_label: str | None = None,
    quiet: bool = False,
) -> Signal:
    """Store one signal and place it in a cluster. `quiet` (bulk feed and import runs) skips the
    per-signal audit entry and event; the caller records one summary entry for the run instead."""
    # Imported here: datasketch pulls in scipy (about 2 s), which the server and CLI should not pay at start.
    from signalfire.intake.clustering import band_keys, find_matches, index_signal, signature_of

    now = utcnow()
    title = clean_text(incoming.title, MAX_TITLE) or "(untitled)"
    text = clean_text(incoming.text, MAX_STORED_TEXT)
    inventory = inventory or inventory_for(session, incoming.org_id)
    # Normalised once: hashing, scoring and near-duplicate detection all read this form.
    normalized = normalize_for_matching(f"{title}\n{text}")
    guess = likely_severity("", alert_labels=incoming.alert_labels, normalized=normalized)
    relevance = inventory.match("", normalized=normalized)
    match_text = normalized
    if incoming.dedup_text is not None:
        match_text = normalize_for_matching(f"{title}\n{clean_text(incoming.dedup_text, MAX_STORED_TEXT)}")
    words = match_text.split()
    signature = signature_of(words)
    keys = band_keys(signature)
    signal = Signal(
        id=uuid.uuid4(),
        org_id=incoming.org_id,
        reference=_unused_reference(session),
        source_kind=incoming.source_kind,
        feed_id=incoming.feed_id,
        alert_source_id=incoming.alert_source_id,
        dedupe_key=incoming.dedupe_key,
        title=title,
        text=text,
        text_hash=_hash(normalized),
        match_text=match_text,
        url=incoming.url[:2000] if incoming.url else None,
        raw_payload=incoming.raw_payload,
        raw_content_type=incoming.raw_content_type,
        attribution=incoming.attribution,
        received_at=incoming.received_at or now,
        published_at=incoming.published_at,
        updated_at=now,
        alert_status=incoming.alert_status,
        reporter_name=None if incoming.anonymous else incoming.reporter_name,
        reporter_contact=None if incoming.anonymous else incoming.reporter_contact,
        anonymous=incoming.anonymous,
        submitter_org_id=incoming.submitter_org_id,
        submitter_user_id=incoming.submitter_user_id,
        state=TriageState.new,
        likely_severity=guess.severity,
        severity_reasons=guess.reasons,
        relevance=relevance.score,
        matched_models=relevance.models,
        signature=signature.to_bytes(),
    )
    matches = _exact_match(session, signal) or find_matches(session, signal.org_id, words, signature, keys=keys)
    _place(session, signal, matches)
    index_signal(session, signal, keys)
    if not quiet:
        label = actor_label or (actor.label if actor else SYSTEM)
        record(
            session,
            action="intake.signal.receive",
            target_type="intake_signal",
            target_id=signal.id,
            actor=None if incoming.anonymous else actor,
            actor_label=label,
            org_id=signal.org_id,
            summary={
                "reference": signal.reference,
                "source_kind": signal.source_kind,
                "state": signal.state,
                "cluster_id": signal.cluster_id,
            },
        )
        publish_event(session, org_id=signal.org_id, event="intake.signal.received", data=signal_event(signal))
    return signal


def signal_event(signal: Signal) -> dict[str, Any]:
    return {
        "id": signal.id,
        "reference": signal.reference,
        "source_kind": signal.source_kind,
        "title": signal.title,
        "state": signal.state,
        "likely_severity": signal.likely_severity,
        "relevance": signal.relevance,
        "cluster_id": signal.cluster_id,
    }


def _exact_match(session: Session, signal: Signal) -> list[Match]:
    from signalfire.intake.clustering import Match

    row = session.execute(
        select(Signal.id, Signal.cluster_id)
        .where(Signal.org_id == signal.org_id, Signal.text_hash == signal.text_hash)
        .order_by(Signal.received_at)
        .limit(1)
    ).first()
    return [Match(row.id, row.cluster_id, 1.0, True)] if row is not None else []


def _place(session: Session, signal: Signal, matches: list[Match]) -> None:
    """Join the best match's cluster (or start one); feed copies of one article become duplicates.

    A signal similar to members of several automatic clusters links them: those clusters are merged,
    as the offline clustering would (transitively). Clusters a person has split are never merged
    automatically.
    """
    match = matches[0] if matches else None
    cluster_id = match.cluster_id if match is not None else None
    if cluster_id is None:
        # A new cluster, counted as built: it and the signal go to the database in one flush.
        cluster = Cluster(
            id=uuid.uuid4(),
            org_id=signal.org_id,
            title=signal.title,
            signal_count=1 if match is None else 2,
            created_at=signal.received_at,
            last_signal_at=signal.received_at,
        )
        session.add(cluster)
        signal.cluster_id = cluster_id = cluster.id
        session.add(signal)
        session.flush()
        if match is not None:  # an older signal without a cluster (e.g. its cluster was deleted)
            session.execute(
                update(Signal)
                .where(Signal.id == match.signal_id)
                .values(cluster_id=cluster_id)
                .execution_options(synchronize_session="fetch")
            )
    else:
        signal.cluster_id = cluster_id
        session.add(signal)
        session.flush()
        _bump(session, cluster_id, signal.received_at, 1)
    if match is None:
        return
    _link_clusters(session, signal, cluster_id, [m.cluster_id for m in matches[1:] if m.cluster_id])
    signal.similarity = match.similarity
    kind = DecisionKind.clustered
    reason = f"Similar to {match.signal_id} (word-pair overlap {match.similarity:.2f})."
    if match.near_duplicate and signal.source_kind is SourceKind.feed_item:
        original = session.get(Signal, match.signal_id)
        root = original.duplicate_of_id if original is not None and original.duplicate_of_id else match.signal_id
        signal.state = TriageState.duplicate
        signal.duplicate_of_id = root
        signal.decided_at = signal.received_at
        kind = DecisionKind.duplicate
        reason = f"Copy of {root} (near-identical text, overlap {match.similarity:.2f})."
    session.add(
        Decision(
            org_id=signal.org_id,
            signal_id=signal.id,
            cluster_id=cluster_id,
            kind=kind,
            automatic=True,
            actor_label=SYSTEM,
            reason=reason,
            at=signal.received_at,
            data={
                "matched": str(match.signal_id),
                "similarity": match.similarity,
                "near_duplicate": match.near_duplicate,
            },
            review_requested=sampled_for_review(signal.id),
        )
    )


def _link_clusters(session: Session, signal: Signal, into: uuid.UUID, others: list[uuid.UUID]) -> None:
    candidates = [cid for cid in dict.fromkeys(others) if cid != into]
    if not candidates:
        return
    ids = list(
        session.execute(
            select(Cluster.id).where(Cluster.id.in_([into, *candidates]), Cluster.curated.is_(False))
        ).scalars()
    )
    if into not in ids:
        return
    merged = [cid for cid in candidates if cid in ids]
    if not merged:
        return
    # "fetch" keeps signals already loaded in this session in step with the database.
    moved = session.execute(
        update(Signal)
        .where(Signal.cluster_id.in_(merged))
        .values(cluster_id=into)
        .execution_options(synchronize_session="fetch")
    )
    session.execute(
        update(Decision)
        .where(Decision.cluster_id.in_(merged))
        .values(cluster_id=into)
        .execution_options(synchronize_session="fetch")
    )
    session.execute(delete(Cluster).where(Cluster.id.in_(merged)).execution_options(synchronize_session="fetch"))
    _bump(session, into, signal.received_at, int(getattr(moved, "rowcount", 0) or 0))
    session.add(
        Decision(
            org_id=signal.org_id,
            signal_id=signal.id,
            cluster_id=into,
            kind=DecisionKind.merged,
            automatic=True,
            actor_label=SYSTEM,
            at=signal.received_at,
            data={"merged": [str(c) for c in merged]},
            reason=f"{signal.reference} is similar to signals of {len(merged) + 1} clusters; they were joined.",
        )
    )


def _bump(session: Session, cluster_id: uuid.UUID, at: datetime, delta: int) -> None:
    """Count signals on the cluster in SQL (concurrent ingests do not lose updates) through the loaded
    object, so the session never holds a stale count."""
    cluster = session.get(Cluster, cluster_id)
    if cluster is None:
        return
    if delta > 0 and cluster.last_signal_at < at:
        cluster.last_signal_at = at
    cluster.signal_count = Cluster.signal_count + delta
    session.flush()  # applies the expression now, so a second bump adds to this one instead of replacing it

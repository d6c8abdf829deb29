"""Turning anything that arrives into one signal: normalise, score, find its cluster, store.

Every channel (public form, downstream API, alerts, feeds, imports, manual entry) ends here, so a
signal looks the same wherever it came from and near-duplicates are found across all sources.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.audit.chain import Entry, record, record_many
from signalfire.audit.models import AuditEvent
from signalfire.core.clock import utcnow
from signalfire.core.db.session import after_commit
from signalfire.intake.models import Signal, SourceKind, TriageState
from signalfire.intake.normalize import normalize_for_matching
from signalfire.intake.receipts import new_reference
from signalfire.intake.scoring import Inventory, inventory_for, likely_severity
from signalfire.notify.outbox import publish_event
from signalfire.notify.wakeup import wake_workers

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
    authors: list[str] = field(default_factory=list)


_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value: str, limit: int) -> str:
    """Drop control characters other than newlines and tabs (and NUL, which PostgreSQL refuses); bound."""
    return _CONTROLS.sub("", value).strip()[:limit]


def _hash(normalized: str) -> str:
    return hashlib.sha256(normalized.encode()).hexdigest()


def _unused_reference(session: Session) -> str:
    # no_autoflush: a batch adds many signals before clustering them; flushing each one here, only to
    # check a random reference, would cost more than the rest of the import.
    for _ in range(8):
        ref = new_reference()
        with session.no_autoflush:
            taken = session.execute(select(Signal.id).where(Signal.reference == ref)).first()
        if taken is None:
            return ref
    raise RuntimeError("could not draw an unused signal reference")  # 2^40 space: practically unreachable


def unused_references(session: Session, count: int) -> list[str]:
    """`count` distinct references not yet in use, checked in a few queries instead of one each."""
    chosen: set[str] = set()
    while len(chosen) < count:
        drawn = sorted({new_reference() for _ in range(count - len(chosen))} - chosen)
        taken: set[str] = set()
        with session.no_autoflush:
            for start in range(0, len(drawn), 900):  # bound the IN list (SQLite's variable limit)
                part = drawn[start : start + 900]
                taken.update(session.execute(select(Signal.reference).where(Signal.reference.in_(part))).scalars())
        chosen.update(r for r in drawn if r not in taken)
    return sorted(chosen)


def sampled_for_review(signal_id: uuid.UUID, rate: float | None = None) -> bool:
    """A stable pseudo-random sample: the same signal is always in or out, whichever process asks."""
    rate = REVIEW_SAMPLE_RATE if rate is None else rate
    return (signal_id.int % 10_000) < rate * 10_000


def find_by_dedupe_key(session: Session, org_id: uuid.UUID, key: str) -> Signal | None:
    return session.execute(select(Signal).where(Signal.org_id == org_id, Signal.dedupe_key == key)).scalar_one_or_none()


def _build(
    session: Session, incoming: Incoming, *, inventory: Inventory | None, reference: str | None, pending: bool
) -> Signal:
    """The signal as stored. Only pure work happens here when `pending` (no query of other rows: the
    relevance score reads the org's model inventory, so it waits for the worker with the clustering)."""
    from signalfire.intake.similarity import canonical_url

    now = utcnow()
    title = clean_text(incoming.title, MAX_TITLE) or "(untitled)"
    text = clean_text(incoming.text, MAX_STORED_TEXT)
    # Normalised once: hashing, scoring and near-duplicate detection all read this form.
    normalized = normalize_for_matching(f"{title}\n{text}")
    guess = likely_severity("", alert_labels=incoming.alert_labels, normalized=normalized)
    relevance_score, models = 0.0, []
    if not pending:
        relevance = (inventory or inventory_for(session, incoming.org_id)).match("", normalized=normalized)
        relevance_score, models = relevance.score, relevance.models
    match_text = normalized
    if incoming.dedup_text is not None:
        match_text = normalize_for_matching(f"{title}\n{clean_text(incoming.dedup_text, MAX_STORED_TEXT)}")
    url = incoming.url[:2000] if incoming.url else None
    return Signal(
        id=uuid.uuid4(),
        org_id=incoming.org_id,
        # A batch draws and checks its references in one query (unused_references).
        reference=reference or _unused_reference(session),
        source_kind=incoming.source_kind,
        feed_id=incoming.feed_id,
        alert_source_id=incoming.alert_source_id,
        dedupe_key=incoming.dedupe_key,
        title=title,
        # Clustering compares `text` too; for alerts that is the dedup text (labels are boilerplate).
        text=text,
        text_hash=_hash(normalized),
        match_text=match_text,
        url=url,
        canonical_url=canonical_url(url),
        authors=[clean_text(a, 200) for a in incoming.authors[:20] if a.strip()],
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
        relevance=relevance_score,
        matched_models=models,
        placement_pending=pending,
    )


def receive(
    session: Session, incoming: Incoming, *, actor: Actor | None = None, actor_label: str | None = None
) -> Signal:
    """Store one signal, acknowledged as soon as this transaction commits, and leave the rest to the
    worker (intake.placement): clustering, the relevance score, the audit entry and the event.

    This is the path of everything sent from outside (public form, downstream API, alerts): a request
    costs one insert and one commit, and holds no lock another request waits for. What the audit
    entry will name as the actor is kept on the row (`received_by`, `submitter_user_id`)."""
    signal = _build(session, incoming, inventory=None, reference=None, pending=True)
    signal.received_by = (actor_label or (actor.label if actor else SYSTEM))[:300]
    session.add(signal)
    after_commit(session, wake_workers)
    return signal


def ingest(
    session: Session,
    incoming: Incoming,
    *,
    inventory: Inventory | None = None,
    actor: Actor | None = None,
    actor_label: str | None = None,
    quiet: bool = False,
    cluster: bool = True,
    reference: str | None = None,
) -> Signal:
    """Store one signal and place it in a cluster at once. `quiet` (bulk feed and import runs) skips the
    per-signal audit entry and event; the caller records one summary entry for the run instead.
    `cluster=False` leaves placement to the caller, which passes a whole batch to
    matching.place_signals (one linkage over the batch: faster, and as good as offline clustering)."""
    # Imported here: scipy costs about 2 s to import, which the server and CLI should not pay at start.
    from signalfire.intake.matching import place_signals

    signal = _build(session, incoming, inventory=inventory, reference=reference, pending=False)
    session.add(signal)
    if cluster:
        session.flush()
        place_signals(session, [signal])
    if not quiet:
        label = actor_label or (actor.label if actor else SYSTEM)
        audit_received(session, signal, actor=None if incoming.anonymous else actor, actor_label=label)
    return signal


def audit_received(
    session: Session,
    signal: Signal,
    *,
    actor: Actor | None,
    actor_label: str,
    announce: bool = True,
    actor_user_id: uuid.UUID | None = None,
) -> AuditEvent:
    """The signal's audit entry and its event (in the transaction that placed it). `announce=False`: the
    caller knows the org has no webhook endpoint, so there is nobody to publish the event to."""
    event = record(
        session,
        action="intake.signal.receive",
        target_type="intake_signal",
        target_id=signal.id,
        actor=actor,
        actor_label=actor_label,
        actor_user_id=actor_user_id,
        org_id=signal.org_id,
        summary=_received_summary(signal),
    )
    if announce:
        publish_event(session, org_id=signal.org_id, event="intake.signal.received", data=signal_event(signal))
    return event


def audit_received_many(session: Session, signals: Sequence[Signal], *, announce: bool = True) -> int:
    """The audit entries and events of a batch of placed signals (the worker's): the same entries as one
    :func:`audit_received` per signal, written with one flush and one multi-row INSERT."""
    entries = [
        Entry(
            action="intake.signal.receive",
            target_type="intake_signal",
            target_id=signal.id,
            actor_label=signal.received_by or SYSTEM,
            actor_user_id=None if signal.anonymous else signal.submitter_user_id,
            org_id=signal.org_id,
            summary=_received_summary(signal),
        )
        for signal in signals
    ]
    written = record_many(session, entries)
    if announce:
        for signal in signals:
            publish_event(session, org_id=signal.org_id, event="intake.signal.received", data=signal_event(signal))
    return written


def _received_summary(signal: Signal) -> dict[str, Any]:
    return {
        "reference": signal.reference,
        "source_kind": signal.source_kind,
        "state": signal.state,
        "cluster_id": signal.cluster_id,
    }


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

"""The intake channel's tables: every signal that arrives, where it came from, how it was triaged.

A signal is one record for anything that arrives (a public report, a downstream developer's report,
a monitoring alert, a feed item, a manual entry). Near-duplicates are grouped into clusters; every
triage decision, automatic or human, is a row of its own so it can be shown and reviewed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin, enum_column
from signalfire.response.vocab import Severity


class SourceKind(StrEnum):
    public_form = "public_form"
    downstream_api = "downstream_api"
    monitoring_alert = "monitoring_alert"
    feed_item = "feed_item"
    manual = "manual"

    @property
    def label(self) -> str:
        return _SOURCE_LABELS[self]


_SOURCE_LABELS = {
    SourceKind.public_form: "Public form",
    SourceKind.downstream_api: "Downstream API",
    SourceKind.monitoring_alert: "Monitoring alert",
    SourceKind.feed_item: "Feed item",
    SourceKind.manual: "Manual",
}


class TriageState(StrEnum):
    new = "new"
    duplicate = "duplicate"
    dismissed = "dismissed"
    promoted_incident = "promoted_incident"
    promoted_exchange = "promoted_exchange"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self is TriageState.new


_STATE_LABELS = {
    TriageState.new: "New",
    TriageState.duplicate: "Duplicate",
    TriageState.dismissed: "Dismissed",
    TriageState.promoted_incident: "Promoted to incident",
    TriageState.promoted_exchange: "Promoted to exchange draft",
}


class AlertFormat(StrEnum):
    alertmanager = "alertmanager"
    generic = "generic"


class FeedKind(StrEnum):
    rss_atom = "rss_atom"
    # The AI Incident Database's published incidents CSV (or a snapshot archive holding it).
    aiid_snapshot = "aiid_snapshot"


class DecisionKind(StrEnum):
    received = "received"
    clustered = "clustered"
    duplicate = "duplicate"
    assigned = "assigned"
    dismissed = "dismissed"
    promoted_incident = "promoted_incident"
    promoted_exchange = "promoted_exchange"
    reopened = "reopened"
    merged = "merged"
    # Not named "split": a StrEnum member of that name would hide str.split.
    split_off = "split"
    alert_updated = "alert_updated"
    reviewed = "reviewed"
    suggestion_accepted = "suggestion_accepted"
    suggestion_rejected = "suggestion_rejected"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class IntakeSettings(Base):
    """Per-org intake configuration: the public channel and the model names to match signals against."""

    __tablename__ = "intake_settings"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    public_form_enabled: Mapped[bool] = mapped_column(default=False)
    # Shown above the public form: what to report here and what happens next.
    intro: Mapped[str] = mapped_column(Text, default="")
    allow_anonymous: Mapped[bool] = mapped_column(default=True)
    # A person needs a few seconds to fill the form; a bot posting at once is refused.
    min_fill_seconds: Mapped[int] = mapped_column(default=3)
    # Extra names and aliases matched against signal text, on top of the response model inventory.
    model_names: Mapped[list[str]] = mapped_column(default=list)
    # Clustering and known-incident thresholds (None: the defaults of intake.similarity for the
    # similarity in use), tuned per org against its own accepted and rejected suggestions.
    cluster_threshold: Mapped[float | None]
    known_threshold: Mapped[float | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertSource(IdMixin, Base):
    """A monitoring system allowed to post alerts; HMAC-signed (generic) or bearer-authenticated
    (Alertmanager, which cannot sign)."""

    __tablename__ = "intake_alert_source"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    format: Mapped[AlertFormat] = mapped_column(enum_column(AlertFormat, "intake_alert_format"))
    # Kept in clear because verifying an HMAC needs it (like outgoing webhook secrets).
    hmac_secret: Mapped[str] = mapped_column(String(200))
    # Only the sha256 of the bearer secret is kept: it is compared, never reused.
    bearer_digest: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_received_at: Mapped[datetime | None]
    received_count: Mapped[int] = mapped_column(default=0)


class WebhookDelivery(Base):
    """Signatures already accepted, kept for the replay window so a captured request cannot be replayed."""

    __tablename__ = "intake_webhook_delivery"

    source_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("intake_alert_source.id", ondelete="CASCADE"), primary_key=True
    )
    mac: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class Feed(IdMixin, Base):
    __tablename__ = "intake_feed"
    __table_args__ = (
        UniqueConstraint("org_id", "url", name="uq_intake_feed_org_url"),
        Index("ix_intake_feed_due", "active", "next_poll_at"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    kind: Mapped[FeedKind] = mapped_column(enum_column(FeedKind, "intake_feed_kind"))
    title: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(default=True)
    poll_interval_seconds: Mapped[int] = mapped_column(default=900)
    next_poll_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_polled_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    # Validators from the last 200, sent back as If-None-Match / If-Modified-Since.
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    items_total: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Cluster(IdMixin, Base):
    """Signals about one event. Made automatically from near-duplicates; people merge and split them."""

    __tablename__ = "intake_cluster"
    __table_args__ = (Index("ix_intake_cluster_org_last", "org_id", "last_signal_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    signal_count: Mapped[int] = mapped_column(default=0)
    # Made or changed by a person (split): automatic merging leaves it alone from then on.
    curated: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_signal_at: Mapped[datetime] = mapped_column(default=utcnow)

    signals: Mapped[list[Signal]] = relationship(back_populates="cluster", lazy="raise")


class Signal(IdMixin, Base):
    __tablename__ = "intake_signal"
    __table_args__ = (
        UniqueConstraint("org_id", "dedupe_key", name="uq_intake_signal_org_dedupe_key"),
        # The triage queue: an org's signals by state, newest first.
        Index("ix_intake_signal_queue", "org_id", "state", "received_at"),
        Index("ix_intake_signal_org_text_hash", "org_id", "text_hash"),
        # A cluster's most recent members (matching._neighbourhood reads at most 40 per cluster).
        Index("ix_intake_signal_cluster_recent", "cluster_id", "received_at"),
        # The placement queue (intake.placement): only signals still waiting, oldest first. Partial, so
        # it stays as small as the backlog however large the table grows.
        Index(
            "ix_intake_signal_placement_pending",
            "received_at",
            postgresql_where=text("placement_pending"),
            sqlite_where=text("placement_pending"),
        ),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    # SF-R-XXXX-XXXX: printed on receipts; random, so it says nothing about volume or order.
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    source_kind: Mapped[SourceKind] = mapped_column(enum_column(SourceKind, "intake_source_kind"))
    feed_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("intake_feed.id", ondelete="SET NULL"), index=True)
    alert_source_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("intake_alert_source.id", ondelete="SET NULL"), index=True
    )
    # What makes a re-delivery the same signal: a feed entry id, an alert group key, an AIID incident id.
    dedupe_key: Mapped[str | None] = mapped_column(String(200))

    title: Mapped[str] = mapped_column(String(300))
    # Normalised plain text (HTML stripped, Unicode normalised, bounded), what dedup and search read.
    text: Mapped[str] = mapped_column(Text, default="")
    text_hash: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(2000))
    # similarity.canonical_url of `url`: the same article reached through different links.
    canonical_url: Mapped[str | None] = mapped_column(String(2000))
    authors: Mapped[list[str]] = mapped_column(default=list)
    # The payload as it arrived (form fields, alert JSON, feed entry), unknown fields included.
    raw_payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raw_content_type: Mapped[str | None] = mapped_column(String(100))
    # Licence and credit for imported records (e.g. AIID: CC BY-SA 4.0).
    attribution: Mapped[str | None] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    update_count: Mapped[int] = mapped_column(default=0)
    # For alerts: firing or resolved, as last reported.
    alert_status: Mapped[str | None] = mapped_column(String(20))

    reporter_name: Mapped[str | None] = mapped_column(String(200))
    reporter_contact: Mapped[str | None] = mapped_column(String(300))
    anonymous: Mapped[bool] = mapped_column(default=False)
    # Set for downstream API reports so the submitting org can check status; never shown to the receiver
    # when the report is anonymous.
    submitter_org_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    submitter_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    state: Mapped[TriageState] = mapped_column(enum_column(TriageState, "intake_triage_state"), default=TriageState.new)
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("intake_signal.id", ondelete="SET NULL"))
    dismiss_reason: Mapped[str | None] = mapped_column(Text)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("response_incident.id", ondelete="SET NULL"), index=True
    )
    # exchange_item lives in an earlier revision too, but the exchange owns its lifecycle: a plain id.
    exchange_item_id: Mapped[uuid.UUID | None]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    cluster_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("intake_cluster.id", ondelete="SET NULL"), index=True
    )
    # Word-shingle Jaccard similarity to the signal it was clustered with (None if it started the cluster).
    similarity: Mapped[float | None]
    # What near-duplicate detection compares: title and text (or an alert's summaries) in matching form
    # (normalize.normalize_for_matching), kept so a lookup never normalises stored texts again.
    match_text: Mapped[str] = mapped_column(Text, default="")
    # Stored and acknowledged, not yet clustered, scored for relevance, audited or announced: the worker
    # does that in batches (intake.placement). Shown as "clustering pending".
    placement_pending: Mapped[bool] = mapped_column(default=False)
    # Who sent it, as the deferred audit entry will name them (the request's actor label).
    received_by: Mapped[str | None] = mapped_column(String(300))
    # MinHash signature (dedup.Signature.to_bytes) of match_text; its LSH bands are in intake_signal_band.
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Sentence embedding (float32, unit length) when the optional embedder is installed.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)

    likely_severity: Mapped[Severity] = mapped_column(enum_column(Severity, "intake_severity"), default=Severity.SEV4)
    severity_reasons: Mapped[list[str]] = mapped_column(default=list)
    # 0..1: how strongly the text names the org's own models.
    relevance: Mapped[float] = mapped_column(default=0.0)
    matched_models: Mapped[list[str]] = mapped_column(default=list)

    cluster: Mapped[Cluster | None] = relationship(back_populates="signals", lazy="raise")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="signal", lazy="raise")
    additions: Mapped[list[Addition]] = relationship(back_populates="signal", lazy="raise")


class SignalBand(Base):
    """MinHash LSH bands: two signals sharing a band are candidate near-duplicates. Kept in the
    database so every process sees the same index and it survives restarts."""

    __tablename__ = "intake_signal_band"
    __table_args__ = (Index("ix_intake_signal_band_lookup", "org_id", "band"),)

    signal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("intake_signal.id", ondelete="CASCADE"), primary_key=True)
    band: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))


class TermStatsRow(Base):
    """An org's document frequencies per hashed term (similarity.TermStats), for TF-IDF weights."""

    __tablename__ = "intake_term_stats"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    docs: Mapped[int] = mapped_column(default=0)
    df: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Verdict(StrEnum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"


class MatchSuggestion(IdMixin, Base):
    """Known or new: the existing cluster (and incident) a new signal most likely belongs to, with the
    score and the reason. A triager's accept or reject is kept to calibrate the thresholds."""

    __tablename__ = "intake_match"
    __table_args__ = (Index("ix_intake_match_org_verdict", "org_id", "verdict"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    signal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("intake_signal.id", ondelete="CASCADE"), unique=True)
    cluster_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("intake_cluster.id", ondelete="SET NULL"))
    matched_signal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("intake_signal.id", ondelete="SET NULL"))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("response_incident.id", ondelete="SET NULL"))
    score: Mapped[float]
    # score >= the org's known threshold when suggested; otherwise the answer was "new".
    known: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    verdict: Mapped[Verdict] = mapped_column(enum_column(Verdict, "intake_match_verdict"), default=Verdict.pending)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(IdMixin, Base):
    __tablename__ = "intake_attachment"

    signal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("intake_signal.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    signal: Mapped[Signal] = relationship(back_populates="attachments", lazy="raise")


class Addition(IdMixin, Base):
    """Information a reporter added after the first submission, through their receipt."""

    __tablename__ = "intake_addition"

    signal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("intake_signal.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    signal: Mapped[Signal] = relationship(back_populates="additions", lazy="raise")


class Decision(IdMixin, Base):
    """One triage decision, automatic or human, with its reason. A sample of automatic ones is flagged
    for a person to confirm or undo, so the automation's error rate can be measured."""

    __tablename__ = "intake_decision"
    __table_args__ = (
        Index("ix_intake_decision_signal", "signal_id", "at"),
        Index("ix_intake_decision_review", "org_id", "review_requested", "reviewed_at"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    signal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("intake_signal.id", ondelete="CASCADE"))
    cluster_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("intake_cluster.id", ondelete="SET NULL"))
    kind: Mapped[DecisionKind] = mapped_column(enum_column(DecisionKind, "intake_decision_kind"))
    automatic: Mapped[bool] = mapped_column(default=False)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    review_requested: Mapped[bool] = mapped_column(default=False)
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    review_outcome: Mapped[str | None] = mapped_column(String(20))


class MessageSide(StrEnum):
    lab = "lab"
    reporter = "reporter"


class ThreadMessage(IdMixin, Base):
    """One message in the conversation about a report from outside: the receiving org's answer to the
    reporter, the reporter's reply, or the org's internal note (``internal``: never shown to the reporter,
    never e-mailed; the reporter's reads filter on it in the query)."""

    __tablename__ = "intake_message"
    __table_args__ = (Index("ix_intake_message_signal", "signal_id", "created_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    signal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("intake_signal.id", ondelete="CASCADE"))
    side: Mapped[MessageSide] = mapped_column(enum_column(MessageSide, "intake_message_side"))
    internal: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    # The org member who wrote a lab message; a reporter's messages carry no identity here.
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    emailed: Mapped[bool] = mapped_column(default=False)

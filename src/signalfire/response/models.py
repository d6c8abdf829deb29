"""The response channel's tables: incidents and everything run on them, the model inventory,
on-call rosters and escalation, playbooks, government contacts and post-incident reviews.

Incident facts (awareness time, severity, drill flag, actions taken) are what the reporting and
readiness channels read; they never write here. Foreign keys point only at foundation tables or at
tables of this module.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, SmallInteger, String, Text, UniqueConstraint, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base, IdMixin, TimestampMixin, enum_column
from signalfire.response.vocab import (
    ActionKind,
    ActionStatus,
    IncidentStatus,
    ParticipantRole,
    RiskDomain,
    Severity,
)


class TimelineKind(StrEnum):
    """What a timeline entry records. Other channels add entries of their own kind (e.g. ``reporting``)."""

    STATUS_CHANGE = "status_change"
    NOTE = "note"
    ACTION = "action"
    EVIDENCE = "evidence"
    DECISION = "decision"
    SIGNAL = "signal"
    ROLE_CHANGE = "role_change"
    PLAYBOOK = "playbook"
    TASK = "task"
    PAGE = "page"
    NOTIFICATION = "notification"
    REVIEW = "review"
    REPORTING = "reporting"
    EXCHANGE = "exchange"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"


class PageStatus(StrEnum):
    """An escalation run: ``paging`` until acknowledged or every level has been notified."""

    PAGING = "paging"
    ACKNOWLEDGED = "acknowledged"
    EXHAUSTED = "exhausted"


class ContactChannel(StrEnum):
    PHONE = "phone"
    SECURE_EMAIL = "secure_email"
    EMAIL = "email"
    PORTAL = "portal"


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    CLOSED = "closed"


class ModelVersion(IdMixin, TimestampMixin, Base):
    """The org's model inventory: actions and affected models must name one of these."""

    __tablename__ = "response_model_version"
    __table_args__ = (UniqueConstraint("org_id", "name", "version", name="uq_response_model_version_key"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    # Where this version is served: "api", "consumer-app", "internal-agents", region names...
    surfaces: Mapped[list[str]] = mapped_column(default=list)
    deployed_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]

    @property
    def key(self) -> str:
        """The string incidents store in ``affected_models``: ``"<name> <version>"``."""
        return model_key(self.name, self.version)


def model_key(name: str, version: str) -> str:
    return f"{name} {version}"


class ReferenceCounter(Base):
    """The last incident number used per org and year; locked while a reference is drawn."""

    __tablename__ = "response_reference_counter"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Incident(IdMixin, Base):
    __tablename__ = "response_incident"
    __table_args__ = (
        UniqueConstraint("org_id", "reference", name="uq_response_incident_org_reference"),
        # The open-incident board: an org's incidents not yet closed, most severe and oldest first. Partial,
        # so it holds only the few open incidents however many closed ones accumulate.
        Index(
            "ix_response_incident_open",
            "org_id",
            "severity",
            "aware_at",
            postgresql_where=text("status <> 'closed'"),
            sqlite_where=text("status <> 'closed'"),
        ),
        # Metrics over a period, drills filtered out.
        Index("ix_response_incident_metrics", "org_id", "is_drill", "aware_at"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, "response_severity"))
    risk_domain: Mapped[RiskDomain] = mapped_column(enum_column(RiskDomain, "response_risk_domain"))
    status: Mapped[IncidentStatus] = mapped_column(
        enum_column(IncidentStatus, "response_incident_status"), default=IncidentStatus.REPORTED
    )
    is_drill: Mapped[bool] = mapped_column(default=False)
    # "<model name> <version>" strings, each naming a ModelVersion of the org.
    affected_models: Mapped[list[str]] = mapped_column(default=list)
    occurred_at: Mapped[datetime | None]
    # When the org became aware: the instant reporting clocks and response metrics start from.
    aware_at: Mapped[datetime]
    reported_at: Mapped[datetime]
    # The first time the incident entered each status (a reopen keeps the first time).
    triaged_at: Mapped[datetime | None]
    contained_at: Mapped[datetime | None]
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # When it entered its current status (a transition may not be dated before it).
    status_changed_at: Mapped[datetime]
    # Where the incident came from when it was opened from another record, e.g. "intake:signal:<id>".
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    timeline: Mapped[list[TimelineEntry]] = relationship(back_populates="incident", lazy="raise")
    participants: Mapped[list[IncidentParticipant]] = relationship(back_populates="incident", lazy="raise")
    actions: Mapped[list[ResponseAction]] = relationship(back_populates="incident", lazy="raise")
    tasks: Mapped[list[IncidentTask]] = relationship(back_populates="incident", lazy="raise")
    review: Mapped[PostIncidentReview | None] = relationship(back_populates="incident", lazy="raise")

    def transition_time(self, status: IncidentStatus) -> datetime | None:
        """The first time the incident entered ``status`` (``reported_at`` for reported)."""
        if status is IncidentStatus.REPORTED:
            return self.reported_at
        value: datetime | None = getattr(self, f"{status.value}_at")
        return value


class TimelineEntry(IdMixin, Base):
    """An append-only event on an incident. ``at`` is when it happened; ``recorded_at`` when it was stored."""

    __tablename__ = "response_timeline_entry"
    __table_args__ = (Index("ix_response_timeline_entry_incident_at", "incident_id", "at"),)

    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response_incident.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[TimelineKind] = mapped_column(enum_column(TimelineKind, "response_timeline_kind"))
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # The author's name at the time, kept even if the account is later renamed or removed.
    author_label: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # None for entries written here; for imported entries, where they came from ("intake:signal:<id>").
    source: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    incident: Mapped[Incident] = relationship(back_populates="timeline", lazy="raise")


@event.listens_for(TimelineEntry, "before_update")
def _timeline_is_append_only(mapper: Mapper[Any], connection: Connection, target: TimelineEntry) -> None:
    raise RuntimeError("timeline entries are append-only; add a correcting entry instead")


@event.listens_for(TimelineEntry, "before_delete")
def _timeline_is_not_deleted(mapper: Mapper[Any], connection: Connection, target: TimelineEntry) -> None:
    raise RuntimeError("timeline entries are append-only; they go only with their incident")


class IncidentParticipant(IdMixin, Base):
    """Someone holding a role in an incident, with when they took it on and gave it up.

    External participants (outside counsel, a forensic contractor) are users of another org; the
    participant row is their only access, and only to this incident.
    """

    __tablename__ = "response_participant"
    __table_args__ = (
        Index("ix_response_participant_incident_role", "incident_id", "role", "renounced_at"),
        Index("ix_response_participant_user", "user_id", "role", "renounced_at"),
    )

    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response_incident.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[ParticipantRole] = mapped_column(enum_column(ParticipantRole, "response_participant_role"))
    # Name and affiliation at the time, e.g. "Kit Osei (Northgate Forensics, forensic contractor)".
    label: Mapped[str] = mapped_column(String(300))
    affiliation: Mapped[str | None] = mapped_column(String(200))
    assumed_at: Mapped[datetime]
    renounced_at: Mapped[datetime | None]
    added_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    incident: Mapped[Incident] = relationship(back_populates="participants", lazy="raise")


class ResponseAction(IdMixin, Base):
    """A typed containment or remediation action with its clock: requested, started, completed,
    verified, against a target time (e.g. a global rollback within 12 hours)."""

    __tablename__ = "response_action"
    __table_args__ = (
        Index("ix_response_action_incident", "incident_id", "status"),
        Index("ix_response_action_org_kind", "org_id", "kind", "verified_at"),
    )

    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response_incident.id", ondelete="CASCADE"))
    # Copied from the incident so readiness can ask "the org's verified rollbacks" without a join.
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    is_drill: Mapped[bool] = mapped_column(default=False)
    kind: Mapped[ActionKind] = mapped_column(enum_column(ActionKind, "response_action_kind"))
    status: Mapped[ActionStatus] = mapped_column(
        enum_column(ActionStatus, "response_action_status"), default=ActionStatus.REQUESTED
    )
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # Rollback: from -> to. Restriction, safeguard change: the model version it applies to (from_version).
    from_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("response_model_version.id", ondelete="RESTRICT")
    )
    to_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("response_model_version.id", ondelete="RESTRICT")
    )
    # Surfaces, regions or account sets the action covers ("api", "consumer-app", "internal").
    scope: Mapped[list[str]] = mapped_column(default=list)
    # Restriction or throttling: which capability ("browsing", "code-execution", "fine-tuning-api").
    capability: Mapped[str | None] = mapped_column(String(200))
    # Kind-specific extras: revoked key ids, blocked account ids, notified party, throttle limits.
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    verified_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # How completion was checked independently: a probe or eval run, a deployment manifest hash.
    verification: Mapped[str | None] = mapped_column(Text)
    target_at: Mapped[datetime | None]
    # External notifications from drills are recorded but never sent.
    suppressed: Mapped[bool] = mapped_column(default=False)
    # When the action came from a playbook step's task.
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("response_task.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    incident: Mapped[Incident] = relationship(back_populates="actions", lazy="raise")
    from_version: Mapped[ModelVersion | None] = relationship(foreign_keys=[from_version_id], lazy="raise")
    to_version: Mapped[ModelVersion | None] = relationship(foreign_keys=[to_version_id], lazy="raise")

    @property
    def met_target(self) -> bool | None:
        """Whether it completed by its target time; None while that is not yet known."""
        if self.target_at is None:
            return None
        if self.completed_at is None:
            return False if utcnow() > self.target_at else None
        return self.completed_at <= self.target_at


class Playbook(IdMixin, Base):
    """One version of a risk-domain playbook. Editing makes a new version; old ones stay as they were,
    so the plan in force at any past date can be shown."""

    __tablename__ = "response_playbook"
    __table_args__ = (UniqueConstraint("org_id", "slug", "version", name="uq_response_playbook_version"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    risk_domain: Mapped[RiskDomain] = mapped_column(enum_column(RiskDomain, "response_risk_domain"))
    # The declaration rule and severity thresholds, in the org's words.
    criteria: Mapped[str] = mapped_column(Text, default="")
    # Ordered steps: {"title", "role", "target_minutes", "detail", "action_kind"}.
    steps: Mapped[list[Any]] = mapped_column(default=list)
    is_current: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class IncidentTask(IdMixin, Base):
    """A task on an incident, created when a playbook is started (or by hand)."""

    __tablename__ = "response_task"
    __table_args__ = (Index("ix_response_task_incident", "incident_id", "position"),)

    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response_incident.id", ondelete="CASCADE"))
    playbook_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("response_playbook.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[ParticipantRole | None] = mapped_column(enum_column(ParticipantRole, "response_participant_role"))
    action_kind: Mapped[ActionKind | None] = mapped_column(enum_column(ActionKind, "response_action_kind"))
    due_at: Mapped[datetime | None]
    status: Mapped[TaskStatus] = mapped_column(enum_column(TaskStatus, "response_task_status"), default=TaskStatus.OPEN)
    done_at: Mapped[datetime | None]
    done_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="tasks", lazy="raise")


class Roster(IdMixin, TimestampMixin, Base):
    """A team's on-call schedule: rotation layers (lowest priority first) plus overrides."""

    __tablename__ = "response_roster"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    team: Mapped[str] = mapped_column(String(120))
    # An incident-commander rota for one risk domain, or None for a general on-call.
    risk_domain: Mapped[RiskDomain | None] = mapped_column(enum_column(RiskDomain, "response_risk_domain"))
    time_zone: Mapped[str] = mapped_column(String(60), default="UTC")

    layers: Mapped[list[RosterLayer]] = relationship(
        back_populates="roster", lazy="raise", order_by="RosterLayer.position"
    )
    overrides: Mapped[list[RosterOverride]] = relationship(
        back_populates="roster", lazy="raise", order_by="RosterOverride.created_at"
    )


class RosterLayer(IdMixin, Base):
    __tablename__ = "response_roster_layer"

    roster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response_roster.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(120))
    # User ids (as strings) in rotation order.
    participants: Mapped[list[str]] = mapped_column(default=list)
    anchor: Mapped[datetime]
    shift_minutes: Mapped[int]
    time_zone: Mapped[str] = mapped_column(String(60), default="UTC")
    # Local-time windows: [{"start": "09:00", "end": "17:00", "days": [0, 1, 2, 3, 4]}]; empty = always.
    windows: Mapped[list[Any]] = mapped_column(default=list)
    until: Mapped[datetime | None]

    roster: Mapped[Roster] = relationship(back_populates="layers", lazy="raise")


class RosterOverride(IdMixin, Base):
    __tablename__ = "response_roster_override"

    roster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response_roster.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    start: Mapped[datetime]
    end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    roster: Mapped[Roster] = relationship(back_populates="overrides", lazy="raise")


class EscalationPolicyRecord(IdMixin, TimestampMixin, Base):
    """A stored escalation policy. Level targets are "user:<id>" or "roster:<id>" (whoever is on call)."""

    __tablename__ = "response_escalation_policy"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    risk_domain: Mapped[RiskDomain | None] = mapped_column(enum_column(RiskDomain, "response_risk_domain"))
    # [{"targets": ["roster:<id>", "user:<id>"], "wait_minutes": 10}, ...]
    levels: Mapped[list[Any]] = mapped_column(default=list)
    repeat: Mapped[int] = mapped_column(default=0)
    # Also post each notification to the org's webhooks subscribed to "response.page".
    webhooks: Mapped[bool] = mapped_column(default=True)


class Page(IdMixin, Base):
    """One escalation run. The policy is snapshotted when paging starts, so editing the policy cannot
    change an escalation already running; ``sent`` holds the "cycle:level" keys already delivered."""

    __tablename__ = "response_page"
    __table_args__ = (Index("ix_response_page_due", "status", "next_check_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("response_incident.id", ondelete="CASCADE"), index=True
    )
    policy_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("response_escalation_policy.id", ondelete="SET NULL")
    )
    snapshot: Mapped[dict[str, Any]]
    webhooks: Mapped[bool] = mapped_column(default=True)
    summary: Mapped[str] = mapped_column(String(300))
    status: Mapped[PageStatus] = mapped_column(
        enum_column(PageStatus, "response_page_status"), default=PageStatus.PAGING
    )
    paged_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    sent: Mapped[list[str]] = mapped_column(default=list)
    next_check_at: Mapped[datetime | None]
    is_drill: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class GovernmentContact(IdMixin, TimestampMixin, Base):
    """A government or external point of contact for a risk domain and jurisdiction."""

    __tablename__ = "response_contact"
    __table_args__ = (Index("ix_response_contact_org_domain", "org_id", "risk_domain"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    agency: Mapped[str] = mapped_column(String(200))
    risk_domain: Mapped[RiskDomain] = mapped_column(enum_column(RiskDomain, "response_risk_domain"))
    jurisdiction: Mapped[str] = mapped_column(String(20))
    is_government: Mapped[bool] = mapped_column(default=True)
    channel: Mapped[ContactChannel] = mapped_column(enum_column(ContactChannel, "response_contact_channel"))
    address: Mapped[str] = mapped_column(String(300))
    backup_address: Mapped[str | None] = mapped_column(String(300))
    reachable_24h: Mapped[bool] = mapped_column(default=False)
    hours: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    last_verified_at: Mapped[datetime | None]
    verified_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class PostIncidentReview(IdMixin, TimestampMixin, Base):
    __tablename__ = "response_review"

    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response_incident.id", ondelete="CASCADE"), unique=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    status: Mapped[ReviewStatus] = mapped_column(
        enum_column(ReviewStatus, "response_review_status"), default=ReviewStatus.DRAFT
    )
    root_cause: Mapped[str] = mapped_column(Text, default="")
    contributing_factors: Mapped[list[str]] = mapped_column(default=list)
    went_well: Mapped[str] = mapped_column(Text, default="")
    went_badly: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    incident: Mapped[Incident] = relationship(back_populates="review", lazy="raise")
    items: Mapped[list[ReviewActionItem]] = relationship(
        back_populates="review", lazy="raise", order_by="ReviewActionItem.position"
    )


class ReviewActionItem(IdMixin, Base):
    """A follow-up from a review, with an owner and a due date."""

    __tablename__ = "response_review_item"

    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response_review.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(300))
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    due_on: Mapped[date | None]
    status: Mapped[TaskStatus] = mapped_column(enum_column(TaskStatus, "response_task_status"), default=TaskStatus.OPEN)
    done_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    review: Mapped[PostIncidentReview] = relationship(back_populates="items", lazy="raise")


class MetricRollup(IdMixin, Base):
    """Part of a sketch of response times (``rollup``): bucketed duration counts of one org's incidents
    that it became aware of in one UTC day, month or year. A period may have several rows (each incident
    change appends its difference; a periodic job folds them into one); readers add them all up. Derived
    data, rebuilt from incidents at any time."""

    __tablename__ = "response_metric_rollup"
    __table_args__ = (Index("ix_response_metric_rollup_period", "org_id", "grain", "period"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    grain: Mapped[str] = mapped_column(String(5))
    period: Mapped[date] = mapped_column(Date)
    layout: Mapped[int] = mapped_column(SmallInteger)
    counts: Mapped[bytes] = mapped_column(LargeBinary)


# Sketches follow every ORM write of an incident; importing the module registers its mapper events.
from signalfire.response import rollup as _rollup  # noqa: E402,F401

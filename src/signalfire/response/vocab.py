"""The response channel's fixed vocabularies.

Every enum is persisted by its value (lower-case, stable) and shown by its ``label``. Order of
declaration is meaningful where it says so (severity rank, status order).
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """Incident severity; SEV1 is the most severe."""

    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"

    @property
    def label(self) -> str:
        return _SEVERITY_LABELS[self]

    @property
    def rank(self) -> int:
        """1 for SEV1 (most severe) to 4 for SEV4, for sorting and thresholds."""
        return int(self.value[-1])


_SEVERITY_LABELS: dict[Severity, str] = {
    Severity.SEV1: "SEV1 (critical)",
    Severity.SEV2: "SEV2 (high)",
    Severity.SEV3: "SEV3 (moderate)",
    Severity.SEV4: "SEV4 (low)",
}


class RiskDomain(StrEnum):
    """The risk domain an incident belongs to; playbooks, IC rotas and contacts are per domain."""

    CBRN = "cbrn"
    CYBER_OFFENCE = "cyber_offence"
    AUTONOMY = "autonomy"
    MISUSE = "misuse"
    MODEL_WEIGHTS = "model_weights"
    PRIVACY = "privacy"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _DOMAIN_LABELS[self]


_DOMAIN_LABELS: dict[RiskDomain, str] = {
    RiskDomain.CBRN: "CBRN",
    RiskDomain.CYBER_OFFENCE: "Cyber offence",
    RiskDomain.AUTONOMY: "Autonomy / loss of control",
    RiskDomain.MISUSE: "Misuse and jailbreaks",
    RiskDomain.MODEL_WEIGHTS: "Model weights / security",
    RiskDomain.PRIVACY: "Privacy",
    RiskDomain.OTHER: "Other",
}


class IncidentStatus(StrEnum):
    """The incident lifecycle, in order. See ``lifecycle`` for the allowed moves."""

    REPORTED = "reported"
    TRIAGED = "triaged"
    CONTAINED = "contained"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def order(self) -> int:
        """Position in the lifecycle: 0 for reported to 5 for closed."""
        return _STATUS_ORDER.index(self)


_STATUS_ORDER: tuple[IncidentStatus, ...] = tuple(IncidentStatus)

_STATUS_LABELS: dict[IncidentStatus, str] = {
    # "New", not "Reported": the status is the internal report that opened it, and "reported" would read
    # as reported to an authority, which is the reporting channel's word.
    IncidentStatus.REPORTED: "New",
    IncidentStatus.TRIAGED: "Triaged",
    IncidentStatus.CONTAINED: "Contained",
    IncidentStatus.MITIGATED: "Mitigated",
    IncidentStatus.RESOLVED: "Resolved",
    IncidentStatus.CLOSED: "Closed",
}


class ActionKind(StrEnum):
    """Typed response actions; readiness asks about rollbacks and restrictions by kind."""

    MODEL_ROLLBACK = "model_rollback"
    CAPABILITY_RESTRICTION = "capability_restriction"
    SAFEGUARD_CHANGE = "safeguard_change"
    ACCESS_REVOCATION = "access_revocation"
    ACCESS_BLOCK = "access_block"
    EXTERNAL_NOTIFICATION = "external_notification"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _ACTION_KIND_LABELS[self]


_ACTION_KIND_LABELS: dict[ActionKind, str] = {
    ActionKind.MODEL_ROLLBACK: "Model rollback",
    ActionKind.CAPABILITY_RESTRICTION: "Capability restriction or throttling",
    ActionKind.SAFEGUARD_CHANGE: "Safeguard change",
    ActionKind.ACCESS_REVOCATION: "Account or key revocation",
    ActionKind.ACCESS_BLOCK: "Access block",
    ActionKind.EXTERNAL_NOTIFICATION: "External notification",
    ActionKind.OTHER: "Other",
}


class ActionStatus(StrEnum):
    """Where a response action stands.

    ``requested`` and ``in_progress`` are *open*: an incident with open actions cannot close.
    A completed action that nobody has verified yet does not block closure, but it is shown
    as unverified; verification is what readiness counts.
    """

    REQUESTED = "requested"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    VERIFIED = "verified"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _ACTION_STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self in (ActionStatus.REQUESTED, ActionStatus.IN_PROGRESS)


_ACTION_STATUS_LABELS: dict[ActionStatus, str] = {
    ActionStatus.REQUESTED: "Requested",
    ActionStatus.IN_PROGRESS: "In progress",
    ActionStatus.COMPLETED: "Completed, not verified",
    ActionStatus.VERIFIED: "Verified",
    ActionStatus.FAILED: "Failed",
    ActionStatus.CANCELLED: "Cancelled",
}


class ParticipantRole(StrEnum):
    """Roles people hold in an incident; only the commander is held by one person at a time."""

    COMMANDER = "commander"
    SCRIBE = "scribe"
    LIAISON = "liaison"
    DOMAIN_LEAD = "domain_lead"
    EXTERNAL = "external"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]

    @property
    def is_exclusive(self) -> bool:
        """True when at most one person may hold the role at any instant."""
        return self is ParticipantRole.COMMANDER


_ROLE_LABELS: dict[ParticipantRole, str] = {
    ParticipantRole.COMMANDER: "Incident commander",
    ParticipantRole.SCRIBE: "Scribe",
    ParticipantRole.LIAISON: "Liaison",
    ParticipantRole.DOMAIN_LEAD: "Domain lead",
    ParticipantRole.EXTERNAL: "External participant",
}

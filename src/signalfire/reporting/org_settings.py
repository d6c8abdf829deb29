"""An org's reporting settings: its own SLA for deadlines a text leaves open, and reminder lead times."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import ValidationFailed
from signalfire.reporting.models import OrgReportingSettings, ReminderLead

# The lead times an org may choose, in minutes before the due time (0: at the due time; negative: after
# it, an escalation). A fixed menu keeps the reminder sweep one query with precomputed thresholds.
LEAD_CHOICES: tuple[int, ...] = (10080, 4320, 2880, 1440, 720, 240, 60, 30, 0, -60, -1440)
DEFAULT_LEADS: tuple[int, ...] = (10080, 2880, 1440, 240, 60, 0, -1440)
MAX_SLA_MINUTES = 30 * 24 * 60
DEFAULT_PROMPT_MINUTES = 60
MAX_PROMPT_MINUTES = 7 * 24 * 60


def lead_label(minutes: int) -> str:
    if minutes == 0:
        return "at the due time"
    span = abs(minutes)
    text = f"{span // 1440} d" if span % 1440 == 0 else (f"{span // 60} h" if span % 60 == 0 else f"{span} min")
    return f"{text} before" if minutes > 0 else f"{text} overdue"


@dataclass(frozen=True)
class ReportingSettings:
    org_sla: timedelta | None
    leads: tuple[int, ...]
    custom_leads: bool
    # Minutes a SEV1/SEV2 may stay unassessed before the org is reminded (prompts.DEFAULT_DELAY).
    assessment_prompt_minutes: int = 60


def _minutes(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds() // 60)


def org_sla(session: Session, org_id: uuid.UUID) -> timedelta | None:
    minutes = session.execute(
        select(OrgReportingSettings.org_sla_minutes).where(OrgReportingSettings.org_id == org_id)
    ).scalar_one_or_none()
    return timedelta(minutes=minutes) if minutes is not None else None


def get_settings(session: Session, org_id: uuid.UUID) -> ReportingSettings:
    leads = tuple(
        sorted(
            session.execute(select(ReminderLead.minutes).where(ReminderLead.org_id == org_id)).scalars(), reverse=True
        )
    )
    prompt = session.execute(
        select(OrgReportingSettings.assessment_prompt_minutes).where(OrgReportingSettings.org_id == org_id)
    ).scalar_one_or_none()
    return ReportingSettings(
        org_sla(session, org_id),
        leads or DEFAULT_LEADS,
        bool(leads),
        DEFAULT_PROMPT_MINUTES if prompt is None else prompt,
    )


def update_settings(
    session: Session,
    actor: Actor,
    *,
    org_sla_minutes: int | None,
    leads: list[int] | None,
    assessment_prompt_minutes: int | None = None,
) -> ReportingSettings:
    """Change the org's SLA and lead times. Callers recompute open obligations (an SLA moves due times)."""
    require(actor, Permission.reporting_settings_manage)
    if org_sla_minutes is not None and not 0 <= org_sla_minutes <= MAX_SLA_MINUTES:
        raise ValidationFailed.single("org_sla_minutes", f"Between 0 and {MAX_SLA_MINUTES} minutes (30 days).")
    if assessment_prompt_minutes is not None and not 0 <= assessment_prompt_minutes <= MAX_PROMPT_MINUTES:
        raise ValidationFailed.single(
            "assessment_prompt_minutes", f"Between 0 and {MAX_PROMPT_MINUTES} minutes (7 days)."
        )
    if leads is not None:
        bad = [m for m in leads if m not in LEAD_CHOICES]
        if bad:
            raise ValidationFailed.single("leads", f"Lead times must be among {list(LEAD_CHOICES)}; got {bad}.")
        if not leads:
            raise ValidationFailed.single("leads", "Choose at least one lead time.")
    row = session.get(OrgReportingSettings, actor.org_id)
    if row is None:
        row = OrgReportingSettings(org_id=actor.org_id)
        session.add(row)
    before = get_settings(session, actor.org_id)
    row.org_sla_minutes = org_sla_minutes
    if assessment_prompt_minutes is not None:
        row.assessment_prompt_minutes = assessment_prompt_minutes
    row.updated_at = utcnow()
    row.updated_by_label = actor.display_name
    if leads is not None:
        session.execute(delete(ReminderLead).where(ReminderLead.org_id == actor.org_id))
        session.add_all(ReminderLead(org_id=actor.org_id, minutes=m) for m in sorted(set(leads)))
    session.flush()
    after = get_settings(session, actor.org_id)
    record(
        session,
        action="reporting.settings.update",
        target_type="organization",
        target_id=actor.org_id,
        actor=actor,
        summary={
            "org_sla_minutes": [_minutes(before.org_sla), _minutes(after.org_sla)],
            "leads": [list(before.leads), list(after.leads)],
            "assessment_prompt_minutes": [before.assessment_prompt_minutes, after.assessment_prompt_minutes],
        },
    )
    return after

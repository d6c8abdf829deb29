"""Turning notice rows into API output (shared by the JSON API and the CLI)."""

from __future__ import annotations

import uuid
from datetime import datetime

from signalfire.notices import clock
from signalfire.notices.models import Notice, Threshold
from signalfire.notices.schemas import ContactRef, NoticeOut, RecipientOut, ThresholdOut
from signalfire.response.models import GovernmentContact


def notice_out(notice: Notice, now: datetime) -> NoticeOut:
    standing = clock.standing(notice.due_at, notice.sent_at, now)
    return NoticeOut(
        id=notice.id,
        reference=notice.reference,
        status=notice.status,
        threshold_id=notice.threshold_id,
        evaluation_id=notice.evaluation_id,
        model_version_id=notice.model_version_id,
        clock_start_at=notice.clock_start_at,
        due_at=notice.due_at,
        clock=standing.state.value,
        subject=notice.subject,
        body=notice.body,
        opened_at=notice.opened_at,
        approved_at=notice.approved_at,
        sent_at=notice.sent_at,
        incident_id=notice.incident_id,
        linked_at=notice.linked_at,
        recipients=[RecipientOut.model_validate(r) for r in notice.recipients],
    )


def threshold_out(threshold: Threshold, contacts: dict[uuid.UUID, GovernmentContact]) -> ThresholdOut:
    refs = [
        ContactRef(
            id=c.id,
            agency=c.agency,
            jurisdiction=c.jurisdiction,
            channel=c.channel.value,
            reachable_24h=c.reachable_24h,
        )
        for c in (contacts.get(tc.contact_id) for tc in threshold.contacts)
        if c is not None
    ]
    return ThresholdOut(
        id=threshold.id,
        name=threshold.name,
        framework=threshold.framework,
        description=threshold.description,
        risk_domain=threshold.risk_domain,
        evaluation=threshold.evaluation,
        cutoff=threshold.cutoff,
        notify_within_minutes=threshold.notify_within_minutes,
        active=threshold.active,
        created_at=threshold.created_at,
        contacts=refs,
    )

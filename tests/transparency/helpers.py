"""Transparency test data: report definitions over a fixed past quarter, and a publish in one go."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, Role
from signalfire.transparency import service
from signalfire.transparency.models import TransparencyEdition, TransparencyReport
from signalfire.transparency.schemas import ReportIn, SignOffIn
from tests import factories

Q_START, Q_END = date(2026, 7, 1), date(2026, 9, 30)
ALL_KINDS = [
    "incidents_by_severity",
    "incidents_by_risk_domain",
    "signals_by_channel",
    "response_actions_by_kind",
    "content_removals",
    "reports_filed_by_regime",
    "exchange_items_by_category",
]


def definition(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Transparency report 2026 Q3",
        "period_start": Q_START.isoformat(),
        "period_end": Q_END.isoformat(),
        "threshold": 3,
        "sections": [
            {"heading": "Incidents", "body": "What we became aware of.", "metrics": ALL_KINDS[:2]},
            {"heading": "Enforcement and sharing", "body": "Actions taken.", "metrics": ALL_KINDS[2:]},
        ],
    }
    data.update(overrides)
    return data


def colleague(db: Session, actor: Actor, role: Role = Role.admin) -> Actor:
    org = db.get(Organization, actor.org_id)
    assert org is not None
    return factories.actor(db, role=role, organization=org)


def draft(db: Session, author: Actor, **overrides: Any) -> TransparencyReport:
    return service.create_report(db, author, ReportIn.model_validate(definition(**overrides)))


def published(db: Session, author: Actor, **overrides: Any) -> tuple[TransparencyReport, TransparencyEdition, Actor]:
    """A report written by ``author``, signed off and published by a second admin of the same org."""
    report = draft(db, author, **overrides)
    reviewer = colleague(db, author)
    service.sign_off(db, reviewer, report.id, SignOffIn())
    edition = service.publish(db, reviewer, report.id)
    return report, edition, reviewer


def org_slug(db: Session, actor: Actor) -> str:
    org = db.get(Organization, actor.org_id)
    assert org is not None
    return org.slug

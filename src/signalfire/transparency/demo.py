"""Transparency part of the demo: Aurora Labs' report for the twelve months to the last full month,
computed from the story the other channels seeded. Rhea (a reporter) writes it, Alice (an admin) signs it
off and publishes it; Rhea then clarifies a section, Alice signs off again and publishes edition 2, which
supersedes edition 1 (kept as it was). A draft for the current quarter waits for its period to end."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.service import build_actor
from signalfire.core.clock import utcnow
from signalfire.transparency import service
from signalfire.transparency.metrics import MetricKind
from signalfire.transparency.schemas import ReportFields, ReportIn, SectionIn, SignOffIn

if TYPE_CHECKING:
    from signalfire.demo import DemoContext

THRESHOLD = 3


def _sections(clarified: bool) -> list[SectionIn]:
    enforcement = (
        "Accounts and API keys revoked or blocked, content removed and models rolled back or restricted "
        "in response to misuse."
    )
    if clarified:
        enforcement += " Drills are excluded; each action counts once, when it was completed."
    return [
        SectionIn(
            heading="Incidents",
            body="Safety and security incidents we became aware of in the quarter, by severity and risk domain.",
            metrics=[MetricKind.INCIDENTS_BY_SEVERITY, MetricKind.INCIDENTS_BY_RISK_DOMAIN],
        ),
        SectionIn(
            heading="Reports we received",
            body="Reports from the public and from downstream developers, monitoring alerts and news feeds.",
            metrics=[MetricKind.SIGNALS_BY_CHANNEL],
        ),
        SectionIn(
            heading="Enforcement",
            body=enforcement,
            metrics=[MetricKind.RESPONSE_ACTIONS_BY_KIND, MetricKind.CONTENT_REMOVALS],
        ),
        SectionIn(
            heading="Reports to authorities and information sharing",
            body="Reports filed under each legal regime, and what we shared with other developers through the "
            "Frontier Safety Forum's exchange.",
            metrics=[MetricKind.REPORTS_FILED_BY_REGIME, MetricKind.EXCHANGE_ITEMS_BY_CATEGORY],
        ),
    ]


def _actor(session: Session, ctx: DemoContext, email: str) -> Actor:
    actor = build_actor(session, ctx.users[email], ctx.orgs["aurora"].id, via="demo")
    assert actor is not None
    return actor


def seed(session: Session, ctx: DemoContext) -> None:
    rhea = _actor(session, ctx, "rhea@aurora.example")
    alice = _actor(session, ctx, "alice@aurora.example")
    today = utcnow().date()
    this_quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    cur_start, cur_end = service.quarter(this_quarter)
    # Twelve months ending with the last full month: the story the other channels seeded spans that year.
    last_end = today.replace(day=1) - timedelta(days=1)
    last_start = date(last_end.year - 1, last_end.month, 1) + timedelta(days=31)
    last_start = last_start.replace(day=1)
    label = f"{last_start:%B %Y} to {last_end:%B %Y}"

    fields = {"period_start": last_start, "period_end": last_end, "threshold": THRESHOLD}
    report = service.create_report(
        session, rhea, ReportIn(title=f"Aurora Labs transparency report, {label}", sections=_sections(False), **fields)
    )
    service.sign_off(session, alice, report.id, SignOffIn(note="Figures checked against the incident board."))
    service.publish(session, alice, report.id)
    service.update_report(
        session,
        rhea,
        report.id,
        ReportFields(title=report.title, sections=_sections(True), **fields),
    )
    service.sign_off(session, alice, report.id, SignOffIn(note="Clarified how enforcement actions are counted."))
    edition = service.publish(session, alice, report.id)
    ctx.extra["transparency_report_id"] = report.id
    ctx.extra["transparency_edition_id"] = edition.id

    draft = service.create_report(
        session,
        rhea,
        ReportIn(
            title=f"Aurora Labs transparency report, {cur_start.year} Q{(cur_start.month - 1) // 3 + 1}",
            period_start=cur_start,
            period_end=cur_end,
            threshold=THRESHOLD,
            sections=_sections(True),
        ),
    )
    ctx.extra["transparency_draft_id"] = draft.id

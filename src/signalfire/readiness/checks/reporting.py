"""Readiness checks over the reporting channel: reports filed on time, and retention of at least five years."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import Session

from signalfire.readiness.scorecard import Channel, Context, Evidence, Finding, State
from signalfire.readiness.sqltime import seconds_between
from signalfire.readiness.wording import count, day
from signalfire.reporting.models import Case, Obligation, ObligationStatus
from signalfire.reporting.retention import FLOOR
from signalfire.response.models import Incident

MAX_LISTED = 12
COP = "eu-gpai-cop-c9"
# Five calendar years are never shorter than this (one leap day at least in any five-year run).
FIVE_YEARS = timedelta(days=5 * 365 + 1)


def incident_url(incident_id: object) -> str:
    """Reporting's page for one incident: its obligations, reports, retention and holds."""
    return f"/reporting/incidents/{incident_id}"


def reports_on_time(session: Session, ctx: Context) -> Finding:
    """Of the reports that fell due in the last 12 months (drills have none; waived or superseded ones are
    not owed), the share submitted by their due time. One not submitted by ``ctx.at`` is late."""
    closed_unowed = and_(
        Obligation.status.in_((ObligationStatus.waived, ObligationStatus.superseded)),
        Obligation.closed_at.is_not(None),
        Obligation.closed_at <= ctx.at,
    )
    owed = and_(
        Obligation.org_id == ctx.org_id,
        Obligation.due_at.is_not(None),
        Obligation.due_at >= ctx.year_start,
        Obligation.due_at < ctx.at,
        not_(closed_unowed),
        Incident.is_drill.is_(False),
        # Series occurrences shown ahead count once they are the next one owed: a missed step is one miss.
        Obligation.projected.is_(False),
    )
    on_time = and_(
        Obligation.submitted_at.is_not(None),
        Obligation.submitted_at <= ctx.at,
        Obligation.submitted_at <= Obligation.due_at,
    )
    submitted_late = and_(
        Obligation.submitted_at.is_not(None),
        Obligation.submitted_at <= ctx.at,
        Obligation.submitted_at > Obligation.due_at,
    )
    total, timely, late_filed = session.execute(
        select(func.count(), func.count().filter(on_time), func.count().filter(submitted_late))
        .select_from(Obligation)
        .join(Incident, Incident.id == Obligation.incident_id)
        .where(owed)
    ).one()
    if not total:
        return Finding(State.MISSING, "No report fell due in the last 12 months, so there is no rate to show.", None)
    rows = session.execute(
        select(
            Obligation.id,
            Obligation.incident_id,
            Obligation.regime_id,
            Obligation.stage,
            Obligation.due_at,
            Incident.reference,
            on_time.label("timely"),
        )
        .join(Incident, Incident.id == Obligation.incident_id)
        .where(owed)
        .order_by(on_time, Obligation.due_at.desc())
        .limit(MAX_LISTED)
    ).all()
    evidence = tuple(
        Evidence(
            f"{r.reference}: {r.stage} report under {r.regime_id}, due {day(r.due_at)}"
            + (", on time" if r.timely else ", late"),
            Channel.REPORTING,
            incident_url(r.incident_id),
            r.due_at,
        )
        for r in rows
    )
    rate = timely / total
    overdue = total - timely - late_filed
    summary = f"{timely} of {count(total, 'report')} due in the last 12 months filed on time ({round(rate * 100)}%)."
    if timely == total:
        return Finding(State.OK, summary, ctx.at, evidence, metric=rate)
    gaps = []
    if late_filed:
        gaps.append(f"{count(late_filed, 'report')} filed after the due time")
    if overdue:
        gaps.append(f"{count(overdue, 'report')} overdue and not yet filed")
    return Finding(State.GAP, summary, ctx.at, evidence, tuple(gaps), metric=rate)


def retention_five_years(session: Session, ctx: Context) -> Finding:
    """Records tied to reports are kept at least five years: the deployment's floor says so, and no incident
    record of the org is set to go, or went, sooner than five years after the incident."""
    floor_months = FLOOR.years * 12 + FLOOR.months
    evidence: tuple[Evidence, ...] = (
        Evidence("Code of Practice retention rule (Measure 9.4)", Channel.REPORTING, f"/reporting/regimes/{COP}"),
    )
    if floor_months < 60:
        return Finding(
            State.GAP, f"The retention floor is {FLOOR}, under five years.", ctx.at, evidence, (f"floor {FLOOR}",)
        )
    start = func.coalesce(Incident.occurred_at, Incident.aware_at)
    kept_for = seconds_between(session, Case.retain_until, start)
    gone_after = seconds_between(session, Case.purged_at, start)
    minimum = FIVE_YEARS.total_seconds()
    scope = and_(Case.org_id == ctx.org_id, Incident.reported_at <= ctx.at)
    first = session.execute(
        select(Case.incident_id, Incident.reference)
        .join(Incident, Incident.id == Case.incident_id)
        .where(scope, Case.purged_at.is_(None), Case.retain_until.is_not(None))
        .order_by(Case.retain_until)
        .limit(1)
    ).first()
    if first is not None:
        evidence += (
            Evidence(
                f"{first.reference}: first incident record due for release",
                Channel.REPORTING,
                incident_url(first.incident_id),
            ),
        )
    cases, short, purged_early, earliest = session.execute(
        select(
            func.count().filter(Case.retain_until.is_not(None)),
            func.count().filter(Case.purged_at.is_(None), kept_for < minimum),
            func.count().filter(Case.purged_at.is_not(None), Case.purged_at <= ctx.at, gone_after < minimum),
            func.min(Case.retain_until).filter(Case.purged_at.is_(None)),
        )
        .select_from(Case)
        .join(Incident, Incident.id == Case.incident_id)
        .where(scope)
    ).one()
    gaps = []
    if short:
        gaps.append(f"{count(short, 'incident record')} set to be kept less than five years")
    if purged_early:
        gaps.append(f"{count(purged_early, 'incident record')} purged before five years")
    if gaps:
        return Finding(State.GAP, "Some reporting records are not kept for five years.", ctx.at, evidence, tuple(gaps))
    held = (
        f"; {count(cases, 'incident record')} held, the first due for release on {day(earliest)}"
        if cases and earliest is not None
        else "; no incident records to keep yet"
    )
    return Finding(
        State.OK, f"Reporting records are kept for at least five years (floor {FLOOR}){held}.", ctx.at, evidence
    )

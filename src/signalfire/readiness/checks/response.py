"""Readiness checks over the response channel: roster, commanders, playbooks, timed actions, drills,
government contacts. Each query is filtered by the org and bounded by ``ctx.at``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from signalfire.readiness.periods import months_before
from signalfire.readiness.scorecard import Channel, Context, Evidence, Finding, State
from signalfire.readiness.sqltime import seconds_between
from signalfire.readiness.wording import count, day, listing, span
from signalfire.response import coverage
from signalfire.response.models import (
    GovernmentContact,
    Incident,
    IncidentParticipant,
    Playbook,
    ResponseAction,
    Roster,
    RosterOverride,
)
from signalfire.response.oncall import to_layer
from signalfire.response.vocab import ActionKind, ActionStatus, ParticipantRole, RiskDomain

# How far ahead the roster must have someone on call (anchors: "coverage for the next N weeks").
ROSTER_HORIZON = timedelta(weeks=4)
MAX_LISTED = 12
# The index's "within 12h" for a global rollback; restriction is held to the same target.
ACTION_TARGET = timedelta(hours=12)
# A 24-hour government contact counts when it was checked this recently.
CONTACT_FRESHNESS = timedelta(days=90)


def _incident_url(incident_id: object) -> str:
    return f"/response/incidents/{incident_id}"


# -- roster --------------------------------------------------------------------------------------------------


def _pure(roster: Roster, overrides: list[RosterOverride]) -> coverage.Roster:
    layers = []
    for row in sorted(roster.layers, key=lambda x: x.position):
        try:
            layers.append(to_layer(row))
        except ValueError:  # a layer the pure model refuses (no participants) covers nothing
            continue
    return coverage.Roster(
        layers=tuple(layers), overrides=tuple(coverage.Override(o.start, o.end, str(o.user_id)) for o in overrides)
    )


def _intersect(a: list[coverage.Gap], b: list[coverage.Gap]) -> list[coverage.Gap]:
    """Stretches uncovered in both lists (each sorted and disjoint)."""
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i].start, b[j].start), min(a[i].end, b[j].end)
        if lo < hi:
            out.append(coverage.Gap(lo, hi))
        if a[i].end <= b[j].end:
            i += 1
        else:
            j += 1
    return out


def _gap_text(gap: coverage.Gap) -> str:
    same_day = gap.start.date() == gap.end.date() or gap.end.time().isoformat() == "00:00:00"
    end = gap.end.strftime("%H:%M") if same_day else gap.end.strftime("%a %Y-%m-%d %H:%M")
    return f"{gap.start.strftime('%a %Y-%m-%d %H:%M')} to {end} UTC ({span(gap.duration)})"


def roster_coverage(session: Session, ctx: Context) -> Finding:
    """Someone on call at every instant of the next four weeks, for every risk domain in scope: a general
    roster covers every domain, a domain's own IC rota covers that domain."""
    rosters = (
        session.execute(
            select(Roster)
            .where(Roster.org_id == ctx.org_id, Roster.created_at <= ctx.at)
            .options(selectinload(Roster.layers))
            .order_by(Roster.team)
        )
        .scalars()
        .all()
    )
    evidence = tuple(
        Evidence(
            f"Roster: {r.team} ({r.risk_domain.label if r.risk_domain else 'all domains'})",
            Channel.RESPONSE,
            f"/response/rosters/{r.id}",
        )
        for r in rosters
    )
    if not rosters:
        return Finding(State.MISSING, "No on-call roster is recorded.", None)
    start, end = ctx.at, ctx.at + ROSTER_HORIZON
    # Only the overrides that touch the horizon and existed at ``ctx.at``, in creation order (later wins).
    overrides: dict[object, list[RosterOverride]] = {r.id: [] for r in rosters}
    for o in session.execute(
        select(RosterOverride)
        .where(
            RosterOverride.roster_id.in_(list(overrides)),
            RosterOverride.created_at <= ctx.at,
            RosterOverride.end > start,
            RosterOverride.start < end,
            RosterOverride.end > RosterOverride.start,
        )
        .order_by(RosterOverride.created_at)
    ).scalars():
        overrides[o.roster_id].append(o)
    gaps_of = {r.id: coverage.gaps(_pure(r, overrides[r.id]), start, end) for r in rosters}
    general = [r for r in rosters if r.risk_domain is None]
    per_domain: list[tuple[RiskDomain, tuple[coverage.Gap, ...]]] = []
    for domain in ctx.domains:
        applicable = general + [r for r in rosters if r.risk_domain is domain]
        found = [coverage.Gap(start, end)]
        for r in applicable:
            found = _intersect(found, gaps_of[r.id])
        per_domain.append((domain, tuple(found)))
    uncovered = [(d, g) for d, g in per_domain if g]
    weeks = ROSTER_HORIZON.days // 7
    if not uncovered:
        return Finding(
            State.OK,
            f"Someone is on call around the clock for the next {weeks} weeks in every risk "
            f"domain in scope ({count(len(rosters), 'roster')}).",
            ctx.at,
            evidence,
        )
    gaps: list[str] = []
    # Domains with the same gaps (usually all of them, from one general roster) are listed once.
    ordered = sorted(uncovered, key=lambda pair: [(g.start, g.end) for g in pair[1]])
    for key, group in groupby(ordered, key=lambda pair: pair[1]):
        domains = [d.label for d, _ in group]
        prefix = "All risk domains in scope" if len(domains) == len(ctx.domains) else listing(domains)
        if len(key) == 1 and key[0] == coverage.Gap(start, end):
            gaps.append(f"{prefix}: no roster covers this")
            continue
        gaps.extend(f"{prefix}: {_gap_text(g)}" for g in key[:MAX_LISTED])
        if len(key) > MAX_LISTED:
            gaps.append(f"{prefix}: and {len(key) - MAX_LISTED} more")
    total = max(sum((g.duration for g in found), timedelta()) for _, found in uncovered)
    hours = total / timedelta(hours=1)
    return Finding(
        State.GAP,
        f"Nobody is on call for {hours:g} h in total over the next {weeks} weeks "
        f"({count(len(uncovered), 'risk domain')} affected).",
        ctx.at,
        evidence,
        tuple(gaps),
    )


# -- incident commanders -------------------------------------------------------------------------------------


def open_incident_commanders(session: Session, ctx: Context) -> Finding:
    """Every incident open at ``ctx.at`` (reported, not yet closed; drills aside) has a commander then."""
    has_commander = exists().where(
        IncidentParticipant.incident_id == Incident.id,
        IncidentParticipant.role == ParticipantRole.COMMANDER,
        IncidentParticipant.assumed_at <= ctx.at,
        or_(IncidentParticipant.renounced_at.is_(None), IncidentParticipant.renounced_at > ctx.at),
    )
    is_open = and_(
        Incident.org_id == ctx.org_id,
        Incident.is_drill.is_(False),
        Incident.reported_at <= ctx.at,
        or_(Incident.closed_at.is_(None), Incident.closed_at > ctx.at),
    )
    total, lacking = session.execute(
        select(func.count(), func.count().filter(~has_commander)).select_from(Incident).where(is_open)
    ).one()
    if not total:
        return Finding(State.OK, "No incident is open, so none lacks a commander.", ctx.at)
    rows = session.execute(
        select(Incident.id, Incident.reference, Incident.title, has_commander.label("ok"))
        .where(is_open)
        .order_by(has_commander, Incident.aware_at)
        .limit(MAX_LISTED)
    ).all()
    evidence = tuple(
        Evidence(
            f"{r.reference} {r.title}" + ("" if r.ok else " (no commander)"), Channel.RESPONSE, _incident_url(r.id)
        )
        for r in rows
    )
    if lacking:
        gaps = tuple(f"{r.reference} has no commander" for r in rows if not r.ok)
        return Finding(
            State.GAP,
            f"{lacking} of {count(total, 'open incident')} {'has' if lacking == 1 else 'have'} no named commander.",
            ctx.at,
            evidence,
            gaps,
        )
    every = "The open incident has" if total == 1 else f"All {total} open incidents have"
    return Finding(State.OK, f"{every} a named commander.", ctx.at, evidence)


# -- playbooks -----------------------------------------------------------------------------------------------


def playbooks_per_domain(session: Session, ctx: Context) -> Finding:
    """A playbook with declaration criteria (thresholds) in force at ``ctx.at`` for each risk domain in scope.
    The version in force is the latest one saved by then."""
    versions = (
        select(
            Playbook.slug,
            func.max(Playbook.version).label("version"),
            # Since when the playbook has had declaration criteria (its first version with some).
            func.min(case((Playbook.criteria != "", Playbook.created_at))).label("first_at"),
        )
        .where(Playbook.org_id == ctx.org_id, Playbook.created_at <= ctx.at)
        .group_by(Playbook.slug)
        .subquery()
    )
    rows = session.execute(
        select(
            Playbook.id, Playbook.name, Playbook.risk_domain, Playbook.criteria, Playbook.version, versions.c.first_at
        )
        .join(versions, and_(Playbook.slug == versions.c.slug, Playbook.version == versions.c.version))
        .where(Playbook.org_id == ctx.org_id)
        .order_by(Playbook.risk_domain, Playbook.name)
    ).all()
    if not rows:
        return Finding(State.MISSING, "No playbook is recorded.", None)
    evidence = tuple(
        Evidence(
            f"Playbook: {r.name} v{r.version} ({r.risk_domain.label})", Channel.RESPONSE, f"/response/playbooks/{r.id}"
        )
        for r in rows
    )
    since: dict[RiskDomain, datetime] = {}
    without_criteria: set[RiskDomain] = set()
    for r in rows:
        if not r.criteria.strip():
            without_criteria.add(r.risk_domain)
            continue
        first: datetime = r.first_at
        since[r.risk_domain] = min(since.get(r.risk_domain, first), first)
    missing = [d for d in ctx.domains if d not in since]
    if missing:
        gaps = tuple(
            f"{d.label}: " + ("playbook has no declaration criteria" if d in without_criteria else "no playbook")
            for d in missing
        )
        covered = len(ctx.domains) - len(missing)
        return Finding(
            State.GAP,
            f"Playbooks with declaration criteria cover {covered} of "
            f"{count(len(ctx.domains), 'risk domain')} in scope.",
            ctx.at,
            evidence,
            gaps,
        )
    complete = max(since[d] for d in ctx.domains)
    return Finding(
        State.OK,
        f"Each of the {count(len(ctx.domains), 'risk domain')} in scope has a playbook "
        f"with declaration criteria, complete since {day(complete)}.",
        complete,
        evidence,
    )


# -- rollback and restriction --------------------------------------------------------------------------------


def _timed_action(session: Session, ctx: Context, kind: ActionKind, noun: str) -> Finding:
    """A ``kind`` action completed within 12 hours of its request, in a drill or an incident, in the last
    12 months, and verified by ``ctx.at``."""
    took = seconds_between(session, ResponseAction.completed_at, ResponseAction.requested_at)
    base = (
        select(
            ResponseAction.id,
            ResponseAction.incident_id,
            ResponseAction.is_drill,
            ResponseAction.title,
            ResponseAction.scope,
            ResponseAction.capability,
            ResponseAction.completed_at,
            ResponseAction.verified_at,
            ResponseAction.status,
            took.label("took"),
            Incident.reference,
        )
        .join(Incident, Incident.id == ResponseAction.incident_id)
        .where(
            ResponseAction.org_id == ctx.org_id,
            ResponseAction.kind == kind,
            ResponseAction.completed_at.is_not(None),
            ResponseAction.completed_at <= ctx.at,
            ResponseAction.status.not_in((ActionStatus.FAILED, ActionStatus.CANCELLED)),
        )
    )
    in_year = base.where(ResponseAction.completed_at >= ctx.year_start)
    target = ACTION_TARGET.total_seconds()
    # Only an independent verification counts: the verifier is not the action's owner (four eyes).
    verified = and_(
        ResponseAction.verified_at.is_not(None),
        ResponseAction.verified_at <= ctx.at,
        ResponseAction.verified_by.is_not(None),
        or_(ResponseAction.owner_user_id.is_(None), ResponseAction.verified_by != ResponseAction.owner_user_id),
    )
    best = session.execute(
        in_year.where(took <= target, verified).order_by(ResponseAction.completed_at.desc()).limit(1)
    ).first()

    def evidence_of(r: Any) -> Evidence:  # a result row
        where = "drill" if r.is_drill else "incident"
        return Evidence(
            f"{r.reference} ({where}): {r.title}", Channel.RESPONSE, _incident_url(r.incident_id), r.completed_at
        )

    def scope_of(r: Any) -> str:
        where = ", ".join(r.scope)
        if r.capability:
            return f"{r.capability} on {where}" if where else str(r.capability)
        return where or "not stated"

    if best is not None:
        where = "a drill" if best.is_drill else "an incident"
        return Finding(
            State.OK,
            f"{noun} completed in {span(best.took)} (target {span(ACTION_TARGET)}) on "
            f"{day(best.completed_at)} in {where}, verified {day(best.verified_at)}; "
            f"scope: {scope_of(best)}.",
            best.verified_at,
            (evidence_of(best),),
            expires_at=months_before(best.completed_at, -12),
        )
    fastest = session.execute(in_year.order_by(took).limit(1)).first()
    if fastest is not None:
        if fastest.took <= target:
            return Finding(
                State.GAP,
                f"{noun} completed in {span(fastest.took)} on {day(fastest.completed_at)} but not verified.",
                fastest.completed_at,
                (evidence_of(fastest),),
                ("completion not independently verified",),
            )
        return Finding(
            State.GAP,
            f"The fastest {noun.lower()} in the last 12 months took {span(fastest.took)}, "
            f"over the {span(ACTION_TARGET)} target.",
            fastest.completed_at,
            (evidence_of(fastest),),
            (f"{span(fastest.took)} against a {span(ACTION_TARGET)} target",),
        )
    older = session.execute(base.order_by(ResponseAction.completed_at.desc()).limit(1)).first()
    if older is not None:
        return Finding(
            State.MISSING,
            f"The last {noun.lower()} was on {day(older.completed_at)}, more than 12 months ago.",
            None,
            (evidence_of(older),),
        )
    return Finding(State.MISSING, f"No {noun.lower()} is recorded in a drill or an incident.", None)


def rollback_within_target(session: Session, ctx: Context) -> Finding:
    return _timed_action(session, ctx, ActionKind.MODEL_ROLLBACK, "Rollback")


def restriction_within_target(session: Session, ctx: Context) -> Finding:
    return _timed_action(session, ctx, ActionKind.CAPABILITY_RESTRICTION, "Capability restriction")


# -- drills --------------------------------------------------------------------------------------------------


def drill_in_last_year(session: Session, ctx: Context) -> Finding:
    """A drill (an incident in drill mode, run through the real pipeline) that started in the last 12 months."""
    drills = select(Incident.id, Incident.reference, Incident.title, Incident.aware_at, Incident.risk_domain).where(
        Incident.org_id == ctx.org_id,
        Incident.is_drill.is_(True),
        Incident.aware_at <= ctx.at,
        Incident.reported_at <= ctx.at,
    )
    n = session.execute(
        select(func.count()).select_from(drills.where(Incident.aware_at >= ctx.year_start).subquery())
    ).scalar_one()
    last = session.execute(drills.order_by(Incident.aware_at.desc()).limit(1)).first()
    if last is None:
        return Finding(State.MISSING, "No drill is recorded.", None)
    evidence = (Evidence(f"{last.reference}: {last.title}", Channel.RESPONSE, _incident_url(last.id), last.aware_at),)
    if n:
        return Finding(
            State.OK,
            f"Last drill on {day(last.aware_at)} ({last.risk_domain.label}); "
            f"{count(n, 'drill')} in the last 12 months.",
            last.aware_at,
            evidence,
            expires_at=months_before(last.aware_at, -12),
        )
    return Finding(
        State.MISSING, f"The last drill was on {day(last.aware_at)}, more than 12 months ago.", None, evidence
    )


# -- government contacts -------------------------------------------------------------------------------------


def government_contacts(session: Session, ctx: Context) -> Finding:
    """For each risk domain in scope, a government point of contact reachable 24 hours a day and verified in
    the 90 days before ``ctx.at``."""
    fresh_from = ctx.at - CONTACT_FRESHNESS
    verified = and_(GovernmentContact.last_verified_at.is_not(None), GovernmentContact.last_verified_at <= ctx.at)
    rows = session.execute(
        select(
            GovernmentContact.risk_domain,
            func.count().label("n"),
            func.count()
            .filter(GovernmentContact.is_government.is_(True), GovernmentContact.reachable_24h.is_(True))
            .label("round_clock"),
            func.max(GovernmentContact.last_verified_at)
            .filter(verified, GovernmentContact.is_government.is_(True), GovernmentContact.reachable_24h.is_(True))
            .label("verified_at"),
        )
        .where(GovernmentContact.org_id == ctx.org_id, GovernmentContact.created_at <= ctx.at)
        .group_by(GovernmentContact.risk_domain)
    ).all()
    if not rows:
        return Finding(State.MISSING, "No government point of contact is recorded.", None)
    by_domain = {r.risk_domain: r for r in rows}
    evidence = (
        Evidence(
            f"Government contacts ({count(sum(r.n for r in rows), 'contact')})", Channel.RESPONSE, "/response/contacts"
        ),
    )
    gaps: list[str] = []
    dates = []
    for domain in ctx.domains:
        r = by_domain.get(domain)
        if r is None:
            gaps.append(f"{domain.label}: no contact")
        elif not r.round_clock:
            gaps.append(f"{domain.label}: no government contact reachable 24 hours a day")
        elif r.verified_at is None:
            gaps.append(f"{domain.label}: 24-hour contact never verified")
        elif r.verified_at < fresh_from:
            gaps.append(
                f"{domain.label}: 24-hour contact last verified {day(r.verified_at)}, over "
                f"{CONTACT_FRESHNESS.days} days ago"
            )
        else:
            dates.append(r.verified_at)
    if gaps:
        ok = len(ctx.domains) - len(gaps)
        return Finding(
            State.GAP,
            f"{ok} of {count(len(ctx.domains), 'risk domain')} in scope have a verified 24-hour government contact.",
            ctx.at,
            evidence,
            tuple(gaps),
        )
    oldest = min(dates)
    return Finding(
        State.OK,
        f"Every risk domain in scope has a 24-hour government contact verified in the last "
        f"{CONTACT_FRESHNESS.days} days (oldest check {day(oldest)}).",
        ctx.at,
        evidence,
        expires_at=oldest + CONTACT_FRESHNESS,
    )


# -- takedown, filter update and retraining ------------------------------------------------------------------

CORRECTIVE_KINDS = (ActionKind.CONTENT_REMOVAL, ActionKind.FILTER_UPDATE, ActionKind.MODEL_RETRAINING)


def _corrective_label(r: Any) -> str:
    where = "drill" if r.is_drill else "incident"
    label = f"{r.reference} ({where}): {r.kind.label}: {r.title}"
    removed = r.params.get("items_removed") if isinstance(r.params, dict) else None
    if r.kind is ActionKind.CONTENT_REMOVAL and isinstance(removed, int) and not isinstance(removed, bool):
        label += f" ({count(removed, 'item')} removed)"
    return label


def corrective_actions(session: Session, ctx: Context) -> Finding:
    """Takedowns, filter updates and retraining (China's generative-AI interim measures, Art. 14) requested
    in the last 12 months: each done by its target time and verified by someone other than its owner by
    ``ctx.at``. One still open with its target passed, one done late or one not verified is a gap; with none
    requested there is nothing owed (like a commander for no open incident)."""
    rows = session.execute(
        select(
            ResponseAction.id,
            ResponseAction.incident_id,
            ResponseAction.is_drill,
            ResponseAction.kind,
            ResponseAction.title,
            ResponseAction.params,
            ResponseAction.requested_at,
            ResponseAction.target_at,
            ResponseAction.completed_at,
            ResponseAction.verified_at,
            ResponseAction.verified_by,
            ResponseAction.owner_user_id,
            ResponseAction.status,
            Incident.reference,
        )
        .join(Incident, Incident.id == ResponseAction.incident_id)
        .where(
            ResponseAction.org_id == ctx.org_id,
            ResponseAction.kind.in_(CORRECTIVE_KINDS),
            ResponseAction.requested_at >= ctx.year_start,
            ResponseAction.requested_at <= ctx.at,
            ResponseAction.status.not_in((ActionStatus.CANCELLED, ActionStatus.FAILED)),
        )
        .order_by(ResponseAction.requested_at.desc())
    ).all()
    if not rows:
        return Finding(
            State.OK, "No takedown, filter update or model retraining was requested in the last 12 months.", ctx.at
        )
    evidence = tuple(
        Evidence(_corrective_label(r), Channel.RESPONSE, _incident_url(r.incident_id), r.completed_at or r.requested_at)
        for r in rows[:MAX_LISTED]
    )
    gaps: list[str] = []
    done = 0
    for r in rows:
        completed = r.completed_at if r.completed_at is not None and r.completed_at <= ctx.at else None
        verified = (
            r.verified_at is not None
            and r.verified_at <= ctx.at
            and r.verified_by is not None
            and r.verified_by != r.owner_user_id
        )
        what = f"{r.reference}: {r.kind.label.lower()}"
        if completed is None:
            if r.target_at is not None and r.target_at < ctx.at:
                gaps.append(f"{what} open {span(ctx.at - r.target_at)} past its target")
            continue
        if r.target_at is not None and completed > r.target_at:
            gaps.append(f"{what} done {span(completed - r.target_at)} after its target")
        elif not verified:
            gaps.append(f"{what} done but not independently verified")
        else:
            done += 1
    kinds = listing(sorted({r.kind.label.lower() for r in rows}))
    if gaps:
        return Finding(
            State.GAP,
            f"{len(gaps)} of {count(len(rows), 'corrective action')} in the last 12 months fell short ({kinds}).",
            ctx.at,
            evidence,
            tuple(gaps[:MAX_LISTED]),
        )
    pending = len(rows) - done
    tail = f"; {pending} still within target" if pending else ""
    return Finding(
        State.OK,
        f"{count(done, 'corrective action')} ({kinds}) in the last 12 months done on time and verified{tail}.",
        ctx.at,
        evidence,
    )

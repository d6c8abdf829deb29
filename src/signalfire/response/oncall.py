"""On-call rosters stored in the database, and their coverage.

The schedule maths is pure (``coverage``); this module stores rosters, turns a stored roster into
the pure ``coverage.Roster`` and answers "who is on call" and "where are the gaps" for the UI, the
API, escalation and readiness.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from signalfire.access.actor import Actor
from signalfire.access.models import User
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.response import readable_rosters
from signalfire.audit.chain import record
from signalfire.core.errors import ValidationFailed
from signalfire.response import coverage
from signalfire.response.models import Roster, RosterLayer, RosterOverride
from signalfire.response.schemas import LayerIn, OverrideIn, RosterIn
from signalfire.response.service import member_by_email

WEEK = timedelta(days=7)
MAX_COVERAGE_RANGE = timedelta(days=92)


def _zone(name: str, field: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed.single(
            field, f"Unknown time zone {name!r}; use an IANA name such as Europe/London."
        ) from None


def _windows(layer: LayerIn) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for w in layer.windows:
        out.append({"start": w.start, "end": w.end, "days": sorted(set(w.days))})
    return out


def to_layer(row: RosterLayer) -> coverage.Layer:
    windows = tuple(
        coverage.Window(
            time.fromisoformat(str(w["start"])),
            time.fromisoformat(str(w["end"])),
            frozenset(int(d) for d in w.get("days", range(7))),
        )
        for w in row.windows
    )
    return coverage.Layer(
        name=row.name,
        participants=tuple(row.participants),
        anchor=row.anchor,
        shift_length=timedelta(minutes=row.shift_minutes),
        time_zone=row.time_zone,
        windows=windows,
        until=row.until,
    )


def to_pure(roster: Roster) -> coverage.Roster:
    """The pure roster of a stored one (layers and overrides must be loaded)."""
    return coverage.Roster(
        layers=tuple(to_layer(layer) for layer in sorted(roster.layers, key=lambda x: x.position)),
        overrides=tuple(
            coverage.Override(o.start, o.end, str(o.user_id))
            for o in sorted(roster.overrides, key=lambda x: x.created_at)
        ),
    )


def _build_layer(
    session: Session, actor: Actor, roster: Roster, data: LayerIn, position: int, field: str
) -> RosterLayer:
    _zone(data.time_zone, f"{field}.time_zone")
    users = [
        member_by_email(session, actor.org_id, e, f"{field}.participant_emails[{i}]")
        for i, e in enumerate(data.participant_emails)
    ]
    row = RosterLayer(
        roster_id=roster.id,
        position=position,
        name=data.name,
        participants=[str(u.id) for u in users],
        anchor=data.anchor,
        shift_minutes=data.shift_minutes,
        time_zone=data.time_zone,
        windows=_windows(data),
        until=data.until,
    )
    try:
        to_layer(row)  # the pure rules (until after anchor, valid windows) decide what is valid
    except ValueError as exc:
        raise ValidationFailed.single(field, str(exc)) from None
    return row


def create_roster(session: Session, actor: Actor, data: RosterIn) -> Roster:
    require(actor, Permission.response_roster_manage)
    _zone(data.time_zone, "time_zone")
    roster = Roster(org_id=actor.org_id, team=data.team, risk_domain=data.risk_domain, time_zone=data.time_zone)
    session.add(roster)
    session.flush()  # layers need the id
    layers = [_build_layer(session, actor, roster, layer, i, f"layers[{i}]") for i, layer in enumerate(data.layers)]
    session.add_all(layers)
    record(
        session,
        action="response.roster.create",
        target_type="response_roster",
        target_id=roster.id,
        actor=actor,
        summary={"team": roster.team, "risk_domain": roster.risk_domain, "layers": len(layers)},
    )
    return roster


def get_roster(session: Session, actor: Actor, roster_id: uuid.UUID) -> Roster:
    stmt = (
        readable_rosters(actor)
        .where(Roster.id == roster_id)
        .options(selectinload(Roster.layers), selectinload(Roster.overrides))
    )
    return first_or_404(session, stmt, "No such roster.")


def list_rosters(session: Session, actor: Actor) -> list[Roster]:
    stmt = (
        readable_rosters(actor)
        .options(selectinload(Roster.layers), selectinload(Roster.overrides))
        .order_by(Roster.team)
    )
    return list(session.execute(stmt).scalars())


def add_layer(session: Session, actor: Actor, roster: Roster, data: LayerIn) -> RosterLayer:
    require(actor, Permission.response_roster_manage)
    position = max((layer.position for layer in roster.layers), default=-1) + 1
    row = _build_layer(session, actor, roster, data, position, "layer")
    session.add(row)
    session.flush()
    record(
        session,
        action="response.roster.layer_add",
        target_type="response_roster",
        target_id=roster.id,
        actor=actor,
        summary={"layer": data.name, "participants": row.participants},
    )
    return row


def add_override(session: Session, actor: Actor, roster: Roster, data: OverrideIn) -> RosterOverride:
    require(actor, Permission.response_roster_manage)
    user = member_by_email(session, actor.org_id, data.email, "email")
    if data.end <= data.start:
        raise ValidationFailed.single("end", "An override must end after it starts.")
    if data.end - data.start > MAX_COVERAGE_RANGE:
        raise ValidationFailed.single("end", "An override may last at most 92 days.")
    row = RosterOverride(
        roster_id=roster.id,
        user_id=user.id,
        start=data.start,
        end=data.end,
        reason=data.reason,
        created_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    record(
        session,
        action="response.roster.override_add",
        target_type="response_roster",
        target_id=roster.id,
        actor=actor,
        summary={"user": user.email, "start": data.start, "end": data.end, "reason": data.reason},
    )
    return row


def week_start(at: datetime, time_zone: str) -> datetime:
    """Monday 00:00 local time of the week containing ``at``, in UTC."""
    zone = ZoneInfo(time_zone)
    local = at.astimezone(zone)
    monday = (local - timedelta(days=local.weekday())).date()
    return datetime.combine(monday, time(0), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class CoverageReport:
    roster: Roster
    start: datetime
    end: datetime
    shifts: list[coverage.Shift]
    gaps: list[coverage.Gap]
    ratio: float
    names: dict[str, str]


def coverage_report(session: Session, roster: Roster, start: datetime, end: datetime) -> CoverageReport:
    """Every shift and every gap of the final schedule over ``[start, end)``."""
    if end <= start:
        raise ValidationFailed.single("end", "The end must be after the start.")
    if end - start > MAX_COVERAGE_RANGE:
        raise ValidationFailed.single("end", "Coverage is computed over at most 92 days at a time.")
    pure = to_pure(roster)
    shifts = coverage.shifts(pure, start, end)
    gaps = coverage.gaps(pure, start, end)
    ids = {s.user for s in shifts}
    names = user_names(session, ids)
    return CoverageReport(roster, start, end, shifts, gaps, coverage.coverage_ratio(pure, start, end), names)


def user_names(session: Session, ids: set[str]) -> dict[str, str]:
    uuids = []
    for value in ids:
        try:
            uuids.append(uuid.UUID(value))
        except ValueError:
            continue
    if not uuids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(uuids))).all()
    return {str(i): n for i, n in rows}


def on_call_user(session: Session, roster_id: uuid.UUID, at: datetime) -> User | None:
    """Who the roster has on call at ``at`` (system use: escalation resolves roster targets with it)."""
    roster = session.execute(
        select(Roster)
        .where(Roster.id == roster_id)
        .options(selectinload(Roster.layers), selectinload(Roster.overrides))
    ).scalar_one_or_none()
    if roster is None:
        return None
    who = coverage.on_call_at(to_pure(roster), at)
    return session.get(User, uuid.UUID(who)) if who else None


@dataclass(frozen=True)
class Stretch:
    start: datetime
    end: datetime
    who: str | None  # None for a gap
    override: bool = False


def by_day(report: CoverageReport, time_zone: str) -> list[tuple[datetime, list[Stretch]]]:
    """The schedule cut at local midnights, for a week view: each day's shifts and gaps in order."""
    zone = ZoneInfo(time_zone)
    pieces = [Stretch(s.start, s.end, report.names.get(s.user, s.user), s.override) for s in report.shifts]
    pieces += [Stretch(g.start, g.end, None) for g in report.gaps]
    pieces.sort(key=lambda p: p.start)
    days: list[tuple[datetime, list[Stretch]]] = []
    day = datetime.combine(report.start.astimezone(zone).date(), time(0), tzinfo=zone)
    while day.astimezone(UTC) < report.end:
        nxt = datetime.combine(day.date() + timedelta(days=1), time(0), tzinfo=zone)
        lo, hi = max(day.astimezone(UTC), report.start), min(nxt.astimezone(UTC), report.end)
        cut = [
            Stretch(max(p.start, lo), min(p.end, hi), p.who, p.override) for p in pieces if p.start < hi and p.end > lo
        ]
        days.append((day, cut))
        day = nxt
    return days

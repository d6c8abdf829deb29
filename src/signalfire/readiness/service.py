"""Computing an org's scorecard, and the org's readiness settings.

``compute_scorecard(session, org_id, at)`` is the one entry point: every item is a check run against the
org's own records as they stood at ``at``, so a scorecard can be asked for any past instant. Readiness
only reads the other channels; the only rows it writes are its own (settings, published snapshots).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.audit.chain import record
from signalfire.core.clock import ensure_utc, utcnow
from signalfire.core.errors import NotFound, ValidationFailed
from signalfire.core.schemas import check_date, check_datetime
from signalfire.readiness.items import DEFAULT_DOMAINS, ITEMS
from signalfire.readiness.models import ReadinessSettings
from signalfire.readiness.periods import months_before
from signalfire.readiness.scorecard import Context, ItemResult, Scorecard
from signalfire.response.vocab import RiskDomain

# Scorecards describe organisations that build or deploy models; authorities, the hub and researchers
# read the landscape and published scorecards instead.
SCORED_KINDS = frozenset({OrgKind.frontier_developer, OrgKind.downstream})


def applies_to(kind: OrgKind) -> bool:
    return kind in SCORED_KINDS


@dataclass(frozen=True)
class DomainScope:
    domains: tuple[RiskDomain, ...]
    is_default: bool


def domain_scope(session: Session, org_id: uuid.UUID) -> DomainScope:
    """The risk domains the org's per-domain items are checked for (the defaults until it chooses)."""
    row = session.get(ReadinessSettings, org_id)
    if row is None or not row.risk_domains:
        return DomainScope(DEFAULT_DOMAINS, True)
    chosen = set(row.risk_domains)
    return DomainScope(tuple(d for d in RiskDomain if d.value in chosen), False)


def risk_domains(session: Session, org_id: uuid.UUID) -> tuple[RiskDomain, ...]:
    return domain_scope(session, org_id).domains


def compute_scorecard(session: Session, org_id: uuid.UUID, at: datetime) -> Scorecard:
    """The org's scorecard as its records stood at ``at`` (timezone-aware)."""
    at = ensure_utc(at)
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound("No such organisation.")
    ctx = Context(
        org_id=org.id,
        org_slug=org.slug,
        exchange_member=org.exchange_member,
        at=at,
        year_start=months_before(at, 12),
        domains=risk_domains(session, org.id),
    )
    results = tuple(ItemResult(item, item.check(session, ctx)) for item in ITEMS)
    return Scorecard(org.id, org.name, org.slug, at, ctx.domains, results)


def parse_at(value: str | None) -> datetime | None:
    """ "As of" from a query or the command line: a date means the end of that day in UTC (now, for today);
    a datetime must carry its zone. Empty means now."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = check_date(date.fromisoformat(text))
            now = utcnow()
            return now if day == now.date() else datetime.combine(day, time(23, 59, 59), UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        message = str(exc) if "between" in str(exc) else "Give a date (YYYY-MM-DD) or an ISO 8601 date and time."
        raise ValidationFailed.single("at", message) from None
    if parsed.tzinfo is None:
        raise ValidationFailed.single("at", "Give the time zone, e.g. 2026-05-01T12:00:00Z.")
    try:
        return check_datetime(parsed)  # year 1 minus a look-back window overflows
    except ValueError as exc:
        raise ValidationFailed.single("at", str(exc)) from None


def resolve_at(at: datetime | None) -> datetime:
    """The instant asked for, defaulting to now; the future has no evidence yet."""
    now = utcnow()
    if at is None:
        return now
    at = ensure_utc(at)
    if at > now:
        raise ValidationFailed.single("at", "Choose a date that is not in the future.")
    return at


def scorecard_for(session: Session, actor: Actor, at: datetime | None = None) -> Scorecard:
    """The actor's own org's scorecard."""
    require(actor, Permission.readiness_scorecard_read)
    if not applies_to(actor.org_kind):
        raise NotFound("Scorecards are computed for organisations that develop or deploy models.")
    return compute_scorecard(session, actor.org_id, resolve_at(at))


def update_risk_domains(session: Session, actor: Actor, domains: list[RiskDomain]) -> ReadinessSettings:
    """Which risk domains the org's per-domain items (roster, playbooks, contacts) are checked for."""
    require(actor, Permission.readiness_scorecard_publish)
    if not domains:
        raise ValidationFailed.single("risk_domains", "Choose at least one risk domain.")
    values = [d.value for d in RiskDomain if d in set(domains)]
    row = session.get(ReadinessSettings, actor.org_id)
    before = list(row.risk_domains) if row is not None else [d.value for d in DEFAULT_DOMAINS]
    if row is None:
        row = ReadinessSettings(org_id=actor.org_id)
        session.add(row)
    row.risk_domains = values
    row.updated_at = utcnow()
    row.updated_by_label = actor.display_name
    record(
        session,
        action="readiness.settings.update",
        target_type="organization",
        target_id=actor.org_id,
        actor=actor,
        summary={"risk_domains": {"from": before, "to": values}},
    )
    return row

"""Evidence for readiness tests, built through the other channels' real services (as their own tests do).

Callers freeze time with time_machine: services stamp creation times with the frozen clock, and the
times passed here (requested, completed, verified ...) are checked by those services against it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind, Role
from signalfire.intake import sources
from signalfire.intake.schemas import FeedIn, IntakeSettingsIn
from signalfire.readiness.scorecard import Finding, Scorecard
from signalfire.readiness.service import compute_scorecard
from signalfire.response import actions, contacts, oncall, playbooks, service
from signalfire.response.models import ContactChannel, GovernmentContact, Incident, ResponseAction, Roster
from signalfire.response.schemas import (
    ActionCreate,
    ActionProgress,
    ContactIn,
    LayerIn,
    ParticipantIn,
    PlaybookIn,
    PlaybookStep,
    RosterIn,
    WindowIn,
)
from signalfire.response.vocab import ActionKind, ActionStatus, ParticipantRole, RiskDomain
from tests import factories
from tests.response import factories as rf


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def developer(db: Session, role: Role = Role.admin) -> Actor:
    org = factories.org(db, OrgKind.frontier_developer, exchange_member=True)
    return factories.actor(db, role=role, organization=org)


def colleague(db: Session, actor: Actor, role: Role = Role.responder) -> Actor:
    org = db.get(factories.Organization, actor.org_id)
    assert org is not None
    return factories.actor(db, role=role, organization=org)


def finding(db: Session, actor: Actor, item_id: str, at: datetime) -> Finding:
    return compute_scorecard(db, actor.org_id, at).get(item_id).finding


def card(db: Session, actor: Actor, at: datetime) -> Scorecard:
    return compute_scorecard(db, actor.org_id, at)


# -- response ------------------------------------------------------------------------------------------------


def roster(
    db: Session,
    actor: Actor,
    emails: list[str],
    *,
    anchor: datetime,
    windows: list[WindowIn] | None = None,
    domain: RiskDomain | None = None,
    shift_minutes: int = 24 * 60,
) -> Roster:
    return oncall.create_roster(
        db,
        actor,
        RosterIn(
            team=f"IC rota {domain.value if domain else 'general'}",
            risk_domain=domain,
            layers=[
                LayerIn(
                    name="rota",
                    participant_emails=emails,
                    anchor=anchor,
                    shift_minutes=shift_minutes,
                    windows=windows or [],
                )
            ],
        ),
    )


def commander(db: Session, actor: Actor, incident: Incident, email: str, at: datetime) -> None:
    service.add_participant(db, actor, incident, ParticipantIn(role=ParticipantRole.COMMANDER, email=email, at=at))


def playbook(
    db: Session,
    actor: Actor,
    domain: RiskDomain,
    *,
    criteria: str = "Declare on any confirmed case.",
    slug: str | None = None,
) -> Any:
    return playbooks.save_playbook(
        db,
        actor,
        PlaybookIn(
            slug=slug or domain.value.replace("_", "-"),
            name=f"{domain.label} playbook",
            risk_domain=domain,
            criteria=criteria,
            steps=[PlaybookStep(title="Assign a commander")],
        ),
    )


def timed_action(
    db: Session,
    actor: Actor,
    kind: ActionKind,
    *,
    requested: datetime,
    took: timedelta,
    verify_after: timedelta | None = timedelta(minutes=30),
    drill: bool = False,
) -> ResponseAction:
    """An incident aware just before ``requested`` with one action of ``kind`` completed ``took`` later."""
    suffix = f"{requested:%Y%m%d%H%M}{took.total_seconds():.0f}"
    rf.model_version(db, actor, name=f"m{suffix}", version="2")
    rf.model_version(db, actor, name=f"m{suffix}", version="1")
    inc = rf.incident(db, actor, aware_at=requested - timedelta(minutes=10), is_drill=drill)
    data: dict[str, Any] = {
        "kind": kind,
        "title": "Contain the model",
        "requested_at": requested,
        "from_version": f"m{suffix} 2",
        "scope": ["api", "internal"],
    }
    if kind is ActionKind.MODEL_ROLLBACK:
        data["to_version"] = f"m{suffix} 1"
    if kind is ActionKind.CAPABILITY_RESTRICTION:
        data["capability"] = "browsing"
    action = actions.create_action(db, actor, inc, ActionCreate(**data))
    actions.progress_action(db, actor, inc, action, ActionProgress(status=ActionStatus.COMPLETED, at=requested + took))
    if verify_after is not None:
        # Verified by a colleague: the owner's own sign-off does not count (four eyes).
        checker = factories.actor(db, organization=db.get(Organization, actor.org_id))
        actions.progress_action(
            db,
            checker,
            inc,
            action,
            ActionProgress(
                status=ActionStatus.VERIFIED, at=requested + took + verify_after, verification="Probe suite passed"
            ),
        )
    return action


def contact(
    db: Session,
    actor: Actor,
    domain: RiskDomain,
    *,
    verified_at: datetime | None,
    round_clock: bool = True,
    government: bool = True,
) -> GovernmentContact:
    row = contacts.create_contact(
        db,
        actor,
        ContactIn(
            agency=f"{domain.label} desk",
            risk_domain=domain,
            jurisdiction="EU",
            channel=ContactChannel.PHONE,
            address="+32 2 000 0000",
            reachable_24h=round_clock,
            is_government=government,
        ),
    )
    row.last_verified_at = verified_at
    db.flush()
    return row


# -- intake --------------------------------------------------------------------------------------------------


def feed(db: Session, actor: Actor, *, last_success_at: datetime | None, error: str | None = None) -> Any:
    path = f"{last_success_at:%Y%m%d%H%M%S}" if last_success_at else "never"
    row = sources.add_feed(db, actor, FeedIn(url=f"https://news.example.org/{path}/feed.xml", title="AI safety news"))
    row.last_polled_at = row.last_success_at = last_success_at
    if error:
        row.last_error, row.consecutive_failures = error, 3
    db.flush()
    return row


def public_form(db: Session, actor: Actor, enabled: bool) -> Any:
    return sources.update_settings(db, actor, IntakeSettingsIn(public_form_enabled=enabled))

"""`signalfire exchange moderation ...` and `signalfire exchange members ...`.

Expected answers come from the task's rules, not from the code: a hub moderator's command has the same
effect as the API's decision (item state, moderation log line, audit entry in the hub's and the
contributor's log); anyone else is refused with exit code 2 and nothing changes; a missing item or org
and a decision the state does not allow are refused the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from signalfire.access.models import Organization, OrgKind, Role
from signalfire.audit.models import AuditEvent
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.exchange.models import Designation, ExchangeItem, ItemStatus
from signalfire.exchange.moderation import membership
from signalfire.exchange.moderation import service as moderation
from signalfire.exchange.moderation.models import ItemFlag, ModerationEntry, ReviewMode
from signalfire.exchange.vocab import Category
from tests import factories
from tests.exchange import factories as xf

WHY = "Names a customer; please share a sanitised version instead."
STATEMENT = "We run a frontier lab and want to share jailbreak findings with peers."


@dataclass(frozen=True)
class World:
    engine: Engine
    hub: str  # e-mails
    hub_analyst: str
    owner: str
    owner_org: uuid.UUID
    hub_org: uuid.UUID
    reader: str
    applicant_slug: str
    applicant_org: uuid.UUID
    contacts: dict[Category, uuid.UUID]
    held: uuid.UUID  # waiting for review
    held_too: uuid.UUID
    live: uuid.UUID  # published before review was turned on


@pytest.fixture()
def world(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    from signalfire.core.settings import get_settings
    from signalfire.exchange.moderation import cli

    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as s:
        hub = factories.actor(s, kind=OrgKind.hub_operator)
        hub_analyst = factories.actor_for(
            s,
            factories.member(s, s.get_one(Organization, hub.org_id), Role.analyst),
            s.get_one(Organization, hub.org_id),
        )
        owner = factories.actor(s)
        reader = factories.actor(s)
        live = xf.published(s, owner, title="Published before review")
        moderation.set_review_mode(s, hub, ReviewMode.ALL)
        held = xf.published(s, owner, title="Held jailbreak finding")
        held_too = xf.published(s, owner, title="Second held finding")
        applicant_org = factories.org(s, OrgKind.frontier_developer, exchange_member=False, name="Applicant Lab")
        applicant = factories.actor_for(s, factories.member(s, applicant_org, Role.admin), applicant_org)
        analyst = factories.actor_for(s, factories.member(s, applicant_org, Role.analyst), applicant_org)
        contacts = {c: (applicant, analyst)[i % 2].user_id for i, c in enumerate(Category)}
        membership.apply(s, applicant, STATEMENT, {c: [u] for c, u in contacts.items()})
        made = World(
            engine=engine,
            hub=hub.email,
            hub_analyst=hub_analyst.email,
            owner=owner.email,
            owner_org=owner.org_id,
            hub_org=hub.org_id,
            reader=reader.email,
            applicant_slug=applicant_org.slug,
            applicant_org=applicant_org.id,
            contacts=contacts,
            held=held.id,
            held_too=held_too.id,
            live=live.id,
        )
        assert held.status == held_too.status == ItemStatus.PENDING_REVIEW
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    monkeypatch.setattr(cli.console, "width", 300)
    monkeypatch.setattr(cli.err, "width", 300)
    try:
        yield made
    finally:
        get_settings.cache_clear()
        engine.dispose()


def run(*args: str) -> Result:
    from signalfire.exchange.cli import app

    return CliRunner().invoke(app, list(args))


def status_of(w: World, item_id: uuid.UUID) -> ItemStatus:
    with unit_of_work(session_factory(w.engine)) as s:
        return s.get_one(ExchangeItem, item_id).status


def audited(w: World, action: str, target: uuid.UUID) -> set[uuid.UUID | None]:
    with unit_of_work(session_factory(w.engine)) as s:
        rows = s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars()
        return {r.org_id for r in rows if r.target_id == str(target)}


def logged(w: World, item_id: uuid.UUID) -> list[str]:
    with unit_of_work(session_factory(w.engine)) as s:
        rows = s.execute(
            select(ModerationEntry.action).where(ModerationEntry.item_id == item_id).order_by(ModerationEntry.at)
        ).scalars()
        return [a.value for a in rows]


def refused(result: Result, text: str) -> None:
    assert result.exit_code == 2, result.output
    assert text in result.output, result.output
    assert "Traceback" not in result.output


def test_moderator_works_the_queue_and_every_decision_is_logged_and_audited(world: World) -> None:
    w = world
    queue = run("moderation", "queue", "--as", w.hub)
    assert queue.exit_code == 0, queue.output
    assert str(w.held) in queue.output and str(w.held_too) in queue.output
    assert "Held jailbreak finding" in queue.output and str(w.live) not in queue.output

    approved = run("moderation", "approve", str(w.held), "--as", w.hub)
    assert approved.exit_code == 0, approved.output
    assert status_of(w, w.held) == ItemStatus.PUBLISHED
    assert logged(w, w.held) == ["submitted", "approved"]
    assert audited(w, "exchange.moderation.approved", w.held) == {w.hub_org, w.owner_org}
    assert str(w.held) not in run("moderation", "queue", "--as", w.hub).output

    rejected = run("moderation", "reject", str(w.held_too), "--reason", WHY, "--as", w.hub)
    assert rejected.exit_code == 0, rejected.output
    assert status_of(w, w.held_too) == ItemStatus.DRAFT
    assert audited(w, "exchange.moderation.returned", w.held_too) == {w.hub_org, w.owner_org}

    assert run("moderation", "hide", str(w.live), "--reason", WHY, "--as", w.hub).exit_code == 0
    assert status_of(w, w.live) == ItemStatus.HIDDEN
    assert str(w.live) in run("moderation", "queue", "--status", "hidden", "--as", w.hub).output
    assert run("moderation", "flag", str(w.held), "--reason", WHY, "--as", w.hub).exit_code == 0
    with unit_of_work(session_factory(w.engine)) as s:
        assert s.get_one(ItemFlag, w.held).reason == WHY
    assert str(w.held) in run("moderation", "queue", "--flagged", "--as", w.hub).output
    assert audited(w, "exchange.moderation.flagged_out_of_scope", w.held) == {w.hub_org, w.owner_org}
    withdrawn = run("moderation", "withdraw", str(w.live), "--reason", WHY, "--as", w.hub)
    assert withdrawn.exit_code == 0, withdrawn.output
    assert status_of(w, w.live) == ItemStatus.WITHDRAWN
    assert logged(w, w.live) == ["hidden", "withdrawn"]
    assert audited(w, "exchange.moderation.withdrawn", w.live) == {w.hub_org, w.owner_org}

    # The log: all of it for the moderator, its own lines for the contributor, nothing for another member.
    hub_log = run("moderation", "log", "--as", w.hub)
    assert hub_log.exit_code == 0, hub_log.output
    for action in ("approved", "returned", "hidden", "withdrawn", "flagged_out_of_scope", "applied"):
        assert action in hub_log.output
    assert WHY in hub_log.output
    owner_log = run("moderation", "log", "--as", w.owner, "--item", str(w.live))
    assert "withdrawn" in owner_log.output and "approved" not in owner_log.output
    reader_log = run("moderation", "log", "--as", w.reader)
    assert reader_log.exit_code == 0 and "no lines you may read" in reader_log.output


def test_refusals_exit_2_with_one_line_and_change_nothing(world: World) -> None:
    w = world
    # Not a moderator: a member of the hub who is not an admin, and the contributor itself.
    for who in (w.hub_analyst, w.owner):
        refused(run("moderation", "approve", str(w.held), "--as", who), "is not a hub moderator")
        refused(run("moderation", "queue", "--as", who), "is not a hub moderator")
        refused(run("members", "admit", w.applicant_slug, "--as", who), "is not a hub moderator")
    assert status_of(w, w.held) == ItemStatus.PENDING_REVIEW
    assert audited(w, "exchange.moderation.approved", w.held) == set()
    # A missing item, an unknown person, a wrong state, a missing reason.
    refused(run("moderation", "approve", str(uuid.uuid4()), "--as", w.hub), "No such item.")
    refused(run("moderation", "approve", str(w.held), "--as", "nobody@example.test"), "no user")
    refused(run("moderation", "hide", str(w.held), "--reason", WHY, "--as", w.hub), "Cannot hide an item that is")
    refused(run("moderation", "unflag", str(w.live), "--as", w.hub), "not flagged")
    refused(run("moderation", "withdraw", str(w.live), "--reason", "short", "--as", w.hub), "reason:")
    assert status_of(w, w.live) == ItemStatus.PUBLISHED and logged(w, w.live) == []
    # Members: an unknown org, a decision its standing does not allow.
    refused(run("members", "suspend", "no-such-org", "--reason", WHY, "--as", w.hub), "no organisation")
    refused(run("members", "reinstate", w.applicant_slug, "--reason", WHY, "--as", w.hub), "Cannot reinstate")


def test_members_applications_admission_suspension_and_reinstatement(world: World) -> None:
    w = world
    listed = run("members", "list", "--status", "applied", "--as", w.hub)
    assert listed.exit_code == 0, listed.output
    assert w.applicant_slug in listed.output and STATEMENT[:30] in listed.output
    refused(run("members", "list", "--as", w.owner), "is not a hub moderator")

    admitted = run("members", "admit", w.applicant_slug, "--as", w.hub)
    assert admitted.exit_code == 0, admitted.output
    assert "designated for threat" in admitted.output
    with unit_of_work(session_factory(w.engine)) as s:
        assert s.get_one(Organization, w.applicant_org).exchange_member is True
        made = {
            (d.category, d.user_id)
            for d in s.execute(select(Designation).where(Designation.org_id == w.applicant_org)).scalars()
        }
    assert made == set(w.contacts.items())
    assert audited(w, "exchange.membership.admitted", w.applicant_org) == {w.hub_org, w.applicant_org}
    assert w.applicant_slug not in run("members", "list", "--status", "applied", "--as", w.hub).output

    suspended = run("members", "suspend", w.applicant_slug, "--reason", WHY, "--as", w.hub)
    assert suspended.exit_code == 0, suspended.output
    with unit_of_work(session_factory(w.engine)) as s:
        assert s.get_one(Organization, w.applicant_org).exchange_member is False
    assert audited(w, "exchange.membership.suspended", w.applicant_org) == {w.hub_org, w.applicant_org}
    assert WHY in run("members", "list", "--status", "suspended", "--as", w.hub).output

    reinstated = run("members", "reinstate", w.applicant_slug, "--reason", "Sanitised version shared.", "--as", w.hub)
    assert reinstated.exit_code == 0, reinstated.output
    with unit_of_work(session_factory(w.engine)) as s:
        assert s.get_one(Organization, w.applicant_org).exchange_member is True
        actions = list(
            s.execute(
                select(ModerationEntry.action)
                .where(ModerationEntry.subject_org_id == w.applicant_org)
                .order_by(ModerationEntry.at)
            ).scalars()
        )
    assert [a.value for a in actions] == ["applied", "admitted", "suspended", "reinstated"]

"""Readable statements of access.policy, one by one, against rows of two organisations.

Expected answers are written here in plain terms (from docs/access.md and the channel documents): an
org-scoped record is read by the members of its own org who hold the reading permission, by nobody
else, and the statements that also exclude authorities do so even for an actor that (by a wrong row in
the role table) held the permission. Actors are built with hand-picked permissions (`dataclasses.replace`)
so each guard is tested on its own, independently of the role table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind, Role
from signalfire.access.permissions import Permission as P
from signalfire.access.policy import intake as ip
from signalfire.access.policy import notices as notp
from signalfire.access.policy import readable_member_users, readable_members, readable_tokens
from signalfire.access.policy import readiness as rp
from signalfire.access.policy import reporting as rep
from signalfire.access.policy import response as resp
from signalfire.access.policy import transparency as tp
from signalfire.access.service import create_token
from signalfire.core.clock import utcnow
from signalfire.intake import alert_sources
from signalfire.intake.models import AlertFormat
from signalfire.reporting.models import Case, RecordedClockEvent
from signalfire.response.vocab import RiskDomain
from tests import factories
from tests.intake import factories as inf
from tests.readiness import factories as rdf
from tests.reporting import factories as rpf
from tests.response import factories as rf

Make = Callable[[Session, Actor], Any]


def _signal(db: Session, a: Actor) -> Any:
    return inf.signal(db, a.org_id, title=f"Signal of {a.org_name}")


def _cluster(db: Session, a: Actor) -> Any:
    s = _signal(db, a)
    db.flush()
    from signalfire.intake.models import Cluster

    return db.get_one(Cluster, s.cluster_id)


def _decision(db: Session, a: Actor) -> Any:
    from sqlalchemy import select

    from signalfire.intake import service
    from signalfire.intake.models import Decision, DecisionKind
    from signalfire.intake.schemas import DismissIn

    signal = _signal(db, a)
    service.dismiss(db, a, signal, DismissIn(reason="Not about our models."))
    db.flush()
    stmt = select(Decision).where(Decision.signal_id == signal.id, Decision.kind == DecisionKind.dismissed)
    return db.execute(stmt).scalars().one()


def _feed(db: Session, a: Actor) -> Any:
    return rdf.feed(db, a, last_success_at=None)


def _alert_source(db: Session, a: Actor) -> Any:
    return alert_sources.create_source(db, a, name="Prometheus", format=AlertFormat.alertmanager)[0]


def _intake_settings(db: Session, a: Actor) -> Any:
    return rdf.public_form(db, a, True)


def _assessment(db: Session, a: Actor) -> Any:
    inc = rpf.incident(db, a, aware_at=utcnow() - timedelta(hours=2))
    return rpf.assess(db, a, inc, rpf.COP, rpf.cop(health_harm="yes")).assessment


def _model_version(db: Session, a: Actor) -> Any:
    return rf.model_version(db, a, "aurora-large", "3.2")


def _playbook(db: Session, a: Actor) -> Any:
    return rdf.playbook(db, a, RiskDomain.MISUSE)


def _obligation(db: Session, a: Actor) -> Any:
    from sqlalchemy import select

    from signalfire.reporting.models import Obligation

    _assessment(db, a)
    db.flush()
    return db.execute(select(Obligation).where(Obligation.org_id == a.org_id)).scalars().first()


def _first_of_org(model: Any) -> Make:
    """A reporting record created by assessing an incident (cases and clock events come with it)."""

    def make(db: Session, a: Actor) -> Any:
        from sqlalchemy import select

        inc = rpf.incident(db, a, aware_at=utcnow() - timedelta(hours=2))
        rpf.record(db, a, inc, "aware_of_model_involvement", utcnow() - timedelta(hours=2))
        rpf.assess(db, a, inc, rpf.COP, rpf.cop(health_harm="yes"))
        db.flush()
        return db.execute(select(model).where(model.org_id == a.org_id)).scalars().first()

    make.__name__ = f"_{model.__name__.lower()}"
    return make


def _legal_hold(db: Session, a: Actor) -> Any:
    from signalfire.reporting import retention

    inc = rpf.incident(db, a, aware_at=utcnow() - timedelta(hours=2))
    return retention.place_hold(db, a, inc, "Litigation expected over this incident.")


def _escalation_policy(db: Session, a: Actor) -> Any:
    from signalfire.response import paging
    from signalfire.response.schemas import EscalationPolicyIn, LevelIn

    return paging.create_policy(
        db, a, EscalationPolicyIn(name="Page", levels=[LevelIn(targets=[a.email], wait_minutes=5)])
    )


def _page(db: Session, a: Actor) -> Any:
    from signalfire.response import paging

    policy = _escalation_policy(db, a)
    return paging.start_page(db, a, policy.id, incident=rf.incident(db, a))


def _review(db: Session, a: Actor) -> Any:
    from tests.exchange import factories as xf

    return xf.closed_review(db, a)


def _roster(db: Session, a: Actor) -> Any:
    return rdf.roster(db, a, [a.email], anchor=utcnow() - timedelta(days=1))


def _contact(db: Session, a: Actor) -> Any:
    return rdf.contact(db, a, RiskDomain.MISUSE, verified_at=utcnow())


def _membership(db: Session, a: Actor) -> Any:
    return factories.membership(db, a)


def _threshold(db: Session, a: Actor) -> Any:
    from tests.notices import factories as nf

    return nf.world(db, a)[0]


def _crossing(db: Session, a: Actor) -> Any:
    from signalfire.notices import service as notices
    from signalfire.notices.schemas import EvaluationIn

    _threshold(db, a)
    return notices.record_evaluation(
        db, a, EvaluationIn(model="aurora-large 3.2", evaluation="bio uplift eval", score=0.9)
    )


def _evaluation(db: Session, a: Actor) -> Any:
    return _crossing(db, a).evaluation


def _notice(db: Session, a: Actor) -> Any:
    return _crossing(db, a).opened[0]


def _transparency_report(db: Session, a: Actor) -> Any:
    from tests.transparency import helpers

    return helpers.draft(db, a)


def _transparency_edition(db: Session, a: Actor) -> Any:
    from tests.transparency import helpers

    return helpers.published(db, a)[1]


# statement, the permission that reads it, how to make one row for an org, whether authorities are excluded
ORG_SCOPED: list[tuple[Callable[[Actor], Select[Any]], P, Make, bool]] = [
    (ip.readable_signals, P.intake_signal_read, _signal, False),
    (ip.readable_clusters, P.intake_signal_read, _cluster, False),
    (ip.readable_decisions, P.intake_signal_read, _decision, False),
    (ip.readable_feeds, P.intake_signal_read, _feed, False),
    (ip.readable_alert_sources, P.intake_signal_read, _alert_source, False),
    (ip.readable_intake_settings, P.intake_signal_read, _intake_settings, False),
    (rep.readable_assessments, P.reporting_obligation_read, _assessment, True),
    (resp.readable_model_versions, P.response_incident_read, _model_version, True),
    (resp.readable_playbooks, P.response_incident_read, _playbook, True),
    (resp.readable_reviews, P.response_incident_read, _review, True),
    (resp.readable_rosters, P.response_incident_read, _roster, True),
    (resp.readable_contacts, P.response_incident_read, _contact, True),
    (resp.readable_escalation_policies, P.response_incident_read, _escalation_policy, True),
    (resp.readable_pages, P.response_incident_read, _page, True),
    (rep.readable_obligations, P.reporting_obligation_read, _obligation, True),
    (rep.readable_legal_holds, P.reporting_obligation_read, _legal_hold, True),
    (rep.readable_cases, P.reporting_obligation_read, _first_of_org(Case), True),
    (rep.readable_clock_events, P.reporting_obligation_read, _first_of_org(RecordedClockEvent), True),
    (readable_members, P.org_member_read, _membership, False),
    (notp.readable_thresholds, P.reporting_obligation_read, _threshold, True),
    (notp.readable_evaluations, P.reporting_obligation_read, _evaluation, True),
    (notp.readable_notices, P.reporting_obligation_read, _notice, True),
    (tp.readable_reports, P.transparency_report_read, _transparency_report, False),
    (tp.readable_editions, P.transparency_report_read, _transparency_edition, False),
]


def _key(row: Any) -> Any:
    return row.id if hasattr(row, "id") else row.org_id  # intake settings are keyed by their org


def _ids(db: Session, stmt: Select[Any]) -> set[Any]:
    return {_key(row) for row in db.execute(stmt).scalars()}


@pytest.mark.parametrize(
    ("statement", "permission", "make", "no_authority"), ORG_SCOPED, ids=lambda x: getattr(x, "__name__", "")
)
def test_org_scoped_statement(
    db: Session, statement: Callable[[Actor], Select[Any]], permission: P, make: Make, no_authority: bool
) -> None:
    mine, theirs = factories.actor(db), factories.actor(db)
    own_row, their_row = make(db, mine), make(db, theirs)
    db.flush()
    seen = _ids(db, statement(mine))
    assert _key(own_row) in seen, "a reader of the owning org must see its row"
    assert _key(their_row) not in seen, "another org's row must never be readable"
    without = dataclasses.replace(mine, permissions=mine.permissions - {permission})
    assert _ids(db, statement(without)) == set(), f"without {permission} nothing is readable"
    if no_authority:
        as_authority = dataclasses.replace(mine, org_kind=OrgKind.authority)
        assert _ids(db, statement(as_authority)) == set(), "an authority never reads these, whatever its permissions"


def test_member_users_are_the_org_members_with_their_user(db: Session) -> None:
    mine, theirs = factories.actor(db), factories.actor(db)
    colleague = factories.actor(db, organization=db.get_one(Organization, mine.org_id), role=Role.viewer)
    rows = db.execute(readable_member_users(mine)).all()
    assert {(m.org_id, u.id) for m, u in rows} == {(mine.org_id, mine.user_id), (mine.org_id, colleague.user_id)}
    assert all(m.user_id == u.id for m, u in rows)
    assert theirs.user_id not in {u.id for _, u in rows}
    without = dataclasses.replace(mine, permissions=mine.permissions - {P.org_member_read})
    assert db.execute(readable_member_users(without)).all() == []


def test_tokens_own_ones_and_all_of_the_org_for_member_managers(db: Session) -> None:
    admin = factories.actor(db)
    viewer = factories.actor(db, organization=db.get_one(Organization, admin.org_id), role=Role.viewer)
    other = factories.actor(db)
    t_admin = create_token(db, actor=admin, name="a", scopes=["*"], expires_in_days=5).token
    t_viewer = create_token(db, actor=viewer, name="v", scopes=["*"], expires_in_days=5).token
    t_other = create_token(db, actor=other, name="o", scopes=["*"], expires_in_days=5).token
    db.flush()
    assert _ids(db, readable_tokens(admin)) == {t_admin.id, t_viewer.id}
    assert _ids(db, readable_tokens(viewer)) == {t_viewer.id}
    assert t_other.id not in _ids(db, readable_tokens(admin))


def test_incident_readers_and_the_org_wide_aggregate_guard(db: Session) -> None:
    admin = factories.actor(db)
    reader = factories.actor(db, organization=db.get_one(Organization, admin.org_id), role=Role.viewer)
    incident = rf.incident(db, admin)
    other = factories.actor(db)
    assert resp.is_org_reader(reader, incident)
    assert not resp.is_org_reader(other, incident)
    assert not resp.is_org_reader(dataclasses.replace(reader, permissions=frozenset()), incident)
    assert resp.reads_every_org_incident(reader)
    assert not resp.reads_every_org_incident(dataclasses.replace(reader, permissions=frozenset()))
    assert not resp.reads_every_org_incident(dataclasses.replace(reader, org_kind=OrgKind.authority))


def test_snapshots_published_for_all_withdrawn_only_for_their_org(db: Session) -> None:
    from signalfire.readiness import publication

    owner, reader = rdf.developer(db), factories.actor(db, kind=OrgKind.authority)
    live = publication.publish(db, owner)
    db.flush()
    assert live.id in _ids(db, rp.readable_snapshots(reader))
    assert _ids(db, rp.readable_snapshots(dataclasses.replace(reader, permissions=frozenset()))) == set()
    publication.withdraw(db, owner)
    db.flush()
    assert live.id not in _ids(db, rp.readable_snapshots(reader))
    assert live.id in _ids(db, rp.readable_snapshots(owner))
    assert live.id not in _ids(db, rp.published_snapshots(owner))


def test_reporting_versions_and_deliveries_give_nothing_to_an_actor_without_either_reading_right(db: Session) -> None:
    owner = factories.actor(db)
    nobody = dataclasses.replace(owner, permissions=frozenset())
    assert _ids(db, rep.readable_report_versions(nobody)) == set()
    assert _ids(db, rep.readable_deliveries(nobody)) == set()
    assert _ids(db, rep.readable_messages(nobody)) == set()


def test_timeline_and_actions_follow_their_incident(db: Session) -> None:
    from signalfire.response.models import TimelineKind
    from signalfire.response.service import add_timeline_entry
    from signalfire.response.vocab import ActionKind

    mine, theirs = factories.actor(db), factories.actor(db)
    own_action = rdf.timed_action(
        db, mine, ActionKind.MODEL_ROLLBACK, requested=utcnow() - timedelta(hours=1), took=timedelta(minutes=5)
    )
    their_action = rdf.timed_action(
        db, theirs, ActionKind.MODEL_ROLLBACK, requested=utcnow() - timedelta(hours=1), took=timedelta(minutes=5)
    )
    own_incident = rf.incident(db, mine)
    their_incident = rf.incident(db, theirs)
    own = add_timeline_entry(db, mine, own_incident, kind=TimelineKind.NOTE, body="ours")
    theirs_entry = add_timeline_entry(db, theirs, their_incident, kind=TimelineKind.NOTE, body="theirs")
    db.flush()
    entries = _ids(db, resp.readable_timeline(mine))
    assert own.id in entries and theirs_entry.id not in entries
    actions = _ids(db, resp.readable_actions(mine))
    assert own_action.id in actions and their_action.id not in actions


def test_report_versions_deliveries_and_reports_by_side(db: Session) -> None:
    from sqlalchemy import select

    from signalfire.reporting.models import Obligation

    dev, office, stranger = rpf.developer(db), rpf.authority(db, "AI Office"), factories.actor(db)
    rpf.bind(db, rpf.COP, "eu_ai_office", office)
    inc = rpf.incident(db, dev, aware_at=utcnow() - timedelta(hours=3))
    rpf.record(db, dev, inc, "aware_of_model_involvement", utcnow() - timedelta(hours=3))
    rpf.assess(db, dev, inc, rpf.COP, rpf.cop(death="yes"))
    initial = (
        db.execute(select(Obligation).where(Obligation.incident_id == inc.id, Obligation.stage == "initial"))
        .scalars()
        .first()
    )
    assert initial is not None
    version = rpf.submit(db, dev, initial)
    db.flush()
    assert version.id in _ids(db, rep.readable_report_versions(dev))
    assert _ids(db, rep.readable_deliveries(dev))
    assert _ids(db, rep.readable_reports(dev))
    assert version.id in _ids(db, rep.readable_report_versions(office))
    assert _ids(db, rep.readable_deliveries(office))
    for outsider in (stranger, dataclasses.replace(office, permissions=office.permissions - {P.reporting_inbox_read})):
        assert _ids(db, rep.readable_report_versions(outsider)) == set()
        assert _ids(db, rep.readable_deliveries(outsider)) == set()
    no_read = dataclasses.replace(dev, permissions=dev.permissions - {P.reporting_obligation_read})
    assert _ids(db, rep.readable_reports(no_read)) == set()
    assert _ids(db, rep.readable_report_versions(no_read)) == set()


def test_exchange_single_object_rules(db: Session) -> None:
    from signalfire.access.policy import exchange as xp
    from signalfire.exchange.vocab import CoveredUse
    from tests.exchange import factories as xf

    lab, reader = factories.actor(db), factories.actor(db)
    item = xf.published(db, lab, permitted_uses=[CoveredUse.SAFEGUARDS])
    blind = dataclasses.replace(lab, permissions=frozenset())
    assert xp.can_read_details(lab, item, None)  # the contributor's own people need no purpose
    assert not xp.can_read_details(blind, item, None)  # without the read permission, not even one's own
    assert xp.can_read_details(reader, item, CoveredUse.SAFEGUARDS)
    assert not xp.can_read_details(reader, item, CoveredUse.THREAT_DETECTION)
    assert not xp.can_read_details(reader, item, None)

    hub = factories.actor(db, kind=OrgKind.hub_operator)
    assert xp.can_read_health(hub) and xp.can_resolve_pseudonyms(hub)
    for other in (lab, dataclasses.replace(lab, permissions=hub.permissions)):  # a lab, even over-granted
        assert not xp.can_read_health(other) and not xp.can_resolve_pseudonyms(other)
    stripped = dataclasses.replace(hub, permissions=frozenset())
    assert not xp.can_read_health(stripped) and not xp.can_resolve_pseudonyms(stripped)


def test_exchange_edit_publish_responses_and_read_log(db: Session) -> None:
    from signalfire.access.policy import exchange as xp
    from signalfire.exchange import responses, service
    from signalfire.exchange.models import ReadChannel, ResponseKind
    from signalfire.exchange.vocab import CoveredUse
    from tests.exchange import factories as xf

    lab, proposer, third = factories.actor(db), factories.actor(db), factories.actor(db)
    item = xf.published(db, lab, permitted_uses=[CoveredUse.SAFEGUARDS])
    analyst = factories.actor(db, organization=db.get_one(Organization, lab.org_id), role=Role.analyst)
    assert xp.can_edit(lab, item) and xp.can_publish(lab, item)
    assert xp.can_edit(analyst, item) and not xp.can_publish(analyst, item)
    for outsider in (proposer, dataclasses.replace(proposer, permissions=lab.permissions)):
        assert not xp.can_edit(outsider, item) and not xp.can_publish(outsider, item)

    sighting = responses.respond(db, proposer, item.id, ResponseKind.SIGHTING, "Seen it too.")
    correction = responses.respond(db, proposer, item.id, ResponseKind.CORRECTION, "Wrong ATLAS id.")
    db.flush()
    assert _ids(db, xp.readable_responses(third)) >= {sighting.id}
    assert _ids(db, xp.readable_responses(dataclasses.replace(third, permissions=frozenset()))) == set()
    assert correction.id not in _ids(db, xp.readable_responses(third))  # only contributor and proposer
    assert {sighting.id, correction.id} <= _ids(db, xp.readable_responses(lab))
    assert {sighting.id, correction.id} <= _ids(db, xp.readable_responses(proposer))

    read = service.record_read(db, proposer, item, CoveredUse.SAFEGUARDS, ReadChannel.UI)
    db.flush()
    assert read.id in _ids(db, xp.readable_read_log(lab))
    assert read.id not in _ids(db, xp.readable_read_log(proposer))  # the reader's org does not see the log
    assert _ids(db, xp.readable_read_log(dataclasses.replace(lab, permissions=frozenset()))) == set()


def test_an_external_participant_reads_that_incident_and_no_other(db: Session) -> None:
    from signalfire.response.models import Incident, IncidentParticipant
    from signalfire.response.schemas import ParticipantIn
    from signalfire.response.service import add_participant
    from signalfire.response.vocab import ParticipantRole

    host, counsel = factories.actor(db), factories.actor(db, role=Role.viewer)
    shared, private = rf.incident(db, host), rf.incident(db, host)
    own = rf.incident(db, factories.actor(db, organization=db.get_one(Organization, counsel.org_id)))
    add_participant(
        db, host, shared, ParticipantIn(role=ParticipantRole.EXTERNAL, email=counsel.email, affiliation="Counsel")
    )
    db.flush()

    def seen(a: Actor) -> set[Any]:
        return {i.id for i in db.execute(resp.readable_incidents(a)).scalars()}

    # With the read permission of its own org: its own org's incidents plus the one it joined.
    assert {shared.id, own.id} <= seen(counsel) and private.id not in seen(counsel)
    # Without it: only the joined one.
    assert seen(dataclasses.replace(counsel, permissions=frozenset())) == {shared.id}
    # Only the external role grants this: a row of another role (never written by the service) does not.
    stray = rf.incident(db, host)
    db.add(
        IncidentParticipant(
            incident_id=stray.id,
            user_id=counsel.user_id,
            role=ParticipantRole.SCRIBE,
            label=counsel.label,
            assumed_at=utcnow(),
            added_by=host.user_id,
        )
    )
    db.flush()
    assert stray.id not in seen(counsel)
    assert db.get(Incident, stray.id) is not None
    # Participants follow their incident: the counsel sees who takes part in the shared incident only.
    rows = db.execute(resp.readable_participants(counsel)).scalars().all()
    assert {p.incident_id for p in rows} == {shared.id}
    # The counsel's colleagues did not join it; and a counsel who renounced the role loses it.
    colleague = factories.actor(db, organization=db.get_one(Organization, counsel.org_id), role=Role.viewer)
    assert shared.id not in seen(colleague)
    for p in db.execute(resp.readable_participants(counsel)).scalars():
        p.renounced_at = utcnow()
    db.flush()
    assert shared.id not in seen(counsel)


def test_directories_every_signed_in_actor_may_read(db: Session) -> None:
    from signalfire.access.policy import readable_orgs
    from signalfire.reporting.models import RecipientBinding

    dev, office = factories.actor(db), rpf.authority(db, "AI Office")
    rpf.bind(db, rpf.COP, "eu_ai_office", office)
    db.flush()
    # Org names and kinds (to address audiences and authorities) and the deployment's recipient bindings.
    assert {dev.org_id, office.org_id} <= {o.id for o in db.execute(readable_orgs(dev)).scalars()}
    bindings = db.execute(rep.readable_bindings(dev)).scalars().all()
    assert any(isinstance(b, RecipientBinding) and b.authority_org_id == office.org_id for b in bindings)


def test_pseudonym_resolutions_seen_by_the_contributor_and_the_resolving_hub(db: Session) -> None:
    from signalfire.access.policy import exchange as xp
    from signalfire.exchange import pseudonyms
    from tests.exchange import factories as xf

    lab, peer = factories.actor(db), factories.actor(db)
    hub = factories.actor(db, kind=OrgKind.hub_operator)
    item = xf.published(db, lab, attribution="pseudonymous")
    assert item.pseudonym_id is not None
    pseudonyms.resolve(db, hub, item.pseudonym_id, "Checking a duplicate submission.", item.id)
    db.flush()
    mine = _ids(db, xp.readable_resolutions(lab))
    assert len(mine) == 1
    assert _ids(db, xp.readable_resolutions(hub)) == mine  # the hub sees the resolutions it made
    assert _ids(db, xp.readable_resolutions(peer)) == set()
    assert _ids(db, xp.readable_resolutions(dataclasses.replace(lab, permissions=frozenset()))) == set()
    # A hub that did not make it does not see it; a resolver sees its own org's resolutions too.
    other_hub = factories.actor(db, kind=OrgKind.hub_operator)
    assert _ids(db, xp.readable_resolutions(other_hub)) == set()
    resolver_lab = dataclasses.replace(lab, permissions=lab.permissions | {P.exchange_pseudonym_resolve})
    assert _ids(db, xp.readable_resolutions(resolver_lab)) == mine


def test_first_or_404_and_require_say_what_and_why(db: Session) -> None:
    from sqlalchemy import select

    from signalfire.access.policy import first_or_404, require
    from signalfire.core.errors import Forbidden, NotFound

    viewer = factories.actor(db, role=Role.viewer)
    nothing_there = select(Organization).where(Organization.id == viewer.user_id)
    with pytest.raises(NotFound) as missing:
        first_or_404(db, nothing_there, "No such organisation.")
    assert missing.value.detail == "No such organisation."
    with pytest.raises(NotFound) as default:
        first_or_404(db, nothing_there)
    assert default.value.detail == "Not found."
    assert first_or_404(db, select(Organization).where(Organization.id == viewer.org_id)).id == viewer.org_id
    with pytest.raises(Forbidden) as refused:
        require(viewer, P.exchange_item_publish)
    assert refused.value.detail == f"Your role (viewer) in {viewer.org_name} does not allow this."


def test_public_editions_are_every_published_edition_with_its_org_and_report_slug(db: Session) -> None:
    from tests.transparency import helpers

    report, edition, _ = helpers.published(db, factories.actor(db))
    helpers.draft(db, factories.actor(db), title="Never published")  # a draft is not public
    db.flush()
    rows = db.execute(tp.public_editions()).all()
    assert [(e.id, org.id, slug) for e, org, slug in rows] == [(edition.id, report.org_id, report.slug)]

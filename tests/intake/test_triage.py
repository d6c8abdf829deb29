"""Triage: the queue, decisions, promotion into response and the exchange, merging and splitting."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, Role
from signalfire.audit.models import AuditEvent
from signalfire.core.errors import Conflict, Forbidden, ValidationFailed
from signalfire.intake import service
from signalfire.intake.models import Cluster, DecisionKind, SourceKind, TriageState
from signalfire.intake.schemas import DismissIn, MergeIn, PromoteExchangeIn, PromoteIncidentIn, SplitIn
from signalfire.response.models import TimelineEntry
from signalfire.response.vocab import Severity
from tests import factories as tf
from tests.intake import factories as f
from tests.response import factories as rf

ARTICLES = json.loads((Path(__file__).parent / "fixtures" / "articles.json").read_text())


def _team(db: Session, make_actor: Callable[..., Actor]) -> dict[Role, Actor]:
    admin = make_actor()
    team = {Role.admin: admin}
    organization = db.get(Organization, admin.org_id)
    assert organization is not None
    for role in (Role.responder, Role.analyst, Role.viewer):
        team[role] = tf.actor_for(db, tf.member(db, organization, role), organization)
    return team


def test_queue_collapses_clusters_filters_and_sorts(db: Session, make_actor: Callable[..., Actor]) -> None:
    actor = make_actor()
    for i, text in enumerate(ARTICLES["event"][:5]):
        f.signal(db, actor.org_id, title=f"Event {i}", text=text, source_kind=SourceKind.feed_item)
    weights = f.signal(db, actor.org_id, title="Model weights stolen", text="Model weights stolen from a contractor.")
    f.signal(db, actor.org_id, title="Release notes", text="Nothing much.")
    rows, total = service.queue(db, actor, service.QueueFilters())
    assert total == 3 and len(rows) == 3
    assert rows[0].signal.id == weights.id and rows[0].signal.likely_severity is Severity.SEV1
    assert sorted(r.cluster_size for r in rows) == [1, 1, 5]
    flat, total_flat = service.queue(db, actor, service.QueueFilters(collapse=False, sort="newest"))
    assert total_flat == 7 and flat[0].signal.title == "Release notes"
    feeds, _ = service.queue(db, actor, service.QueueFilters(source_kind=SourceKind.feed_item, collapse=False))
    assert len(feeds) == 5
    found, _ = service.queue(db, actor, service.QueueFilters(q="weights"))
    assert [r.signal.id for r in found] == [weights.id]
    by_ref, _ = service.queue(db, actor, service.QueueFilters(q=weights.reference.lower()))
    assert [r.signal.id for r in by_ref] == [weights.id]
    page2, _ = service.queue(db, actor, service.QueueFilters(collapse=False), page=2, page_size=5)
    assert len(page2) == 2


def test_assign_dismiss_duplicate_reopen_are_decisions_and_audited(
    db: Session, make_actor: Callable[..., Actor]
) -> None:
    team = _team(db, make_actor)
    analyst = team[Role.analyst]
    a = f.signal(db, analyst.org_id, title="First", text="alpha beta gamma delta")
    b = f.signal(db, analyst.org_id, title="Second", text="totally different words here")
    service.assign(db, analyst, a, team[Role.responder].user_id)
    with pytest.raises(ValidationFailed):
        service.assign(db, analyst, a, make_actor().user_id)  # not a member of this org
    service.dismiss(db, analyst, a, DismissIn(reason="Out of scope"))
    assert a.state is TriageState.dismissed and a.dismiss_reason == "Out of scope" and a.decided_by == analyst.user_id
    with pytest.raises(Conflict):
        service.dismiss(db, analyst, a, DismissIn(reason="twice"))
    service.mark_duplicate(db, analyst, b, a.id)
    assert (b.state, b.duplicate_of_id) == (TriageState.duplicate, a.id)
    service.reopen(db, analyst, b, "Not the same after all")
    assert b.state is TriageState.new and b.duplicate_of_id is None
    with pytest.raises(Forbidden):
        service.dismiss(db, team[Role.viewer], b, DismissIn(reason="viewer cannot"))
    kinds = [d.kind for d in service.decisions_for(db, analyst, a)]
    assert kinds == [DecisionKind.assigned, DecisionKind.dismissed]
    actions = {
        e.action
        for e in db.execute(select(AuditEvent).where(AuditEvent.target_id.in_([str(a.id), str(b.id)]))).scalars()
    }
    assert {"intake.assigned", "intake.dismissed", "intake.duplicate", "intake.reopened"} <= actions


def _moves(db: Session, signal_id: object) -> list[tuple[str, str, str | None]]:
    """The audit entries of a signal's promotions: action, target type and where it went."""
    events = db.execute(select(AuditEvent).where(AuditEvent.target_id == str(signal_id))).scalars()
    return [
        (e.action, e.target_type, e.summary.get("incident_id") or e.summary.get("exchange_item_id"))
        for e in events
        if e.action.startswith("intake.promoted") or "incident_id" in e.summary or "exchange_item_id" in e.summary
    ]


def test_dismiss_whole_cluster(db: Session, make_actor: Callable[..., Actor]) -> None:
    actor = make_actor()
    signals = [f.signal(db, actor.org_id, title=f"E{i}", text=t) for i, t in enumerate(ARTICLES["event"][:4])]
    done = service.dismiss(db, actor, signals[0], DismissIn(reason="Not ours", whole_cluster=True))
    assert len(done) == 4 and all(s.state is TriageState.dismissed for s in signals)


def test_promote_to_new_incident_brings_the_signal_into_its_timeline(
    db: Session, make_actor: Callable[..., Actor]
) -> None:
    team = _team(db, make_actor)
    raj = team[Role.responder]
    rf.model_version(db, team[Role.admin], name="aurora-large", version="3.2")
    s = f.signal(
        db,
        raj.org_id,
        title="Jailbreak of aurora-large",
        text="Users bypass refusals with role-play.",
        url="https://news.example/jb",
    )
    mate = f.signal(
        db,
        raj.org_id,
        title="Jailbreak of aurora-large spreading",
        text="Users bypass refusals with role-play, copies spread.",
    )
    assert mate.cluster_id == s.cluster_id
    done = service.promote_to_incident(
        db, raj, s, PromoteIncidentIn(affected_models=["aurora-large 3.2"], whole_cluster=True)
    )
    assert done.incident_reference and {x.id for x in done.signals} == {s.id, mate.id}
    assert s.state is TriageState.promoted_incident and s.incident_id == done.incident_id
    entries = db.execute(select(TimelineEntry).where(TimelineEntry.incident_id == done.incident_id)).scalars().all()
    sources = {e.source for e in entries}
    assert f"intake:signal:{s.id}" in sources and f"intake:signal:{mate.id}" in sources
    body = next(e.body for e in entries if e.source == f"intake:signal:{s.id}")
    assert s.reference in body and "https://news.example/jb" in body
    from signalfire.response.models import Incident

    incident = db.get(Incident, done.incident_id)
    assert incident is not None and incident.source == f"intake:signal:{s.id}"
    assert incident.severity is Severity.SEV2 and incident.aware_at <= s.received_at
    # The move across channels is audited on each signal, naming the incident it went into.
    for moved in (s, mate):
        assert _moves(db, moved.id) == [("intake.promoted_incident", "intake_signal", str(incident.id))]


def test_promote_into_an_existing_incident_and_permission_checks(db: Session, make_actor: Callable[..., Actor]) -> None:
    team = _team(db, make_actor)
    incident = rf.incident(db, team[Role.responder])
    s = f.signal(db, team[Role.admin].org_id)
    with pytest.raises(Forbidden):  # an analyst triages but cannot write incidents
        service.promote_to_incident(db, team[Role.analyst], s, PromoteIncidentIn(incident_id=incident.id))
    other_incident = rf.incident(db, make_actor())
    from signalfire.core.errors import NotFound

    with pytest.raises(NotFound):
        service.promote_to_incident(db, team[Role.responder], s, PromoteIncidentIn(incident_id=other_incident.id))
    done = service.promote_to_incident(db, team[Role.responder], s, PromoteIncidentIn(incident_id=incident.id))
    assert done.incident_id == incident.id and s.incident_id == incident.id
    with pytest.raises(Conflict):
        service.promote_to_incident(db, team[Role.responder], s, PromoteIncidentIn(incident_id=incident.id))


def test_promote_to_exchange_draft_goes_through_the_exchange_service(
    db: Session, make_actor: Callable[..., Actor]
) -> None:
    from signalfire.exchange.models import ExchangeItem, ItemStatus

    team = _team(db, make_actor)
    s = f.signal(
        db,
        team[Role.analyst].org_id,
        title="Prompt injection via calendar invites",
        text="Hidden instructions in invites make the agent forward notes.",
        reporter_contact="x@y.z",
        reporter_name="Secret Person",
    )
    done = service.promote_to_exchange(db, team[Role.analyst], s, PromoteExchangeIn())
    item = db.get(ExchangeItem, done.exchange_item_id)
    assert item is not None and item.status is ItemStatus.DRAFT and item.org_id == s.org_id
    assert item.title == s.title and "Secret Person" not in (item.summary + item.details)
    assert s.state is TriageState.promoted_exchange
    assert _moves(db, s.id) == [("intake.promoted_exchange", "intake_signal", str(item.id))]
    with pytest.raises(Forbidden):
        service.promote_to_exchange(
            db, team[Role.responder], f.signal(db, s.org_id, title="Another one"), PromoteExchangeIn()
        )


def test_merge_and_split_clusters(db: Session, make_actor: Callable[..., Actor]) -> None:
    actor = make_actor()
    a = f.signal(db, actor.org_id, title="A", text="completely separate story about outages")
    b = f.signal(db, actor.org_id, title="B", text="another unrelated matter about pricing pages")
    assert a.cluster_id != b.cluster_id
    merged = service.merge_clusters(db, actor, MergeIn(into=a.cluster_id, clusters=[b.cluster_id]))
    db.refresh(b)
    assert b.cluster_id == merged.id and merged.signal_count == 2
    assert db.execute(select(Cluster).where(Cluster.org_id == actor.org_id)).scalars().all() == [merged]
    with pytest.raises(ValidationFailed):
        service.split_cluster(db, actor, merged, SplitIn(signal_ids=[a.id, b.id]))
    new = service.split_cluster(db, actor, merged, SplitIn(signal_ids=[b.id], title="Pricing"))
    assert new.title == "Pricing" and b.cluster_id == new.id
    other = make_actor()
    from signalfire.core.errors import NotFound

    with pytest.raises(NotFound):
        service.merge_clusters(db, other, MergeIn(into=new.id, clusters=[merged.id]))


# -- through HTTP --------------------------------------------------------------------------------------------


def test_triage_through_the_api(
    db: Session, make_actor: Callable[..., Actor], api_client: Callable[[Actor | None], TestClient]
) -> None:
    team = _team(db, make_actor)
    c = api_client(team[Role.responder])
    created = c.post("/api/v1/intake/signals", json={"title": "Manual tip", "text": "Jailbreak seen on forum"})
    assert created.status_code == 201
    sid = created.json()["id"]
    assert created.json()["decisions"] == []
    listed = c.get("/api/v1/intake/signals")
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "1"
    assert (
        c.post(
            f"/api/v1/intake/signals/{sid}/assign", json={"assignee_id": str(team[Role.analyst].user_id)}
        ).status_code
        == 200
    )
    promo = c.post(
        f"/api/v1/intake/signals/{sid}/promote-incident", json={"title": "Forum jailbreak", "severity": "sev2"}
    )
    assert promo.status_code == 200, promo.text
    assert promo.json()["incident_reference"].startswith("INC-")
    again = c.post(f"/api/v1/intake/signals/{sid}/dismiss", json={"reason": "too late"})
    assert again.status_code == 409
    assert c.post(f"/api/v1/intake/signals/{sid}/dismiss", json={"reason": "x"}).status_code == 422
    assert c.get("/api/v1/intake/signals", params={"sort": "sideways"}).status_code == 422
    assert c.get("/api/v1/intake/signals", params={"state": "nonsense"}).status_code == 422
    detail = c.get(f"/api/v1/intake/signals/{sid}").json()
    assert [d["kind"] for d in detail["decisions"]] == ["assigned", "promoted_incident"]


def test_triage_through_the_pages(
    db: Session, make_actor: Callable[..., Actor], browser_client: Callable[[Actor | None], TestClient]
) -> None:
    team = _team(db, make_actor)
    s = f.signal(
        db, team[Role.admin].org_id, title="Suspicious <script>alert(1)</script> report", text="Body with <b>markup</b>"
    )
    db.commit()
    c = browser_client(team[Role.responder])
    queue = c.get("/intake")
    assert queue.status_code == 200 and s.reference in queue.text
    assert "<script>alert(1)</script>" not in queue.text
    page = c.get(f"/intake/signals/{s.id}")
    assert page.status_code == 200 and "Promote to incident" in page.text
    resp = c.post(f"/intake/signals/{s.id}/dismiss", data={"reason": "Spam"}, follow_redirects=False)
    assert resp.status_code == 303
    db.refresh(s)
    assert s.state is TriageState.dismissed
    viewer_page = browser_client(team[Role.viewer]).get(f"/intake/signals/{s.id}")
    assert viewer_page.status_code == 200 and "Dismiss with reason" not in viewer_page.text
    assert re.search(r"Dismissed: Spam", viewer_page.text)

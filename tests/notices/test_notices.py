"""Capability-threshold notices: a crossing opens a notice with its own clock and nothing in incident
reporting; drafted, approved, sent through the outbox, receipted, linked; every step audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.audit.models import AuditEvent
from signalfire.core.errors import Conflict, NotFound, ValidationFailed
from signalfire.notices import queries, service
from signalfire.notices.models import Notice, NoticeStatus, Threshold
from signalfire.notices.schemas import AcknowledgeIn, DraftIn, EvaluationIn, LinkIn, ThresholdIn
from signalfire.notify.models import OutboxJob
from signalfire.reporting.models import Obligation
from signalfire.response.models import ContactChannel, Incident, TimelineEntry
from signalfire.response.vocab import RiskDomain
from tests import factories
from tests.notices import factories as nf
from tests.response import factories as rf

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
JSON = {"accept": "application/json"}


def _count(db: Session, model: type) -> int:
    return int(db.execute(select(func.count()).select_from(model)).scalar_one())


def _actions(db: Session, prefix: str) -> list[str]:
    rows = db.execute(select(AuditEvent.action).where(AuditEvent.action.like(f"{prefix}%"))).scalars()
    return list(rows)


@pytest.fixture()
def admin(db: Session) -> Actor:
    return factories.actor(db)


def test_crossing_opens_a_notice_with_its_own_clock_and_no_incident_obligation(db: Session, admin: Actor) -> None:
    with time_machine.travel(NOW, tick=False):
        threshold, _ = nf.world(db, admin)
        incidents, obligations = _count(db, Incident), _count(db, Obligation)
        known = NOW - timedelta(hours=3)
        below = service.record_evaluation(
            db, admin, EvaluationIn(model="aurora-large 3.1", evaluation="bio uplift eval", score=0.69)
        )
        assert below.opened == [] and below.already_open == []
        crossing = service.record_evaluation(
            db,
            admin,
            EvaluationIn(model="aurora-large 3.2", evaluation="Bio Uplift Eval", score=0.7, completed_at=known),
        )
    assert len(crossing.opened) == 1
    notice = crossing.opened[0]
    # The clock starts when the result was known (3 h ago) and runs the framework's 24 hours: 2026-03-11 11:00.
    assert notice.clock_start_at == datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
    assert notice.due_at == datetime(2026, 3, 11, 11, 0, tzinfo=UTC)
    assert notice.status is NoticeStatus.DRAFT and notice.threshold_id == threshold.id
    assert notice.reference.startswith("SF-N-")
    # Never an incident, never a reporting obligation: the firewall between notices and reports.
    assert (_count(db, Incident), _count(db, Obligation)) == (incidents, obligations)
    assert "notices.notice.open" in _actions(db, "notices.")
    # The same version crossing again points at the open notice instead of opening a second one.
    again = service.record_evaluation(
        db, admin, EvaluationIn(model="aurora-large 3.2", evaluation="bio uplift eval", score=0.9)
    )
    assert again.opened == [] and [n.id for n in again.already_open] == [notice.id]
    assert _count(db, Notice) == 1


def test_an_incident_and_its_obligations_never_open_a_notice(db: Session, admin: Actor) -> None:
    nf.world(db, admin)
    rf.incident(db, admin, risk_domain=RiskDomain.CBRN, affected_models=["aurora-large 3.2"])
    assert _count(db, Notice) == 0


def test_draft_approve_send_receipt_through_the_outbox(db: Session, admin: Actor) -> None:
    nf.world(db, admin)
    notice = service.record_evaluation(
        db, admin, EvaluationIn(model="aurora-large 3.2", evaluation="bio uplift eval", score=0.8)
    ).opened[0]
    notice = queries.get_notice(db, admin, notice.id)
    with pytest.raises(Conflict):  # not approved yet
        service.send(db, admin, notice)
    service.update_draft(db, admin, notice, DraftIn(subject="ASL-3 notice: aurora-large 3.2", body="We notify you..."))
    service.approve(db, admin, notice)
    with pytest.raises(Conflict):  # an approved text is no longer edited
        service.update_draft(db, admin, notice, DraftIn(subject="Changed after approval", body="Changed text here"))
    service.send(db, admin, notice)
    assert (notice.status, notice.sent_at is not None) == (NoticeStatus.SENT, True)
    by_agency = {r.agency: r for r in notice.recipients}
    assert set(by_agency) == {"AI Safety Institute desk", "National duty officer"}
    # The e-mail contact gets an outbox job; the phone contact is told by a person (no job).
    emailed = by_agency["AI Safety Institute desk"]
    assert emailed.job_id is not None and by_agency["National duty officer"].job_id is None
    job = db.get(OutboxJob, emailed.job_id)
    assert job is not None and job.payload["to"] == ["desk@aisi.example.gov"]
    assert job.payload["subject"] == "ASL-3 notice: aurora-large 3.2" and notice.reference in job.payload["body"]
    for r in notice.recipients:
        service.acknowledge(db, admin, notice, AcknowledgeIn(recipient_id=r.id, receipt="ref 42"))
    assert notice.status is NoticeStatus.ACKNOWLEDGED
    with pytest.raises(Conflict):
        service.acknowledge(db, admin, notice, AcknowledgeIn(recipient_id=emailed.id))
    assert sorted(_actions(db, "notices.notice.")) == sorted(
        [
            "notices.notice.open",
            "notices.notice.draft",
            "notices.notice.approve",
            "notices.notice.send",
            "notices.notice.acknowledge",
            "notices.notice.acknowledge",
        ]
    )


def test_link_to_an_incident_is_explicit_audited_and_shown_on_both(db: Session, admin: Actor) -> None:
    nf.world(db, admin)
    notice = service.record_evaluation(
        db, admin, EvaluationIn(model="aurora-large 3.2", evaluation="bio uplift eval", score=0.8)
    ).opened[0]
    incident = rf.incident(db, admin, risk_domain=RiskDomain.CBRN)
    obligations = _count(db, Obligation)
    notice = queries.get_notice(db, admin, notice.id)
    service.link_incident(db, admin, notice, LinkIn(incident_id=incident.id))
    assert notice.incident_id == incident.id and notice.linked_by == admin.user_id
    assert "notices.notice.link" in _actions(db, "notices.")
    entries = db.execute(select(TimelineEntry.body).where(TimelineEntry.incident_id == incident.id)).scalars().all()
    assert any(notice.reference in body for body in entries)
    assert _count(db, Obligation) == obligations  # linking starts no clock
    other = factories.actor(db)
    foreign = rf.incident(db, other)
    with pytest.raises(ValidationFailed):
        service.link_incident(db, admin, notice, LinkIn(incident_id=foreign.id))


def test_a_threshold_must_name_government_contacts(db: Session, admin: Actor) -> None:
    nf.world(db, admin)
    base = {
        "name": "Cyber uplift",
        "framework": "Frontier Safety Framework 3.0, CCL cyber",
        "risk_domain": RiskDomain.CYBER_OFFENCE,
        "evaluation": "cyber range",
        "cutoff": 0.5,
        "notify_within_hours": 48,
    }
    with pytest.raises(ValidationFailed) as no_contacts:
        service.create_threshold(db, admin, ThresholdIn(**base, contact_ids=[]))
    assert no_contacts.value.errors[0].field == "contact_ids"
    vendor = nf.contact(db, admin, "Forensics vendor", ContactChannel.EMAIL, "ir@vendor.example", government=False)
    with pytest.raises(ValidationFailed):
        service.create_threshold(db, admin, ThresholdIn(**base, contact_ids=[vendor.id]))
    other = factories.actor(db)
    theirs = nf.contact(db, other, "Their desk", ContactChannel.EMAIL, "desk@their.example")
    with pytest.raises(ValidationFailed):
        service.create_threshold(db, admin, ThresholdIn(**base, contact_ids=[theirs.id]))


def test_a_notice_whose_threshold_lost_its_contacts_is_not_sent(db: Session, admin: Actor) -> None:
    threshold, people = nf.world(db, admin)
    notice = service.record_evaluation(
        db, admin, EvaluationIn(model="aurora-large 3.2", evaluation="bio uplift eval", score=0.8)
    ).opened[0]
    for person in people:
        db.delete(person)
    db.flush()
    db.expire_all()
    notice = queries.get_notice(db, admin, notice.id)
    service.approve(db, admin, notice)
    with pytest.raises(Conflict) as refused:
        service.send(db, admin, notice)
    assert refused.value.slug == "notice-no-contacts"
    assert db.get(Notice, notice.id).status is NoticeStatus.APPROVED  # type: ignore[union-attr]
    assert isinstance(threshold, Threshold)


def test_others_see_nothing(db: Session, admin: Actor) -> None:
    nf.world(db, admin)
    notice = service.record_evaluation(
        db, admin, EvaluationIn(model="aurora-large 3.2", evaluation="bio uplift eval", score=0.8)
    ).opened[0]
    other = factories.actor(db)
    authority = factories.actor(db, kind=OrgKind.authority)
    for outsider in (other, authority):
        with pytest.raises(NotFound):
            queries.get_notice(db, outsider, notice.id)
        assert queries.list_notices(db, outsider) == [] and queries.list_thresholds(db, outsider) == []
    viewer = factories.actor(db, organization=db.get(factories.Organization, admin.org_id), role=Role.viewer)
    assert [n.id for n in queries.list_notices(db, viewer)] == [notice.id]


# -- the JSON API -------------------------------------------------------------------------------------------


def test_api_records_a_crossing_idempotently_and_sends(
    db: Session, admin: Actor, api_client: Callable[[Actor | None], TestClient]
) -> None:
    nf.world(db, admin)
    db.commit()
    c = api_client(admin)
    body = {"model": "aurora-large 3.2", "evaluation": "bio uplift eval", "score": 0.75}
    first = c.post("/api/v1/notices/evaluations", json=body, headers={"Idempotency-Key": "eval-1"})
    again = c.post("/api/v1/notices/evaluations", json=body, headers={"Idempotency-Key": "eval-1"})
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json()
    opened = first.json()["opened"]
    assert len(opened) == 1 and opened[0]["clock"] == "running" and opened[0]["status"] == "draft"
    nid = opened[0]["id"]
    assert c.post(f"/api/v1/notices/{nid}/send").status_code == 409
    assert c.post(f"/api/v1/notices/{nid}/approve").status_code == 200
    sent = c.post(f"/api/v1/notices/{nid}/send")
    assert sent.status_code == 200 and sent.json()["status"] == "sent" and len(sent.json()["recipients"]) == 2
    assert c.get(f"/api/v1/notices/{nid}").json()["clock"] == "met"
    assert api_client(None).get(f"/api/v1/notices/{nid}").status_code == 401
    assert api_client(factories.actor(db)).get(f"/api/v1/notices/{nid}").status_code == 404


def test_api_bad_input_is_problem_json_and_stores_nothing(
    db: Session, admin: Actor, api_client: Callable[[Actor | None], TestClient]
) -> None:
    _, people = nf.world(db, admin)
    db.commit()
    c = api_client(admin)
    threshold = {
        "name": "Autonomy uplift",
        "framework": "Risk management framework, section 2",
        "risk_domain": "autonomy",
        "evaluation": "autonomy suite",
        "cutoff": 0.4,
        "notify_within_hours": 24,
    }
    thresholds = _count(db, Threshold)
    for bad in (
        {**threshold, "contact_ids": []},  # a notice nobody could be told of
        {**threshold, "contact_ids": [str(people[0].id)], "name": "x" * 5000},  # oversized
        {**threshold, "contact_ids": [str(people[0].id)], "description": "bad\u0000text"},  # hostile
        {**threshold, "contact_ids": [str(people[0].id)], "notify_within_hours": 0},
        {**threshold, "contact_ids": [str(people[0].id)], "cutoff": "NaN"},
    ):
        resp = c.post("/api/v1/notices/thresholds", json=bad)
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert _count(db, Threshold) == thresholds
    future = {
        "model": "aurora-large 3.2",
        "evaluation": "bio uplift eval",
        "score": 0.9,
        "completed_at": "2200-01-01T00:00:00Z",
    }
    assert c.post("/api/v1/notices/evaluations", json=future).status_code == 422
    unknown = {"model": "no-such-model 1", "evaluation": "bio uplift eval", "score": 0.9}
    assert c.post("/api/v1/notices/evaluations", json=unknown).status_code == 422
    assert _count(db, Notice) == 0
    ok = c.post("/api/v1/notices/thresholds", json={**threshold, "contact_ids": [str(people[0].id)]})
    assert ok.status_code == 201 and ok.json()["contacts"][0]["agency"] == "AI Safety Institute desk"
    assert (
        c.post("/api/v1/notices/thresholds", json={**threshold, "contact_ids": [str(people[0].id)]}).status_code == 409
    )


def test_an_unsent_notice_near_its_due_time_is_in_my_work(db: Session, admin: Actor) -> None:
    from signalfire.mywork.service import my_work

    nf.world(db, admin)
    with time_machine.travel(NOW, tick=False):
        notice = service.record_evaluation(
            db,
            admin,
            EvaluationIn(
                model="aurora-large 3.2",
                evaluation="bio uplift eval",
                score=0.8,
                completed_at=NOW - timedelta(hours=20),
            ),
        ).opened[0]
        items = [i for i in my_work(db, admin).items if i.kind == "notice"]
        assert [i.href for i in items] == [f"/notices/{notice.id}"] and items[0].urgent  # 4 h left
        viewer = factories.actor(db, organization=db.get(factories.Organization, admin.org_id), role=Role.viewer)
        assert not [i for i in my_work(db, viewer).items if i.kind == "notice"]  # viewers send nothing
        service.approve(db, admin, queries.get_notice(db, admin, notice.id))
        service.send(db, admin, queries.get_notice(db, admin, notice.id))
        assert not [i for i in my_work(db, admin).items if i.kind == "notice"]

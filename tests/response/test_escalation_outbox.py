"""Escalation through the outbox with a frozen clock: level 2 is paged exactly when level 1 did not
acknowledge in time, and never when it did (by the acknowledgement link or in the app)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.models import Organization, Role
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import JobSettings
from signalfire.notify.models import JobKind, OutboxJob, WebhookEndpoint
from signalfire.notify.transports import LogMailer
from signalfire.notify.worker import Worker
from signalfire.response import paging, service
from signalfire.response.models import Page, PageStatus
from signalfire.response.schemas import EscalationPolicyIn, LevelIn
from signalfire.web.app import create_app
from tests import factories
from tests.conftest import make_settings
from tests.response import factories as rf

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIRST_WAIT = timedelta(minutes=5)


def _page_jobs(factory: sessionmaker[Session], page_id: uuid.UUID) -> dict[str, list[OutboxJob]]:
    """The page's email and webhook jobs by level key ("0:0", "0:1", ...)."""
    with unit_of_work(factory) as s:
        jobs = s.execute(select(OutboxJob).where(OutboxJob.topic == "response.page")).scalars().all()
        out: dict[str, list[OutboxJob]] = {}
        for job in jobs:
            key = job.dedupe_key or ""
            if str(page_id) in key:
                level = key.split(f"{page_id}:")[1].split(":")[0:2]
                out.setdefault(":".join(level), []).append(job)
        return out


def _start(url: str) -> tuple[sessionmaker[Session], Worker, dict[str, Any]]:
    factory = session_factory(make_engine(url))
    with unit_of_work(factory) as s:
        admin = factories.actor(s)
        org = s.get(Organization, admin.org_id)
        assert org is not None
        second = factories.actor_for(s, factories.member(s, org, Role.responder), org)
        s.add(
            WebhookEndpoint(org_id=admin.org_id, url="http://127.0.0.1:9/hook", secret="x" * 32, events=["response.*"])
        )
        policy = paging.create_policy(
            s,
            admin,
            EscalationPolicyIn(
                name="SEV1",
                levels=[
                    LevelIn(targets=[admin.email], wait_minutes=5),
                    LevelIn(targets=[second.email], wait_minutes=10),
                ],
            ),
        )
        incident = rf.incident(s, admin, aware_at=T0 - timedelta(minutes=10))
        page = paging.start_page(s, admin, policy.id, incident=incident)
        info = {
            "page_id": page.id,
            "first": admin.email,
            "second": second.email,
            "admin": admin,
            "incident_id": incident.id,
        }
    worker = Worker(factory, settings=JobSettings(lease_seconds=60), mailer=LogMailer())
    return factory, worker, info


def _level2(factory: sessionmaker[Session], page_id: uuid.UUID) -> list[OutboxJob]:
    return _page_jobs(factory, page_id).get("0:1", [])


def test_second_level_is_paged_exactly_when_the_first_does_not_acknowledge(fresh_db: str) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        factory, worker, info = _start(fresh_db)
        worker.drain()
        first = _page_jobs(factory, info["page_id"])["0:0"]
        assert {j.kind for j in first} == {JobKind.email, JobKind.webhook}
        assert next(j for j in first if j.kind is JobKind.email).payload["to"] == [info["first"]]
        assert _level2(factory, info["page_id"]) == []

        clock.move_to(T0 + FIRST_WAIT - timedelta(seconds=1))
        worker.drain()
        assert _level2(factory, info["page_id"]) == [], "paged level 2 before level 1's wait ran out"

        clock.move_to(T0 + FIRST_WAIT)
        worker.drain()
        second = _level2(factory, info["page_id"])
        assert {j.kind for j in second} == {JobKind.email, JobKind.webhook}
        email = next(j for j in second if j.kind is JobKind.email)
        assert email.payload["to"] == [info["second"]]
        assert email.created_at == T0 + FIRST_WAIT
        assert "/response/ack/" in email.payload["body"]

        clock.move_to(T0 + timedelta(hours=2))
        worker.drain()
        assert len(_level2(factory, info["page_id"])) == 2, "level 2 must be paged once"
        with unit_of_work(factory) as s:
            page = s.get(Page, info["page_id"])
            assert page is not None and page.status is PageStatus.EXHAUSTED


@pytest.mark.parametrize("ack_after", [timedelta(minutes=4), FIRST_WAIT])  # at the boundary counts as in time
def test_an_acknowledgement_through_the_link_stops_the_escalation(fresh_db: str, ack_after: timedelta) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        factory, worker, info = _start(fresh_db)
        worker.drain()
        clock.move_to(T0 + ack_after)
        app = create_app(make_settings(fresh_db), run_worker=False)
        with TestClient(app, base_url="http://testserver") as c:
            link = c.get(f"/response/ack/{paging.ack_token(info['page_id'])}")
            assert link.status_code == 200
            token = re.search(r'name="csrf-token" content="([^"]+)"', link.text)
            assert token is not None
            done = c.post(f"/response/ack/{paging.ack_token(info['page_id'])}", data={"csrf_token": token.group(1)})
            assert done.status_code == 200 and 'data-testid="ack-done"' in done.text
            assert c.get(f"/response/ack/{info['page_id']}.forged").status_code == 404
        for minutes in (5, 6, 15, 60, 240):
            clock.move_to(T0 + timedelta(minutes=minutes))
            worker.drain()
            assert _level2(factory, info["page_id"]) == [], f"level 2 paged {minutes} min after an acknowledgement"
        with unit_of_work(factory) as s:
            page = s.get(Page, info["page_id"])
            assert page is not None and page.acknowledged_at == T0 + ack_after
            incident = service.get_incident(s, info["admin"], info["incident_id"])
            assert any("acknowledged" in e.body for e in service.timeline(s, incident))


def test_the_sweep_catches_a_check_that_was_lost(fresh_db: str) -> None:
    """If the scheduled check never runs, the periodic sweep still sends level 2 (late, not never)."""
    with time_machine.travel(T0, tick=False) as clock:
        factory, _worker, info = _start(fresh_db)
        with unit_of_work(factory) as s:  # lose the scheduled check
            for job in s.execute(select(OutboxJob).where(OutboxJob.topic == paging.CHECK_TASK)).scalars():
                s.delete(job)
        clock.move_to(T0 + FIRST_WAIT + timedelta(minutes=1))
        with unit_of_work(factory) as s:
            sent = paging.run_escalations(s, T0 + FIRST_WAIT + timedelta(minutes=1))
        assert sent == 1
        assert len(_level2(factory, info["page_id"])) == 2

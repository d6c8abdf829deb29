"""The reporting flow through the JSON API: assess, draft (prefilled), 422 on missing fields, submit
(frozen, hashed, audited, delivered), acknowledge, question and answer, amend, export."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Role
from signalfire.audit.models import AuditEvent
from signalfire.notify.models import OutboxJob
from signalfire.reporting.models import ReportVersion
from signalfire.response import service as response
from signalfire.response.models import TimelineKind
from tests.reporting import factories as f
from tests.reporting.factories import COP, utc
from tests.response import factories as rf

API = "/api/v1/reporting"
Client = Callable[[Actor | None], TestClient]


def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def _setup(db: Session) -> tuple[Actor, Actor, Any]:
    dev = f.developer(db, role=Role.reporter)
    admin = f.colleague(db, dev)
    office = f.authority(db, "EU AI Office (test)")
    f.bind(db, COP, "eu_ai_office", office)
    rf.model_version(db, admin, "aurora-large", "3.2")
    inc = f.incident(
        db,
        admin,
        aware_at=utc(2026, 9, 1, 8),
        affected_models=["aurora-large 3.2"],
        summary="A jailbreak produced harmful instructions.",
    )
    response.add_timeline_entry(
        db, admin, inc, kind=TimelineKind.EVIDENCE, body="Replay log #42 shows the prompt.", at=utc(2026, 9, 1, 9)
    )
    db.commit()
    return dev, office, inc


def test_assess_draft_submit_question_answer_amend(db: Session, api_client: Client) -> None:
    with time_machine.travel(utc(2026, 9, 2, 12), tick=False) as clock:
        dev, office, inc = _setup(db)
        c = api_client(dev)
        ok(
            c.post(
                f"{API}/incidents/{inc.id}/events",
                json={
                    "event": "aware_of_model_involvement",
                    "at": "2026-09-01T10:00:00Z",
                    "evidence": "Replay confirmed.",
                },
            ),
            201,
        )
        q = ok(c.get(f"{API}/incidents/{inc.id}/questionnaire/{COP}"))
        assert q["questions"][0]["id"] == "model_involved"
        assert "aware_of_model_involvement" in q["clock_events"]
        done = ok(
            c.post(
                f"{API}/incidents/{inc.id}/assessments",
                json={
                    "regime_id": COP,
                    "answers": f.cop(health_harm="yes"),
                    "facts": f.COP_FACTS,
                    "rationale": "Serious harm to health.",
                },
            ),
            201,
        )
        assert done["assessment"]["outcome"] == "reportable" and done["assessment"]["classes"] == ["serious_harm"]
        assert done["obligations"]["created"] == 3

        board = ok(c.get(f"{API}/board"))
        initial = next(r["obligation"] for r in board["rows"] if r["obligation"]["stage"] == "initial")
        assert initial["due_at"] == "2026-09-16T10:00:00Z" and board["due_7d"] == 0

        report = ok(c.post(f"{API}/obligations/{initial['id']}/report"), 201)
        fields = {x["id"]: x for x in report["fields"]}
        assert fields["m4_model"]["value"] == "aurora-large 3.2"  # OECD 8: system and version
        assert "Replay log #42" in fields["m5_evidence"]["value"]  # OECD 3/7: evidence entries
        assert "A jailbreak produced harmful instructions." in fields["m3_chain_of_events"]["value"]
        assert fields["m7_recommendations"]["required"]

        # Required fields missing: 422 naming each; nothing stored.
        ok(
            c.patch(
                f"{API}/reports/{report['id']}",
                json={
                    "fields": {
                        "m6_response": {"value": ""},
                        "m7_recommendations": {"value": ""},
                        "m2_harm": {"value": "", "preliminary": True},
                    }
                },
            )
        )
        versions_before = db.execute(select(func.count()).select_from(ReportVersion)).scalar_one()
        resp = c.post(f"{API}/reports/{report['id']}/submit")
        assert resp.status_code == 422
        named = {e["field"] for e in resp.json()["errors"]}
        assert named == {"fields.m6_response", "fields.m7_recommendations"}  # m2 is preliminary: allowed empty
        assert db.execute(select(func.count()).select_from(ReportVersion)).scalar_one() == versions_before

        ok(
            c.patch(
                f"{API}/reports/{report['id']}",
                json={
                    "fields": {
                        "m6_response": {"value": "Safeguard updated; accounts blocked."},
                        "m7_recommendations": {"value": "None yet.", "preliminary": True},
                    }
                },
            )
        )
        sent = c.post(f"{API}/reports/{report['id']}/submit", headers={"Idempotency-Key": "submit-1"})
        body = ok(sent, 201)
        replay = ok(c.post(f"{API}/reports/{report['id']}/submit", headers={"Idempotency-Key": "submit-1"}), 201)
        assert replay == body  # a retry with the same key creates nothing new
        canonical = json.dumps(body["content"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canonical.encode()).hexdigest() == body["sha256"]
        assert body["content"]["regime"]["id"] == COP and body["content"]["stage"]["id"] == "initial"
        assert [x["id"] for x in body["content"]["fields"]][:2] == ["m1_dates", "m2_harm"]
        prelim = {x["id"] for x in body["content"]["fields"] if x["preliminary"]}
        assert prelim == {"m2_harm", "m7_recommendations"}
        assert body["content"]["recipients"][0]["delivered_to"] == "EU AI Office (test)"
        assert body["content"]["recipients"][1]["delivered_to"] is None  # eu_ncas: not bound here
        audit = db.execute(select(AuditEvent).where(AuditEvent.action == "reporting.report.submit")).scalars().all()
        assert [a.summary["sha256"] for a in audit] == [body["sha256"]]

        exported = ok(c.get(f"{API}/reports/{report['id']}/versions/1"))
        assert exported == body
        after = ok(c.get(f"{API}/obligations/{initial['id']}"))
        assert after["status"] == "submitted" and not after["submitted_late"]
        board = ok(c.get(f"{API}/board"))
        update = next(r["obligation"] for r in board["rows"] if r["obligation"]["stage"] == "update-1")
        assert update["due_at"] == "2026-09-30T12:00:00Z"  # 4 weeks after the initial report was sent

        # The authority: inbox, acknowledge, ask.
        a = api_client(office)
        rows = ok(a.get(f"{API}/inbox"))
        assert len(rows) == 1 and rows[0]["sha256"] == body["sha256"] and rows[0]["sender"]
        delivery = ok(a.get(f"{API}/inbox/{rows[0]['delivery_id']}"))
        assert delivery["content"] == body["content"]
        clock.shift(60)
        ok(a.post(f"{API}/inbox/{rows[0]['delivery_id']}/acknowledge"))
        clock.shift(60)
        question = ok(a.post(f"{API}/inbox/{rows[0]['delivery_id']}/questions", json={"body": "Which surfaces?"}), 201)
        assert ok(a.get(f"{API}/inbox"))[0]["open_questions"] == 1

        # The reporter answers in the same thread.
        thread = ok(c.get(f"{API}/reports/{report['id']}"))["messages"]
        assert [m["kind"] for m in thread] == ["acknowledgement", "question"]
        clock.shift(60)
        ok(
            c.post(
                f"{API}/reports/{report['id']}/answers", json={"question_id": question["id"], "body": "API and app."}
            ),
            201,
        )
        seen = ok(a.get(f"{API}/inbox/{rows[0]['delivery_id']}"))["messages"]
        assert [m["kind"] for m in seen] == ["acknowledgement", "question", "answer"]
        assert ok(a.get(f"{API}/inbox"))[0]["open_questions"] == 0

        # Amend: edit and submit again: version 2 names the hash it amends.
        ok(c.patch(f"{API}/reports/{report['id']}", json={"fields": {"m2_harm": {"value": "One person harmed."}}}))
        v2 = ok(c.post(f"{API}/reports/{report['id']}/submit"), 201)
        assert v2["content"]["version"] == 2 and v2["content"]["amends"] == body["sha256"]
        assert len(ok(a.get(f"{API}/inbox"))) == 2
        emails = db.execute(select(OutboxJob.topic).where(OutboxJob.topic.like("reporting.%"))).scalars().all()
        assert "reporting.report.received" in emails and "reporting.question.received" in emails


def test_final_report_fields_may_not_be_preliminary(db: Session, api_client: Client) -> None:
    with time_machine.travel(utc(2026, 9, 20, 12), tick=False):
        dev, _, inc = _setup(db)
        f.record(db, dev, inc, "aware_of_model_involvement", utc(2026, 9, 1, 10))
        f.record(db, dev, inc, "resolved", utc(2026, 9, 10, 10))
        f.assess(db, dev, inc, COP, f.cop(health_harm="yes"))
        db.commit()
        c = api_client(dev)
        board = ok(c.get(f"{API}/board"))
        final = next(r["obligation"] for r in board["rows"] if r["obligation"]["stage"] == "final")
        assert final["due_at"] == "2026-11-09T10:00:00Z"  # 60 days after resolution
        assert len(final["required_fields"]) == 9
        report = ok(c.post(f"{API}/obligations/{final['id']}/report"), 201)
        resp = c.patch(
            f"{API}/reports/{report['id']}", json={"fields": {"m8_root_cause": {"value": "x", "preliminary": True}}}
        )
        assert resp.status_code == 422
        assert resp.json()["errors"][0]["field"] == "fields.m8_root_cause.preliminary"
        resp = c.post(f"{API}/reports/{report['id']}/submit")
        assert resp.status_code == 422
        assert "fields.m8_root_cause" in {e["field"] for e in resp.json()["errors"]}

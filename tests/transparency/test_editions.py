"""Sign-off (four eyes), publication, immutable editions, the public JSON and page, access to drafts, and
bad input, through the JSON API and the services."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Role
from signalfire.audit.models import AuditEvent
from signalfire.response.vocab import Severity
from signalfire.transparency import service
from signalfire.transparency.models import TransparencyEdition
from signalfire.transparency.schemas import ReportFields, SignOffIn
from tests import factories
from tests.readiness.factories import developer
from tests.response import factories as rf
from tests.transparency import helpers

API = "/api/v1/transparency"
NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)
Client = Callable[[Actor | None], TestClient]


def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    return body


@pytest.fixture()
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as t:
        yield t


def test_publish_flow_four_eyes_hash_and_superseding(db: Session, api_client: Client, frozen: Any) -> None:
    author = developer(db, role=Role.reporter)
    reviewer = helpers.colleague(db, author)
    rf.incident(db, reviewer, aware_at=datetime(2026, 8, 1, tzinfo=UTC), severity=Severity.SEV1)
    db.commit()
    a, r = api_client(author), api_client(reviewer)

    body = helpers.definition(slug="q3")
    created = ok(a.post(f"{API}/reports", json=body, headers={"Idempotency-Key": "k1"}), 201)
    again = ok(a.post(f"{API}/reports", json=body, headers={"Idempotency-Key": "k1"}), 201)
    assert again["id"] == created["id"] and created["status"] == "draft"
    rid = created["id"]
    sev = next(f for f in created["figures"] if f["kind"] == "incidents_by_severity")
    assert [c["count"] for c in sev["cells"]] == [1, 0, 0, 0]

    # The author cannot sign off (a reporter lacks the permission); nor can an admin who wrote it.
    problem(a.post(f"{API}/reports/{rid}/signoff", json={}), 403)
    problem(r.post(f"{API}/reports/{rid}/publish"), 409)  # not signed off yet
    ok(r.post(f"{API}/reports/{rid}/signoff", json={"note": "checked"}))
    first = ok(r.post(f"{API}/reports/{rid}/publish", headers={"Idempotency-Key": "p1"}), 201)
    replay = ok(r.post(f"{API}/reports/{rid}/publish", headers={"Idempotency-Key": "p1"}), 201)
    assert replay == first and first["number"] == 1

    anon = api_client(None)
    resp = anon.get(first["json_url"])
    assert resp.status_code == 200
    assert hashlib.sha256(resp.content).hexdigest() == first["sha256"] == resp.headers["X-Content-SHA256"]
    doc = json.loads(resp.content)
    assert doc["edition"] == 1 and doc["supersedes"] is None and doc["suppression"]["threshold"] == 3
    assert "figures" not in json.dumps(doc["organisation"]) and "signed_off_by" not in doc
    edition1 = db.get(TransparencyEdition, uuid.UUID(first["id"]))
    assert edition1 is not None
    text1, sha1 = edition1.canonical, edition1.sha256

    # Edited by the reviewer: now the reviewer may not sign off (last editor); the author lacks the role,
    # so a third admin does.
    ok(r.put(f"{API}/reports/{rid}", json=helpers.definition(title="Transparency report, 2026 Q3 (revised)")))
    problem(r.post(f"{API}/reports/{rid}/signoff", json={}), 403)
    third = api_client(helpers.colleague(db, author))
    ok(third.post(f"{API}/reports/{rid}/signoff", json={}))
    second = ok(third.post(f"{API}/reports/{rid}/publish"), 201)
    assert second["number"] == 2 and second["supersedes"] == 1

    db.expire_all()
    edition1 = db.get(TransparencyEdition, uuid.UUID(first["id"]))
    assert edition1 is not None and (edition1.canonical, edition1.sha256) == (text1, sha1)
    assert anon.get(first["json_url"]).content == text1.encode()
    latest = json.loads(anon.get(f"/api/v1/public/transparency/{helpers.org_slug(db, author)}/q3").content)
    assert latest["edition"] == 2 and latest["report"]["title"].endswith("(revised)")
    page = anon.get(first["url"])
    assert page.status_code == 200 and 'data-testid="superseded"' in page.text
    actions = {e.action for e in db.execute(select(AuditEvent).where(AuditEvent.org_id == author.org_id)).scalars()}
    assert {"transparency.report.create", "transparency.report.update", "transparency.report.signoff"} <= actions
    assert "transparency.edition.publish" in actions


def test_an_edition_cannot_be_changed_or_deleted(db: Session, frozen: Any) -> None:
    _, edition, _ = helpers.published(db, developer(db))
    edition.canonical = edition.canonical.replace("Incidents", "Nothing")
    with pytest.raises(RuntimeError, match="immutable"):
        db.flush()
    db.rollback()
    _, edition, _ = helpers.published(db, developer(db))
    db.delete(edition)
    with pytest.raises(RuntimeError, match="kept"):
        db.flush()


def test_the_database_refuses_a_raw_update_or_delete_of_an_edition(db: Session, frozen: Any) -> None:
    """Below the ORM: a plain SQL statement cannot alter or remove a published edition either."""
    _, edition, _ = helpers.published(db, developer(db))
    db.commit()
    edition_id, canonical = edition.id, edition.canonical
    for statement in (
        update(TransparencyEdition).where(TransparencyEdition.id == edition_id).values(canonical="{}"),
        delete(TransparencyEdition).where(TransparencyEdition.id == edition_id),
    ):
        with pytest.raises(DBAPIError, match="immutable"):
            db.execute(statement)
        db.rollback()
    kept = db.execute(select(TransparencyEdition.canonical).where(TransparencyEdition.id == edition_id)).scalar_one()
    assert kept == canonical


def test_figures_that_changed_after_the_signoff_are_not_published(db: Session, frozen: Any) -> None:
    author = developer(db)
    report = helpers.draft(db, author)
    reviewer = helpers.colleague(db, author)
    service.sign_off(db, reviewer, report.id, SignOffIn())
    rf.incident(db, author, aware_at=datetime(2026, 9, 1, tzinfo=UTC))  # entered late, dated in the period
    with pytest.raises(Exception, match="changed since the sign-off") as exc:
        service.publish(db, reviewer, report.id)
    assert getattr(exc.value, "status", None) == 409


def test_author_or_last_editor_cannot_sign_off(db: Session, frozen: Any) -> None:
    author = developer(db)  # an admin
    report = helpers.draft(db, author)
    with pytest.raises(Exception, match="second person") as exc:
        service.sign_off(db, author, report.id, SignOffIn())
    assert getattr(exc.value, "status", None) == 403


def test_drafts_are_hidden_from_other_orgs_and_anonymous(db: Session, api_client: Client, frozen: Any) -> None:
    author = developer(db)
    report = helpers.draft(db, author, slug="secret-draft")
    viewer = helpers.colleague(db, author, Role.viewer)
    outsider = developer(db)
    db.commit()
    assert ok(api_client(viewer).get(f"{API}/reports/{report.id}"))["title"]
    problem(api_client(outsider).get(f"{API}/reports/{report.id}"), 404)
    problem(api_client(None).get(f"{API}/reports/{report.id}"), 401)
    assert api_client(outsider).get(f"{API}/reports").json() == []
    slug = helpers.org_slug(db, author)
    for path in (
        f"/api/v1/public/transparency/{slug}/secret-draft",
        f"/public/transparency/{slug}/secret-draft",
        f"/public/transparency/{slug}",
    ):
        assert api_client(None).get(path).status_code == 404, path


def test_records_behind_a_figure_are_for_members_only(
    db: Session, api_client: Client, browser_client: Client, frozen: Any
) -> None:
    author = developer(db)
    inc = rf.incident(db, author, aware_at=datetime(2026, 8, 1, tzinfo=UTC), severity=Severity.SEV1)
    report, edition, _ = helpers.published(db, author)
    outsider = developer(db)
    db.commit()
    url = f"{API}/editions/{edition.id}/records/incidents_by_severity?cell=sev1"
    got = ok(api_client(author).get(url))
    assert got["published"]["sev1"] == 1 and [r["href"] for r in got["records"]] == [f"/response/incidents/{inc.id}"]
    problem(api_client(outsider).get(url), 404)
    problem(api_client(author).get(f"{API}/editions/{edition.id}/records/nonsense"), 404)
    public = f"/public/transparency/{helpers.org_slug(db, author)}/{report.slug}"
    assert 'data-testid="record-link"' in browser_client(author).get(public).text
    assert 'data-testid="record-link"' not in browser_client(outsider).get(public).text
    anon_page = api_client(None).get(public).text
    assert 'data-testid="record-link"' not in anon_page and "/response/incidents/" not in anon_page


def test_bad_input_is_a_clear_4xx_and_loses_nothing(db: Session, api_client: Client, frozen: Any) -> None:
    author = developer(db)
    db.commit()
    c = api_client(author)
    bad_metric = helpers.definition(sections=[{"heading": "X", "metrics": ["accounts_banned_by_moon"]}])
    body = problem(c.post(f"{API}/reports", json=bad_metric), 422)
    assert any(e["field"] == "sections[0].metrics[0]" for e in body["errors"]), body
    assert problem(c.post(f"{API}/reports", json=helpers.definition(period_end="2026-06-01")), 422)["errors"]
    problem(c.post(f"{API}/reports", json=helpers.definition(period_end="2027-12-31")), 422)  # over a year
    problem(c.post(f"{API}/reports", json=helpers.definition(threshold=1)), 422)
    problem(c.post(f"{API}/reports", json=helpers.definition(slug="Not A Slug")), 422)
    problem(c.post(f"{API}/reports", json=helpers.definition(title="nul\x00")), 422)
    huge = [{"heading": "H", "body": "x" * 20_001, "metrics": []}]
    problem(c.post(f"{API}/reports", json=helpers.definition(sections=huge)), 422)
    problem(c.post(f"{API}/reports", json={**helpers.definition(), "extra": 1}), 422)
    problem(c.post(f"{API}/reports", content=b"{not json", headers={"content-type": "application/json"}), 400)

    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    created = ok(c.post(f"{API}/reports", json=helpers.definition(slug="q3", title=hostile)), 201)
    problem(c.post(f"{API}/reports", json=helpers.definition(slug="q3")), 409)
    # A refused update leaves the draft as it was.
    problem(c.put(f"{API}/reports/{created['id']}", json={**helpers.definition(), "threshold": 0}), 422)
    assert ok(c.get(f"{API}/reports/{created['id']}"))["title"] == hostile
    # A period that has not ended is neither signed off nor published.
    future = ok(
        c.post(f"{API}/reports", json=helpers.definition(period_start="2026-10-01", period_end="2026-12-31")), 201
    )
    reviewer = api_client(helpers.colleague(db, author))
    assert problem(reviewer.post(f"{API}/reports/{future['id']}/signoff", json={}), 409)["detail"]
    ok(reviewer.post(f"{API}/reports/{created['id']}/signoff", json={}))
    pub = ok(reviewer.post(f"{API}/reports/{created['id']}/publish"), 201)
    page = api_client(None).get(pub["url"]).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    problem(api_client(None).get("/api/v1/public/transparency/nope/q3/editions/0"), 422)


def test_a_reader_who_cannot_see_the_records_gets_403_not_zeros(db: Session, app: Any, frozen: Any) -> None:
    author = developer(db)
    report = helpers.draft(db, author)
    scoped = TestClient(app, base_url="http://testserver")
    scoped.headers["Authorization"] = f"Bearer {factories.token_for(db, author, scopes=['transparency'])}"
    body = problem(scoped.get(f"{API}/reports/{report.id}"), 403)
    assert "does not allow" in body["detail"]
    full = TestClient(app, base_url="http://testserver")
    full.headers["Authorization"] = f"Bearer {factories.token_for(db, author)}"
    assert ok(full.get(f"{API}/reports/{report.id}"))["figures"]


def test_a_second_publication_of_the_same_number_is_a_conflict(db: Session, frozen: Any) -> None:
    """Two publishers racing: the loser's edition number is taken (simulated by a stale edition count)."""
    author = developer(db)
    report, _, reviewer = helpers.published(db, author)
    service.update_report(db, author, report.id, ReportFields.model_validate(helpers.definition()))
    service.sign_off(db, reviewer, report.id, SignOffIn())
    report.edition_count = 0  # as another request's view before the first edition was stored
    with pytest.raises(Exception, match="just published") as exc:
        service.publish(db, reviewer, report.id)
    assert getattr(exc.value, "status", None) == 409

"""The firewall between sharing and reporting, and the one explicit path from response into the exchange.

* The exchange package imports nothing from ``signalfire.reporting`` (checked on the source).
* Running every exchange action (share, revise, withdraw, read, respond, decide, route, resolve, lesson,
  export) leaves every ``reporting_*`` table exactly as it was: no obligation is created or touched.
* A lesson is drafted only from the org's own *closed* incident, with internal identifiers stripped, and
  goes through screening before it can be published.
"""

from __future__ import annotations

import ast
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind
from signalfire.audit.models import AuditEvent
from signalfire.core.clock import utcnow
from signalfire.exchange import authoring, lessons, pseudonyms, responses, routing, service
from signalfire.exchange.models import ExchangeItem, ItemStatus, ReadChannel, ResponseKind
from signalfire.exchange.sanitise import service as sanitise_service
from signalfire.exchange.schemas import LessonIn
from signalfire.exchange.stix import convert as stix
from signalfire.exchange.vocab import Category, CoveredUse, Tlp
from tests.exchange import factories as xf

EXCHANGE_SRC = Path(__file__).resolve().parents[2] / "src" / "signalfire" / "exchange"
POLICY_SRC = Path(__file__).resolve().parents[2] / "src" / "signalfire" / "access" / "policy" / "exchange.py"
Client = Callable[[Actor | None], TestClient]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_exchange_imports_nothing_from_reporting() -> None:
    files = [*EXCHANGE_SRC.rglob("*.py"), POLICY_SRC]
    assert len(files) > 10
    offenders = {
        str(f.relative_to(EXCHANGE_SRC.parents[1])): sorted(n for n in _imports(f) if "reporting" in n) for f in files
    }
    assert {f: names for f, names in offenders.items() if names} == {}


def _reporting_rows(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every reporting_* table, in a stable order: the state an exchange action must not touch."""
    tables = sorted(t for t in inspect(db.connection()).get_table_names() if t.startswith("reporting_"))
    return {t: [tuple(r) for r in db.execute(text(f'SELECT * FROM "{t}" ORDER BY 1')).all()] for t in tables}


def _seed_reporting(db: Session, actor: Actor) -> None:
    """An obligation for the contributor org, so that "untouched" is checked on real rows (not on empty
    tables). Any error here fails the test: a seed that silently did nothing would prove nothing."""
    from tests.reporting import factories as rpf

    incident = rpf.incident(db, actor, aware_at=utcnow() - timedelta(hours=3))
    rpf.assess(db, actor, incident, rpf.COP, rpf.cop(health_harm="yes"))


def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    return resp


def _export_and_feed(client: TestClient) -> int:
    """The STIX export and every TAXII collection's objects, as the peer; returns how many objects it read."""
    bundle = _ok(client.get("/api/v1/exchange/export.stix", params={"purpose": "safeguards"})).json()
    assert bundle["type"] == "bundle"
    headers = {"Accept": "application/taxii+json;version=2.1", "X-Signalfire-Purpose": "safeguards"}
    collections = _ok(client.get("/taxii2/exchange/collections/", headers=headers)).json()["collections"]
    assert collections
    read = 0
    for collection in (c for c in collections if c["can_read"]):
        envelope = _ok(client.get(f"/taxii2/exchange/collections/{collection['id']}/objects/", headers=headers))
        read += len(envelope.json().get("objects", []))
    return read


def test_no_exchange_action_creates_or_touches_a_reporting_row(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    lab = make_actor()
    peer = make_actor()
    hub = make_actor(OrgKind.hub_operator)
    _seed_reporting(db, lab)
    db.commit()
    before = _reporting_rows(db)
    assert before, "no reporting_* tables in the schema"
    assert before["reporting_obligation"], "the seed created no obligation to protect"

    # Share: draft, publish, revise, withdraw (services and API), with routing designated.
    routing.designate(db, peer, Category.VULNERABILITY, peer.user_id)
    item = xf.published(db, lab, category=Category.VULNERABILITY, attribution="pseudonymous", tlp=Tlp.AMBER)
    authoring.revise(
        db,
        lab,
        item.id,
        xf.item_in(category=Category.VULNERABILITY, attribution="pseudonymous", tlp=Tlp.AMBER),
        change_note="More detail.",
    )
    gone = xf.published(db, lab)
    authoring.withdraw(db, lab, gone.id, "duplicate")
    db.commit()
    created = _ok(api_client(lab).post("/api/v1/exchange/items", json=xf.item_in().model_dump(mode="json")), 201)
    _ok(api_client(lab).post(f"/api/v1/exchange/items/{created.json()['item']['id']}/publish", json={}))
    # Read (UI, API and export channels), respond, decide, resolve.
    service.open_details(db, peer, item.id, CoveredUse.SAFEGUARDS, ReadChannel.UI)
    db.commit()
    _ok(api_client(peer).get(f"/api/v1/exchange/items/{item.id}/details", params={"purpose": "safeguards"}))
    correction = responses.respond(db, peer, item.id, ResponseKind.CORRECTION, "Wrong ATLAS id.")
    responses.respond(db, peer, item.id, ResponseKind.SIGHTING, "Seen it.")
    responses.respond(db, peer, item.id, ResponseKind.MITIGATED)
    responses.decide_correction(db, lab, correction.id, accept=True)
    assert item.pseudonym_id is not None
    pseudonyms.resolve(db, hub, item.pseudonym_id, "Checking a duplicate submission.", item.id)
    # Lesson from an incident (a cross-channel move, audited as such), then publish it.
    review = xf.closed_review(db, lab)
    lesson = lessons.draft_from_review(
        db,
        lab,
        LessonIn(
            review_id=review.id,
            category=Category.VULNERABILITY,
            permitted_uses=[CoveredUse.SAFEGUARDS],
            strip=["build-runner-7.internal"],
        ),
    )
    moves = db.execute(select(AuditEvent).where(AuditEvent.target_id == str(lesson.id))).scalars().all()
    assert [
        (e.action, e.target_type, e.summary["incident_id"], e.summary["review_id"])
        for e in moves
        if e.action == "exchange.item.lesson_drafted"
    ] == [("exchange.item.lesson_drafted", "exchange_item", str(review.incident_id), str(review.id))]
    reviewer = make_actor(organization=db.get_one(Organization, lab.org_id))
    sanitise_service.sign_off(db, reviewer, lesson.id)
    authoring.publish(db, lab, lesson.id)
    # Export: the STIX bundle of what the peer may read, and the read it implies.
    readable = db.execute(select(ExchangeItem).where(ExchangeItem.status == ItemStatus.PUBLISHED)).scalars().all()
    bundle = stix.item_to_bundle([service.snapshot_of(db, i, None) for i in readable])
    assert bundle["type"] == "bundle"
    service.record_read(db, peer, item, CoveredUse.SAFEGUARDS, ReadChannel.EXPORT)
    db.commit()
    assert _export_and_feed(api_client(peer)) > 0
    db.commit()
    db.expire_all()

    assert _reporting_rows(db) == before


def test_lesson_strips_identifiers_and_is_screened(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    lab = make_actor()
    review = xf.closed_review(db, lab, reference="INC-2026-0042")
    review.went_badly = "Paging reached the wrong rota; see the notes from priya.nair@auroralabs.io."
    db.commit()
    resp = api_client(lab).post(
        "/api/v1/exchange/lessons",
        json={
            "review_id": str(review.id),
            "category": "vulnerability",
            "permitted_uses": ["safeguards"],
            "strip": ["build-runner-7.internal"],
        },
    )
    assert resp.status_code == 201, resp.text
    item = db.get_one(ExchangeItem, uuid.UUID(resp.json()["id"]))
    everything = " ".join([item.title, item.summary, item.details])
    assert "INC-2026-0042" not in everything and "build-runner-7.internal" not in everything
    assert "priya.nair@auroralabs.io" not in everything
    assert "[incident-ref-1]" in item.details and "[host-1]" in everything and "[email-1]" in item.details
    assert item.status == ItemStatus.DRAFT and item.source_incident_id == review.incident_id
    assert item.attribution.value == "pseudonymous"
    # Publishing waits for a second person's sign-off of the sanitisation preview.
    blocked = api_client(lab).post(f"/api/v1/exchange/items/{item.id}/publish", json={})
    assert blocked.status_code == 409 and blocked.json()["type"].endswith("sanitisation-not-signed-off")


def test_lesson_needs_a_closed_incident_of_ones_own_org(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    lab = make_actor()
    other = make_actor()
    open_review = xf.closed_review(db, lab, closed=False)
    foreign = xf.closed_review(db, other)
    db.commit()
    body = {"category": "threat", "permitted_uses": ["threat_detection"]}
    assert (
        api_client(lab).post("/api/v1/exchange/lessons", json={**body, "review_id": str(open_review.id)}).status_code
        == 409
    )
    assert (
        api_client(lab).post("/api/v1/exchange/lessons", json={**body, "review_id": str(foreign.id)}).status_code == 404
    )
    assert (
        api_client(lab)
        .post("/api/v1/exchange/lessons", json={**body, "review_id": str(foreign.id), "tlp": "RED"})
        .status_code
        == 404
    )
    assert db.execute(select(ExchangeItem)).first() is None

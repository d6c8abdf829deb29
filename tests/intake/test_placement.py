"""The fast durable path: a report is acknowledged after one insert, waits as "clustering pending", and the
worker's sweep then clusters, scores, audits and announces it in batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind
from signalfire.audit.models import AuditEvent
from signalfire.core.settings import JobSettings
from signalfire.intake import matching, placement
from signalfire.intake.models import Signal
from signalfire.notify.transports import LogMailer
from signalfire.notify.worker import Worker
from tests.intake import factories as f

LEAK = "The assistant in the support widget printed its hidden system prompt when asked to repeat the text above."


@pytest.fixture()
def setup(db: Session, make_actor: Callable[..., Actor], api_client: Callable[[Actor | None], TestClient]) -> Any:
    admin = make_actor()
    f.open_channel(db, admin, model_names=["Nimbus-7"])
    dev = make_actor(kind=OrgKind.downstream)
    db.commit()
    org = db.get(Organization, admin.org_id)
    assert org is not None
    return admin, dev, org.slug, api_client(dev), api_client(admin)


def _send(client: TestClient, slug: str, title: str, description: str) -> str:
    resp = client.post("/api/v1/intake/reports", json={"org": slug, "title": title, "description": description})
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "received"
    return str(resp.json()["reference"])


def _signal(db: Session, ref: str) -> Signal:
    return db.execute(select(Signal).where(Signal.reference == ref)).scalar_one()


def _receive_entries(db: Session, signal: Signal) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(
        AuditEvent.target_id == str(signal.id), AuditEvent.action == "intake.signal.receive"
    )
    return list(db.execute(stmt).scalars())


def test_a_report_is_acknowledged_pending_and_placed_by_the_sweep(
    db: Session, setup: Any, browser_client: Callable[[Actor | None], TestClient], place: Callable[[], int]
) -> None:
    admin, dev, slug, sender, receiver = setup
    ref = _send(sender, slug, "Nimbus-7 leaks its system prompt", LEAK)
    signal = _signal(db, ref)
    # Stored and acknowledged; nothing that reads other rows has run yet.
    assert signal.placement_pending and signal.cluster_id is None and signal.relevance == 0.0
    assert signal.received_by == dev.label
    assert _receive_entries(db, signal) == []

    pending = receiver.get("/api/v1/intake/signals", params={"clustering": "pending"})
    assert [s["reference"] for s in pending.json()] == [ref] and pending.json()[0]["placement_pending"] is True
    assert receiver.get("/api/v1/intake/signals", params={"clustering": "placed"}).json() == []
    assert receiver.get("/api/v1/intake/signals", params={"clustering": "later"}).status_code == 422
    web = browser_client(admin)
    assert 'data-testid="clustering-pending"' in web.get("/intake").text
    assert 'data-testid="clustering-pending"' in web.get(f"/intake/signals/{signal.id}").text

    assert place() == 1
    signal = _signal(db, ref)
    assert not signal.placement_pending and signal.cluster_id is not None
    assert signal.relevance > 0 and signal.matched_models == ["Nimbus-7"]
    [entry] = _receive_entries(db, signal)
    assert entry.actor_user_id == dev.user_id and entry.actor_label == dev.label
    assert entry.summary["cluster_id"] == str(signal.cluster_id)
    assert receiver.get("/api/v1/intake/signals", params={"clustering": "pending"}).json() == []
    assert 'data-testid="clustering-pending"' not in web.get("/intake").text
    assert place() == 0  # nothing left: placed once


def test_a_batch_is_clustered_together(db: Session, setup: Any, place: Callable[[], int]) -> None:
    _, _, slug, sender, _ = setup
    same = [
        _send(sender, slug, "Support widget leaks system prompt", LEAK),
        _send(sender, slug, "Hidden system prompt printed by support widget", LEAK + " Reproduced twice."),
        _send(sender, slug, "System prompt leak in the support widget", "Asked to repeat the text above, " + LEAK),
    ]
    other = _send(
        sender, slug, "Invoice totals rounded wrongly", "Monthly invoices round the VAT line down instead of half up."
    )
    assert place() == 4
    clusters = {ref: _signal(db, ref).cluster_id for ref in [*same, other]}
    assert len({clusters[r] for r in same}) == 1
    assert clusters[other] != clusters[same[0]]


def test_the_worker_loop_runs_the_sweep(
    db: Session, setup: Any, session_maker: sessionmaker[Session], app: Any
) -> None:
    _, _, slug, sender, _ = setup
    ref = _send(sender, slug, "Support widget leaks system prompt", LEAK)
    worker = Worker(session_maker, settings=JobSettings(), mailer=LogMailer())
    assert worker.run_once() >= 1
    db.expire_all()
    assert not _signal(db, ref).placement_pending


def test_a_signal_that_cannot_be_placed_is_set_aside_not_retried_forever(
    db: Session, setup: Any, place: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, slug, sender, _ = setup
    good = _send(sender, slug, "Support widget leaks system prompt", LEAK)
    bad = _send(sender, slug, "Poison report", "This one breaks the clustering.")
    real = matching.place_signals

    def failing(session: Session, signals: Any, **kw: Any) -> Any:
        if any(s.title == "Poison report" for s in signals):
            raise RuntimeError("boom")
        return real(session, signals, **kw)

    monkeypatch.setattr(matching, "place_signals", failing)
    assert place() == 2
    placed, poison = _signal(db, good), _signal(db, bad)
    assert not placed.placement_pending and placed.cluster_id is not None
    assert not poison.placement_pending and poison.cluster_id is None
    assert len(_receive_entries(db, placed)) == 1 and len(_receive_entries(db, poison)) == 1


def test_waiting_signals_are_taken_oldest_first_in_bounded_batches(
    db: Session, setup: Any, session_maker: sessionmaker[Session]
) -> None:
    _, _, slug, sender, _ = setup
    refs = [_send(sender, slug, f"Report number {i}", f"Distinct text {i} about item {i * 7}.") for i in range(5)]
    with session_maker() as s:
        assert placement.place_waiting(s, limit=2) == 2
        s.commit()
    db.expire_all()
    waiting = [r for r in refs if _signal(db, r).placement_pending]
    assert waiting == refs[2:]
    count = db.execute(select(func.count()).where(Signal.placement_pending.is_(True))).scalar_one()
    assert count == 3

"""The org's audit page points to the published checkpoint only once there is one to fetch."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.audit.chain import record
from signalfire.audit.models import AuditCheckpoint
from signalfire.audit.note import Signer
from signalfire.audit.sequencer import integrate

LINK = '<a href="/.well-known/signalfire/checkpoint">'


def test_the_checkpoint_link_appears_once_a_checkpoint_is_signed(
    db: Session, make_actor: Callable[..., Actor], browser_client: Callable[[Actor | None], TestClient]
) -> None:
    actor = make_actor()
    client = browser_client(actor)
    db.execute(delete(AuditCheckpoint))
    db.flush()
    before = client.get("/admin/audit")
    assert before.status_code == 200
    assert LINK not in before.text
    assert "none yet" in before.text
    assert client.get("/.well-known/signalfire/checkpoint").status_code == 404

    record(db, action="t", target_type="thing", target_id="1", summary={}, org_id=actor.org_id)
    signer = Signer("page.example/log", bytes(range(32)))
    integrate(db, signer=signer, origin="page.example/log", holder="t", lease_seconds=0)
    db.flush()
    after = client.get("/admin/audit")
    assert LINK in after.text
    assert client.get("/.well-known/signalfire/checkpoint").status_code == 200

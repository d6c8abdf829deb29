"""Who sees what: an authority sees the reports delivered to it and its own threads, nothing else; other
orgs see nothing of an org's reporting; and the firewall between the exchange and reporting holds."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Role
from signalfire.access.policy.reporting import (
    readable_assessments,
    readable_deliveries,
    readable_messages,
    readable_obligations,
    readable_report_versions,
    readable_reports,
)
from signalfire.reporting import inbox
from signalfire.reporting.models import Obligation
from tests.reporting import factories as f
from tests.reporting.factories import COP, SB53, utc

API = "/api/v1/reporting"
Client = Callable[[Actor | None], TestClient]
NOW = utc(2026, 9, 5, 12)


@pytest.fixture()
def world(db: Session) -> dict[str, Any]:
    """A developer with two reports: the Code's initial report to the AI Office (and the NCAs, bound to a
    second authority), SB 53's to OES."""
    with time_machine.travel(NOW, tick=False) as clock:
        dev = f.developer(db)
        office, nca, oes = f.authority(db, "AI Office"), f.authority(db, "An NCA"), f.authority(db, "OES")
        f.bind(db, COP, "eu_ai_office", office)
        f.bind(db, COP, "eu_ncas", nca)
        f.bind(db, SB53, "ca_oes", oes)
        inc = f.incident(db, dev, aware_at=utc(2026, 9, 1, 8))
        f.record(db, dev, inc, "aware_of_model_involvement", utc(2026, 9, 1, 8))
        f.record(db, dev, inc, "discovered", utc(2026, 9, 1, 8))
        f.assess(db, dev, inc, COP, f.cop(death="yes"))
        f.assess(db, dev, inc, SB53, f.sb53(loss_of_control_harm="yes"))
        for o in db.execute(
            select(Obligation).where(Obligation.incident_id == inc.id, Obligation.stage == "initial")
        ).scalars():
            f.submit(db, dev, o)
        clock.shift(60)
        q_office = inbox.ask(db, office, inbox.inbox(db, office)[0].delivery.id, "Office question")
        clock.shift(60)
        q_nca = inbox.ask(db, nca, inbox.inbox(db, nca)[0].delivery.id, "NCA question")
        db.commit()
    return {"dev": dev, "office": office, "nca": nca, "oes": oes, "inc": inc, "q_office": q_office, "q_nca": q_nca}


def test_each_authority_sees_only_what_was_addressed_to_it(
    world: dict[str, Any], db: Session, api_client: Client, browser_client: Client
) -> None:
    office, nca, oes = world["office"], world["nca"], world["oes"]
    rows = {name: inbox.inbox(db, world[name]) for name in ("office", "nca", "oes")}
    assert [r.version.content["regime"]["id"] for r in rows["office"]] == [COP]
    assert [r.version.content["regime"]["id"] for r in rows["nca"]] == [COP]
    assert [r.version.content["regime"]["id"] for r in rows["oes"]] == [SB53]
    oes_delivery = rows["oes"][0].delivery.id
    for outsider in (office, nca):
        assert api_client(outsider).get(f"{API}/inbox/{oes_delivery}").status_code == 404
        assert browser_client(outsider).get(f"/reporting/inbox/{oes_delivery}").status_code == 404
        assert browser_client(outsider).get(f"/reporting/inbox/{oes_delivery}/document").status_code == 404
        assert api_client(outsider).post(f"{API}/inbox/{oes_delivery}/questions", json={"body": "x"}).status_code == 404
    report_id = rows["oes"][0].delivery.report_id
    assert api_client(office).get(f"{API}/reports/{report_id}/versions/1").status_code == 404
    assert api_client(oes).get(f"{API}/reports/{report_id}/versions/1").status_code == 200  # delivered to OES


def test_threads_are_per_authority(world: dict[str, Any], db: Session, api_client: Client) -> None:
    office, nca, dev = world["office"], world["nca"], world["dev"]
    office_delivery = inbox.inbox(db, office)[0].delivery.id
    seen = api_client(office).get(f"{API}/inbox/{office_delivery}").json()["messages"]
    assert [m["body"] for m in seen] == ["Office question"]
    nca_delivery = inbox.inbox(db, nca)[0].delivery.id
    assert [m["body"] for m in api_client(nca).get(f"{API}/inbox/{nca_delivery}").json()["messages"]] == [
        "NCA question"
    ]
    # The NCA cannot answer into, or read, the AI Office's thread; the developer sees both.
    assert {m.body for m in db.execute(readable_messages(nca)).scalars()} == {"NCA question"}
    report_id = inbox.inbox(db, office)[0].delivery.report_id
    bodies = {m["body"] for m in api_client(dev).get(f"{API}/reports/{report_id}").json()["messages"]}
    assert bodies == {"Office question", "NCA question"}


def test_authorities_see_no_drafts_obligations_or_assessments(
    world: dict[str, Any], db: Session, api_client: Client, browser_client: Client
) -> None:
    inc = world["inc"]
    obligation = db.execute(
        select(Obligation).where(
            Obligation.incident_id == inc.id, Obligation.regime_id == COP, Obligation.stage == "initial"
        )
    ).scalar_one()
    assert obligation.report_id is not None
    for name in ("office", "nca", "oes"):
        a = world[name]
        for stmt in (readable_obligations(a), readable_assessments(a), readable_reports(a)):
            assert db.execute(stmt).first() is None
        c = api_client(a)
        assert c.get(f"{API}/incidents/{inc.id}").status_code == 404
        assert c.get(f"{API}/obligations/{obligation.id}").status_code == 404
        assert c.get(f"{API}/reports/{obligation.report_id}").status_code == 404
        assert c.get(f"{API}/board").json()["rows"] == []
        assert browser_client(a).get(f"/reporting/reports/{obligation.report_id}").status_code == 404
        assert browser_client(a).get("/reporting", follow_redirects=False).status_code == 303  # to the inbox


def test_another_org_and_roles(world: dict[str, Any], db: Session, api_client: Client, browser_client: Client) -> None:
    inc, dev = world["inc"], world["dev"]
    obligation = db.execute(
        select(Obligation).where(
            Obligation.incident_id == inc.id, Obligation.regime_id == COP, Obligation.stage == "initial"
        )
    ).scalar_one()
    other = f.developer(db)
    viewer = f.colleague(db, dev, Role.viewer)
    db.commit()
    for stmt in (
        readable_obligations(other),
        readable_deliveries(other),
        readable_report_versions(other),
        readable_messages(other),
    ):
        assert db.execute(stmt).first() is None
    c = api_client(other)
    assert c.get(f"{API}/incidents/{inc.id}").status_code == 404
    assert c.get(f"{API}/reports/{obligation.report_id}").status_code == 404
    assert c.get(f"{API}/board").json()["rows"] == []
    assert browser_client(other).get(f"/reporting/incidents/{inc.id}").status_code == 404
    assert api_client(None).get(f"{API}/board").status_code == 401
    v = api_client(viewer)
    assert v.get(f"{API}/reports/{obligation.report_id}").status_code == 200
    assert v.post(f"{API}/reports/{obligation.report_id}/submit").status_code == 403
    assert v.post(f"{API}/obligations/{obligation.id}/waive", json={"reason": "x"}).status_code == 403
    assert len(v.get(f"{API}/board").json()["rows"]) > 0


# -- the firewall --------------------------------------------------------------------------------------------

REPORTING = Path(__file__).resolve().parents[2] / "src" / "signalfire" / "reporting"


def test_reporting_never_imports_the_exchange() -> None:
    """Obligations arise only from an org's own incident and assessment: no reporting module may even
    import the exchange (it could not read a shared item if it wanted to)."""
    offenders = []
    for path in sorted(REPORTING.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("signalfire.exchange")]
    assert offenders == []
    policy = REPORTING.parents[0] / "access" / "policy" / "reporting.py"
    assert "exchange" not in {n.split(".")[1] for n in _imports(policy) if n.startswith("signalfire.")}


def _imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
    return out


def test_an_authority_sees_no_exchange_item_not_addressed_to_government_partners(db: Session) -> None:
    """Asserted through the exchange's own policy (the exchange helper's tests cover the rest)."""
    models = pytest.importorskip("signalfire.exchange.models")
    vocab = pytest.importorskip("signalfire.exchange.vocab")
    policy = pytest.importorskip("signalfire.access.policy.exchange")
    contributor = f.developer(db)
    office = f.authority(db, "AI Office")
    flags = ("audience_all_members", "audience_named_orgs", "audience_government", "audience_researchers")
    expected = set()
    for tlp, gov, others, status in itertools.product(
        list(vocab.Tlp), (True, False), (True, False), list(models.ItemStatus)
    ):
        item = models.ExchangeItem(
            org_id=contributor.org_id,
            status=status,
            category=next(iter(vocab.Category)),
            title=f"{tlp} {gov}",
            severity=next(iter(vocab.Severity)),
            priority=next(iter(vocab.Priority)),
            confidence=next(iter(vocab.Confidence)),
            tlp=tlp,
            permitted_uses_mask=1,
            **{flag: (gov if flag == "audience_government" else others) for flag in flags},
        )
        db.add(item)
        db.flush()
        if gov and tlp != vocab.Tlp.RED and status == models.ItemStatus.PUBLISHED:
            expected.add(item.id)
    seen = {i.id for i in db.execute(policy.readable_items(office)).scalars()}
    assert seen == expected and expected
    for item in db.execute(policy.readable_items(office)).scalars():
        assert item.audience_government and item.tlp != vocab.Tlp.RED

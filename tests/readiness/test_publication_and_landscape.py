"""Publishing a scorecard (what others see, and what they never see), the policy on snapshots, the
risk-domain settings, and the landscape data file."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.audit.models import AuditEvent
from signalfire.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from signalfire.readiness import landscape, publication, service
from signalfire.readiness.items import DEFAULT_DOMAINS, ITEMS
from signalfire.readiness.models import ScorecardSnapshot
from signalfire.readiness.scorecard import State
from signalfire.response.vocab import RiskDomain
from tests import factories
from tests.readiness import factories as f
from tests.response import factories as rf

NOW = f.utc(2026, 6, 15, 12)
Client = Callable[[Actor | None], TestClient]


def test_published_snapshot_carries_states_and_summaries_but_no_records(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        inc = rf.incident(db, a, aware_at=NOW - timedelta(hours=2), title="Weights copied to bucket zeta-7")
        snapshot = publication.publish(db, a)
        other = f.developer(db)
        seen = publication.snapshot_out(publication.get_snapshot(db, other, snapshot.id))
    text = json.dumps(seen.model_dump(mode="json"))
    assert "zeta-7" not in text and inc.reference not in text and "/response/" not in text
    assert [i.id for i in seen.items] == [i.id for i in ITEMS]
    commander = next(i for i in seen.items if i.id == "incident_commander")
    assert commander.state is State.GAP and commander.summary == "Not fully met at the time of publication."
    assert seen.counts == {"ok": seen.counts["ok"], "gap": seen.counts["gap"], "missing": seen.counts["missing"]}
    assert (
        db.execute(select(AuditEvent.action).where(AuditEvent.target_id == str(snapshot.id))).scalar_one()
        == "readiness.scorecard.publish"
    )


def test_republishing_supersedes_and_withdrawing_hides_from_other_orgs(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        other = f.developer(db)
        first = publication.publish(db, a)
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        second = publication.publish(db, a)
        db.refresh(first)
        assert first.withdrawn_reason == "superseded by a newer publication"
        assert [p.snapshot.id for p in publication.list_published(db, other) if p.org.id == a.org_id] == [second.id]
        with pytest.raises(NotFound):
            publication.get_snapshot(db, other, first.id)
        assert publication.get_snapshot(db, a, first.id).snapshot.id == first.id  # the org keeps its history
        publication.withdraw(db, a)
        assert not [p for p in publication.list_published(db, other) if p.org.id == a.org_id]
        with pytest.raises(NotFound):
            publication.get_snapshot(db, other, second.id)
        with pytest.raises(Conflict):
            publication.withdraw(db, a)


def test_only_admins_publish_and_only_developers_have_a_scorecard(db: Session) -> None:
    a = f.developer(db)
    viewer = f.colleague(db, a, Role.viewer)
    with pytest.raises(Forbidden):
        publication.publish(db, viewer)
    with pytest.raises(Forbidden):
        service.update_risk_domains(db, viewer, [RiskDomain.MISUSE])
    hub = factories.actor(db, kind=OrgKind.hub_operator)
    with pytest.raises(Forbidden):  # no org kind but developers may publish at all
        publication.publish(db, hub)
    with pytest.raises(NotFound):
        service.scorecard_for(db, hub)
    assert db.execute(select(ScorecardSnapshot).where(ScorecardSnapshot.org_id == a.org_id)).first() is None


def test_risk_domain_scope_defaults_and_changes(db: Session, api_client: Client) -> None:
    a = f.developer(db)
    assert service.domain_scope(db, a.org_id).domains == DEFAULT_DOMAINS
    with pytest.raises(ValidationFailed):
        service.update_risk_domains(db, a, [])
    c = api_client(a)
    assert c.get("/api/v1/readiness/settings").json() == {
        "risk_domains": [d.value for d in DEFAULT_DOMAINS],
        "is_default": True,
    }
    changed = c.put("/api/v1/readiness/settings", json={"risk_domains": ["privacy", "misuse"]}).json()
    assert changed == {"risk_domains": ["misuse", "privacy"], "is_default": False}
    assert c.put("/api/v1/readiness/settings", json={"risk_domains": ["bio"]}).status_code == 422
    assert c.put("/api/v1/readiness/settings", json={"risk_domains": []}).status_code == 422
    assert service.risk_domains(db, a.org_id) == (RiskDomain.MISUSE, RiskDomain.PRIVACY)


def test_publish_and_withdraw_through_the_pages(db: Session, browser_client: Client) -> None:
    a = f.developer(db)
    web = browser_client(a)
    done = web.post("/readiness/publication", data={"publish": "true"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/readiness"
    page = web.get("/readiness").text
    assert 'data-testid="withdraw"' in page and "See what others see" in page
    assert web.post("/readiness/publication", data={"publish": "false"}, follow_redirects=False).status_code == 303
    assert 'data-testid="withdraw"' not in web.get("/readiness").text


# -- landscape -----------------------------------------------------------------------------------------------


def test_landscape_file_covers_every_developer_and_every_index_capability_has_an_item() -> None:
    land = landscape.load()
    assert [d.name for d in land.developers] == [
        "Anthropic",
        "OpenAI",
        "Google DeepMind",
        "Meta",
        "xAI",
        "DeepSeek",
        "Z.ai",
        "Alibaba Cloud",
    ]
    assert len(land.capabilities) == 7
    assert landscape.unmapped_capabilities() == []
    dimension_ids = {d.id for d in land.dimensions}
    assert {item.requirement.dimension for item in ITEMS} <= dimension_ids
    assert all(item.requirement.short and item.requirement.text for item in ITEMS)


def test_landscape_file_is_validated() -> None:
    raw = landscape.load().model_dump()
    raw["developers"][0]["entries"].pop("information_sharing")
    with pytest.raises(ValueError, match="entries must cover exactly"):
        landscape.Landscape.model_validate(raw)
    raw = landscape.load().model_dump()
    raw["developers"][1]["entries"]["reporting_framework"]["status"] = "probably"
    with pytest.raises(ValueError):
        landscape.Landscape.model_validate(raw)


def test_alignment_rolls_item_states_up_per_dimension_and_capability(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        a = f.developer(db)
        card = service.compute_scorecard(db, a.org_id, NOW)
    rows = {r.key: r for r in landscape.by_dimension(card)}
    assert rows["transparency_reports"].state is None and not rows["transparency_reports"].items
    assert rows["information_sharing"].state is State.MISSING
    assert {r.item.id for r in rows["reporting_framework"].items} == {
        "external_monitoring",
        "public_channel",
        "reports_on_time",
        "retention",
    }
    assert rows["reporting_framework"].state is State.GAP  # retention ok, the rest without evidence
    caps = {r.key: r for r in landscape.by_capability(card)}
    assert [r.item.id for r in caps["plan_commander_roster"].items] == [
        "roster_24x7",
        "incident_commander",
        "playbooks",
    ]

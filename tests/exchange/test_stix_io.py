"""STIX bundles in and out of the exchange: export of readable items (valid STIX 2.1, TLP 2.0 markings, the
Signalfire extension with the permitted uses, declared purpose, read log, the policy table), import of
bundles into drafts (defaults, hostile bundles refused with nothing stored) and the CLI export."""

from __future__ import annotations

import copy
import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stix2
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stix2validator import ValidationOptions, validate_instance

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, User
from signalfire.exchange.models import Attribution, ExchangeItem, ItemStatus, ReadLog
from signalfire.exchange.stix import convert as sx
from signalfire.exchange.stix.convert import SIGNALFIRE_EXTENSION_ID, TLP2_MARKING_IDS
from signalfire.exchange.vocab import AudienceKind, CoveredUse, Tlp
from tests.exchange import factories as xf

Client = Callable[[Actor | None], TestClient]
EXPORT = "/api/v1/exchange/export.stix"
IMPORT = "/api/v1/exchange/import"
SCHEMA = Path(sx.__file__).with_name("extension") / "signalfire-ai-item.json"


@pytest.fixture(scope="module")
def schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("stix-schemas")
    shutil.copy(SCHEMA, folder / f"{SIGNALFIRE_EXTENSION_ID}.json")
    return folder


def strict_errors(bundle: dict[str, Any], schema_dir: Path) -> list[str]:
    options = ValidationOptions(version="2.1", strict=True, enforce_refs=True, schema_dir=str(schema_dir), silent=True)
    result = validate_instance(copy.deepcopy(bundle), options)
    return [] if result.is_valid else [str(error) for error in result.errors]


def _reports(bundle: dict[str, Any]) -> dict[uuid.UUID, dict[str, Any]]:
    return {uuid.UUID(o["id"].split("--", 1)[1]): o for o in bundle["objects"] if o["type"] == "report"}


def _items(db: Session) -> int:
    return db.execute(select(func.count()).select_from(ExchangeItem)).scalar_one()


def test_export_is_valid_stix_with_markings_uses_and_logged_reads(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, schema_dir: Path
) -> None:
    owner = make_actor()
    reader = make_actor()
    green = xf.published(db, owner, category="vulnerability", technique_refs=["AML.T0051", "CVE-2025-12345"])
    amber = xf.published(db, owner, tlp=Tlp.AMBER, permitted_uses=[CoveredUse.THREAT_DETECTION])
    other_use = xf.published(db, owner, permitted_uses=[CoveredUse.SAFETY_RESEARCH])
    db.commit()
    resp = api_client(reader).get(EXPORT, headers={"X-Signalfire-Purpose": "threat_detection"})
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/stix+json;version=2.1"
    assert "attachment" in resp.headers["content-disposition"]
    bundle = resp.json()
    assert stix2.parse(bundle, allow_custom=False).type == "bundle"
    assert strict_errors(bundle, schema_dir) == []
    reports = _reports(bundle)
    assert set(reports) == {green.id, amber.id}  # the item that does not permit the purpose is left out
    assert reports[amber.id]["object_marking_refs"] == [TLP2_MARKING_IDS[Tlp.AMBER]]
    assert reports[amber.id]["extensions"][SIGNALFIRE_EXTENSION_ID]["permitted_uses"] == ["threat_detection"]
    markings = {o["id"] for o in bundle["objects"] if o["type"] == "marking-definition"}
    assert {TLP2_MARKING_IDS[Tlp.GREEN], TLP2_MARKING_IDS[Tlp.AMBER]} <= markings
    assert any(o["type"] == "vulnerability" for o in bundle["objects"])
    reads = db.execute(select(ReadLog).order_by(ReadLog.item_id)).scalars().all()
    assert {(r.item_id, r.purpose, r.channel.value) for r in reads} == {
        (green.id, CoveredUse.THREAT_DETECTION, "export"),
        (amber.id, CoveredUse.THREAT_DETECTION, "export"),
    }

    # Naming items: each must be readable (404) and permit the purpose (403).
    one = api_client(reader).get(EXPORT, params={"item": str(green.id), "purpose": "threat_detection"})
    assert set(_reports(one.json())) == {green.id}
    refused = api_client(reader).get(EXPORT, params={"item": str(other_use.id), "purpose": "threat_detection"})
    assert refused.status_code == 403 and refused.json()["title"] == "Purpose not permitted"
    missing = api_client(reader).get(EXPORT, params={"item": str(uuid.uuid4()), "purpose": "threat_detection"})
    assert missing.status_code == 404
    assert api_client(reader).get(EXPORT).json()["title"] == "Declared purpose required"
    assert api_client(reader).get(EXPORT, params={"purpose": "marketing"}).status_code == 422
    assert api_client(None).get(EXPORT, params={"purpose": "threat_detection"}).status_code == 401
    # The contributor exports its own items without a read being logged.
    before = db.execute(select(func.count()).select_from(ReadLog)).scalar_one()
    own = api_client(owner).get(EXPORT, params={"purpose": "safety_research"}).json()
    assert set(_reports(own)) == {green.id, amber.id, other_use.id}
    assert db.execute(select(func.count()).select_from(ReadLog)).scalar_one() == before


def test_export_of_a_pseudonymous_item_never_names_the_org(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    owner = make_actor()
    item = xf.published(db, owner, attribution=Attribution.PSEUDONYMOUS)
    db.commit()
    text = api_client(make_actor()).get(EXPORT, params={"purpose": "safeguards", "item": str(item.id)}).text
    assert owner.org_name not in text and str(owner.org_id) not in text


def test_import_round_trip_creates_private_drafts(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    owner = make_actor()
    importer = make_actor()
    source = xf.published(
        db,
        owner,
        tlp=Tlp.AMBER_STRICT,
        category="vulnerability",
        technique_refs=["AML.T0051", "CWE-502"],
        model_families=["chat models"],
    )
    db.commit()
    bundle = api_client(owner).get(EXPORT, params={"purpose": "threat_detection"}).content
    before = _items(db)
    resp = api_client(importer).post(IMPORT, content=bundle, headers={"Content-Type": "application/json"})
    assert resp.status_code == 201, resp.text
    created = resp.json()["created"]
    assert len(created) == 1 and created[0]["tlp"] == "AMBER+STRICT" and created[0]["defaults"] == []
    draft = db.get_one(ExchangeItem, uuid.UUID(created[0]["item_id"]))
    assert (draft.org_id, draft.status, draft.title, draft.category.value) == (
        importer.org_id,
        ItemStatus.DRAFT,
        source.title,
        "vulnerability",
    )
    assert draft.technique_refs == ["AML.T0051", "CWE-502"] and draft.model_families == ["chat models"]
    assert draft.audience_kinds == [AudienceKind.NAMED_PEOPLE] and draft.permitted_uses == source.permitted_uses
    assert _items(db) == before + 1
    # Nobody outside the importer's org sees the draft.
    assert api_client(owner).get(f"/api/v1/exchange/items/{draft.id}").status_code == 404


def _foreign_bundle(*, uses: bool) -> dict[str, Any]:
    report: dict[str, Any] = {
        "type": "report",
        "spec_version": "2.1",
        "id": f"report--{uuid.uuid4()}",
        "created": "2026-02-01T00:00:00.000Z",
        "modified": "2026-02-01T00:00:00.000Z",
        "name": "Model-weight exfiltration attempt",
        "description": "Seen on an inference cluster.",
        "published": "2026-02-01T00:00:00.000Z",
        "report_types": ["threat-report"],
        "object_refs": [f"identity--{uuid.uuid4()}"],
        "object_marking_refs": [TLP2_MARKING_IDS[Tlp.GREEN]],
    }
    if uses:
        report["extensions"] = {
            SIGNALFIRE_EXTENSION_ID: {
                "extension_type": "property-extension",
                "item_version": 1,
                "category": "threat",
                "permitted_uses": ["incident_response"],
                "severity": "high",
                "priority": "urgent",
            }
        }
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [report]}


def test_import_defaults_and_skips(db: Session, make_actor: Callable[..., Actor], api_client: Client) -> None:
    client = api_client(make_actor())
    bare = json.dumps(_foreign_bundle(uses=False)).encode()
    skipped = client.post(IMPORT, content=bare).json()
    assert skipped["created"] == [] and "permitted uses" in skipped["skipped"][0]["reason"]
    made = client.post(IMPORT, content=bare, params={"permitted_uses": ["threat_detection"]}).json()
    assert made["created"][0]["defaults"] == ["category", "severity", "permitted_uses"]
    full = client.post(IMPORT, content=json.dumps(_foreign_bundle(uses=True)).encode()).json()
    item = db.get_one(ExchangeItem, uuid.UUID(full["created"][0]["item_id"]))
    assert (item.severity.value, item.permitted_uses) == ("high", [CoveredUse.INCIDENT_RESPONSE])
    # Roles that may not write items cannot import.
    from signalfire.access.models import Role

    viewer = make_actor(role=Role.viewer)
    assert api_client(viewer).post(IMPORT, content=bare).status_code == 403


def _hostile() -> list[tuple[str, bytes, int]]:
    good = _foreign_bundle(uses=True)
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    dup = copy.deepcopy(good)
    dup["objects"].append(copy.deepcopy(good["objects"][0]))
    old = copy.deepcopy(good)
    old["objects"][0]["spec_version"] = "2.0"
    fake_tlp = copy.deepcopy(good)
    fake_tlp["objects"].append(
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": f"marking-definition--{uuid.uuid4()}",
            "created": "2026-01-01T00:00:00.000Z",
            "name": "TLP:GREEN",
            "definition_type": "tlp",
            "definition": {"tlp": "green"},
        }
    )
    nested = copy.deepcopy(good)
    nested["objects"][0]["x_deep"] = deep
    return [
        ("not json", b"{not json", 422),
        ("not a bundle", b'{"type": "indicator"}', 422),
        ("too deep", json.dumps(nested).encode(), 422),
        ("wrong spec version", json.dumps(old).encode(), 422),
        ("duplicate ids", json.dumps(dup).encode(), 422),
        ("unknown TLP marking", json.dumps(fake_tlp).encode(), 422),
        (
            "huge",
            b'{"type": "bundle", "id": "bundle--x", "objects": [' + b'"' + b"x" * (21 * 1024 * 1024) + b'"]}',
            413,
        ),
    ]


@pytest.mark.parametrize(("name", "body", "status"), _hostile(), ids=[h[0] for h in _hostile()])
def test_hostile_bundles_are_refused_and_nothing_is_stored(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, name: str, body: bytes, status: int
) -> None:
    client = api_client(make_actor())
    before = _items(db)
    resp = client.post(IMPORT, content=body)
    assert resp.status_code == status, (name, resp.text)
    assert resp.json()["title"] == "STIX bundle refused" and resp.json()["detail"]
    assert _items(db) == before


def test_cli_export(fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from signalfire.core.db.session import make_engine, session_factory, unit_of_work
    from signalfire.core.settings import get_settings
    from signalfire.exchange.stix import cli as stix_cli
    from tests import factories

    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as s:
        owner = factories.actor(s)
        reader = factories.actor(s, kind=OrgKind.researcher)
        item = xf.published(s, owner, audience=[AudienceKind.RESEARCHERS])
        email = s.get_one(User, reader.user_id).email
        item_id = item.id
    engine.dispose()
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    monkeypatch.setenv("SIGNALFIRE_ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        out = tmp_path / "bundle.json"
        runner = CliRunner()
        result = runner.invoke(stix_cli.app, ["export", "--as", email, "--purpose", "safeguards", "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert set(_reports(json.loads(out.read_text()))) == {item_id}
        refused = runner.invoke(stix_cli.app, ["export", "--as", email, "--purpose", "safety_research"])
        assert refused.exit_code == 1 and "nothing to export" in refused.output
        unknown = runner.invoke(stix_cli.app, ["export", "--as", "nobody@example.test", "--purpose", "safeguards"])
        assert unknown.exit_code == 1
    finally:
        get_settings.cache_clear()
    check = make_engine(fresh_db)
    with check.connect() as conn:
        reads = conn.execute(select(ReadLog.channel, ReadLog.purpose)).all()
    check.dispose()
    assert [(c.value, p.value) for c, p in reads] == [("export", "safeguards")]

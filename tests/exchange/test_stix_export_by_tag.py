"""STIX export of a selection by tag (issue 16): free tags and catalogue ids, any-of, through the policy.

The expected selections are written from the items' tags by hand: an item is exported when it carries one
of the asked free tags (exactly, not a tag that merely contains it) or cites one of the asked catalogue ids
(whatever case they were typed in), and the viewer may read it and, for an item of another org, it
permits the declared use. An item of another org with the tag that the viewer cannot read is never
listed nor exported, by the API, the export page or the CLI.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.exchange.stix import bundles
from signalfire.exchange.tags import TagFilter, parse_tag_filter
from signalfire.exchange.vocab import AudienceKind, CoveredUse
from tests import factories
from tests.exchange import factories as xf

Client = Callable[[Actor | None], TestClient]
EXPORT = "/api/v1/exchange/export.stix"


def _reports(bundle: dict[str, Any]) -> set[uuid.UUID]:
    return {uuid.UUID(o["id"].split("--", 1)[1]) for o in bundle["objects"] if o["type"] == "report"}


def test_parse_tag_filter_sorts_tags_from_catalogue_ids_and_refuses_non_tags() -> None:
    parsed = parse_tag_filter(["Jailbreak, aml.t0051", " cwe-502 ", "", "rag,jailbreak"])
    assert parsed == TagFilter(tags=("jailbreak", "rag"), refs=("AML.T0051", "CWE-502"))
    assert not parse_tag_filter([" , "])
    with pytest.raises(ValueError, match="is not a tag"):
        parse_tag_filter(["no!"])
    with pytest.raises(ValueError, match="at most"):
        parse_tag_filter([",".join(f"t{i}" for i in range(21))])


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        (["jailbreak"], {"a1", "mine"}),
        (["jailbreak,CWE-502"], {"a1", "a3", "mine"}),
        (["aml.t0051"], {"a4"}),
        (["rag", "AML.T0054"], {"a2"}),
        ([], {"a1", "a2", "a3", "a4", "mine"}),
    ],
)
def test_api_exports_exactly_the_tagged_items_the_viewer_may_read(
    tagged_items: dict[str, Any], api_client: Client, asked: list[str], expected: set[str]
) -> None:
    resp = api_client(tagged_items["reader"]).get(EXPORT, params={"purpose": "threat_detection", "tag": asked})
    assert resp.status_code == 200, resp.text
    assert _reports(resp.json()) == {tagged_items[k] for k in expected}


def test_api_tag_filter_refusals(tagged_items: dict[str, Any], api_client: Client) -> None:
    client = api_client(tagged_items["reader"])
    none = client.get(EXPORT, params={"purpose": "threat_detection", "tag": "tool-use-nowhere"})
    assert none.status_code == 404
    bad = client.get(EXPORT, params={"purpose": "threat_detection", "tag": "not a tag!"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    both = client.get(
        EXPORT, params={"purpose": "threat_detection", "tag": "jailbreak", "item": str(tagged_items["a1"])}
    )
    assert both.status_code == 422 and "not both" in both.json()["detail"]


def test_tag_filter_pages_with_since(db: Session, tagged_items: dict[str, Any]) -> None:
    reader: Actor = tagged_items["reader"]
    wanted = parse_tag_filter(["jailbreak", "CWE-502"])
    first, since = bundles.exportable_items(db, reader, CoveredUse.THREAT_DETECTION, tags=wanted, limit=2)
    assert since is not None
    rest, more = bundles.exportable_items(db, reader, CoveredUse.THREAT_DETECTION, tags=wanted, since=since)
    assert more is None
    assert {i.id for i in first + rest} == {tagged_items[k] for k in ("a1", "a3", "mine")}


def test_export_page_filters_by_tag(tagged_items: dict[str, Any], browser_client: Client) -> None:
    client = browser_client(tagged_items["reader"])
    page = client.get("/exchange/export", params={"tag": "jailbreak, CWE-502"})
    assert page.status_code == 200
    listed = {uuid.UUID(v) for v in re.findall(r'name="item" value="([0-9a-f-]{36})"', page.text)}
    assert listed == {tagged_items[k] for k in ("a1", "a3", "mine", "narrow_use")}
    assert 'value="CWE-502, jailbreak"' in page.text  # the form shows the selection back
    assert client.get("/exchange/export", params={"tag": "not a tag!"}).status_code == 422


def test_cli_export_by_tag(fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from signalfire.core.db.session import make_engine, session_factory, unit_of_work
    from signalfire.core.settings import get_settings
    from signalfire.exchange.cli import app

    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as s:
        owner, reader, other = factories.actor(s), factories.actor(s), factories.actor(s)
        tagged = xf.published(s, owner, tags=["jailbreak"], technique_refs=[]).id
        cited = xf.published(s, owner, tags=[], technique_refs=["AML.T0051"]).id
        xf.published(s, owner, tags=["rag"], technique_refs=[])
        xf.published(
            s,
            other,
            tags=["jailbreak"],
            technique_refs=["AML.T0051"],
            audience=[AudienceKind.NAMED_PEOPLE],
            audience_people=xf.people(other),
        )
        email = reader.email
    engine.dispose()
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    try:
        out = tmp_path / "bundle.json"
        args = ["export", "--as", email, "--purpose", "threat_detection", "--out", str(out)]
        result = CliRunner().invoke(app, [*args, "--tag", "jailbreak", "--tag", "aml.t0051"])
        assert result.exit_code == 0, result.output
        assert _reports(json.loads(out.read_text())) == {tagged, cited}
        bad = CliRunner().invoke(app, [*args, "--tag", "not a tag!"])
        assert bad.exit_code == 1 and "tag:" in bad.output
    finally:
        get_settings.cache_clear()

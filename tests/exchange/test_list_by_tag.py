"""The items list filtered by tag (issue 16): the API, the page and its links, always inside the policy.

Expected selections are written by hand from the items' tags: an item is listed when it carries one of the
asked free tags exactly or cites one of the asked catalogue ids (any case), and the viewer may read it. An
item of another org with the tag that the viewer may not read is never listed, whatever the tag asked.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.exchange.vocab import AudienceKind
from tests.exchange import factories as xf

Client = Callable[[Actor | None], TestClient]
ITEMS = "/api/v1/exchange/items"


def _listed(client: TestClient, **params: Any) -> set[uuid.UUID]:
    resp = client.get(ITEMS, params={"limit": 200, **params})
    assert resp.status_code == 200, resp.text
    return {uuid.UUID(row["id"]) for row in resp.json()}


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        (["jailbreak"], {"a1", "mine", "narrow_use"}),
        (["jailbreak,CWE-502"], {"a1", "a3", "mine", "narrow_use"}),
        (["aml.t0051"], {"a4"}),
        (["rag", "AML.T0054"], {"a2"}),
        (["tool"], set()),  # a tag that only contains the asked word does not match
        ([], {"a1", "a2", "a3", "a4", "mine", "narrow_use"}),
    ],
)
def test_the_api_lists_exactly_the_tagged_items_the_viewer_may_read(
    tagged_items: dict[str, Any], api_client: Client, asked: list[str], expected: set[str]
) -> None:
    assert _listed(api_client(tagged_items["reader"]), tag=asked) == {tagged_items[k] for k in expected}


def test_another_org_sees_its_own_selection_and_never_the_readers_audience(
    tagged_items: dict[str, Any], api_client: Client
) -> None:
    # The owner also reads the item addressed to its org; it never sees the named-people item either.
    got = _listed(api_client(tagged_items["owner"]), tag=["CWE-502"])
    assert got == {tagged_items["a3"], tagged_items["named_owner"]}
    assert tagged_items["secret"] not in _listed(
        api_client(tagged_items["owner"]), tag=["jailbreak", "rag", "AML.T0051"]
    )


def test_anonymous_callers_get_nothing(tagged_items: dict[str, Any], api_client: Client) -> None:
    resp = api_client(None).get(ITEMS, params={"tag": "jailbreak"})
    assert resp.status_code in (401, 404)
    assert str(tagged_items["a1"]) not in resp.text


def test_a_bad_tag_is_a_clear_422(tagged_items: dict[str, Any], api_client: Client) -> None:
    resp = api_client(tagged_items["reader"]).get(ITEMS, params={"tag": "not a tag!"})
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    too_many = api_client(tagged_items["reader"]).get(ITEMS, params={"tag": ",".join(f"t{i}" for i in range(21))})
    assert too_many.status_code == 422


def test_the_list_page_filters_by_tag_and_keeps_the_selection_in_its_links(
    db: Session, tagged_items: dict[str, Any], browser_client: Client
) -> None:
    client = browser_client(tagged_items["reader"])
    page = client.get("/exchange", params={"tag": "jailbreak, CWE-502"})
    assert page.status_code == 200
    listed = {uuid.UUID(v) for v in re.findall(r'href="/exchange/items/([0-9a-f-]{36})"', page.text)}
    assert listed == {tagged_items[k] for k in ("a1", "a3", "mine", "narrow_use")}
    assert 'value="CWE-502, jailbreak"' in page.text
    export = re.search(r'data-testid="export-link" href="([^"]+)"', page.text)
    assert export is not None and "tag=CWE-502" in html.unescape(export.group(1))
    assert "tag=jailbreak" in html.unescape(export.group(1))
    assert client.get("/exchange", params={"tag": "not a tag!"}).status_code == 422


def test_the_next_page_link_keeps_the_tag(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client
) -> None:
    owner = make_actor()
    jailbreaks = {xf.published(db, owner, title=f"Jailbreak {n}", tags=["jailbreak"]).id for n in range(55)}
    for n in range(10):
        xf.published(db, owner, title=f"Retrieval {n}", tags=["rag"])
    db.commit()
    client = browser_client(owner)
    first = client.get("/exchange", params={"tag": "jailbreak"})
    more = re.search(r'href="\?([^"]*cursor=[^"]+)">Older items', first.text)
    assert more is not None and "tag=jailbreak" in html.unescape(more.group(1))
    second = client.get("/exchange?" + html.unescape(more.group(1)))
    assert second.status_code == 200
    rows = [re.findall(r'class="row-title" href="/exchange/items/([0-9a-f-]{36})"', p.text) for p in (first, second)]
    assert (len(rows[0]), len(rows[1])) == (50, 5)
    assert {uuid.UUID(v) for v in rows[0] + rows[1]} == jailbreaks


def test_the_cli_lists_by_tag(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from signalfire.core.db.session import make_engine, session_factory, unit_of_work
    from signalfire.core.settings import get_settings
    from signalfire.exchange import cli
    from signalfire.exchange.cli import app
    from tests import factories

    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as s:
        owner, reader, other = factories.actor(s), factories.actor(s), factories.actor(s)
        tagged = xf.published(s, owner, title="Tagged one", tags=["jailbreak"], technique_refs=[]).id
        cited = xf.published(s, owner, title="Cited one", tags=[], technique_refs=["AML.T0051"]).id
        untagged = xf.published(s, owner, title="Other one", tags=["rag"], technique_refs=[]).id
        hidden = xf.published(
            s,
            other,
            title="Hidden one",
            tags=["jailbreak"],
            audience=[AudienceKind.NAMED_PEOPLE],
            audience_people=xf.people(other),
        ).id
        email = reader.email
    engine.dispose()
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    monkeypatch.setattr(cli.console, "width", 300)  # one line per row, whatever the terminal the test runs in
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["items", "list", "--as", email, "--tag", "jailbreak", "--tag", "aml.t0051"])
        assert result.exit_code == 0, result.output
        shown = {
            uuid.UUID(v)
            for v in re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", result.output)
        }
        assert shown == {tagged, cited}
        assert untagged not in shown and hidden not in shown
        bad = CliRunner().invoke(app, ["items", "list", "--as", email, "--tag", "not a tag!"])
        assert bad.exit_code == 2 and "not a tag" in bad.output
    finally:
        get_settings.cache_clear()

"""STIX and TAXII in the exchange UI and the import API's dry run (issue 16).

The dry run stores nothing (every table compared row by row before and after); the import is the same
plan applied, idempotent (same bundle twice: nothing new), and a newer version of a report updates its
draft. Bad files get a clear error on the page and problem+json from the API, never a 500. The export
page exports exactly the ticked items, only ones the viewer can read; the collections page shows only
the viewer's collections and counts only what the viewer may read.
"""

from __future__ import annotations

import copy
import html
import json
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.audit.models import AuditEvent
from signalfire.core.clock import utcnow
from signalfire.core.db.base import Base
from signalfire.exchange import authoring
from signalfire.exchange.models import ExchangeItem, ItemStatus
from signalfire.exchange.stix.convert import SIGNALFIRE_EXTENSION_ID
from signalfire.exchange.taxii.collections import MEMBERS_ID, org_inbox_id, shared_by_id
from signalfire.exchange.vocab import AudienceKind, CoveredUse, Tlp
from tests.exchange import factories as xf
from tests.exchange.stix_reports import stix_indicator, stix_report

Client = Callable[[Actor | None], TestClient]
IMPORT = "/api/v1/exchange/import"
PAGE = "/exchange/import"


def _report(name: str, *, tlp: Tlp | None = Tlp.GREEN, modified: str = "2026-02-01T00:00:00.000Z") -> dict[str, Any]:
    return stix_report(name, tlp=tlp, modified=modified)


def _bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)}


def _raw(bundle: dict[str, Any]) -> bytes:
    return json.dumps(bundle).encode()


def _tables(db: Session) -> dict[str, list[str]]:
    """Every row of every table, as sorted text: what "nothing was written" is checked against."""
    db.flush()
    out: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        out[table.name] = sorted(repr(tuple(row)) for row in db.execute(select(table)).all())
    return out


# Signing in with an API token stamps its last use: that is the authentication, not the import.
_AUTH_BOOKKEEPING = {"api_token"}


def _changed(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    return [name for name in before if before[name] != after[name] and name not in _AUTH_BOOKKEEPING]


def _audits(db: Session, action: str) -> int:
    return len(db.execute(select(AuditEvent.id).where(AuditEvent.action == action)).all())


# --- the import API: dry run, idempotence, new versions, refusals -------------------------------------


def test_dry_run_reports_per_object_and_writes_nothing(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    importer = make_actor()
    client = api_client(importer)
    good, red, unmarked = _report("Weights exfiltration"), _report("Red one", tlp=Tlp.RED), _report("No TLP", tlp=None)
    indicator = stix_indicator("[ipv4-addr:value = '203.0.113.9']")
    raw = _raw(_bundle(good, red, unmarked, indicator))
    before = _tables(db)
    resp = client.post(IMPORT, content=raw, params={"dry_run": "true", "audience": "all_members"})
    assert resp.status_code == 200, resp.text
    assert _changed(before, _tables(db)) == []
    body = resp.json()
    assert body["dry_run"] is True
    assert body["counts"] == {"create": 1, "update": 0, "unchanged": 0, "refuse": 2, "ignored": 1, "objects": 3}
    by_id = {o["stix_id"]: o for o in body["objects"]}
    assert by_id[good["id"]]["action"] == "create" and by_id[good["id"]]["type"] == "report"
    assert by_id[red["id"]]["action"] == "refuse" and "TLP:RED" in by_id[red["id"]]["reason"]
    assert by_id[unmarked["id"]]["action"] == "refuse" and "no TLP marking" in by_id[unmarked["id"]]["reason"]
    assert by_id[unmarked["id"]]["title"] == "No TLP"

    # The same request without dry_run does what the dry run said.
    done = client.post(IMPORT, content=raw, params={"audience": "all_members"})
    assert done.status_code == 201
    assert done.json()["counts"] == body["counts"]
    created = db.get_one(ExchangeItem, uuid.UUID(by_id[good["id"]]["item_id"]))
    assert (created.status, created.org_id, created.audience_kinds) == (
        ItemStatus.DRAFT,
        importer.org_id,
        [AudienceKind.ALL_MEMBERS],
    )


def test_import_is_idempotent_and_a_newer_version_updates_the_draft(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    importer = make_actor()
    client = api_client(importer)
    report = _report("Jailbreak via role-play")
    first = client.post(IMPORT, content=_raw(_bundle(report))).json()
    item_id = uuid.UUID(first["created"][0]["item_id"])
    count = len(db.execute(select(ExchangeItem.id)).all())
    audits = _audits(db, "exchange.item.draft_created")

    again = client.post(IMPORT, content=_raw(_bundle(report))).json()
    assert again["counts"]["unchanged"] == 1 and again["created"] == []
    assert len(db.execute(select(ExchangeItem.id)).all()) == count
    assert _audits(db, "exchange.item.draft_created") == audits

    newer = copy.deepcopy(report)
    newer["modified"] = "2026-03-01T00:00:00.000Z"
    newer["name"] = "Jailbreak via role-play (second variant)"
    dry = client.post(IMPORT, content=_raw(_bundle(newer)), params={"dry_run": "true"}).json()
    assert [o["action"] for o in dry["objects"]] == ["update"]
    assert db.get_one(ExchangeItem, item_id).title == "Jailbreak via role-play"
    applied = client.post(IMPORT, content=_raw(_bundle(newer))).json()
    assert applied["counts"]["update"] == 1 and applied["objects"][0]["item_id"] == str(item_id)
    db.expire_all()
    assert db.get_one(ExchangeItem, item_id).title == "Jailbreak via role-play (second variant)"
    assert len(db.execute(select(ExchangeItem.id)).all()) == count

    # Once published, a newer version is refused with the way forward, and the item is left alone.
    authoring.publish(db, importer, item_id)
    db.commit()
    newest = copy.deepcopy(newer)
    newest["name"] = "Third variant"
    refused = client.post(IMPORT, content=_raw(_bundle(newest))).json()
    assert refused["objects"][0]["action"] == "refuse" and "revise" in refused["objects"][0]["reason"]
    db.expire_all()
    assert db.get_one(ExchangeItem, item_id).title == "Jailbreak via role-play (second variant)"


def test_another_org_importing_the_same_bundle_gets_its_own_drafts(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    raw = _raw(_bundle(_report("Shared feed report")))
    one = api_client(make_actor()).post(IMPORT, content=raw).json()
    other = api_client(make_actor()).post(IMPORT, content=raw).json()
    assert one["counts"]["create"] == 1 and other["counts"]["create"] == 1
    assert one["created"][0]["item_id"] != other["created"][0]["item_id"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"\x89PNG\r\n\x1a\n garbage", 422),
        (b"[1, 2, 3]", 422),
        (b'{"type": "bundle", "id": "bundle--x", "objects": "none"}', 422),
    ],
    ids=["garbage", "json-list", "objects-not-a-list"],
)
def test_api_bad_input_is_problem_json(
    api_client: Client, make_actor: Callable[..., Actor], body: bytes, status: int
) -> None:
    resp = api_client(make_actor()).post(IMPORT, content=body, params={"dry_run": "true"})
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["title"] == "STIX bundle refused"


# --- the import page -----------------------------------------------------------------------------------


def _page_client(browser_client: Client, actor: Actor | None) -> TestClient:
    client = browser_client(actor)
    client.follow_redirects = False
    return client


def _parts(page: str) -> list[str]:
    """The bundle pieces the dry run's page posts back, as a browser sends them."""
    return [html.unescape(v) for v in re.findall(r'<input type="hidden" name="bundle" value="([^"]*)">', page)]


def _posted_back(page: str) -> str:
    return "".join(_parts(page))


def test_import_page_dry_run_then_import(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client, drain_jobs: Callable[[], int]
) -> None:
    importer = make_actor()
    client = _page_client(browser_client, importer)
    assert client.get(PAGE).status_code == 200
    bare = _report("Foreign report without uses")
    del bare["extensions"]
    raw = _raw(_bundle(_report("Agent tool hijack"), bare))
    before = _tables(db)
    dry = client.post(
        PAGE,
        files={"file": ("feed.json", raw, "application/json")},
        data={"dry_run": "true", "audience": "only_me"},
    )
    assert dry.status_code == 200, dry.text
    assert _changed(before, _tables(db)) == []
    assert "Dry run: nothing was stored" in dry.text
    assert 'data-testid="count-create">1<' in dry.text and 'data-testid="count-refuse">1<' in dry.text
    assert 'data-testid="count-update">0<' in dry.text and 'data-testid="count-unchanged">0<' in dry.text
    assert bare["id"] in dry.text and "permitted uses" in dry.text
    # The page keeps the bundle for the confirming post; posting it back imports the planned drafts.
    assert _posted_back(dry.text) == raw.decode()
    started = client.post(
        PAGE,
        data={"bundle": _parts(dry.text), "dry_run": "false", "audience": "only_me", "permitted_uses": "safeguards"},
    )
    # The import is a job: acknowledged at once, its page shows the progress, then the report.
    assert started.status_code == 303 and started.headers["location"].startswith("/exchange/import/jobs/")
    waiting = client.get(started.headers["location"])
    assert waiting.status_code == 200 and "0 of 2 objects" in waiting.text
    poll = f'hx-get="{started.headers["location"]}"'
    assert 'data-testid="import-report"' not in waiting.text and poll in waiting.text
    assert drain_jobs() > 0
    done = client.get(started.headers["location"])
    assert done.status_code == 200 and "Imported" in done.text and "2 of 2 objects" in done.text
    assert 'data-testid="count-create">2<' in done.text and poll not in done.text
    titles = set(db.execute(select(ExchangeItem.title).where(ExchangeItem.org_id == importer.org_id)).scalars())
    assert titles == {"Agent tool hijack", "Foreign report without uses"}
    assert _audits(db, "exchange.stix.imported") == 1


def test_import_page_posts_a_bundle_larger_than_a_form_field_back_in_pieces(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client, drain_jobs: Callable[[], int]
) -> None:
    """A form field holds at most 1 MiB: a bigger bundle (here non-ASCII, 1.1 MB) goes back in pieces."""
    importer = make_actor()
    client = _page_client(browser_client, importer)
    reports = [_report(f"Long report {n}") for n in range(40)]
    for report in reports:
        report["extensions"][SIGNALFIRE_EXTENSION_ID]["details"] = "x\u00e9\U0001f600" * 4000
    text = json.dumps(_bundle(*reports), ensure_ascii=False)
    assert len(text.encode()) > 1024 * 1024
    dry = client.post(PAGE, files={"file": ("big.json", text.encode(), "application/json")}, data={"dry_run": "true"})
    assert dry.status_code == 200 and 'data-testid="count-create">40<' in dry.text
    assert len(_parts(dry.text)) > 1 and _posted_back(dry.text) == text
    started = client.post(PAGE, data={"bundle": _parts(dry.text), "dry_run": "false"})
    assert started.status_code == 303
    drain_jobs()
    done = client.get(started.headers["location"])
    assert done.status_code == 200 and 'data-testid="count-create">40<' in done.text
    details = db.execute(select(ExchangeItem.details).where(ExchangeItem.org_id == importer.org_id)).scalars().all()
    assert len(details) == 40 and set(details) == {"x\u00e9\U0001f600" * 4000}


def test_import_page_takes_at_most_its_bound_of_reports(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client
) -> None:
    client = _page_client(browser_client, make_actor())
    raw = _raw(_bundle(*[_report(f"Report {n}") for n in range(201)]))
    before = len(db.execute(select(ExchangeItem.id)).all())
    resp = client.post(PAGE, files={"file": ("many.json", raw, "application/json")}, data={"dry_run": "false"})
    assert resp.status_code == 413 and "import at most 200 at a time" in resp.text
    assert len(db.execute(select(ExchangeItem.id)).all()) == before


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"this is not json at all", 422, "STIX bundle refused"),
        (b'{"hello": "world"}', 422, "STIX bundle refused"),
        (b"", 422, "Choose a STIX 2.1 bundle"),
        (b"{" + b" " * (5 * 1024 * 1024) + b"}", 413, "larger than 5 MiB"),
    ],
    ids=["garbage", "wrong-json", "empty", "oversized"],
)
def test_import_page_bad_files_get_a_clear_error(
    db: Session,
    make_actor: Callable[..., Actor],
    browser_client: Client,
    content: bytes,
    status: int,
    message: str,
) -> None:
    client = _page_client(browser_client, make_actor())
    before = len(db.execute(select(ExchangeItem.id)).all())
    resp = client.post(PAGE, files={"file": ("x.json", content, "application/json")}, data={"dry_run": "false"})
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("text/html")
    assert 'data-testid="import-error"' in resp.text and message in resp.text
    assert len(db.execute(select(ExchangeItem.id)).all()) == before


def test_import_pages_need_write_and_a_session(make_actor: Callable[..., Actor], browser_client: Client) -> None:
    viewer = _page_client(browser_client, make_actor(role=Role.viewer))
    assert viewer.get(PAGE).status_code == 403
    tabs = viewer.get("/exchange").text.split('class="tabs"', 1)[1].split("</ul>", 1)[0]
    assert 'href="/exchange/import"' not in tabs and 'href="/exchange/export"' in tabs
    raw = _raw(_bundle(_report("x")))
    assert viewer.post(PAGE, data={"bundle": raw.decode(), "dry_run": "true"}).status_code == 403
    anonymous = _page_client(browser_client, None)
    assert anonymous.get(PAGE).status_code == 303
    assert anonymous.get("/exchange/export").status_code == 303
    assert anonymous.get("/exchange/collections").status_code == 303


# --- export ----------------------------------------------------------------------------------------------


def _reports(bundle: dict[str, Any]) -> set[uuid.UUID]:
    return {uuid.UUID(o["id"].split("--", 1)[1]) for o in bundle["objects"] if o["type"] == "report"}


def test_export_page_filters_and_exports_exactly_the_ticked_readable_items(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client
) -> None:
    owner, reader = make_actor(), make_actor()
    vuln = xf.published(db, owner, category="vulnerability", title="Vuln in the tokenizer")
    threat = xf.published(db, owner, title="Threat through the browser tool")
    amber = xf.published(db, owner, tlp=Tlp.AMBER, title="Amber threat")
    private = xf.published(
        db,
        owner,
        title="Addressed to the owner alone",
        audience=[AudienceKind.NAMED_PEOPLE],
        audience_people=xf.people(owner),
    )
    old = xf.published(db, owner, title="Last year's threat")
    old.published_at = utcnow() - timedelta(days=400)
    db.commit()
    client = _page_client(browser_client, reader)

    page = client.get("/exchange/export").text
    for item in (vuln, threat, amber, old):
        assert str(item.id) in page
    assert str(private.id) not in page and private.title not in page  # not readable: not even listed

    only_vuln = client.get("/exchange/export", params={"category": "vulnerability"}).text
    assert str(vuln.id) in only_vuln and str(threat.id) not in only_vuln
    only_amber = client.get("/exchange/export", params={"tlp": "AMBER"}).text
    assert str(amber.id) in only_amber and str(threat.id) not in only_amber
    since = (utcnow() - timedelta(days=30)).date().isoformat()
    recent = client.get("/exchange/export", params={"published_from": since}).text
    assert str(threat.id) in recent and str(old.id) not in recent
    until = (utcnow() - timedelta(days=300)).date().isoformat()
    older = client.get("/exchange/export", params={"published_to": until}).text
    assert str(old.id) in older and str(threat.id) not in older

    resp = client.post(
        "/exchange/export.stix", data={"purpose": "threat_detection", "item": [str(vuln.id), str(amber.id)]}
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/stix+json;version=2.1"
    assert "attachment" in resp.headers["content-disposition"]
    assert _reports(resp.json()) == {vuln.id, amber.id}

    # An item the reader cannot read is missing (404), never exported.
    hidden = client.post("/exchange/export.stix", data={"purpose": "threat_detection", "item": [str(private.id)]})
    assert hidden.status_code == 404 and private.title not in hidden.text
    # An item that does not permit the declared use: a clear error on the page, nothing downloaded.
    refused = client.post("/exchange/export.stix", data={"purpose": "marketing_free", "item": [str(vuln.id)]})
    assert refused.status_code == 422
    wrong_use = client.post("/exchange/export.stix", data={"purpose": "safety_research", "item": [str(vuln.id)]})
    assert wrong_use.status_code == 403 and 'data-testid="export-error"' in wrong_use.text
    assert "do not permit" in wrong_use.text
    nothing = client.post("/exchange/export.stix", data={"purpose": "threat_detection"})
    assert nothing.status_code == 422 and "Tick at least one item" in nothing.text
    garbage = client.post("/exchange/export.stix", data={"purpose": "threat_detection", "item": "not-a-uuid"})
    assert garbage.status_code == 422


def test_export_of_another_role_and_an_authority(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client
) -> None:
    owner = make_actor()
    item = xf.published(db, owner, title="Members only")
    db.commit()
    authority = _page_client(browser_client, make_actor(kind=OrgKind.authority))
    # Addressed to all members: an authority is not a member, so the item is neither listed nor exported.
    assert str(item.id) not in authority.get("/exchange/export").text
    resp = authority.post("/exchange/export.stix", data={"purpose": "threat_detection", "item": [str(item.id)]})
    assert resp.status_code == 404


# --- collections -----------------------------------------------------------------------------------------


def _row(html: str, kind: str) -> str:
    return html.split(f'data-collection="{kind}"', 1)[1].split("</tr>", 1)[0]


def test_collections_page_shows_the_viewers_collections_and_counts_only_readable_items(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client
) -> None:
    owner, member = make_actor(), make_actor()
    xf.published(db, owner, title="To all members")
    xf.published(
        db, owner, title="To the owner", audience=[AudienceKind.NAMED_PEOPLE], audience_people=xf.people(owner)
    )
    db.commit()
    mine = _page_client(browser_client, owner).get("/exchange/collections")
    assert mine.status_code == 200
    assert str(shared_by_id(owner.org_id)) in mine.text and "/taxii2/exchange/" in mine.text
    theirs = _page_client(browser_client, member).get("/exchange/collections").text
    assert str(MEMBERS_ID) in theirs and str(org_inbox_id(member.org_id)) in theirs
    # Another org's collections (its inbox, what it shared) are not listed at all.
    assert str(shared_by_id(owner.org_id)) not in theirs and str(org_inbox_id(owner.org_id)) not in theirs
    assert "To the owner" not in theirs
    row = _row(theirs, "members")
    assert f"collections/{MEMBERS_ID}/" in row and "1 item(s)" in row and "can read" in row
    own_row = _row(mine.text, "shared")
    assert "2 item(s)" in own_row


def test_collections_page_for_a_viewer_role_cannot_write(
    make_actor: Callable[..., Actor], browser_client: Client
) -> None:
    page = _page_client(browser_client, make_actor(role=Role.viewer)).get("/exchange/collections").text
    row = _row(page, "members")
    assert "can read" in row and "cannot write" in row
    assert CoveredUse.THREAT_DETECTION.value in page


def test_openapi_documents_the_dry_run(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/exchange/import"]["post"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["dry_run"]["schema"]["type"] == "boolean" and not params["dry_run"].get("required", False)
    audience = params["audience"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(spec["components"]["schemas"][audience]["enum"]) == {"only_me", "all_members"}
    assert {"200", "201", "413", "422"} <= set(operation["responses"])
    assert "dry_run=true" in operation["description"]


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", PAGE, {"bundle": "{}", "audience": "everyone", "dry_run": "true"}),
        ("post", PAGE, {"bundle": "{}", "permitted_uses": "marketing", "dry_run": "true"}),
        ("post", PAGE, {"bundle": "{}", "dry_run": "perhaps"}),
        ("get", "/exchange/export?published_from=yesterday", None),
        ("get", "/exchange/export?tlp=PURPLE", None),
        ("post", "/exchange/export.stix", {"purpose": "threat_detection", "item": [str(uuid.uuid4())] * 501}),
    ],
    ids=["audience", "use", "dry-run-flag", "date", "tlp", "too-many-items"],
)
def test_page_bad_parameters_are_4xx(
    make_actor: Callable[..., Actor],
    browser_client: Client,
    method: str,
    path: str,
    data: dict[str, Any] | None,
) -> None:
    client = _page_client(browser_client, make_actor())
    resp = client.get(path) if method == "get" else client.post(path, data=data)
    assert 400 <= resp.status_code < 500, resp.status_code

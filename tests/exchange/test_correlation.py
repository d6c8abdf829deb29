"""Tags and correlation (issue 16): related items through the access policy, per TLP and per audience.

The rule under test: a correlation never reveals an item the viewer cannot read, not even its existence.
Each test builds a source item everyone in the scenario can read and a related item (sharing an indicator,
an ATLAS technique and a tag) addressed to some of them; the expected readers are written out by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind, Role
from signalfire.access.policy.exchange import readable_correlation_values
from signalfire.audit.models import AuditEvent
from signalfire.core.errors import NotFound
from signalfire.exchange import authoring
from signalfire.exchange.correlation import service as correlation
from signalfire.exchange.correlation.models import CorrelationValue
from signalfire.exchange.correlation.values import Kind
from signalfire.exchange.models import ExchangeItem
from signalfire.exchange.vocab import AudienceKind, CoveredUse, Tlp
from tests import factories
from tests.exchange import factories as xf
from tests.typed import table_of

Client = Callable[[Actor | None], TestClient]

SHARED: dict[str, Any] = {  # keyword overrides for the item factories
    "indicators": "[ipv4-addr:value = '203.0.113.9']",
    "technique_refs": ["AML.T0051"],
    "tags": ["jailbreak"],
}


@dataclass
class World:
    source_org: Actor  # contributed the source item
    related_org: Actor  # contributed the related item
    related_colleague: Actor  # another person of the related item's org
    member: Actor  # an exchange member nobody names
    named_org_person: Actor  # in an org named in the audience
    named_person: Actor  # named individually
    colleague: Actor  # same org as the named person, not named
    researcher: Actor
    authority: Actor
    outsider: Actor  # an org outside the exchange

    def viewers(self) -> dict[str, Actor]:
        return {
            "related_org": self.related_org,
            "related_colleague": self.related_colleague,
            "member": self.member,
            "named_org_person": self.named_org_person,
            "named_person": self.named_person,
            "colleague": self.colleague,
            "researcher": self.researcher,
            "authority": self.authority,
        }


def _world(db: Session) -> World:
    related_org = factories.actor(db)
    named_person = factories.actor(db, role=Role.viewer)
    return World(
        source_org=factories.actor(db),
        related_org=related_org,
        related_colleague=factories.actor(db, organization=db.get(Organization, related_org.org_id), role=Role.viewer),
        member=factories.actor(db, role=Role.viewer),
        named_org_person=factories.actor(db, role=Role.viewer),
        named_person=named_person,
        colleague=factories.actor(db, organization=db.get(Organization, named_person.org_id), role=Role.viewer),
        researcher=factories.actor(db, kind=OrgKind.researcher, role=Role.viewer),
        authority=factories.actor(db, kind=OrgKind.authority, role=Role.viewer),
        outsider=factories.actor(db, organization=factories.org(db, exchange_member=False), role=Role.viewer),
    )


def _source(db: Session, w: World) -> ExchangeItem:
    """An item every viewer of the world (except the outsider) can read."""
    return xf.published(
        db,
        w.source_org,
        tlp=Tlp.GREEN,
        audience=[AudienceKind.ALL_MEMBERS, AudienceKind.RESEARCHERS, AudienceKind.GOVERNMENT_PARTNERS],
        title="Source: prompt injection via retrieved pages",
        **SHARED,
    )


def _related_ids(db: Session, viewer: Actor, item_id: object) -> list[object]:
    return [r.item.id for r in correlation.related_items(db, viewer, item_id)]  # type: ignore[arg-type]


# Who sees the related item, by its TLP, when it is addressed to the named org and the named person (RED:
# to the named person only, the one audience RED admits). Written from docs/exchange.md's rules, not the code.
PER_TLP = {
    Tlp.CLEAR: {"related_org", "related_colleague", "named_org_person", "named_person"},
    Tlp.GREEN: {"related_org", "related_colleague", "named_org_person", "named_person"},
    Tlp.AMBER: {"related_org", "related_colleague", "named_org_person", "named_person"},
    Tlp.AMBER_STRICT: {"related_org", "related_colleague", "named_org_person", "named_person"},
    Tlp.RED: {"related_org", "related_colleague", "named_person"},
}


@pytest.mark.parametrize("tlp", list(PER_TLP), ids=lambda t: t.value)
def test_related_items_per_tlp_never_show_what_the_viewer_cannot_read(db: Session, tlp: Tlp) -> None:
    w = _world(db)
    source = _source(db, w)
    audience: dict[str, Any]
    if tlp is Tlp.RED:
        audience = {"audience": [AudienceKind.NAMED_PEOPLE], "audience_people": xf.people(w.named_person)}
    else:
        audience = {
            "audience": [AudienceKind.NAMED_ORGS, AudienceKind.NAMED_PEOPLE],
            "audience_org_ids": [w.named_org_person.org_id],
            "audience_people": xf.people(w.named_person),
        }
    related = xf.published(db, w.related_org, tlp=tlp, title=f"Related {tlp.value}", **audience, **SHARED)

    for name, viewer in w.viewers().items():
        seen = _related_ids(db, viewer, source.id)
        expected = [related.id] if name in PER_TLP[tlp] else []
        assert seen == expected, f"{name} at {tlp.value}"
    # The outsider cannot read the source: asking about it is a 404, as for a missing item.
    with pytest.raises(NotFound):
        correlation.related_items(db, w.outsider, source.id)


# Who sees an AMBER related item, by the single audience kind it is addressed to (named orgs: the named
# org; named people: the named person). Written by hand from the policy rules.
PER_AUDIENCE = {
    AudienceKind.ALL_MEMBERS: {
        "related_org",
        "related_colleague",
        "member",
        "named_org_person",
        "named_person",
        "colleague",
        "researcher",
    },
    AudienceKind.NAMED_ORGS: {"related_org", "related_colleague", "named_org_person"},
    AudienceKind.NAMED_PEOPLE: {"related_org", "related_colleague", "named_person"},
    AudienceKind.GOVERNMENT_PARTNERS: {"related_org", "related_colleague", "authority"},
    AudienceKind.RESEARCHERS: {"related_org", "related_colleague", "researcher"},
}


@pytest.mark.parametrize("kind", list(PER_AUDIENCE), ids=lambda k: k.value)
def test_related_items_per_audience_never_show_what_the_viewer_cannot_read(db: Session, kind: AudienceKind) -> None:
    w = _world(db)
    source = _source(db, w)
    extra: dict[str, Any] = {}
    if kind is AudienceKind.NAMED_ORGS:
        extra["audience_org_ids"] = [w.named_org_person.org_id]
    if kind is AudienceKind.NAMED_PEOPLE:
        extra["audience_people"] = xf.people(w.named_person)
    related = xf.published(db, w.related_org, tlp=Tlp.AMBER, audience=[kind], **extra, **SHARED)

    for name, viewer in w.viewers().items():
        expected = [related.id] if name in PER_AUDIENCE[kind] else []
        assert _related_ids(db, viewer, source.id) == expected, f"{name} for {kind.value}"
        hits = correlation.search(db, viewer, Kind.ATLAS, "aml.t0051")
        visible = {source.id} | ({related.id} if name in PER_AUDIENCE[kind] else set())
        assert {h.item.id for h in hits} == visible, f"search by {name} for {kind.value}"


def test_the_api_and_the_page_say_nothing_about_hidden_items(
    db: Session, api_client: Client, browser_client: Client
) -> None:
    w = _world(db)
    source = _source(db, w)
    hidden = xf.published(
        db,
        w.related_org,
        tlp=Tlp.AMBER,
        audience=[AudienceKind.NAMED_ORGS],
        audience_org_ids=[w.named_org_person.org_id],
        title="Hidden related item about injection",
        **SHARED,
    )
    # Seen by the named org: one related item, with its reasons.
    shown = api_client(w.named_org_person).get(f"/api/v1/exchange/items/{source.id}/related")
    assert shown.status_code == 200
    assert [r["item"]["id"] for r in shown.json()] == [str(hidden.id)]

    # Not addressed: an empty list (no count, no placeholder), and the page shows no trace of it.
    other = api_client(w.member).get(f"/api/v1/exchange/items/{source.id}/related")
    assert other.status_code == 200 and other.json() == []
    page = browser_client(w.member).get(f"/exchange/items/{source.id}")
    assert page.status_code == 200
    assert "Hidden related item" not in page.text and str(hidden.id) not in page.text
    assert "No related items." in page.text
    named_page = browser_client(w.named_org_person).get(f"/exchange/items/{source.id}")
    assert "Hidden related item about injection" in named_page.text

    # Asking from the hidden item's side is a 404 for someone who cannot read it, and for the outsider.
    assert api_client(w.member).get(f"/api/v1/exchange/items/{hidden.id}/related").status_code == 404
    assert api_client(w.outsider).get(f"/api/v1/exchange/items/{source.id}/related").status_code == 404
    assert api_client(None).get(f"/api/v1/exchange/items/{source.id}/related").status_code == 401
    searched = api_client(w.member).get("/api/v1/exchange/correlations", params={"value": "jailbreak", "kind": "tag"})
    assert [h["item"]["id"] for h in searched.json()] == [str(source.id)]


def test_reasons_and_score_are_what_the_items_share(db: Session) -> None:
    w = _world(db)
    source = _source(db, w)
    related = xf.published(db, w.related_org, tlp=Tlp.GREEN, audience=[AudienceKind.ALL_MEMBERS], **SHARED)
    xf.published(
        db, w.related_org, tlp=Tlp.GREEN, audience=[AudienceKind.ALL_MEMBERS], technique_refs=["AML.T0054"], tags=[]
    )  # shares nothing with the source: never listed
    weak = xf.published(
        db, w.related_org, tlp=Tlp.GREEN, audience=[AudienceKind.ALL_MEMBERS], tags=["Jailbreak"], technique_refs=[]
    )

    rows = correlation.related_items(db, w.member, source.id)
    # indicator 5 + ATLAS 3 + tag 2 = 10; the tag alone = 2.
    assert [(r.item.id, r.score) for r in rows] == [(related.id, 10), (weak.id, 2)]
    assert [r.text for r in rows[0].reasons] == [
        "an indicator value",
        "the ATLAS technique AML.T0051 LLM Prompt Injection",
        "the tag jailbreak",
    ]
    # The source's contributor knows its indicators, so its reasons name the value.
    own = correlation.related_items(db, w.source_org, source.id)
    assert own[0].reasons[0].text == "the indicator value 203.0.113.9"
    assert own[0].explanation.startswith("Shares the indicator value 203.0.113.9, the ATLAS technique AML.T0051")


def test_the_index_follows_publish_revise_and_withdraw(db: Session) -> None:
    w = _world(db)
    draft = xf.draft(db, w.source_org, **SHARED)
    index = select(CorrelationValue.kind, CorrelationValue.value).where(CorrelationValue.item_id == draft.id)
    assert db.execute(index).all() == []  # drafts are not indexed
    authoring.publish(db, w.source_org, draft.id)
    assert sorted(db.execute(index).all()) == [
        ("atlas", "AML.T0051"),
        ("indicator", "203.0.113.9"),
        ("tag", "jailbreak"),
    ]

    other = xf.published(db, w.related_org, tlp=Tlp.GREEN, audience=[AudienceKind.ALL_MEMBERS], **SHARED)
    assert _related_ids(db, w.member, draft.id) == [other.id]
    # A revision that drops every shared value ends the relation.
    authoring.revise(
        db,
        w.related_org,
        other.id,
        xf.item_in(tlp=Tlp.GREEN, technique_refs=["CVE-2024-3094"], tags=["supply-chain"]),
        change_note="Different finding",
    )
    assert _related_ids(db, w.member, draft.id) == []
    authoring.revise(
        db, w.related_org, other.id, xf.item_in(tlp=Tlp.GREEN, **SHARED), change_note="Back to the first finding"
    )
    assert _related_ids(db, w.member, draft.id) == [other.id]
    # Withdrawn: gone from the index, so from related items, even for its own contributor.
    authoring.withdraw(db, w.related_org, other.id, "duplicate")
    assert db.execute(select(CorrelationValue).where(CorrelationValue.item_id == other.id)).first() is None
    assert _related_ids(db, w.related_org, draft.id) == []


def test_rebuild_recreates_the_index(db: Session) -> None:
    w = _world(db)
    a = _source(db, w)
    b = xf.published(db, w.related_org, tlp=Tlp.GREEN, audience=[AudienceKind.ALL_MEMBERS], **SHARED)
    db.execute(table_of(CorrelationValue).delete())
    assert _related_ids(db, w.member, a.id) == []
    assert correlation.rebuild(db) >= 6
    assert _related_ids(db, w.member, a.id) == [b.id]


def test_indicator_search_needs_a_purpose_the_item_permits(db: Session) -> None:
    w = _world(db)
    source = _source(db, w)  # permits threat_detection and safeguards
    assert correlation.search(db, w.member, Kind.INDICATOR, "203.0.113.9") == []
    assert [h.item.id for h in correlation.search(db, w.source_org, Kind.INDICATOR, "203.0.113.9")] == [source.id]
    hits = correlation.search(db, w.member, Kind.INDICATOR, "203.0.113.9", purpose=CoveredUse.THREAT_DETECTION)
    assert [h.item.id for h in hits] == [source.id]
    assert correlation.search(db, w.member, Kind.INDICATOR, "203.0.113.9", purpose=CoveredUse.SAFETY_RESEARCH) == []
    audits = db.execute(select(AuditEvent).where(AuditEvent.action == "exchange.correlation.searched")).scalars()
    assert all("203.0.113.9" not in str(a.summary) for a in audits)


def test_related_reads_through_the_api_are_audited(db: Session, api_client: Client) -> None:
    w = _world(db)
    source = _source(db, w)
    assert api_client(w.member).get(f"/api/v1/exchange/items/{source.id}/related").status_code == 200
    db.expire_all()
    related_reads = select(AuditEvent).where(
        AuditEvent.target_id == str(source.id), AuditEvent.target_type == "exchange_item_related"
    )
    assert len(db.execute(related_reads).all()) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("technique_refs", ["AML.X0051"]),
        ("technique_refs", ["CVE-1990-1234"]),
        ("technique_refs", ["CWE-0"]),
        ("technique_refs", ["LLM01"]),
        ("tags", ["Not a tag!"]),
        ("tags", ["CVE-2024-3094"]),
        ("tags", ["x" * 51]),
        ("tags", [f"t{i}" for i in range(21)]),
    ],
)
def test_bad_vocabulary_is_a_422_problem(
    make_actor: Callable[..., Actor], api_client: Client, field: str, value: list[str]
) -> None:
    body = xf.item_in().model_dump(mode="json")
    body[field] = value
    resp = api_client(make_actor()).post("/api/v1/exchange/items", json=body)
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("kind", "value"),
    [("cve", "CVE-99"), ("atlas", "T0051"), ("cwe", "AML.T0051"), ("url", "ftp://x"), (None, "")],
)
def test_bad_search_values_are_422(
    make_actor: Callable[..., Actor], api_client: Client, kind: str | None, value: str
) -> None:
    params = {"value": value} | ({"kind": kind} if kind else {})
    resp = api_client(make_actor()).get("/api/v1/exchange/correlations", params=params)
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_tags_are_saved_normalised_and_shown(db: Session, make_actor: Callable[..., Actor], api_client: Client) -> None:
    author = make_actor()
    body = xf.item_in(tags=["Jailbreak", " multi-turn ", "jailbreak"]).model_dump(mode="json")
    created = api_client(author).post("/api/v1/exchange/items", json=body)
    assert created.status_code == 201
    assert created.json()["item"]["tags"] == ["jailbreak", "multi-turn"]


def test_model_family_vocabulary_is_per_org(make_actor: Callable[..., Actor], api_client: Client) -> None:
    a, b = make_actor(), make_actor()
    added = api_client(a).post("/api/v1/exchange/vocabularies/model-families", json={"name": "Aurora  tutor models"})
    assert added.status_code == 201 and added.json()["name"] == "Aurora tutor models"
    again = api_client(a).post("/api/v1/exchange/vocabularies/model-families", json={"name": "aurora tutor MODELS"})
    assert again.status_code == 409
    base = api_client(a).post("/api/v1/exchange/vocabularies/model-families", json={"name": "Code models"})
    assert base.status_code == 409
    mine = api_client(a).get("/api/v1/exchange/vocabularies").json()
    theirs = api_client(b).get("/api/v1/exchange/vocabularies").json()
    assert "Aurora tutor models" in mine["model_families"] and "Aurora tutor models" not in theirs["model_families"]
    assert {"id": "AML.T0051", "name": "LLM Prompt Injection"} in mine["atlas_techniques"]
    assert {"id": "CWE-502", "name": "Deserialization of Untrusted Data"} in mine["cwe"]
    assert set(mine["categories"]) == {"vulnerability", "threat", "capability_of_concern"}


def test_the_index_is_read_only_through_the_policy(db: Session) -> None:
    """The policy statement alone (without the item reload the service also does) hides unaddressed rows."""
    w = _world(db)
    hidden = xf.published(
        db,
        w.related_org,
        tlp=Tlp.RED,
        audience=[AudienceKind.NAMED_PEOPLE],
        audience_people=xf.people(w.named_person),
        **SHARED,
    )
    rows = readable_correlation_values

    def stmt(viewer: Actor) -> Select[CorrelationValue]:
        return rows(viewer).where(CorrelationValue.item_id == hidden.id)

    assert len(db.execute(stmt(w.named_person)).all()) == 3
    for viewer in (w.member, w.colleague, w.named_org_person, w.researcher, w.authority, w.outsider):
        assert db.execute(stmt(viewer)).all() == []


def test_the_demo_items_are_related(db: Session) -> None:
    """In the demo, Aurora's jailbreak lesson and Meridian's pseudonymous jailbreak warning list each other."""
    from signalfire import demo
    from signalfire.access.models import User
    from signalfire.access.service import build_actor

    ctx = demo.seed(db)
    lesson_id = ctx.extra.get("jailbreak_lesson_item_id")
    assert lesson_id is not None
    mira = db.execute(select(User).where(User.email == "mira@meridian.example")).scalar_one()
    meridian = db.execute(select(Organization).where(Organization.slug == "meridian")).scalar_one()
    viewer = build_actor(db, mira, meridian.id, via="session", csrf_token="t")
    assert viewer is not None
    rows = correlation.related_items(db, viewer, lesson_id)
    titles = [r.item.title for r in rows]
    assert "Multi-turn role-play jailbreak bypasses refusal training" in titles
    warning = next(r for r in rows if r.item.title.startswith("Multi-turn"))
    # ATLAS AML.T0054 (3) + tags jailbreak, multi-turn (2 + 2) + the shared opening turn (5).
    assert warning.score == 12


def test_indicators_posted_over_taxii_correlate_with_an_items_indicators(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    from tests.exchange.taxii.helpers import MEMBERS, envelope, headers, indicator, marking

    lab, peer = make_actor(), make_actor()
    posted = api_client(lab).post(
        MEMBERS + "objects/",
        content=envelope([marking(), indicator(7, labels=["jailbreak"])]),
        headers=headers(),
    )
    assert posted.status_code == 202 and posted.json()["success_count"] == 2
    # The helper's indicator 7 has the pattern [url:value = 'https://prompts-7.example/jb'].
    mine = xf.published(
        db,
        peer,
        indicators="Seen fetching HTTPS://PROMPTS-7.example/jb/ from the agent sandbox",
        technique_refs=[],
        tags=[],
    )
    rows = correlation.related_items(db, peer, mine.id)
    assert len(rows) == 1 and rows[0].item.org_id == lab.org_id
    # Peer contributed the item asked about, so the shared value is named; the label adds nothing here.
    assert [r.text for r in rows[0].reasons] == ["the indicator value https://prompts-7.example/jb"]
    tagged = correlation.search(db, peer, Kind.TAG, "jailbreak")
    assert [h.item.id for h in tagged] == [rows[0].item.id]


def test_tags_travel_as_stix_labels_and_atlas_ids_as_external_references(db: Session) -> None:
    from signalfire.exchange import service
    from signalfire.exchange.stix.convert import bundle_to_items, item_to_bundle

    author = factories.actor(db)
    item = xf.published(db, author, technique_refs=["AML.T0051", "CVE-2024-3094", "CWE-502"], tags=["rag", "jailbreak"])
    bundle = item_to_bundle([service.snapshot_of(db, item)])
    report = next(o for o in bundle["objects"] if o["type"] == "report")
    assert report["labels"] == ["rag", "jailbreak"]
    assert {(r["source_name"], r["external_id"]) for r in report["external_references"]} == {
        ("mitre-atlas", "AML.T0051"),
        ("cve", "CVE-2024-3094"),
        ("cwe", "CWE-502"),
    }
    # A foreign label that is not a valid tag is left out on import; valid ones come back normalised.
    report["labels"] = ["RAG", "jailbreak", "Not a tag!!"]
    imported = bundle_to_items(bundle)
    assert [i.tags for i in imported.items] == [["rag", "jailbreak"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[ipv4-addr:value = '203.0.113.9']", ["203.0.113.9"]),
        ("[domain-name:value = 'Evil.Example.']", ["evil.example"]),
        ("see https://Example.COM:443/a/?utm_source=x&b=2&a=1#top", ["https://example.com/a?a=1&b=2"]),
        ("hash D41D8CD98F00B204E9800998ECF8427E", ["md5:d41d8cd98f00b204e9800998ecf8427e"]),
        ("beacon to cdn.bad-payloads.net from model.safetensors", ["cdn.bad-payloads.net"]),
        ("mail ops@Bad.Example.org", ["ops@bad.example.org"]),
        ("2001:DB8::1", ["2001:db8::1"]),
        ("Ignore   all previous instructions", ["line:ignore all previous instructions"]),
        ("short", []),
    ],
)
def test_indicator_values_are_normalised(text: str, expected: list[str]) -> None:
    from signalfire.exchange.correlation.values import indicator_values

    assert indicator_values(text) == expected


def test_the_cli_rebuilds_the_index(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from signalfire.core.db.session import make_engine, session_factory, unit_of_work
    from signalfire.core.settings import get_settings
    from signalfire.exchange.cli import app

    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as s:
        author = factories.actor(s)
        xf.published(s, author, **SHARED)  # 3 values
        s.execute(table_of(CorrelationValue).delete())
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["reindex-correlations"])
        assert result.exit_code == 0, result.output
        assert "3 values indexed" in result.output
    finally:
        get_settings.cache_clear()
        engine.dispose()


def test_the_candidate_bound_counts_only_readable_items(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Walking a shared value stops after a few *readable* items: newer hidden items never crowd out the
    one the viewer may read (the bound would otherwise reveal that hidden items exist)."""
    monkeypatch.setattr(correlation, "PER_VALUE_CANDIDATES", 2)
    w = _world(db)
    source = _source(db, w)
    visible = xf.published(db, w.related_org, tlp=Tlp.GREEN, audience=[AudienceKind.ALL_MEMBERS], **SHARED)
    for _ in range(3):  # published later, so first in the newest-first walk
        xf.published(
            db,
            w.related_org,
            tlp=Tlp.AMBER,
            audience=[AudienceKind.NAMED_ORGS],
            audience_org_ids=[w.named_org_person.org_id],
            **SHARED,
        )
    assert _related_ids(db, w.member, source.id) == [visible.id]
    assert len(_related_ids(db, w.named_org_person, source.id)) == 2  # the bound: its two newest readable


def test_the_item_form_takes_tags_and_refuses_bad_ones(db: Session, browser_client: Client) -> None:
    author = factories.actor(db)
    client = browser_client(author)
    form = {
        "category": "threat",
        "title": "Tagged through the form",
        "summary": "s",
        "severity": "medium",
        "tlp": "GREEN",
        "permitted_uses": ["threat_detection"],
        "audience": ["all_members"],
        "attribution": "named",
        "csrf_token": client.headers["X-CSRF-Token"],
    }
    bad = client.post("/exchange/items", data={**form, "tags": "rag, Not a tag!!"})
    assert bad.status_code == 422 and "is not a tag" in bad.text
    good = client.post("/exchange/items", data={**form, "tags": "RAG, tool-use"}, follow_redirects=False)
    assert good.status_code == 303
    item = db.execute(select(ExchangeItem).where(ExchangeItem.title == "Tagged through the form")).scalar_one()
    assert item.tags == ["rag", "tool-use"]
    page = client.get(f"/exchange/items/{item.id}/edit")
    assert 'value="rag, tool-use"' in page.text


def test_an_indicator_search_with_no_indicator_in_it_finds_nothing(db: Session) -> None:
    w = _world(db)
    _source(db, w)
    assert correlation.search(db, w.source_org, Kind.INDICATOR, "short") == []

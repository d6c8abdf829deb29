"""The TAXII 2.1 wire protocol: discovery, auth, content negotiation, errors, paging, filters, status.

Requests go through the real app (TestClient) with API tokens, as Basic or Bearer credentials.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.exchange.taxii.collections import GOVERNMENT_ID, RESEARCHERS_ID, shared_by_id
from signalfire.exchange.taxii.models import TaxiiObject, TaxiiStatus
from signalfire.exchange.vocab import Tlp
from tests import factories
from tests.exchange import factories as xf
from tests.exchange.taxii.helpers import API, MEMBERS, TAXII, envelope, headers, indicator, malware, marking

Client = Callable[[Actor | None], TestClient]


def _ids(resp: Any) -> list[str]:
    return [obj["id"] for obj in resp.json().get("objects", [])]


def _counts(db: Session) -> tuple[int, int]:
    objects = db.execute(select(func.count()).select_from(TaxiiObject)).scalar_one()
    statuses = db.execute(select(func.count()).select_from(TaxiiStatus)).scalar_one()
    return objects, statuses


def _error(resp: Any, status: int, title: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == TAXII
    body: dict[str, Any] = resp.json()
    assert body["title"] == title and body["http_status"] == str(status) and body["description"] and body["error_id"]
    return body


@pytest.fixture()
def lab(make_actor: Callable[..., Actor]) -> Actor:
    return make_actor()


@pytest.fixture()
def peer(make_actor: Callable[..., Actor]) -> Actor:
    return make_actor()


def _post(client: TestClient, objects: list[dict[str, Any]], collection: str = MEMBERS, **kw: Any) -> Any:
    return client.post(collection + "objects/", content=envelope(objects), headers=headers(**kw))


def test_discovery_api_root_and_collections_are_per_requester(
    db: Session, lab: Actor, api_client: Client, make_actor: Callable[..., Actor]
) -> None:
    client = api_client(lab)
    root = client.get("/taxii2/", headers=headers())
    assert root.status_code == 200 and root.headers["content-type"] == TAXII
    assert root.json()["api_roots"] == ["http://testserver/taxii2/exchange/"]
    info = client.get(API, headers=headers()).json()
    assert info["versions"] == [TAXII] and info["max_content_length"] == 100 * 1024 * 1024

    found = client.get(API + "collections/", headers=headers()).json()["collections"]
    assert [c["id"] for c in found] == sorted(c["id"] for c in found)
    by_alias = {c["alias"]: c for c in found}
    assert set(by_alias) == {"members", "government", "researchers", "org", "person", "shared"}
    assert (by_alias["members"]["can_read"], by_alias["members"]["can_write"]) == (True, True)
    assert (by_alias["government"]["can_read"], by_alias["government"]["can_write"]) == (False, True)
    assert by_alias["shared"]["id"] == str(shared_by_id(lab.org_id)) and not by_alias["shared"]["can_write"]
    single = client.get(f"{API}collections/{by_alias['members']['id']}/", headers=headers())
    assert single.json() == by_alias["members"]

    # A viewer may read but not write; an authority reads only the government collection; researchers theirs.
    viewer = make_actor(organization=db.get(factories.Organization, lab.org_id), role=Role.viewer)
    listing = api_client(viewer).get(API + "collections/", headers=headers()).json()["collections"]
    mine = {c["alias"]: c for c in listing}
    assert "government" not in mine and not mine["members"]["can_write"]
    officer = make_actor(OrgKind.authority)
    theirs = api_client(officer).get(API + "collections/", headers=headers()).json()["collections"]
    assert {(c["alias"], c["can_read"], c["can_write"]) for c in theirs} == {
        ("government", True, False),
        ("shared", True, False),
    }
    researcher = make_actor(OrgKind.researcher)
    found = api_client(researcher).get(f"{API}collections/{RESEARCHERS_ID}/", headers=headers()).json()
    assert found["can_read"] is True
    # Someone else's inbox, or a made-up id, is missing.
    other_inbox = by_alias["org"]["id"]
    _error(api_client(researcher).get(f"{API}collections/{other_inbox}/", headers=headers()), 404, "Not found")
    _error(client.get(f"{API}collections/not-a-uuid/", headers=headers()), 404, "Not found")
    _error(api_client(officer).get(f"{MEMBERS}objects/", headers=headers()), 404, "Not found")
    _error(client.get(f"{API}collections/{GOVERNMENT_ID}/objects/", headers=headers()), 403, "Collection not readable")


def test_credentials(db: Session, lab: Actor, client: TestClient) -> None:
    token = factories.token_for(db, lab)
    assert client.get(API, headers=headers(token=token, basic=True)).status_code == 200
    assert client.get(API, headers=headers(token=token)).status_code == 200
    for bad in (
        headers(token="sf_wrong", basic=True),
        headers(token="sf_wrong"),
        headers(),
        {**headers(), "Authorization": "Basic !!!"},
        {**headers(), "Authorization": "Digest x"},
    ):
        resp = client.get(API, headers=bad)
        _error(resp, 401, "Unauthorized")
        assert resp.headers["www-authenticate"].startswith('Basic realm="Signalfire TAXII"')
    # A token scoped away from the exchange sees no collections to read.
    narrow = factories.token_for(db, lab, scopes=["response"])
    assert client.get(API + "collections/", headers=headers(token=narrow)).json() == {}


def test_content_negotiation(db: Session, lab: Actor, api_client: Client) -> None:
    client = api_client(lab)
    for accept in (TAXII, "application/taxii+json", "*/*", "application/json, application/taxii+json"):
        assert client.get(API, headers={**headers(), "Accept": accept}).status_code == 200, accept
    for accept in ("application/taxii+json;version=2.0", "text/html", "application/stix+json"):
        _error(client.get(API, headers={**headers(), "Accept": accept}), 406, "Not acceptable")
    before = _counts(db)
    for ctype in ("application/json", "application/taxii+json;version=2.0", "text/plain"):
        resp = client.post(
            MEMBERS + "objects/", content=envelope([indicator(1)]), headers={**headers(), "Content-Type": ctype}
        )
        _error(resp, 415, "Unsupported media type")
    assert _counts(db) == before


def test_add_objects_status_and_idempotence(db: Session, lab: Actor, peer: Actor, api_client: Client) -> None:
    client = api_client(lab)
    objects = [marking(), indicator(1), indicator(2), malware(3)]
    first = _post(client, objects)
    assert first.status_code == 202 and first.headers["content-type"] == TAXII
    status = first.json()
    assert (
        status["status"],
        status["total_count"],
        status["success_count"],
        status["failure_count"],
        status["pending_count"],
    ) == ("complete", 4, 4, 0, 0)
    assert [s["id"] for s in status["successes"]] == [o["id"] for o in objects]
    # Status, with and without the trailing slash (taxii2-client polls the latter); another org cannot see it.
    for path in (f"{API}status/{status['id']}/", f"{API}status/{status['id']}"):
        assert client.get(path, headers=headers()).json() == status
    _error(api_client(peer).get(f"{API}status/{status['id']}/", headers=headers()), 404, "Not found")

    again = _post(client, objects).json()
    assert again["success_count"] == 4 and {s.get("message") for s in again["successes"]} == {"already present"}
    visible = api_client(peer).get(MEMBERS + "objects/", headers=headers(), params={"match[type]": "indicator"})
    assert sorted(_ids(visible)) == sorted(o["id"] for o in objects[1:3])
    # A new version of the same object is added; the same version with other content is refused.
    newer = dict(objects[1], modified="2026-04-01T00:00:00.000Z", name="Renamed family")
    clash = dict(objects[2], name="Something else")
    mixed = _post(client, [newer, clash]).json()
    assert mixed["success_count"] == 1 and mixed["failures"][0]["id"] == clash["id"]
    assert "other content" in mixed["failures"][0]["message"]


def test_per_object_failures_are_reported_and_the_rest_added(
    db: Session, lab: Actor, peer: Actor, api_client: Client
) -> None:
    peer_obj = indicator(50)
    assert _post(api_client(peer), [peer_obj]).json()["success_count"] == 1
    good = indicator(1)
    deep: dict[str, Any] = {"x": 1}
    for _ in range(20):
        deep = {"x": deep}
    bad: list[Any] = [
        indicator(2, spec_version="2.0"),
        dict(indicator(3), id="indicator--NOT-A-UUID"),
        dict(indicator(4), id="malware--2f4e7c36-0d1d-4a1b-9a51-0d1b8f0b8c11"),
        {k: v for k, v in indicator(5).items() if k != "object_marking_refs"},
        indicator(6, x_nested=deep),
        indicator(7, tlp=Tlp.RED),
        dict(peer_obj, name="Hijacked"),
        dict(indicator(8), modified="2026-01-01T00:00:00.000Z"),  # earlier than created
        dict(indicator(9), created="yesterday"),
        dict(marking(), name="TLP:GREEN", id="marking-definition--0b4b0a7f-8b5c-4d2e-9d6e-2f1c3a4b5c6d"),
        dict(marking(), name="TLP:PURPLE"),
        "not an object",
    ]
    status = _post(api_client(lab), [good, good, *bad]).json()
    assert status["total_count"] == 2 + len(bad)
    assert status["success_count"] == 1 and status["successes"][0]["id"] == good["id"]
    assert status["failure_count"] == 1 + len(bad) == len(status["failures"])
    messages = " | ".join(f["message"] for f in status["failures"])
    for expected in (
        "more than once",
        "STIX 2.1 only",
        "lower-case UUID",
        "no TLP marking",
        "deeper than",
        "TLP:RED is for named individuals",
        "another contributor",
        "earlier than 'created'",
        "not a STIX timestamp",
        "looks like a TLP marking",
        "differs from the published one",
        "not a JSON object",
    ):
        assert expected in messages, expected
    # The peer's object was not taken over.
    seen = api_client(peer).get(f"{MEMBERS}objects/{peer_obj['id']}/", headers=headers()).json()["objects"]
    assert [o["name"] for o in seen] == [peer_obj["name"]]


def test_whole_request_faults_store_nothing(db: Session, lab: Actor, api_client: Client) -> None:
    client = api_client(lab)
    before = _counts(db)
    cases = [
        (b"not json", 400, "Malformed envelope"),
        (b"[1, 2]", 400, "Malformed envelope"),
        (b'{"objects": []}', 400, "Empty envelope"),
        (b'{"objects": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400, "Envelope too deep"),
    ]
    for body, status, title in cases:
        _error(client.post(MEMBERS + "objects/", content=body, headers=headers()), status, title)
    _error(_post(client, [indicator(1)], uses=None), 400, "Permitted uses required")
    _error(_post(client, [indicator(1)], uses="threat_detection,marketing"), 400, "Unknown permitted use")
    leak = indicator(2, description="Reported by jane.doe@aurora-labs.com, call +44 20 7946 0958.")
    refusal = _error(_post(client, [indicator(3), leak]), 422, "Screening findings need an override")
    assert leak["id"] in refusal["description"] and "X-Signalfire-Screening-Override" in refusal["description"]
    _error(_post(client, [leak], override="short"), 422, "Screening findings need an override")
    _error(
        client.post(
            f"{API}collections/{GOVERNMENT_ID}/objects/",
            content=b"{}",
            headers={**headers(), "Content-Type": "text/plain"},
        ),
        415,
        "Unsupported media type",
    )
    assert _counts(db) == before
    from signalfire.exchange.taxii import ingest as taxii_ingest

    monkey = taxii_ingest.MAX_OBJECTS
    taxii_ingest.MAX_OBJECTS = 2
    try:
        _error(_post(client, [indicator(4), indicator(5), indicator(6)]), 413, "Too many objects")
    finally:
        taxii_ingest.MAX_OBJECTS = monkey
    assert _counts(db) == before

    overridden = _post(client, [leak], override="Attacker-controlled contact details, kept on purpose.").json()
    assert overridden["success_count"] == 1
    from signalfire.exchange.models import ScreeningOverride

    stored = db.execute(select(ScreeningOverride)).scalars().all()
    assert len(stored) == 1 and stored[0].findings[0]["object_id"] == leak["id"]


def test_paging_cursor_and_filters(db: Session, lab: Actor, peer: Actor, api_client: Client) -> None:
    objects = [indicator(i) for i in range(7)] + [malware(10), malware(11)]
    _post(api_client(lab), objects)
    client = api_client(peer)
    everything = client.get(MEMBERS + "manifest/", headers=headers()).json()["objects"]
    total = len(everything)
    assert total >= 9
    dates = [entry["date_added"] for entry in everything]
    assert dates == sorted(dates) and len(set(dates)) == total and all(len(d) == 27 for d in dates)

    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = client.get(MEMBERS + "objects/", headers=headers(), params=params)
        body = page.json()
        seen += _ids(page)
        assert page.headers["x-taxii-date-added-first"] <= page.headers["x-taxii-date-added-last"]
        if not body["more"]:
            assert "next" not in body
            break
        params = {"limit": 2, "next": body["next"]}
    assert len(seen) == len(set(seen)) == total

    # added_after is strictly greater, taken with 0 to 6 fractional digits.
    middle = everything[4]["date_added"]
    after = client.get(MEMBERS + "manifest/", headers=headers(), params={"added_after": middle}).json()["objects"]
    assert [e["date_added"] for e in after] == dates[5:]
    whole_second = middle[:19] + "Z"
    assert client.get(MEMBERS + "manifest/", headers=headers(), params={"added_after": whole_second}).status_code == 200
    empty = client.get(MEMBERS + "objects/", headers=headers(), params={"added_after": dates[-1]})
    assert empty.json() == {"more": False} and "x-taxii-date-added-first" not in empty.headers

    def ids(**params: Any) -> list[str]:
        return _ids(client.get(MEMBERS + "objects/", headers=headers(), params=params))

    assert sorted(ids(**{"match[type]": "malware"})) == sorted(o["id"] for o in objects[7:])
    assert ids(**{"match[type]": "no-such-type"}) == []
    assert ids(**{"match[id]": f"{objects[0]['id']},{objects[8]['id']}", "match[foo]": "ignored"}) == [
        objects[0]["id"],
        objects[8]["id"],
    ]
    assert len(ids(**{"match[type]": "malware", "match[spec_version]": "2.1"})) == 2
    assert ids(**{"match[type]": "malware", "match[spec_version]": "2.0"}) == []

    # A next token is bound to its collection and its filters; malformed parameters are 400.
    first = client.get(MEMBERS + "objects/", headers=headers(), params={"limit": 1, "match[type]": "indicator"})
    token = first.json()["next"]
    _error(client.get(MEMBERS + "objects/", headers=headers(), params={"limit": 1, "next": token}), 400, "Bad next")
    _error(
        client.get(MEMBERS + "manifest/", headers=headers(), params={"next": token, "match[type]": "indicator"}),
        400,
        "Bad next",
    )
    shared = f"{API}collections/{shared_by_id(peer.org_id)}/objects/"
    _error(client.get(shared, headers=headers(), params={"next": token, "match[type]": "indicator"}), 400, "Bad next")
    _error(
        client.get(
            MEMBERS + "objects/",
            headers=headers(purpose="safeguards"),
            params={"next": token, "match[type]": "indicator"},
        ),
        400,
        "Bad next",
    )
    _error(client.get(MEMBERS + "objects/", headers=headers(), params={"next": token[:-1] + "0"}), 400, "Bad next")
    for params, title in (
        ({"limit": "0"}, "Bad limit"),
        ({"limit": "ten"}, "Bad limit"),
        ({"added_after": "2026-13-01"}, "Bad added_after"),
        ({"added_after": "2026-01-01T00:00:00.1234567Z"}, "Bad added_after"),
        ({"match[version]": "latest"}, "Bad filter"),
        ({"match[type]": ","}, "Bad filter"),
    ):
        _error(client.get(MEMBERS + "objects/", headers=headers(), params=params), 400, title)
    # limit is capped silently, never exceeded.
    assert len(ids(limit="100000")) == total


def test_versions_and_single_objects(db: Session, lab: Actor, peer: Actor, api_client: Client) -> None:
    v1 = indicator(1)
    v2 = dict(v1, modified="2026-05-01T00:00:00.000Z", name="second")
    v3 = dict(v1, modified="2026-06-01T00:00:00.123456Z", name="third")
    writer = api_client(lab)
    _post(writer, [v1, v3])
    _post(writer, [v2])
    client = api_client(peer)
    url = f"{MEMBERS}objects/{v1['id']}/"

    def names(**params: Any) -> list[str]:
        return [o["name"] for o in client.get(url, headers=headers(), params=params).json().get("objects", [])]

    assert names() == ["third"]
    assert names(**{"match[version]": "first"}) == [v1["name"]]
    assert names(**{"match[version]": "all"}) == [v1["name"], "third", "second"]  # date_added order
    assert names(**{"match[version]": "2026-05-01T00:00:00Z"}) == ["second"]
    assert names(**{"match[version]": "first,2026-06-01T00:00:00.123456Z"}) == [v1["name"], "third"]
    listed = client.get(MEMBERS + "objects/", headers=headers(), params={"match[id]": v1["id"]}).json()["objects"]
    assert [o["name"] for o in listed] == ["third"]
    versions = client.get(url + "versions/", headers=headers())
    assert versions.json() == {
        "more": False,
        "versions": [v1["modified"], "2026-06-01T00:00:00.123456Z", "2026-05-01T00:00:00.000Z"],
    }
    assert versions.headers["x-taxii-date-added-last"]
    paged = client.get(url + "versions/", headers=headers(), params={"limit": 2}).json()
    assert paged["more"] is True and len(paged["versions"]) == 2
    rest = client.get(url + "versions/", headers=headers(), params={"limit": 2, "next": paged["next"]}).json()
    assert rest == {"more": False, "versions": ["2026-05-01T00:00:00.000Z"]}
    _error(
        client.get(f"{MEMBERS}objects/indicator--00000000-0000-4000-8000-000000000000/", headers=headers()),
        404,
        "Not found",
    )
    _error(
        client.get(f"{MEMBERS}objects/indicator--00000000-0000-4000-8000-000000000000/versions/", headers=headers()),
        404,
        "Not found",
    )


def test_delete_only_own_posted_objects(db: Session, lab: Actor, peer: Actor, api_client: Client) -> None:
    item = xf.published(db, lab)
    db.commit()
    writer = api_client(lab)
    v1 = indicator(1)
    v2 = dict(v1, modified="2026-05-01T00:00:00.000Z")
    _post(writer, [v1, v2])
    url = f"{MEMBERS}objects/{v1['id']}/"
    _error(api_client(peer).delete(url, headers=headers()), 404, "Not found")
    _error(writer.delete(f"{MEMBERS}objects/report--{item.id}/", headers=headers()), 403, "Withdraw the item instead")
    assert writer.delete(url, headers=headers(), params={"match[version]": "first"}).status_code == 200
    assert [
        o["modified"]
        for o in api_client(peer).get(url, headers=headers(), params={"match[version]": "all"}).json()["objects"]
    ] == [v2["modified"]]
    assert writer.delete(url, headers=headers()).status_code == 200
    _error(api_client(peer).get(url, headers=headers()), 404, "Not found")
    shared = f"{API}collections/{shared_by_id(lab.org_id)}/objects/{v1['id']}/"
    _error(writer.get(shared, headers=headers()), 404, "Not found")


def test_purpose_is_required_filters_and_every_read_is_logged(
    db: Session, lab: Actor, peer: Actor, api_client: Client
) -> None:
    from signalfire.audit.models import AuditEvent
    from signalfire.exchange.models import ReadLog
    from signalfire.exchange.vocab import CoveredUse

    item = xf.published(db, lab, permitted_uses=[CoveredUse.SAFETY_RESEARCH])
    db.commit()
    report = f"report--{item.id}"
    client = api_client(peer)
    _error(client.get(MEMBERS + "objects/", headers=headers(purpose=None)), 403, "Declared purpose required")
    _error(client.get(MEMBERS + "manifest/", headers=headers(purpose="marketing")), 400, "Unknown purpose")
    assert report not in _ids(client.get(MEMBERS + "objects/", headers=headers(purpose="threat_detection")))
    assert db.execute(select(func.count()).select_from(ReadLog)).scalar_one() == 0
    assert report in _ids(client.get(MEMBERS + "objects/", headers=headers(purpose="safety_research")))
    read = db.execute(select(ReadLog)).scalar_one()
    assert (read.item_id, read.org_id, read.purpose.value, read.channel.value) == (
        item.id,
        peer.org_id,
        "safety_research",
        "taxii",
    )
    event = db.execute(select(AuditEvent).where(AuditEvent.action == "exchange.taxii.read")).scalar_one()
    assert event.summary["items"] == [str(item.id)] and event.summary["purpose"] == "safety_research"
    # The contributor reads its own item whatever the purpose, and that is not logged as a read.
    assert report in _ids(api_client(lab).get(MEMBERS + "objects/", headers=headers(purpose="threat_detection")))
    assert db.execute(select(func.count()).select_from(ReadLog)).scalar_one() == 1
    # The manifest lists without logging reads.
    assert report in [
        e["id"] for e in client.get(MEMBERS + "manifest/", headers=headers(purpose="safety_research")).json()["objects"]
    ]
    assert db.execute(select(func.count()).select_from(ReadLog)).scalar_one() == 1


def test_a_page_logs_one_read_per_item_at_the_highest_version_served_and_acknowledges_once(
    db: Session, lab: Actor, peer: Actor, api_client: Client
) -> None:
    import time_machine

    from signalfire.audit.models import AuditEvent
    from signalfire.core.clock import utcnow
    from signalfire.exchange import authoring
    from signalfire.exchange.models import Acknowledgement, ReadLog

    with time_machine.travel("2026-11-10T09:00:00Z", tick=False):
        revised = xf.published(db, lab)
        other = xf.published(db, lab)
        mine = xf.published(db, peer)
        db.commit()
    with time_machine.travel("2026-11-10T09:05:00Z", tick=False):
        authoring.revise(db, lab, revised.id, xf.item_in(title="Sharper title"), change_note="Clarified")
        db.commit()
    client = api_client(peer)
    with time_machine.travel("2026-11-10T10:00:00Z", tick=False):
        page = client.get(MEMBERS + "objects/", headers=headers(), params={"match[version]": "all"})
    served = page.json()["objects"]
    reports = [o["id"] for o in served if o["type"] == "report"]
    # Both versions of the revised item's report were served, the other two items' once each.
    assert sorted(reports) == sorted([f"report--{revised.id}"] * 2 + [f"report--{other.id}", f"report--{mine.id}"])
    reads = {(r.item_id, r.item_version, r.org_id, r.user_id) for r in db.execute(select(ReadLog)).scalars()}
    assert reads == {(revised.id, 2, peer.org_id, peer.user_id), (other.id, 1, peer.org_id, peer.user_id)}
    acks = {(a.item_id, a.org_id, a.seconds_after_publish) for a in db.execute(select(Acknowledgement)).scalars()}
    assert acks == {(revised.id, peer.org_id, 3600), (other.id, peer.org_id, 3600)}
    event = db.execute(select(AuditEvent).where(AuditEvent.action == "exchange.taxii.read")).scalar_one()
    assert event.summary["objects"] == len(served)
    assert event.summary["items"] == sorted([str(revised.id), str(other.id)])
    # Reading again logs again; the acknowledgements stay the first ones.
    with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
        assert _ids(client.get(MEMBERS + "objects/", headers=headers(), params={"match[version]": "all"}))
    assert db.execute(select(func.count()).select_from(ReadLog)).scalar_one() == 4
    db.expire_all()
    again = {(a.item_id, a.org_id, a.seconds_after_publish) for a in db.execute(select(Acknowledgement)).scalars()}
    assert again == acks


def test_item_versions_follow_revisions_and_withdrawal(
    db: Session, lab: Actor, peer: Actor, api_client: Client
) -> None:
    import time_machine

    from signalfire.core.clock import utcnow
    from signalfire.exchange import authoring

    item = xf.published(db, lab)
    db.commit()
    report = f"report--{item.id}"
    client = api_client(peer)
    url = f"{MEMBERS}objects/{report}/"
    first = client.get(url, headers=headers()).json()["objects"][0]
    assert first["extensions"]
    with time_machine.travel(utcnow() + timedelta(minutes=5), tick=False):
        authoring.revise(db, lab, item.id, xf.item_in(title="Sharper title"), change_note="Clarified")
        db.commit()
        latest = client.get(url, headers=headers()).json()["objects"]
        assert [o["name"] for o in latest] == ["Sharper title"]
        assert len(client.get(url + "versions/", headers=headers()).json()["versions"]) == 2
    with time_machine.travel(utcnow() + timedelta(minutes=10), tick=False):
        authoring.withdraw(db, lab, item.id, "Superseded")
        db.commit()
        # The peer it was addressed to gets the revocation and nothing else of it, so a copy can follow.
        gone = client.get(url, headers=headers()).json()["objects"]
        assert [o["revoked"] for o in gone] == [True]
        assert len(client.get(url + "versions/", headers=headers()).json()["versions"]) == 1
        everything = client.get(url, headers=headers(), params={"match[version]": "all"}).json()["objects"]
        assert [o.get("revoked") for o in everything] == [True]
        shared = f"{API}collections/{shared_by_id(lab.org_id)}/objects/{report}/"
        assert api_client(lab).get(shared, headers=headers()).json()["objects"][0]["revoked"] is True


def test_unknown_paths_and_methods(api_client: Client, lab: Actor) -> None:
    client = api_client(lab)
    _error(client.get("/taxii2/nowhere/", headers=headers()), 404, "Not found")
    _error(client.get("/taxii2/exchange", headers=headers()), 404, "Not found")
    resp = client.put(API + "collections/", headers=headers())
    _error(resp, 405, "Method not allowed")
    assert resp.headers["allow"] == "GET"


def test_browser_sessions_need_csrf_to_write(db: Session, lab: Actor, browser_client: Client) -> None:
    client = browser_client(lab)
    assert client.get(API + "collections/", headers=headers()).status_code == 200
    stripped = {k: v for k, v in client.headers.items() if k.lower() != "x-csrf-token"}
    client.headers.clear()
    client.headers.update(stripped)
    _error(_post(client, [indicator(1)]), 403, "CSRF check failed")


def test_json_bodies_are_served_byte_for_byte(db: Session, lab: Actor, peer: Actor, api_client: Client) -> None:
    obj = indicator(1, description="Unicode survives: «jailbreak» — 越狱")
    _post(api_client(lab), [obj])
    served = api_client(peer).get(f"{MEMBERS}objects/{obj['id']}/", headers=headers())
    assert json.loads(served.content)["objects"] == [obj]

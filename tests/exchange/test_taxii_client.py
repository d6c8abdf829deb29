"""taxii2-client (taxii2client.v21) as a real client against the server on loopback (uvicorn, real database).

10,000 objects are loaded with the bulk path (the same ``taxii_ingest.add_objects`` a POST runs, called
in-process), then the client discovers the server, lists collections, pages through all of them
(``as_pages``, 100 per request) counting exactly 10,000 unique ids, filters by type, id, version and
added_after, reads the manifest and versions, adds objects and waits for the status, deletes one, and
is refused with the wrong password.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import requests.auth
from sqlalchemy import func, select
from taxii2client.v21 import Collection, Server, as_pages

from signalfire.access.actor import Actor
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.exchange.models import ReadLog
from signalfire.exchange.taxii import ingest as taxii_ingest
from signalfire.exchange.taxii import store as taxii_store
from signalfire.exchange.taxii.collections import MEMBERS_ID, collections_for
from signalfire.exchange.taxii.protocol import Query
from signalfire.exchange.vocab import CoveredUse
from signalfire.web.app import create_app
from tests import factories
from tests.conftest import free_port, make_settings
from tests.exchange import factories as xf
from tests.exchange.taxii.helpers import indicator, malware, marking, ts

TOTAL = 10_000
REVISED = 50
MALWARE_EVERY = 10
PURPOSE = "threat_detection"


class SignalfireAuth(requests.auth.AuthBase):
    """HTTP Basic with an API token as password, plus the declared purpose (and permitted uses, to write)."""

    def __init__(self, token: str, purpose: str = PURPOSE, uses: str | None = None) -> None:
        self.basic = "Basic " + base64.b64encode(f"someone@example.test:{token}".encode()).decode()
        self.purpose = purpose
        self.uses = uses

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.basic
        request.headers["X-Signalfire-Purpose"] = self.purpose
        if self.uses:
            request.headers["X-Signalfire-Permitted-Uses"] = self.uses
        return request


@dataclass
class Loaded:
    url: str
    database_url: str
    writer_token: str
    reader_token: str
    reader: Actor
    revised_ids: list[str]
    malware_ids: list[str]


def _visible(session: Any, reader: Actor, **query: Any) -> int:
    taxii_store.sync(session)
    members = next(c for c in collections_for(session, reader) if c.id == MEMBERS_ID)
    view = taxii_store.Reader(reader, members, CoveredUse.THREAT_DETECTION, b"count")
    return len(taxii_store.read_page(session, view, Query(limit=10**9, **query), with_body=False).rows)


@pytest.fixture()
def loaded(fresh_db: str) -> Iterator[Loaded]:
    engine = make_engine(fresh_db)
    factory = session_factory(engine)
    with unit_of_work(factory) as s:
        writer = factories.actor(s)
        reader = factories.actor(s)
        xf.published(s, writer, technique_refs=["AML.T0051", "AML.T0054"])
        writer_token = factories.token_for(s, writer)
        reader_token = factories.token_for(s, reader)
        members = next(c for c in collections_for(s, writer) if c.id == MEMBERS_ID)
        uses = [CoveredUse.THREAT_DETECTION]
        first = [marking(), *[malware(i) if i % MALWARE_EVERY == 0 else indicator(i) for i in range(TOTAL - 200)]]
        taxii_ingest.add_objects(s, writer, members, first, permitted_uses=uses, override_reason=None)
        # A second add fills the collection to exactly TOTAL objects and revises some (new `modified`).
        room = TOTAL - _visible(s, reader) - 1  # the second add also publishes one more item report
        second = [indicator(TOTAL + i) for i in range(room)]
        revised = [
            dict(obj, modified=ts(datetime(2026, 9, 1, tzinfo=UTC)), name="revised") for obj in first[1 : REVISED + 1]
        ]
        taxii_ingest.add_objects(s, writer, members, second + revised, permitted_uses=uses, override_reason=None)
        assert _visible(s, reader) == TOTAL
        malware_ids = [o["id"] for o in first if o["type"] == "malware"]

    import uvicorn

    app = create_app(make_settings(fresh_db), run_worker=False)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield Loaded(
            f"http://127.0.0.1:{port}",
            fresh_db,
            writer_token,
            reader_token,
            reader,
            [o["id"] for o in revised],
            malware_ids,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        engine.dispose()


def test_taxii2_client_pages_filters_and_writes(loaded: Loaded) -> None:
    server = Server(f"{loaded.url}/taxii2/", auth=SignalfireAuth(loaded.reader_token))
    assert server.title and len(server.api_roots) == 1
    api_root = server.default
    assert api_root is not None and api_root.versions == ["application/taxii+json;version=2.1"]
    collections = {c.id: c for c in api_root.collections}
    members = collections[str(MEMBERS_ID)]
    assert members.can_read and members.can_write and members.title == "All member labs"

    # Page through everything, 100 per request.
    ids: list[str] = []
    pages = 0
    for envelope in as_pages(members.get_objects, per_request=100):
        ids += [obj["id"] for obj in envelope.get("objects", [])]
        pages += 1
    assert len(ids) == TOTAL and len(set(ids)) == TOTAL
    assert pages == TOTAL // 100

    # Filters: type, id, version, added_after.
    malware_seen = [
        o["id"]
        for env in as_pages(members.get_objects, per_request=100, type="malware")
        for o in env.get("objects", [])
    ]
    assert sorted(malware_seen) == sorted(loaded.malware_ids)
    one = loaded.revised_ids[0]
    assert [o["name"] for o in members.get_objects(id=one)["objects"]] == ["revised"]
    assert [o["name"] for o in members.get_object(one)["objects"]] == ["revised"]
    assert members.get_object(one, version="first")["objects"][0]["name"] != "revised"
    assert len(members.get_object(one, version="all")["objects"]) == 2
    exact = members.get_object(one, version=datetime(2026, 9, 1, tzinfo=UTC))["objects"]
    assert [o["modified"] for o in exact] == ["2026-09-01T00:00:00.000Z"]
    every_version = sum(
        len(env.get("objects", [])) for env in as_pages(members.get_objects, per_request=1000, version="all")
    )
    # The revised objects are new versions in the first add's item, so its item report has a second version too.
    assert every_version == TOTAL + REVISED + 1

    # added_after from the header of a page (raw request, to read the header).
    auth = SignalfireAuth(loaded.reader_token)
    page = requests.get(
        members.objects_url,
        params={"limit": 1000},
        auth=auth,
        timeout=60,
        headers={"Accept": "application/taxii+json;version=2.1"},
    )
    assert page.headers["Content-Type"] == "application/taxii+json;version=2.1"
    last = page.headers["X-TAXII-Date-Added-Last"]
    after = [
        o["id"]
        for env in as_pages(members.get_objects, per_request=1000, added_after=last)
        for o in env.get("objects", [])
    ]
    assert len(after) == TOTAL - 1000 and not set(after) & {o["id"] for o in page.json()["objects"]}

    manifest = members.get_manifest(limit=10)
    assert len(manifest["objects"]) == 10 and manifest["more"] is True and manifest["next"]
    assert len(members.object_versions(one)["versions"]) == 2

    # Write: add with wait_for_completion, then poll the status URL the client builds (no trailing slash).
    writer = Server(
        f"{loaded.url}/taxii2/", auth=SignalfireAuth(loaded.writer_token, uses="threat_detection,safeguards")
    )
    target = next(c for c in writer.default.collections if c.id == str(MEMBERS_ID))
    new = [indicator(90_000 + i) for i in range(3)]
    status = target.add_objects({"objects": new}, wait_for_completion=True, poll_interval=0.1, timeout=10)
    assert status.status == "complete" and status.success_count == 3 and status.total_count == 3
    status.refresh()
    assert status.success_count == 3
    # Older taxii2-client releases poll the status without the trailing slash: that form answers too.
    status_url = f"{loaded.url}/taxii2/exchange/status/{status.id}"
    bare = requests.get(status_url, auth=SignalfireAuth(loaded.writer_token), timeout=30, allow_redirects=False)
    assert bare.status_code == 200 and bare.json()["success_count"] == 3
    assert requests.get(status_url, auth=auth, timeout=30).status_code == 404  # another org's status
    assert writer.default.get_status(status.id).success_count == 3
    assert [o["id"] for o in members.get_objects(id=new[0]["id"])["objects"]] == [new[0]["id"]]
    target.delete_object(new[0]["id"])
    with pytest.raises(requests.HTTPError) as gone:
        members.get_object(new[0]["id"])
    assert gone.value.response is not None and gone.value.response.status_code == 404

    # Wrong password: 401 with a challenge.
    wrong = Collection(members.url, auth=SignalfireAuth("sf_not-a-token"))
    with pytest.raises(requests.HTTPError) as refused:
        wrong.refresh()
    response = refused.value.response
    assert response is not None and response.status_code == 401
    assert "Basic" in response.headers["WWW-Authenticate"]
    assert response.headers["Content-Type"] == "application/taxii+json;version=2.1"

    # Every page read was logged for the contributor, with the declared purpose and the TAXII channel.
    engine = make_engine(loaded.database_url)
    with engine.connect() as conn:
        reads = conn.execute(
            select(ReadLog.purpose, ReadLog.channel, func.count())
            .where(ReadLog.user_id == loaded.reader.user_id)
            .group_by(ReadLog.purpose, ReadLog.channel)
        ).all()
    engine.dispose()
    assert [(p.value, c.value) for p, c, _ in reads] == [(PURPOSE, "taxii")] and reads[0][2] >= pages

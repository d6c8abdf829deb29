"""Feeds and AIID snapshots served by a local HTTP server, polled through the scheduler's periodic job
and the worker against a real database: parsing, conditional requests, and bad feeds that never stop
the good ones."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from signalfire.access.models import OrgKind, Role
from signalfire.access.service import add_member, create_org, create_user
from signalfire.core.clock import utcnow
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from signalfire.intake.models import Feed, FeedKind, Signal, SourceKind, TriageState
from signalfire.intake.schemas import FeedIn
from signalfire.intake.sources import POLL_TASK, create_feed
from signalfire.notify.models import JobStatus, OutboxJob
from signalfire.notify.runtime import build_worker
from tests.conftest import make_settings

FIXTURES = Path(__file__).parent / "fixtures"
HOSTILE = (
    '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>Hostile</title>'
    "<item><guid>h-1</guid><title>Caf\xe9 report about aurora-large</title><description><![CDATA["
    + "<a" * 50_000
    + "<!--" * 20_000
    + "<script>x</script>]]></description></item>"
    "</channel></rss>"
).encode("latin-1")


@dataclass
class FeedServer:
    url: str
    seen: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    # Called as each request arrives, while the poller waits for the answer; results kept per path.
    probe: Callable[[], object] | None = None
    probed: dict[str, list[object]] = field(default_factory=dict)


@pytest.fixture()
def feed_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    # The server is on loopback, which the fetcher refuses unless the settings allow private addresses.
    monkeypatch.setenv("SIGNALFIRE_FEEDS__ALLOW_PRIVATE_ADDRESSES", "true")
    get_settings.cache_clear()
    bodies = {
        "/rss.xml": ((FIXTURES / "ai-incidents-rss.xml").read_bytes(), "application/rss+xml"),
        "/atom.xml": ((FIXTURES / "lab-bulletins-atom.xml").read_bytes(), "application/atom+xml"),
        "/broken.xml": ((FIXTURES / "broken-feed.xml").read_bytes(), "application/rss+xml"),
        "/hostile.xml": (HOSTILE, "application/rss+xml"),
        "/aiid/incidents.csv": ((FIXTURES / "aiid_incidents.csv").read_bytes(), "text/csv"),
    }
    last_modified = "Tue, 03 Mar 2026 18:30:00 GMT"
    server_state = FeedServer("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            server_state.seen.setdefault(self.path, []).append(dict(self.headers.items()))
            if server_state.probe is not None:
                server_state.probed.setdefault(self.path, []).append(server_state.probe())
            if self.path == "/down.xml":
                self.send_response(503)
                self.end_headers()
                return
            if self.path not in bodies:
                self.send_response(404)
                self.end_headers()
                return
            body, ctype = bodies[self.path]
            etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
            if self.headers.get("If-None-Match") == etag or self.headers.get("If-Modified-Since") == last_modified:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if self.path != "/atom.xml":  # the Atom feed offers only Last-Modified
                self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server_state
    httpd.shutdown()
    httpd.server_close()
    get_settings.cache_clear()  # the environment is restored after this; settings read it afresh


def _org(factory: sessionmaker[Session], server: FeedServer) -> uuid.UUID:
    with unit_of_work(factory) as s:
        org = create_org(s, slug=f"org-{uuid.uuid4().hex[:8]}", name="Aurora Labs", kind=OrgKind.frontier_developer)
        add_member(
            s,
            org=org,
            user=create_user(s, email=f"{uuid.uuid4().hex[:8]}@x.test", display_name="A", password=None),
            role=Role.admin,
        )
        for path, kind in (
            ("/rss.xml", FeedKind.rss_atom),
            ("/atom.xml", FeedKind.rss_atom),
            ("/broken.xml", FeedKind.rss_atom),
            ("/down.xml", FeedKind.rss_atom),
            ("/hostile.xml", FeedKind.rss_atom),
            ("/aiid/incidents.csv", FeedKind.aiid_snapshot),
        ):
            create_feed(
                s, org.id, FeedIn(url=server.url + path, kind=kind, poll_interval_seconds=900), actor_label="test"
            )
        return org.id


def _feeds(factory: sessionmaker[Session]) -> dict[str, Feed]:
    with unit_of_work(factory) as s:
        return {f.url.rsplit("/", 1)[-1]: f for f in s.execute(select(Feed)).scalars()}


def _count(factory: sessionmaker[Session], org_id: uuid.UUID) -> int:
    with unit_of_work(factory) as s:
        return int(s.execute(select(func.count()).select_from(Signal).where(Signal.org_id == org_id)).scalar_one())


def test_scheduler_polls_feeds_conditionally_and_bad_feeds_do_not_stop_others(
    fresh_db: str, feed_server: FeedServer
) -> None:
    engine = make_engine(fresh_db)
    factory = session_factory(engine)
    org_id = _org(factory, feed_server)
    worker = build_worker(factory, make_settings(fresh_db))

    started = time.monotonic()
    worker.drain()
    assert time.monotonic() - started < 20  # hostile markup is linear work

    feeds = _feeds(factory)
    assert feeds["rss.xml"].last_status == 200 and feeds["rss.xml"].last_error is None
    assert feeds["rss.xml"].etag and feeds["atom.xml"].last_modified and feeds["atom.xml"].etag is None
    assert feeds["broken.xml"].consecutive_failures == 1 and "malformed" in (feeds["broken.xml"].last_error or "")
    assert feeds["down.xml"].last_status == 503 and feeds["down.xml"].consecutive_failures == 1
    assert feeds["incidents.csv"].last_status == 200 and feeds["incidents.csv"].items_total > 0
    assert feeds["hostile.xml"].items_total == 1
    first_total = _count(factory, org_id)
    assert first_total == sum(f.items_total for f in feeds.values())

    with unit_of_work(factory) as s:
        rss = s.execute(select(Signal).where(Signal.feed_id == feeds["rss.xml"].id)).scalars().all()
        assert rss and all(x.source_kind is SourceKind.feed_item for x in rss)
        deleted = next(x for x in rss if "database" in x.title)
        assert "trackView" not in deleted.text and "Harbor Freightways" in deleted.text  # script dropped, &nbsp;
        hostile = s.execute(select(Signal).where(Signal.feed_id == feeds["hostile.xml"].id)).scalar_one()
        assert hostile.title == "Café report about aurora-large" and "<" not in hostile.text
        aiid = s.execute(select(Signal).where(Signal.feed_id == feeds["incidents.csv"].id)).scalars().all()
        assert aiid and all(x.attribution and "CC BY-SA 4.0" in x.attribution for x in aiid)
        assert all(x.dedupe_key and x.dedupe_key.startswith("aiid:") for x in aiid)

    # Later polls send the validators back; unchanged feeds answer 304 and nothing is stored twice.
    with time_machine.travel(utcnow() + timedelta(minutes=20), tick=True):
        worker.drain()
        worker.drain()
    assert feed_server.seen["/rss.xml"][-1].get("If-None-Match") == feeds["rss.xml"].etag
    assert feed_server.seen["/atom.xml"][-1].get("If-Modified-Since") == feeds["atom.xml"].last_modified
    assert feed_server.seen["/aiid/incidents.csv"][-1].get("If-None-Match") == feeds["incidents.csv"].etag
    assert len(feed_server.seen["/rss.xml"]) == 2
    again = _feeds(factory)
    assert again["rss.xml"].last_status == 304 and again["incidents.csv"].last_status == 304
    # A failing feed backs off (2 intervals), so it was not asked again 20 minutes later.
    assert len(feed_server.seen["/broken.xml"]) == 1
    assert _count(factory, org_id) == first_total
    engine.dispose()


def test_polling_the_same_entries_twice_never_duplicates(fresh_db: str, feed_server: FeedServer) -> None:
    from signalfire.intake.polling import poll_feed

    engine = make_engine(fresh_db)
    factory = session_factory(engine)
    org_id = _org(factory, feed_server)
    rss = _feeds(factory)["rss.xml"]
    with unit_of_work(factory) as s:
        first = poll_feed(s, rss.id)
    with unit_of_work(factory) as s:
        feed = s.get(Feed, rss.id)
        assert feed is not None
        feed.etag = feed.last_modified = None  # force a full fetch of the same entries
    with unit_of_work(factory) as s:
        second = poll_feed(s, rss.id)
    assert first.created > 0 and second.created == 0 and second.skipped == first.created
    assert _count(factory, org_id) == first.created
    with unit_of_work(factory) as s:
        states = set(s.execute(select(Signal.state).where(Signal.org_id == org_id)).scalars())
    assert TriageState.new in states
    engine.dispose()


def test_the_worker_fetches_with_no_database_connection_held(fresh_db: str, feed_server: FeedServer) -> None:
    """While a feed answers, the polling worker holds no connection, so no transaction or lock waits on it."""
    engine = make_engine(fresh_db)
    factory = session_factory(engine)
    org_id = _org(factory, feed_server)
    worker = build_worker(factory, make_settings(fresh_db))
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    feed_server.probe = pool.checkedout
    worker.drain()
    assert set(feed_server.probed) == {"/rss.xml", "/atom.xml", "/broken.xml", "/down.xml", "/hostile.xml",
                                       "/aiid/incidents.csv"}  # fmt: skip
    assert {path: set(counts) for path, counts in feed_server.probed.items()} == {
        path: {0} for path in feed_server.probed
    }
    # ... and what was fetched was stored, with each poll task done.
    feeds = _feeds(factory)
    assert feeds["rss.xml"].items_total > 0 and feeds["incidents.csv"].items_total > 0
    assert _count(factory, org_id) == sum(f.items_total for f in feeds.values())
    with unit_of_work(factory) as s:
        polls = s.execute(select(OutboxJob).where(OutboxJob.topic == POLL_TASK)).scalars().all()
        assert len(polls) == 6 and {j.status for j in polls} == {JobStatus.done}
    engine.dispose()

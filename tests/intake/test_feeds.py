"""Feed fetching against a real HTTP server on 127.0.0.1 serving RSS 2.0 and Atom fixture files."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signalfire.intake.feeds import FeedFetch, fetch_feed, parse_feed

FIXTURES = Path(__file__).parent / "fixtures"
LAST_MODIFIED = datetime(2026, 3, 3, 18, 30, tzinfo=UTC)
MAX_BYTES = 100_000


@dataclass
class Route:
    body: bytes
    content_type: str = "application/xml"
    etag: str | None = None
    last_modified: datetime | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    send_length: bool = True
    delay: float = 0.0


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


ROUTES: dict[str, Route] = {
    "/rss.xml": Route(
        fixture("ai-incidents-rss.xml"),
        "application/rss+xml; charset=utf-8",
        etag='"rss-v1"',
        last_modified=LAST_MODIFIED,
    ),
    "/atom.xml": Route(fixture("lab-bulletins-atom.xml"), "application/atom+xml", etag='W/"atom-7"'),
    "/dated-only.xml": Route(fixture("ai-incidents-rss.xml"), "application/rss+xml", last_modified=LAST_MODIFIED),
    "/broken.xml": Route(fixture("broken-feed.xml"), "application/rss+xml"),
    "/huge.xml": Route(b"<rss>" + b"x" * (MAX_BYTES * 3) + b"</rss>"),
    "/huge-streamed.xml": Route(b"<rss>" + b"x" * (MAX_BYTES * 3) + b"</rss>", send_length=False),
    "/bomb.xml": Route(
        gzip.compress(b"<rss>" + b" " * (MAX_BYTES * 50) + b"</rss>"), headers={"Content-Encoding": "gzip"}
    ),
    "/gone.xml": Route(b"not here", "text/plain", status=404),
    "/error.xml": Route(b"oops", "text/plain", status=503),
    "/moved": Route(b"", status=301, headers={"Location": "/atom.xml"}),
    "/slow.xml": Route(fixture("ai-incidents-rss.xml"), delay=1.0),
    "/page.html": Route(b"<html><body><h1>Welcome</h1><p>No feed here.</p></body></html>", "text/html"),
}


class FeedHandler(BaseHTTPRequestHandler):
    seen: list[tuple[str, dict[str, str]]] = []

    def do_GET(self) -> None:
        FeedHandler.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = ROUTES.get(self.path)
        if route is None:
            self.send_error(404)
            return
        if route.delay:
            time.sleep(route.delay)
        if route.status == 200 and self._not_modified(route):
            self.send_response(304)
            if route.etag:
                self.send_header("ETag", route.etag)
            self.end_headers()
            return
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.last_modified:
            self.send_header("Last-Modified", format_datetime(route.last_modified, usegmt=True))
        for name, value in route.headers.items():
            self.send_header(name, value)
        if route.send_length:
            self.send_header("Content-Length", str(len(route.body)))
        else:
            self.send_header("Connection", "close")  # body ends when the connection closes
            self.close_connection = True
        self.end_headers()
        # The client stops reading an oversize body, as it should.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(route.body)

    def _not_modified(self, route: Route) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return route.etag is not None and if_none_match == route.etag
        since = self.headers.get("If-Modified-Since")
        if since and route.last_modified:
            return route.last_modified <= parsedate_to_datetime(since)
        return False

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        return


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture()
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(0.3)) as c:
        yield c


def fetch(client: httpx.Client, url: str, etag: str | None = None, last_modified: str | None = None) -> FeedFetch:
    return fetch_feed(client, url, etag=etag, last_modified=last_modified, max_bytes=MAX_BYTES)


def test_rss_feed_is_parsed_into_plain_text_entries(server: str, client: httpx.Client) -> None:
    result = fetch(client, f"{server}/rss.xml")
    assert result.status == "ok", result.error
    assert result.http_status == 200
    assert result.feed_title == "Frontier AI Incident Watch"
    assert result.etag == '"rss-v1"'
    assert result.last_modified == "Tue, 03 Mar 2026 18:30:00 GMT"
    assert [e.guid for e in result.entries] == [
        "watch-2026-0412",
        "https://watch.example.org/2026/03/voice-clone-ceo-fraud",
        "https://watch.example.org/2026/02/chatbot-dosage-advice",  # no guid: the link stands in
        "watch-2026-0398",
    ]
    first, second, third, fourth = result.entries
    assert first.title == "Coding agent deletes production database during code freeze"
    assert first.published == datetime(2026, 3, 3, 16, 5, tzinfo=UTC)  # +0100 converted to UTC
    assert first.summary_text == (
        "Northwind AI's Tern agent deleted the production database of Harbor Freightways while a code "
        "freeze was in force.\nThe company says records for about 1,200 customers were restored from backups."
    )
    assert "trackView" not in first.summary_text
    assert second.title == "Voice clone used in “CEO fraud” call to finance team"
    assert second.published == datetime(2026, 3, 2, 14, 15, tzinfo=UTC)
    # content:encoded is the fuller text; its iframe fallback text is not prose.
    assert "known number" in second.summary_text
    assert "iframe" not in second.summary_text
    assert third.summary_text.startswith("A health chatbot suggested")
    assert fourth.link is None  # javascript: links are dropped
    assert fourth.published is None
    for entry in result.entries:
        assert entry.published is None or entry.published.tzinfo is UTC


def test_atom_feed_is_parsed(server: str, client: httpx.Client) -> None:
    result = fetch(client, f"{server}/atom.xml")
    assert result.status == "ok", result.error
    assert result.etag == 'W/"atom-7"'
    assert result.last_modified is None
    rollback, tabletop = result.entries
    assert rollback.guid == "tag:bulletins.example.com,2026:rollback-m-7-2"
    assert rollback.title == "Rollback of model version m-7.2 completed"
    assert rollback.link == "https://bulletins.example.com/2026/rollback-m-7-2"
    assert rollback.published == datetime(2026, 3, 3, 22, 45, tzinfo=UTC)
    assert rollback.summary_text == (
        "The rollback to m-7.1 finished across all regions within 6 hours.\n"
        "Tool use stays restricted until the evaluation re-run completes."
    )
    assert tabletop.published == datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # only <updated>, -08:00
    assert tabletop.summary_text == (
        "Participants: security, legal and the incident commander rota.\n"
        "Injects cover a leaked access key and a ransom note."
    )


def test_second_request_is_conditional_and_answered_not_modified(server: str, client: httpx.Client) -> None:
    first = fetch(client, f"{server}/rss.xml")
    FeedHandler.seen.clear()
    second = fetch(client, f"{server}/rss.xml", etag=first.etag, last_modified=first.last_modified)
    assert second.status == "not_modified"
    assert second.http_status == 304
    assert second.entries == []
    assert second.etag == first.etag
    assert second.last_modified == first.last_modified
    path, headers = FeedHandler.seen[-1]
    assert path == "/rss.xml"
    assert headers["if-none-match"] == '"rss-v1"'
    assert headers["if-modified-since"] == "Tue, 03 Mar 2026 18:30:00 GMT"


def test_last_modified_alone_is_enough_for_a_conditional_request(server: str, client: httpx.Client) -> None:
    first = fetch(client, f"{server}/dated-only.xml")
    assert first.status == "ok" and first.etag is None
    again = fetch(client, f"{server}/dated-only.xml", last_modified=first.last_modified)
    assert again.status == "not_modified"
    changed = fetch(client, f"{server}/dated-only.xml", last_modified="Mon, 02 Mar 2026 00:00:00 GMT")
    assert changed.status == "ok"
    assert len(changed.entries) == 4


def test_first_request_sends_no_validators(server: str, client: httpx.Client) -> None:
    FeedHandler.seen.clear()
    fetch(client, f"{server}/atom.xml")
    _, headers = FeedHandler.seen[-1]
    assert "if-none-match" not in headers and "if-modified-since" not in headers
    assert "application/atom+xml" in headers["accept"]


def test_broken_xml_is_recorded_as_an_error(server: str, client: httpx.Client) -> None:
    result = fetch(client, f"{server}/broken.xml", etag='"old"', last_modified="Mon, 02 Mar 2026 00:00:00 GMT")
    assert result.status == "error"
    assert result.error is not None and result.error.startswith("malformed feed")
    assert result.entries == []
    # Validators from before are kept, so the next run is still conditional.
    assert result.etag == '"old"'
    assert result.last_modified == "Mon, 02 Mar 2026 00:00:00 GMT"


@pytest.mark.parametrize("path", ["/huge.xml", "/huge-streamed.xml", "/bomb.xml"])
def test_oversize_bodies_are_refused(server: str, client: httpx.Client, path: str) -> None:
    result = fetch(client, f"{server}{path}")
    assert result.status == "error"
    assert result.error == f"feed larger than {MAX_BYTES} bytes"


@pytest.mark.parametrize(("path", "status"), [("/gone.xml", 404), ("/error.xml", 503)])
def test_http_errors_are_recorded(server: str, client: httpx.Client, path: str, status: int) -> None:
    result = fetch(client, f"{server}{path}")
    assert result.status == "error"
    assert result.http_status == status
    assert result.error is not None and result.error.startswith(f"HTTP {status}")


def test_timeouts_are_recorded(server: str, client: httpx.Client) -> None:
    result = fetch(client, f"{server}/slow.xml")
    assert result.status == "error"
    assert result.error is not None and result.error.startswith("timed out")


def test_refused_connections_and_bad_urls_are_recorded(client: httpx.Client) -> None:
    closed = httpx.Client(timeout=0.5)
    with closed:
        refused = fetch(closed, "http://127.0.0.1:9/feed.xml")
    assert refused.status == "error"
    assert refused.error is not None and refused.error.startswith("request failed")
    for url in ("not a url", "ftp://127.0.0.1/feed.xml", "http://"):
        assert fetch(client, url).status == "error"


def test_redirects_are_followed(server: str, client: httpx.Client) -> None:
    result = fetch(client, f"{server}/moved")
    assert result.status == "ok"
    assert len(result.entries) == 2


def test_a_web_page_is_not_a_feed(server: str, client: httpx.Client) -> None:
    result = fetch(client, f"{server}/page.html")
    assert result.status == "error"
    assert result.error == "not a recognised RSS or Atom feed"


def test_a_parser_crash_does_not_escape(server: str, client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> object:
        raise RecursionError("deeply nested")

    monkeypatch.setattr("feedparser.parse", explode)
    result = fetch(client, f"{server}/rss.xml")
    assert result.status == "error"
    assert result.error == "feed could not be parsed: RecursionError"


# --- parse_feed on its own -------------------------------------------------------------------------

RSS_WITH_PROBLEMS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Partly broken</title>
<item><title>Agent escaped its sandbox</title><description>Details &nbsp; follow</description></item>
<item><title>Second</title><pubDate>not a date</pubDate></item>
</channel></rss>"""


def test_feed_with_recoverable_problems_still_yields_entries_with_a_warning() -> None:
    result = parse_feed(RSS_WITH_PROBLEMS, headers={"Content-Type": "application/rss+xml"})
    assert result.status == "ok"
    assert result.warning is not None and "problems" in result.warning
    titles = [e.title for e in result.entries]
    assert titles == ["Agent escaped its sandbox", "Second"]
    assert result.entries[1].published is None


def test_entries_without_id_or_link_get_a_stable_content_hash() -> None:
    first = parse_feed(RSS_WITH_PROBLEMS).entries[0]
    again = parse_feed(RSS_WITH_PROBLEMS).entries[0]
    assert first.guid.startswith("sha256:")
    assert first.guid == again.guid


def test_entry_count_is_capped() -> None:
    items = b"".join(b"<item><guid>g%d</guid><title>t%d</title></item>" % (i, i) for i in range(30))
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Many</title>' + items + b"</channel></rss>"
    result = parse_feed(body, max_entries=10)
    assert [e.guid for e in result.entries] == [f"g{i}" for i in range(10)]
    assert result.warning == "only the first 10 entries were read"


def test_an_empty_but_valid_feed_is_ok() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet week</title></channel></rss>'
    result = parse_feed(body)
    assert result.status == "ok" and result.entries == [] and result.feed_title == "Quiet week"


@settings(max_examples=60, deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=400),
        st.text(alphabet="<>/?!=\"' rsitemchanltgu&;#x0", max_size=300).map(str.encode),
    )
)
def test_parse_feed_never_raises(body: bytes) -> None:
    result = parse_feed(body)
    assert result.status in ("ok", "error")
    assert (result.error is None) == (result.status == "ok")

"""Feed fetches refuse non-public addresses unless the settings allow them, checked on the address
actually connected to, and the refusal is recorded on the feed, not raised."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from signalfire.core.settings import get_settings
from signalfire.intake import egress
from signalfire.intake.models import Feed
from signalfire.intake.polling import http_client, poll_feed
from signalfire.intake.schemas import FeedIn
from signalfire.intake.sources import add_feed
from tests import factories

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Jailbreak reported</title><link>http://example.org/1</link><guid>1</guid></item></channel></rss>"""


@pytest.fixture()
def local_feed() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(RSS)))
            self.end_headers()
            self.wfile.write(RSS)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/feed.xml"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),  # noqa: S104 - classified here, never bound
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert egress.is_public(address) is public


def test_the_fetcher_refuses_loopback_and_says_why(local_feed: str) -> None:
    with http_client(allow_private=False) as client, pytest.raises(httpx.ConnectError, match="not a public address"):
        client.get(local_feed)
    with http_client(allow_private=True) as client:
        assert client.get(local_feed).status_code == 200


def test_a_public_name_that_resolves_to_a_private_address_is_refused(
    local_feed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = int(local_feed.split(":")[2].split("/")[0])
    real = socket.getaddrinfo

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "feeds.example.org":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with http_client(allow_private=False) as client, pytest.raises(httpx.ConnectError, match=r"127\.0\.0\.1"):
        client.get(f"http://feeds.example.org:{port}/feed.xml")


def test_a_refused_feed_is_recorded_on_the_feed(db: Session, local_feed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGNALFIRE_FEEDS__ALLOW_PRIVATE_ADDRESSES", raising=False)
    get_settings.cache_clear()
    try:
        admin = factories.actor(db)
        feed = add_feed(db, admin, FeedIn(url=local_feed, title="Internal", poll_interval_seconds=3600))
        result = poll_feed(db, feed.id)
        assert result.status == "error" and result.error is not None and "not a public address" in result.error
        stored = db.get(Feed, feed.id)
        assert stored is not None and stored.last_error is not None and "not a public address" in stored.last_error
    finally:
        get_settings.cache_clear()

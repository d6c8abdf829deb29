"""A small TAXII 2.1 client for peers: discovery, API root, collections, get objects (paged), add objects.

Every answer is checked before use: the status, the JSON, and the shape TAXII 2.1 promises. Anything
else raises :class:`PeerError` with a reason a person can act on (``permanent`` when retrying the same
request cannot help, e.g. a 4xx refusal). Reads to a Signalfire peer carry the declared covered use
(``X-Signalfire-Purpose``) and who asks at this instance (``X-Signalfire-Reader``).

Tests swap the transport with :func:`use_transport` (an ``httpx.MockTransport`` or a loopback server).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

TAXII_ACCEPT = "application/taxii+json;version=2.1"
PURPOSE_HEADER = "X-Signalfire-Purpose"
READER_HEADER = "X-Signalfire-Reader"
USES_HEADER = "X-Signalfire-Permitted-Uses"
TIMEOUT_SECONDS = 30.0
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
PAGE_LIMIT = 1000  # the hub serves up to 1000 per page (exchange.taxii.protocol.MAX_PAGE)

_transport: httpx.BaseTransport | None = None


@contextmanager
def use_transport(transport: httpx.BaseTransport | None) -> Iterator[None]:
    """Route every peer request through ``transport`` (tests); restores the previous one afterwards."""
    global _transport
    previous, _transport = _transport, transport
    try:
        yield
    finally:
        _transport = previous


def _client() -> httpx.Client:
    """Peer URLs are typed in by org admins: by default only public addresses are reached (intake.egress)."""
    if _transport is not None:
        return httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, transport=_transport)
    from signalfire.core.settings import get_settings
    from signalfire.intake import egress

    settings = get_settings()
    allow = settings.federation.allow_private_addresses
    if allow is None:
        allow = settings.feeds.allow_private_addresses
    return egress.client(allow_private=allow, timeout=TIMEOUT_SECONDS, follow_redirects=False)


class PeerError(Exception):
    def __init__(self, reason: str, *, permanent: bool = False, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.status = status


@dataclass(frozen=True)
class Connection:
    discovery_url: str
    api_root_url: str
    username: str | None
    secret: str
    signalfire: bool = True
    purpose: str | None = None
    reader: str | None = None


@dataclass(frozen=True)
class ObjectsPage:
    objects: list[dict[str, Any]]
    more: bool
    next: str | None
    date_added_last: str | None


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


class TaxiiClient:
    def __init__(self, conn: Connection, http: httpx.Client | None = None) -> None:
        self.conn = conn
        self._own = http is None
        self.http = http or _client()

    def close(self) -> None:
        if self._own:
            self.http.close()

    def __enter__(self) -> TaxiiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------------
    def _headers(self, *, read: bool) -> dict[str, str]:
        headers = {"Accept": TAXII_ACCEPT}
        if self.conn.username is not None:
            raw = f"{self.conn.username}:{self.conn.secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        else:
            headers["Authorization"] = f"Bearer {self.conn.secret}"
        if read and self.conn.signalfire and self.conn.purpose:
            headers[PURPOSE_HEADER] = self.conn.purpose
            if self.conn.reader:
                headers[READER_HEADER] = self.conn.reader[:300]
        return headers

    def _request(
        self, method: str, url: str, *, read: bool = True, extra_headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = self._headers(read=read) | (extra_headers or {})
        try:
            response = self.http.request(method, url, headers=headers, **kwargs)
        except httpx.TimeoutException:
            raise PeerError(f"{method} {url}: the peer did not answer within {TIMEOUT_SECONDS:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # unreachable, or a URL httpx refuses
            raise PeerError(f"{method} {url}: cannot reach the peer ({exc.__class__.__name__}: {exc})") from None
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise PeerError(f"{method} {url}: the answer is larger than {MAX_RESPONSE_BYTES} bytes", permanent=True)
        if response.status_code >= 400:
            detail = ""
            try:
                body = response.json()
                if isinstance(body, dict):
                    detail = f": {str(body.get('title', ''))[:200]} {str(body.get('description', ''))[:500]}".rstrip()
            except ValueError:
                pass
            permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 409, 425, 429)
            raise PeerError(
                f"{method} {url}: HTTP {response.status_code}{detail}", permanent=permanent, status=response.status_code
            )
        return response

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        ctype = response.headers.get("content-type", "")
        if "json" not in ctype:
            raise PeerError(f"{what}: the answer is {ctype or 'untyped'}, not TAXII JSON")
        try:
            body = json.loads(response.content)
        except ValueError:
            raise PeerError(f"{what}: the answer is not JSON") from None
        if not isinstance(body, dict):
            raise PeerError(f"{what}: the answer is not a JSON object")
        return body

    # -- TAXII -----------------------------------------------------------------------------------------
    def discovery(self) -> dict[str, Any]:
        url = _slash(self.conn.discovery_url)
        body = self._json(self._request("GET", url), "discovery")
        if not isinstance(body.get("title"), str):
            raise PeerError("discovery: no 'title', so this is not a TAXII 2.1 discovery resource")
        return body

    def api_root(self) -> dict[str, Any]:
        url = _slash(self.conn.api_root_url)
        body = self._json(self._request("GET", url), "API root")
        versions = body.get("versions")
        if not isinstance(versions, list) or not any(isinstance(v, str) and "2.1" in v for v in versions):
            raise PeerError("API root: it does not offer TAXII 2.1 (no 'versions' naming 2.1)")
        return body

    def collections(self) -> list[dict[str, Any]]:
        url = _slash(self.conn.api_root_url) + "collections/"
        body = self._json(self._request("GET", url), "collections")
        found = body.get("collections", [])
        if not isinstance(found, list) or not all(isinstance(c, dict) and isinstance(c.get("id"), str) for c in found):
            raise PeerError("collections: 'collections' is not a list of collection resources")
        return found

    def get_objects(
        self,
        collection_id: str,
        *,
        added_after: str | None = None,
        next_token: str | None = None,
        limit: int = PAGE_LIMIT,
    ) -> ObjectsPage:
        url = _slash(self.conn.api_root_url) + f"collections/{collection_id}/objects/"
        params: dict[str, str] = {"limit": str(limit)}
        if added_after:
            params["added_after"] = added_after
        if next_token:
            params["next"] = next_token
        response = self._request("GET", url, params=params)
        body = self._json(response, "get objects")
        objects = body.get("objects", [])
        more = body.get("more", False)
        token = body.get("next")
        if not isinstance(objects, list):
            raise PeerError("get objects: 'objects' is not a list")
        if not isinstance(more, bool):
            raise PeerError("get objects: 'more' is not true or false")
        if token is not None and (not isinstance(token, str) or not token or len(token) > 4000):
            raise PeerError("get objects: 'next' is not a usable token")
        if more and token is None and not objects:
            raise PeerError("get objects: 'more' is true but there is neither a page nor a 'next'")
        last = response.headers.get("X-TAXII-Date-Added-Last")
        return ObjectsPage(objects=objects, more=more, next=token, date_added_last=last)

    def add_objects(
        self, collection_id: str, objects: Sequence[dict[str, Any]], *, permitted_uses: Sequence[str] = ()
    ) -> dict[str, Any]:
        url = _slash(self.conn.api_root_url) + f"collections/{collection_id}/objects/"
        headers = {"Content-Type": TAXII_ACCEPT}
        if permitted_uses:
            headers[USES_HEADER] = ",".join(permitted_uses)
        content = json.dumps({"objects": list(objects)}, ensure_ascii=False).encode()
        response = self._request("POST", url, read=False, content=content, extra_headers=headers)
        status = self._json(response, "add objects")
        if not isinstance(status.get("id"), str):
            raise PeerError("add objects: the answer is not a TAXII status resource")
        return status

"""Opaque, signed ``next`` tokens for TAXII paging.

A token names the position after the last row served (that row's ``date_added``, unique within a
collection) and binds it to the collection, the endpoint, the object (for versions), the filters
and the declared purpose. The server keeps no paging state, so a token never expires with a
session; the HMAC stops a client from forging a position or reusing a token for another query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from signalfire.exchange.taxii.protocol import bad_request, format_date_added, parse_timestamp

_VERSION = 1


@dataclass(frozen=True)
class Position:
    collection_id: uuid.UUID
    scope: str  # "objects", "manifest", "versions:<stix id>", "object:<stix id>"
    query_key: str
    after: datetime


def _mac(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, b"signalfire-taxii-next\x00" + payload, hashlib.sha256).hexdigest()[:32]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode(secret: bytes, position: Position) -> str:
    payload = json.dumps(
        {
            "v": _VERSION,
            "c": str(position.collection_id),
            "s": _digest(position.scope),
            "q": _digest(position.query_key),
            "a": format_date_added(position.after),
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _mac(secret, payload)


def decode(secret: bytes, token: str, *, collection_id: uuid.UUID, scope: str, query_key: str) -> datetime:
    """The position a token resumes after; 400 if it is forged, or was issued for another collection or query."""
    body, _, mac = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        raise bad_request("Bad next", "next is not a token this server issued.") from None
    if not mac or not hmac.compare_digest(mac, _mac(secret, payload)):
        raise bad_request("Bad next", "next is not a token this server issued.")
    data = json.loads(payload)
    if data.get("v") != _VERSION:
        raise bad_request("Bad next", "next was issued by another version of this server; start again.")
    if data.get("c") != str(collection_id):
        raise bad_request("Bad next", "next was issued for another collection.")
    if data.get("s") != _digest(scope) or data.get("q") != _digest(query_key):
        raise bad_request(
            "Bad next",
            "next was issued for another request: keep the same endpoint, filters and declared purpose while paging.",
        )
    return parse_timestamp(data["a"])

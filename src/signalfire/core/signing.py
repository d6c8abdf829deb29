"""HMAC signatures for webhooks we send and webhooks we receive.

Header format: ``t=<unix seconds>,v1=<hex sha256>`` where the MAC covers ``"<t>." + body``. Binding the
timestamp lets a receiver refuse replays outside a tolerance window.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta


class SignatureError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def compute_mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, at: datetime) -> str:
    ts = int(at.timestamp())
    return f"t={ts},v1={compute_mac(secret, ts, body)}"


def verify(secret: str, body: bytes, header: str | None, *, now: datetime, tolerance: timedelta) -> int:
    """Return the signed timestamp or raise SignatureError with a reason a sender can act on."""
    if not header:
        raise SignatureError("missing signature header")
    parts: dict[str, list[str]] = {}
    for piece in header.split(","):
        key, sep, value = piece.strip().partition("=")
        if not sep:
            raise SignatureError("malformed signature header")
        parts.setdefault(key, []).append(value)
    try:
        ts = int(parts["t"][0])
    except (KeyError, ValueError):
        raise SignatureError("signature header has no valid timestamp") from None
    if abs(now.timestamp() - ts) > tolerance.total_seconds():
        raise SignatureError("signature timestamp outside the accepted window (replay?)")
    expected = compute_mac(secret, ts, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise SignatureError("signature does not match")
    return ts

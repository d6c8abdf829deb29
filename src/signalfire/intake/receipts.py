"""Receipt references and secrets for reporters, and the signed form timestamp that keeps bots out.

All three are derived from the server's secret key, so nothing secret has to be stored: a receipt
secret is recomputed from the signal id when a reporter comes back, and the form token carries the
time the form was served, signed, so "filled in faster than a person could" needs no server state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

# Crockford's base32 without I, L, O, U: no look-alike characters when a reference is read aloud.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PREFIX = "SF-R-"
MAX_FORM_AGE = timedelta(hours=24)
# A form served "in the future" by more than this is forged or from a badly skewed clock.
_CLOCK_SKEW = timedelta(seconds=5)


def new_reference() -> str:
    """SF-R-XXXX-XXXX: 40 random bits. Guessing one gains nothing (status needs the secret too)."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{REFERENCE_PREFIX}{chars[:4]}-{chars[4:]}"


def normalise_reference(value: str) -> str:
    """Accept what a person types: lower case, spaces, the look-alikes Crockford maps (O->0, I/L->1)."""
    cleaned = "".join(ch for ch in value.upper() if ch.isascii() and ch.isalnum())
    body = cleaned[3:] if len(cleaned) == 11 and cleaned.startswith("SFR") else cleaned
    body = body.translate(str.maketrans("OIL", "011"))
    if len(body) != 8 or any(c not in _ALPHABET for c in body):
        return ""
    return f"{REFERENCE_PREFIX}{body[:4]}-{body[4:]}"


def _mac(key: str, message: str) -> bytes:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()


def receipt_secret(key: str, signal_id: uuid.UUID) -> str:
    """The secret printed on the receipt (130 bits), recomputed on every status check."""
    raw = base64.b32encode(_mac(key, f"intake-receipt:{signal_id}")).decode().lower()
    return "-".join(raw[i : i + 6] for i in range(0, 24, 6))


def check_receipt_secret(key: str, signal_id: uuid.UUID, presented: str) -> bool:
    expected = receipt_secret(key, signal_id)
    given = presented.strip().lower().replace(" ", "")
    if "-" not in given and len(given) == 24:
        given = "-".join(given[i : i + 6] for i in range(0, 24, 6))
    return hmac.compare_digest(expected.encode(), given.encode())


def form_token(key: str, org_slug: str, issued_at: datetime) -> str:
    ts = int(issued_at.timestamp())
    return f"{ts}.{_mac(key, f'intake-form:{org_slug}:{ts}').hex()[:32]}"


@dataclass(frozen=True)
class FormCheck:
    ok: bool
    reason: str = ""


def check_form_token(key: str, org_slug: str, token: str, *, now: datetime, min_fill: timedelta) -> FormCheck:
    """A valid token for this org, at least `min_fill` old (a person reads and types) and at most a day."""
    ts_text, _, mac = token.strip().partition(".")
    try:
        ts = int(ts_text)
    except ValueError:
        return FormCheck(False, "The form is incomplete. Reload the page and try again.")
    expected = _mac(key, f"intake-form:{org_slug}:{ts}").hex()[:32]
    if not hmac.compare_digest(expected.encode(), mac.encode()):
        return FormCheck(False, "The form is not from this site. Reload the page and try again.")
    age = now.timestamp() - ts
    if age < -_CLOCK_SKEW.total_seconds():
        return FormCheck(False, "The form is not valid yet. Reload the page and try again.")
    if age > MAX_FORM_AGE.total_seconds():
        return FormCheck(False, "The form has expired. Reload the page and submit again.")
    if age < min_fill.total_seconds():
        return FormCheck(False, "The form was sent too quickly. Wait a few seconds and send it again.")
    return FormCheck(True)

"""Builders for TAXII tests: synthetic STIX 2.1 objects, envelopes and request headers."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from signalfire.exchange.stix.convert import TLP2_MARKING_IDS, tlp_marking_definition
from signalfire.exchange.taxii.collections import MEMBERS_ID
from signalfire.exchange.vocab import Tlp

TAXII = "application/taxii+json;version=2.1"
API = "/taxii2/exchange/"
MEMBERS = f"{API}collections/{MEMBERS_ID}/"
PURPOSE = "threat_detection"
EPOCH = datetime(2026, 3, 1, tzinfo=UTC)


def ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def indicator(
    number: int,
    *,
    tlp: Tlp = Tlp.GREEN,
    modified: datetime | None = None,
    stix_id: str | None = None,
    name: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    created = EPOCH + timedelta(seconds=number)
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": stix_id or f"indicator--{uuid.uuid4()}",
        "created": ts(created),
        "modified": ts(modified or created),
        "name": name or f"Jailbreak prompt family {number}",
        "pattern": f"[url:value = 'https://prompts-{number}.example/jb']",
        "pattern_type": "stix",
        "valid_from": ts(created),
        "indicator_types": ["malicious-activity"],
        "object_marking_refs": [TLP2_MARKING_IDS[tlp]],
        **extra,
    }


def malware(number: int, *, tlp: Tlp = Tlp.GREEN) -> dict[str, Any]:
    created = EPOCH + timedelta(seconds=number)
    return {
        "type": "malware",
        "spec_version": "2.1",
        "id": f"malware--{uuid.uuid4()}",
        "created": ts(created),
        "modified": ts(created),
        "name": f"Poisoned adapter {number}",
        "is_family": True,
        "object_marking_refs": [TLP2_MARKING_IDS[tlp]],
    }


def marking(tlp: Tlp = Tlp.GREEN) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(tlp_marking_definition(tlp).serialize())
    return body


def envelope(objects: list[dict[str, Any]]) -> bytes:
    return json.dumps({"objects": objects}).encode()


def headers(
    *,
    purpose: str | None = PURPOSE,
    uses: str | None = "threat_detection,safeguards",
    override: str | None = None,
    token: str | None = None,
    basic: bool = False,
) -> dict[str, str]:
    out = {"Accept": TAXII, "Content-Type": TAXII}
    if purpose is not None:
        out["X-Signalfire-Purpose"] = purpose
    if uses is not None:
        out["X-Signalfire-Permitted-Uses"] = uses
    if override is not None:
        out["X-Signalfire-Screening-Override"] = override
    if token is not None:
        if basic:
            out["Authorization"] = "Basic " + base64.b64encode(f"reader@example.test:{token}".encode()).decode()
        else:
            out["Authorization"] = f"Bearer {token}"
    return out

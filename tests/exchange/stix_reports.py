"""One STIX 2.1 report as a partner's feed would send it (Signalfire's property extension, a TLP 2.0
marking), for the import tests: written out by hand so the expected outcomes do not come from the
exporter under test."""

from __future__ import annotations

import uuid
from typing import Any

from signalfire.exchange.stix.convert import SIGNALFIRE_EXTENSION_ID, TLP2_MARKING_IDS
from signalfire.exchange.vocab import Tlp

CREATED = "2026-02-01T00:00:00.000Z"


def stix_report(
    name: str,
    *,
    tlp: Tlp | None = Tlp.GREEN,
    stix_id: str | None = None,
    created: str = CREATED,
    modified: str | None = None,
    description: str | None = None,
    uses: tuple[str, ...] = ("threat_detection",),
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "type": "report",
        "spec_version": "2.1",
        "id": stix_id or f"report--{uuid.uuid4()}",
        "created": created,
        "modified": modified or created,
        "name": name,
        "description": description or f"{name}: seen on an inference cluster.",
        "published": created,
        "report_types": ["threat-report"],
        "object_refs": [f"identity--{uuid.uuid4()}"],
        "extensions": {
            SIGNALFIRE_EXTENSION_ID: {
                "extension_type": "property-extension",
                "item_version": 1,
                "category": "threat",
                "permitted_uses": list(uses),
                "severity": "high",
                "priority": "routine",
            }
        },
    }
    if tlp is not None:
        report["object_marking_refs"] = [TLP2_MARKING_IDS[tlp]]
    return report


def stix_indicator(pattern: str) -> dict[str, Any]:
    """An indicator: a type the exchange's import does not take (it is listed as ignored)."""
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": CREATED,
        "modified": CREATED,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": CREATED,
    }

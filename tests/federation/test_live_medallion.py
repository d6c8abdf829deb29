"""A lab's Signalfire peered with a live medallion 3.0.0 (the OASIS reference TAXII 2.1 server), both ways.

medallion runs as its own process with the memory backend and three collections:

  all      stands for all members at the lab: GREEN items addressed to all members go there
  amber    limited to one named org (meridian): the only place a TLP:AMBER item naming meridian may go
  inbox    read by the lab: a third party has put an indicator there, under its own identity

Expected: the GREEN item lands in `all` only; the AMBER item naming meridian lands in `amber` only; AMBER
to all members, AMBER+STRICT and RED land nowhere. The pulled indicator becomes an item at the lab
attributed to the third party's identity (not to the lab's org), with a provenance record.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from signalfire.demo_federated import (
    Cluster,
    free_port,
    item_body,
    lab_admin_email,
    lab_spec,
    publish,
    sync_now,
    wait_for,
)
from signalfire.exchange.service import org_identity_id
from tests.federation.live import pulled_items, pulled_rows, taxii_objects

pytestmark = pytest.mark.slow
TAXII = "application/taxii+json;version=2.1"
LAB, PARTNER = "aurora", "meridian"
ALICE = lab_admin_email(LAB)
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
THIRD_PARTY = f"identity--{uuid.uuid4()}"


@dataclass
class Medallion:
    url: str
    api_root: str
    collections: dict[str, str]
    process: subprocess.Popen[bytes]
    auth: str

    def post(self, collection: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.api_root}collections/{self.collections[collection]}/objects/",
            content=json.dumps({"objects": objects}),
            headers={"Authorization": self.auth, "Accept": TAXII, "Content-Type": TAXII},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        status: dict[str, Any] = answer.json()
        return status

    def objects(self, collection: str, kind: str = "report") -> list[dict[str, Any]]:
        # Filtered by type: medallion 3.0.0 answers 500 to an unfiltered read of a collection holding an
        # extension-definition (it takes that object's own `version` property, "1.0.0", for a timestamp).
        answer = httpx.get(
            f"{self.api_root}collections/{self.collections[collection]}/objects/",
            params={"match[type]": kind},
            headers={"Authorization": self.auth, "Accept": TAXII},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json().get("objects", [])
        return found


@pytest.fixture()
def medallion(tmp_path: Path) -> Iterator[Medallion]:
    exe = shutil.which("medallion", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("medallion (a dev dependency) is not installed")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    collections = {name: str(uuid.uuid4()) for name in ("all", "amber", "inbox")}
    data = {
        "/discovery": {"title": "medallion peer", "default": f"{base}/fed/", "api_roots": [f"{base}/fed/"]},
        "fed": {
            "information": {"title": "fed", "versions": [TAXII], "max_content_length": 10485760},
            "status": [],
            "collections": [
                {
                    "id": cid,
                    "title": name,
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
                for name, cid in collections.items()
            ],
        },
    }
    (tmp_path / "medallion-data.json").write_text(json.dumps(data))
    config = {
        "backend": {
            "module_class": "MemoryBackend",
            "module": "medallion.backends.memory_backend",
            "filename": str(tmp_path / "medallion-data.json"),
            "session_timeout": 3600,
            "check_interval": 3600,
        },
        "users": {"signalfire": "peer-password"},
        "taxii": {"max_page_size": 100},
    }
    (tmp_path / "medallion-config.json").write_text(json.dumps(config))
    log = (tmp_path / "medallion.log").open("wb")
    process = subprocess.Popen(
        [
            exe,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "WARN",
            str(tmp_path / "medallion-config.json"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    auth = "Basic " + base64.b64encode(b"signalfire:peer-password").decode()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "medallion.log").read_text()
        try:
            if httpx.get(f"{base}/taxii2/", headers={"Authorization": auth, "Accept": TAXII}).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    yield Medallion(base, f"{base}/fed/", collections, process, auth)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def _third_party_indicator(name: str) -> list[dict[str, Any]]:
    now = "2026-12-06T10:00:00.000Z"
    return [
        {
            "type": "identity",
            "spec_version": "2.1",
            "id": THIRD_PARTY,
            "created": now,
            "modified": now,
            "name": "Open Threat Exchange (medallion)",
            "identity_class": "organization",
            "object_marking_refs": [GREEN],
        },
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid4()}",
            "created": now,
            "modified": now,
            "created_by_ref": THIRD_PARTY,
            "name": name,
            "pattern_type": "stix",
            "pattern": "[url:value = 'https://prompts.example/jailbreak-kit']",
            "valid_from": now,
            "object_marking_refs": [GREEN],
        },
    ]


def _names(objects: list[dict[str, Any]]) -> set[str]:
    return {str(o.get("name")) for o in objects if o.get("type") == "report"}


def test_peering_with_medallion_both_ways(cluster: Cluster, medallion: Medallion) -> None:
    lab = cluster.start(lab_spec(LAB, (PARTNER,)))
    partner_id = str(lab.org_id(PARTNER))
    with lab.client(ALICE) as http:
        created = http.post(
            "/api/v1/federation/peers",
            json={
                "name": "medallion",
                "discovery_url": f"{medallion.url}/taxii2/",
                "api_root_url": medallion.api_root,
                "username": "signalfire",
                "secret": "peer-password",
                "remote_identity": THIRD_PARTY,
                "remote_name": "Open Threat Exchange",
                "signalfire": False,
            },
        )
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        tested = http.post(f"/api/v1/federation/peers/{pid}/test")
        assert tested.status_code == 200 and tested.json()["ok"], tested.text
        for body in (
            {"remote_id": medallion.collections["all"], "direction": "push", "push_audience": "all_members"},
            {
                "remote_id": medallion.collections["amber"],
                "direction": "push",
                "push_audience": "named_orgs",
                "push_org_ids": [partner_id],
            },
            {"remote_id": medallion.collections["inbox"], "direction": "pull", "pull_audience": "all_members"},
        ):
            answer = http.put(f"/api/v1/federation/peers/{pid}/collections", json=body)
            assert answer.status_code == 200, answer.text

        tag = uuid.uuid4().hex[:8]
        green = f"Green to all members {tag}"
        amber_named = f"Amber to meridian by name {tag}"
        amber_all = f"Amber to all members {tag}"
        strict = f"Amber strict {tag}"
        publish(http, item_body(green))
        publish(
            http, item_body(amber_named, tlp="AMBER", audience=("named_orgs",), audience_org_ids=(lab.org_id(PARTNER),))
        )
        publish(http, item_body(amber_all, tlp="AMBER"))
        publish(http, item_body(strict, tlp="AMBER+STRICT"))

    # Someone else publishes to the inbox collection at medallion.
    pulled_name = f"Jailbreak kit distribution site {tag}"
    third_party = _third_party_indicator(pulled_name)
    indicator_id = str(third_party[1]["id"])
    status = medallion.post("inbox", third_party)
    assert status["success_count"] == 2, status

    wait_for(
        lambda: sync_now(cluster, LAB, hub="medallion") and green in " ".join(_names(medallion.objects("all"))),
        seconds=90,
        interval=1.0,
        what="the GREEN item at medallion",
    )
    wait_for(lambda: amber_named in " ".join(_names(medallion.objects("amber"))), seconds=60, what="AMBER at medallion")

    in_all = " ".join(_names(medallion.objects("all")))
    in_amber = " ".join(_names(medallion.objects("amber")))
    assert green in in_all and green not in in_amber
    assert amber_named in in_amber and amber_named not in in_all
    for stays in (amber_all, strict):
        assert stays not in in_all and stays not in in_amber
    # Each went once (TAXII adds are idempotent, and the ledger sends each version once).
    assert sum(1 for o in medallion.objects("all") if o.get("name") == green or green in str(o.get("name"))) == 1

    # Pull: the third party's indicator is an item at the lab, attributed to the third party.
    def pulled_indicator() -> list[Any]:
        sync_now(cluster, LAB, hub="medallion")
        return [r for r in pulled_rows(lab) if r.stix_id == indicator_id]

    try:
        rows = wait_for(pulled_indicator, seconds=60, interval=1.0, what="the pulled indicator at the lab")
    except TimeoutError:
        with lab.client(ALICE) as http:
            events = http.get(f"/api/v1/federation/peers/{pid}/events").json()
        raise AssertionError(f"nothing pulled; the peer's events: {json.dumps(events)[:3000]}") from None
    assert len(rows) == 1 and rows[0].created_by_ref == THIRD_PARTY and rows[0].fetched_at is not None
    items = pulled_items(lab, ALICE, indicator_id)
    assert len(items) == 1, items
    # Listed under the local record of the remote (its name), never as the lab's own org or a member.
    assert items[0]["contributor"]["name"] == "Open Threat Exchange"
    assert items[0]["contributor"]["stix_identity_id"] != org_identity_id(lab.org_id(LAB))
    assert items[0]["is_contributor"] is False
    # The lab's TAXII serves it with its name and the third party as author.
    served = [o for o in taxii_objects(lab, ALICE, id=indicator_id)]
    assert served and served[0]["name"] == pulled_name and served[0]["created_by_ref"] == THIRD_PARTY

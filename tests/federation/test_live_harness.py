"""The multi-instance harness itself: separate processes, separate databases, SIGKILL and restart.

Every later live test leans on these properties, so they are checked on their own first: two instances
answer on different ports, each sees only its own organisations (their databases are apart), a SIGKILLed
instance stops answering at once, and a restart serves the same database on the same port.
"""

from __future__ import annotations

import os

import httpx
import pytest

from signalfire.demo_federated import (
    Cluster,
    hub_admin_email,
    hub_spec,
    lab_admin_email,
    lab_spec,
    sync_email,
)

pytestmark = pytest.mark.slow

DRAFT = {
    "category": "threat",
    "title": "Jailbreak family seen against two labs",
    "summary": "A prompt family that defeats refusal training on tool use.",
    "severity": "high",
    "tlp": "GREEN",
    "permitted_uses": ["threat_detection"],
    "audience": ["all_members"],
}


def test_two_instances_are_apart_and_survive_sigkill(cluster: Cluster) -> None:
    hub = cluster.start(hub_spec(("aurora",)))
    lab = cluster.start(lab_spec("aurora"))
    assert hub.port != lab.port
    assert hub.process is not None and lab.process is not None and hub.process.pid != lab.process.pid
    assert hub.database_url != lab.database_url

    # Each database holds what that instance was seeded with, and nothing of the other.
    assert set(hub.seeded.org_ids) == {"forum", "aurora"}
    assert set(lab.seeded.org_ids) == {"aurora"}
    # Separate records of the same org, under the same id (so the same derived STIX identity).
    assert hub.org_id("aurora") == lab.org_id("aurora")
    with hub.client(hub_admin_email()) as h:
        assert h.get("/api/v1/exchange/items").status_code == 200
    # A token of one instance means nothing at the other.
    with httpx.Client(base_url=lab.url, headers={"Authorization": f"Bearer {hub.tokens[sync_email('aurora')]}"}) as h:
        assert h.get("/api/v1/exchange/items").status_code == 401

    # Something written before the crash is there after it (a committed draft on the lab).
    with lab.client(lab_admin_email("aurora")) as h:
        created = h.post("/api/v1/exchange/items", json=DRAFT)
        assert created.status_code == 201, created.text
        item_id = created.json()["item"]["id"]

    pid = lab.process.pid
    cluster.kill("aurora")
    assert not lab.alive()
    assert lab.process.returncode == -9
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{lab.url}/healthz", timeout=2)
    # The hub is not affected.
    assert httpx.get(f"{hub.url}/healthz", timeout=5).status_code == 200

    cluster.restart("aurora")
    assert lab.alive() and lab.process.pid != pid and lab.starts == 2
    with lab.client(lab_admin_email("aurora")) as h:
        again = h.get(f"/api/v1/exchange/items/{item_id}")
        assert again.status_code == 200, again.text
        assert again.json()["title"] == DRAFT["title"]


def test_instances_get_distinct_secrets_and_logs(cluster: Cluster) -> None:
    one = cluster.start(lab_spec("aurora"))
    two = cluster.start(lab_spec("meridian"))
    assert one.secret_key != two.secret_key
    env = cluster.environment(one)
    assert env["SIGNALFIRE_DATABASE_URL"] == one.database_url
    assert env["SIGNALFIRE_PUBLIC_BASE_URL"] == one.url
    assert one.log_path.exists() and two.log_path.exists()
    if os.environ.get("SIGNALFIRE_TEST_DATABASE_URL"):
        assert one.database_url.startswith("postgresql")
    else:
        assert one.database_url.startswith("sqlite:///")

"""Two live instances: a lab (aurora) and the forum's hub, each its own `signalfire serve` process and database.

The lab pushes and pulls the hub's `members` collection. What must hold, written from the issue and TLP 2.0,
not from the code:

* a GREEN item to all members reaches the hub once, under the lab's identity;
* a revision reaches the hub as a new version of the same item (not a second item); a withdrawal as a
  revocation, after which hub readers no longer get the item;
* RED, AMBER+STRICT and AMBER (to a collection that is not limited to named orgs) never leave the lab;
* when the lab pulls an item of the hub's own org, the hub logs the read against the lab's org, with the
  declared purpose and the lab's user, for the contributor to see.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from signalfire.demo_federated import (
    Cluster,
    hub_admin_email,
    hub_spec,
    item_body,
    lab_admin_email,
    lab_spec,
    peer_with_hub,
    publish,
    sync_now,
    wait_for,
)
from signalfire.exchange.service import org_identity_id
from tests.federation.conftest import new_cluster
from tests.federation.live import items_titled, ledger_of_item, publish_at, reports_named, wait_sent

pytestmark = pytest.mark.slow
LAB = "aurora"
HUGO = hub_admin_email()
ALICE = lab_admin_email(LAB)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with new_cluster(tmp_path_factory.mktemp("pair")) as cluster:
        cluster.start(hub_spec((LAB,)))
        cluster.start(lab_spec(LAB))
        peer_with_hub(cluster, LAB, direction="both")
        yield cluster


def _unique(title: str) -> str:
    return f"{title} {uuid.uuid4().hex[:8]}"


def test_green_item_reaches_the_hub_once_under_the_labs_identity(pair: Cluster) -> None:
    title = _unique("Tool-use jailbreak family")
    item = publish_at(pair, LAB, title)
    sent = wait_sent(pair, LAB, item["id"])
    assert len(sent) == 1 and sent[0]["item_version"] == 1

    hub = pair.instances["hub"]
    reports = wait_for(lambda: reports_named(hub, HUGO, title), what="the report at the hub")
    assert len(reports) == 1, reports
    # Attribution is the lab's org identity (the same id on both instances), never the hub's or a forum one.
    assert reports[0]["created_by_ref"] == org_identity_id(hub.org_id(LAB))
    # The permitted uses travelled: a purpose the item does not permit does not get it at the hub.
    from tests.federation.live import taxii_objects

    other = [
        o
        for o in taxii_objects(hub, HUGO, purpose="model_evaluations", type="report")
        if title in str(o.get("name", ""))
    ]
    assert other == []

    # A second sync round sends nothing again.
    again = sync_now(pair, LAB)
    assert again["pushed"] == 0
    assert len(reports_named(hub, HUGO, title)) == 1


def test_red_amber_strict_and_amber_to_all_members_never_leave(pair: Cluster) -> None:
    lab = pair.instances[LAB]
    hub = pair.instances["hub"]
    stay = {
        "RED": _unique("Red: named responders only"),
        "AMBER+STRICT": _unique("Amber strict: our org only"),
        "AMBER": _unique("Amber to all members"),
    }
    ids = {}
    with lab.client(ALICE) as http:
        me = {"user_id": str(lab.seeded.user_ids[ALICE]), "org_id": str(lab.org_id(LAB))}
        red = item_body(stay["RED"], tlp="RED", audience=("named_people",))
        red["audience_people"] = [me]
        ids["RED"] = publish(http, red)["id"]
        ids["AMBER+STRICT"] = publish(http, item_body(stay["AMBER+STRICT"], tlp="AMBER+STRICT"))["id"]
        ids["AMBER"] = publish(http, item_body(stay["AMBER"], tlp="AMBER"))["id"]
        # A GREEN item published after them: once it has gone, the worker has passed the others.
        marker = publish(http, item_body(_unique("Green marker")))["id"]
    wait_sent(pair, LAB, marker)
    sync_now(pair, LAB)

    for tlp, item_id in ids.items():
        assert ledger_of_item(pair, LAB, item_id) == [], f"TLP:{tlp} was queued for the hub"
        assert reports_named(hub, HUGO, stay[tlp]) == [], f"TLP:{tlp} reached the hub"


def test_revision_and_withdrawal_follow_as_new_versions(pair: Cluster) -> None:
    lab = pair.instances[LAB]
    hub = pair.instances["hub"]
    first = _unique("Poisoned adapter in a public model hub")
    item = publish_at(pair, LAB, first)
    wait_sent(pair, LAB, item["id"])
    revised_title = first + " (second sample)"
    body: dict[str, Any] = {**item_body(revised_title), "change_note": "second sample"}
    with lab.client(ALICE) as http:
        answer = http.post(f"/api/v1/exchange/items/{item['id']}/revisions", json=body)
        assert answer.status_code == 201, answer.text
    sent = wait_sent(pair, LAB, item["id"], versions=2)
    assert sorted(r["item_version"] for r in sent) == [1, 2]
    reports = wait_for(lambda: reports_named(hub, HUGO, revised_title), what="the revision at the hub")
    assert len(reports) == 1
    stix_id = reports[0]["id"]
    assert reports[0]["modified"] > reports[0]["created"]
    # At the hub it is one item at version 2, titled as revised: not a second item beside the first.
    at_hub = items_titled(hub, HUGO, first)
    assert len(at_hub) == 1, at_hub
    assert at_hub[0]["title"] == revised_title and at_hub[0]["version"] == 2

    with lab.client(ALICE) as http:
        answer = http.post(f"/api/v1/exchange/items/{item['id']}/withdraw", json={"reason": "superseded"})
        assert answer.status_code == 200, answer.text
    sent = wait_sent(pair, LAB, item["id"], versions=3)
    assert {r["change"] for r in sent} >= {"withdrawn"} or len(sent) == 3

    # Readers at the hub no longer get a live version of it: gone, or the last version revoked.
    def withdrawn_at_hub() -> bool:
        from tests.federation.live import taxii_objects

        versions = taxii_objects(hub, HUGO, id=stix_id)
        return not versions or all(v.get("revoked") for v in versions)

    wait_for(withdrawn_at_hub, what="the withdrawal at the hub")


def test_pull_is_logged_at_the_hub_with_purpose_and_reader(pair: Cluster) -> None:
    hub = pair.instances["hub"]
    title = _unique("Forum advisory: refusal bypass via translated prompts")
    with hub.client(HUGO) as http:
        item = publish(http, item_body(title))
    sync_now(pair, LAB)  # as Alice: pulls the hub's new item, declaring threat_detection

    lab = pair.instances[LAB]

    def arrived() -> list[dict[str, Any]]:
        sync_now(pair, LAB)
        return reports_named(lab, ALICE, title)

    wait_for(arrived, seconds=60, interval=1.0, what="the hub's item at the lab")
    with hub.client(HUGO) as http:
        reads = http.get(f"/api/v1/exchange/items/{item['id']}/reads")
    assert reads.status_code == 200, reads.text
    by_lab = [r for r in reads.json() if r["org"] == "Aurora Labs"]
    assert by_lab, reads.json()
    assert {r["purpose"] for r in by_lab} == {"threat_detection"}
    assert {r["channel"] for r in by_lab} == {"taxii"}
    # The user at the reading instance is named, as a local reader would be.
    assert any(ALICE in r["reader"] for r in by_lab), by_lab

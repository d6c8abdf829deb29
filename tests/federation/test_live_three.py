"""Three live instances: aurora and meridian (labs) and the forum's hub, each its own process and database.

Aurora pushes to the hub; meridian pulls from it. Expected, from the issue:

* a GREEN item published at aurora becomes readable at meridian, still attributed to Aurora (never to a
  meridian member), with a provenance record naming the hub as where it came from;
* the hub logs meridian's read with meridian's declared purpose and its user, and aurora's account at the
  hub (the contributor there) sees it like a local read;
* a pseudonymous item travels with the pseudonym only: meridian sees no trace of Aurora and cannot
  resolve it; the hub, which issued it, can;
* a withdrawal at aurora reaches meridian: the item is no longer among meridian's published items.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from signalfire.demo_federated import (
    Cluster,
    hub_admin_email,
    hub_spec,
    lab_admin_email,
    lab_spec,
    peer_with_hub,
    sync_email,
    sync_now,
    wait_for,
)
from signalfire.exchange.service import org_identity_id
from tests.federation.conftest import new_cluster
from tests.federation.live import publish_at, pulled_items, pulled_rows, reports_named, taxii_objects, wait_sent

pytestmark = pytest.mark.slow
A, M = "aurora", "meridian"
HUGO = hub_admin_email()
MIRA = lab_admin_email(M)


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with new_cluster(tmp_path_factory.mktemp("trio")) as cluster:
        cluster.start(hub_spec((A, M)))
        cluster.start(lab_spec(A, (M,)))
        cluster.start(lab_spec(M, (A,)))
        peer_with_hub(cluster, A, direction="push")
        peer_with_hub(cluster, M, direction="pull")
        yield cluster


def _unique(title: str) -> str:
    return f"{title} {uuid.uuid4().hex[:8]}"


def _arrives_at_meridian(trio: Cluster, title: str) -> list[dict[str, object]]:
    """The local item(s) at meridian that aurora's report `title` became (found through provenance)."""
    meridian = trio.instances[M]

    def probe() -> list[dict[str, object]]:
        sync_now(trio, M)  # as Mira: a pull round now (the scheduler would do the same within a second)
        reports = reports_named(meridian, MIRA, title)
        return pulled_items(meridian, MIRA, str(reports[0]["id"])) if reports else []

    found: list[dict[str, object]] = wait_for(probe, seconds=90, interval=1.0, what=f"{title!r} at meridian")
    return found


def test_item_crosses_two_hops_with_attribution_and_provenance(trio: Cluster) -> None:
    title = _unique("Autonomous replication probe crossed the warning threshold")
    item = publish_at(trio, A, title, category="capability_of_concern")
    wait_sent(trio, A, item["id"])
    found = _arrives_at_meridian(trio, title)
    assert len(found) == 1, found
    at_m = found[0]
    contributor = at_m["contributor"]
    assert isinstance(contributor, dict)
    meridian = trio.instances[M]
    # Aurora's identity (the same org id on every instance), never meridian's own org.
    assert contributor["stix_identity_id"] == org_identity_id(meridian.org_id(A))
    assert contributor["stix_identity_id"] != org_identity_id(meridian.org_id(M))
    assert at_m["is_contributor"] is False

    # Provenance: the pulled report came from the hub peer, with its id and version.
    hub = trio.instances["hub"]
    report = reports_named(hub, HUGO, title)[0]
    rows = [r for r in pulled_rows(meridian) if r.stix_id == report["id"]]
    assert len(rows) == 1
    assert rows[0].created_by_ref == org_identity_id(meridian.org_id(A))
    assert rows[0].fetched_at is not None

    # Pulling again imports nothing twice.
    sync_now(trio, M)
    assert len(reports_named(meridian, MIRA, title)) == 1
    assert len([r for r in pulled_rows(meridian) if r.stix_id == report["id"]]) == 1


def test_hub_logs_meridians_read_for_aurora_with_purpose_and_reader(trio: Cluster) -> None:
    title = _unique("Prompt-injection chain through retrieved documents")
    item = publish_at(trio, A, title)
    wait_sent(trio, A, item["id"])
    _arrives_at_meridian(trio, title)

    hub = trio.instances["hub"]
    # Aurora's account at the hub is the contributor there: it sees who read its item, as for a local read.
    with hub.client(sync_email(A)) as http:
        reads = http.get("/api/v1/exchange/reads")
    assert reads.status_code == 200, reads.text
    hub_items = {r["item_id"] for r in reads.json()}
    by_meridian = [r for r in reads.json() if r["org"] == "Meridian AI"]
    assert by_meridian, reads.json()
    assert hub_items
    assert {r["purpose"] for r in by_meridian} == {"threat_detection"}
    assert any(MIRA in r["reader"] for r in by_meridian), by_meridian


def test_pseudonymous_item_resolvable_only_at_the_hub(trio: Cluster) -> None:
    title = _unique("Evaluation harness leaks held-out prompts")
    item = publish_at(trio, A, title, attribution="pseudonymous", category="vulnerability")
    wait_sent(trio, A, item["id"])
    found = _arrives_at_meridian(trio, title)
    contributor = found[0]["contributor"]
    assert isinstance(contributor, dict)
    assert contributor["kind"] == "pseudonym"
    meridian = trio.instances[M]
    assert "Aurora" not in str(found[0])
    assert contributor["stix_identity_id"] != org_identity_id(meridian.org_id(A))

    # Meridian holds no mapping: its admin cannot resolve the pseudonym (there is none to resolve).
    with meridian.client(MIRA) as http:
        listed = http.get("/api/v1/exchange/pseudonyms")
        assert listed.status_code in (200, 403, 404)
        mine = (
            [p for p in listed.json() if p["stix_identity_id"] == contributor["stix_identity_id"]]
            if (listed.status_code == 200)
            else []
        )
        for p in mine:
            refused = http.post(
                f"/api/v1/exchange/pseudonyms/{p['id']}/resolve", json={"reason": "checking who sent this item"}
            )
            assert refused.status_code in (403, 404), refused.text

    # The hub issued it: its admin resolves it to Aurora, with a reason.
    hub = trio.instances["hub"]
    with hub.client(HUGO) as http:
        pseudonyms = http.get("/api/v1/exchange/pseudonyms")
        assert pseudonyms.status_code == 200, pseudonyms.text
        match = [p for p in pseudonyms.json() if p["stix_identity_id"] == contributor["stix_identity_id"]]
        assert len(match) == 1, pseudonyms.json()
        resolved = http.post(
            f"/api/v1/exchange/pseudonyms/{match[0]['id']}/resolve",
            json={"reason": "coordinating a joint disclosure with the contributor"},
        )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["org"] == "Aurora Labs"


def test_withdrawal_at_aurora_reaches_meridian(trio: Cluster) -> None:
    title = _unique("Weights exfiltration attempt via build cache")
    item = publish_at(trio, A, title)
    wait_sent(trio, A, item["id"])
    _arrives_at_meridian(trio, title)
    with trio.instances[A].client(lab_admin_email(A)) as http:
        answer = http.post(f"/api/v1/exchange/items/{item['id']}/withdraw", json={"reason": "false positive"})
        assert answer.status_code == 200, answer.text
    wait_sent(trio, A, item["id"], versions=2)

    meridian = trio.instances[M]
    stix_id = str(reports_named(trio.instances["hub"], HUGO, title)[0]["id"])

    def withdrawn() -> bool:
        sync_now(trio, M)
        # Readers at meridian get no live version: the report is gone, or its last version is revoked.
        versions = taxii_objects(meridian, MIRA, id=stix_id)
        return not versions or all(v.get("revoked") for v in versions)

    wait_for(withdrawn, seconds=90, interval=1.0, what="the withdrawal at meridian")
    # And the item it became is no longer a published item there.
    items = pulled_items(meridian, MIRA, stix_id)
    assert all(i["status"] != "published" for i in items), items

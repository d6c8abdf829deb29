"""`run.py demo --federated`: the hub and two labs start, are peered, and the story crosses instances.

Expected from the issue: a lab publishes, the hub and the other lab see it; the forum's advisory reaches
both labs; what must stay (AMBER+STRICT) stays at the lab that wrote it.
"""

from __future__ import annotations

import pytest

from signalfire.demo_federated import (
    LABS,
    STORY,
    Cluster,
    free_port,
    hub_admin_email,
    lab_admin_email,
    start_demo,
    sync_now,
    wait_for,
)
from tests.federation.live import ledger, reports_named

pytestmark = pytest.mark.slow


def _title(where: str, tlp: str = "GREEN", attribution: str = "named") -> str:
    return next(str(b["title"]) for w, b in STORY if w == where and b["tlp"] == tlp and b["attribution"] == attribution)


def test_federated_demo_story_crosses_instances(cluster: Cluster) -> None:
    base = free_port()
    start_demo(cluster, port=base, echo=lambda _: None)
    hub, aurora, meridian = (cluster.instances[n] for n in ("hub", "aurora", "meridian"))
    assert (hub.port, aurora.port, meridian.port) == (base, base + 1, base + 2)

    from_aurora = _title("aurora")
    from_meridian = _title("meridian")
    advisory = _title("hub")
    stays = _title("aurora", tlp="AMBER+STRICT")
    mira, alice, hugo = lab_admin_email("meridian"), lab_admin_email("aurora"), hub_admin_email()

    wanted = [
        ("hub", hub, hugo, from_aurora),
        ("hub", hub, hugo, from_meridian),
        ("meridian", meridian, mira, from_aurora),
        ("meridian", meridian, mira, advisory),
        ("aurora", aurora, alice, from_meridian),
        ("aurora", aurora, alice, advisory),
    ]
    missing: list[str] = []

    def everywhere() -> bool:
        for lab in ("aurora", "meridian"):
            sync_now(cluster, lab)
        missing[:] = [f"{where}: {title!r}" for where, at, who, title in wanted if not reports_named(at, who, title)]
        return not missing

    try:
        wait_for(everywhere, seconds=120, interval=1.0, what="the demo story at every instance")
    except TimeoutError as exc:
        # What did not arrive, and what each lab's push ledger says about it, for whoever reads the failure.
        states = {lab: [(r["stix_id"], r["state"], r["last_error"]) for r in ledger(cluster, lab)] for lab in LABS}
        raise AssertionError(f"{exc}; missing {missing}; push ledgers {states}") from exc
    assert reports_named(hub, hugo, stays) == []
    assert reports_named(meridian, mira, stays) == []
    assert len(reports_named(meridian, mira, from_aurora)) == 1

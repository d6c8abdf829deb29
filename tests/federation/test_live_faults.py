"""Faults with live instances: the hub down for a while, and the pushing lab SIGKILLed while it pushes.

Expected (issue 17, "Bad input and faults"): a peer that is down is recorded on that peer (last error,
failing since) and nothing is lost: once it is back every queued version arrives. A push interrupted by
SIGKILL resumes after a restart without loss and without duplicates: every item is at the hub exactly once;
and it resumes at once, the restarted worker taking back the killed one's job instead of waiting out its lease.
"""

from __future__ import annotations

import uuid

import pytest

from signalfire.demo_federated import (
    Cluster,
    Instance,
    hub_admin_email,
    hub_spec,
    item_body,
    lab_admin_email,
    lab_spec,
    peer_health,
    peer_with_hub,
    publish,
    sync_now,
    wait_for,
)
from tests.federation.live import db_rows, ledger, reports_named, taxii_objects

pytestmark = pytest.mark.slow
LAB = "aurora"
HUGO = hub_admin_email()
ALICE = lab_admin_email(LAB)


def ledger_rows_offline(instance: Instance) -> list[str]:
    """The push ledger's states, read from the database of a stopped instance."""
    from sqlalchemy import select

    from signalfire.federation.models import PushLedger

    return [str(r[0].value if hasattr(r[0], "value") else r[0]) for r in db_rows(instance, select(PushLedger.state))]


def jobs_running_offline(instance: Instance) -> list[str]:
    """Ids of the outbox jobs still `running` in the database of a stopped instance."""
    from sqlalchemy import select

    from signalfire.notify.models import JobStatus, OutboxJob

    return [str(r[0]) for r in db_rows(instance, select(OutboxJob.id).where(OutboxJob.status == JobStatus.running))]


def _start_pair(cluster: Cluster) -> None:
    cluster.start(hub_spec((LAB,)))
    cluster.start(lab_spec(LAB))
    peer_with_hub(cluster, LAB, direction="push")


def test_hub_outage_is_recorded_and_nothing_is_lost(cluster: Cluster) -> None:
    _start_pair(cluster)
    cluster.stop("hub")
    tag = uuid.uuid4().hex[:8]
    titles = [f"Queued while the hub was down {tag} #{n}" for n in range(3)]
    with cluster.instances[LAB].client(ALICE) as http:
        for title in titles:
            publish(http, item_body(title))

    out = sync_now(cluster, LAB)  # the hub is down: nothing goes, and the reason is recorded
    assert out["pushed"] == 0
    assert ledger(cluster, LAB, "sent") == []
    health = wait_for(
        lambda: [h for h in peer_health(cluster, LAB) if h["last_error"]], what="the outage in sync health"
    )
    assert health[0]["failing_since"] is not None
    assert health[0]["pending"] + health[0]["dead"] == 3 or health[0]["pending"] == 3

    cluster.restart("hub")
    hub = cluster.instances["hub"]

    def all_there() -> bool:
        sync_now(cluster, LAB)
        return all(reports_named(hub, HUGO, t) for t in titles)

    wait_for(all_there, seconds=120, interval=1.0, what="the queued items at the hub after the outage")
    for title in titles:
        assert len(reports_named(hub, HUGO, title)) == 1
    # Sync health recovers: a success is recorded and the failing spell ends (the peer is probed again
    # within a minute if the last attempt before recovery failed).
    after = wait_for(
        lambda: [h for h in peer_health(cluster, LAB) if h["failing_since"] is None and h["last_success_at"]],
        seconds=150,
        interval=2.0,
        what="sync health back to healthy",
    )
    assert after[0]["pending"] == 0 and after[0]["dead"] == 0


def test_sigkill_of_the_pushing_lab_loses_nothing_and_duplicates_nothing(cluster: Cluster) -> None:
    # Envelopes of 3 rows: 40 items take 14 POSTs, so a kill after the first lands mid-push (with the
    # default of 500 all 40 go in one envelope, and there is nothing to interrupt).
    cluster.start(hub_spec((LAB,)))
    # The production lease (the cluster's is 10 s): recovery must not wait for it.
    lab_env = {"SIGNALFIRE_FEDERATION__PUSH_BATCH_SIZE": "3", "SIGNALFIRE_JOBS__LEASE_SECONDS": "120"}
    cluster.start(lab_spec(LAB, env=lab_env))
    peer_with_hub(cluster, LAB, direction="push")
    lab = cluster.instances[LAB]
    hub = cluster.instances["hub"]
    tag = uuid.uuid4().hex[:8]
    titles = [f"Pushed across a crash {tag} #{n:02d}" for n in range(40)]
    with lab.client(ALICE) as http:
        for title in titles:
            publish(http, item_body(title))
    # The embedded worker is pushing them now: kill the lab mid-way (at least one sent, not all).
    wait_for(lambda: ledger(cluster, LAB, "sent"), seconds=60, interval=0.05, what="a first push")
    cluster.kill(LAB)
    assert not lab.alive()
    sent_before = len([r for r in ledger_rows_offline(lab) if r == "sent"])
    assert 0 < sent_before < len(titles), f"the kill came too late to interrupt anything ({sent_before} sent)"

    held = jobs_running_offline(lab)  # claimed by the killed worker, under a lease that runs 120 s
    log_before = lab.log_path.read_text(errors="replace")
    cluster.restart(LAB)

    def all_sent() -> bool:
        rows = ledger(cluster, LAB)
        return len(rows) == len(titles) and all(r["state"] == "sent" for r in rows)

    # The restarted worker sees the killed process gone and takes its push job back at once (the worker
    # registry): far sooner than the 120 s lease, which is never waited out.
    wait_for(all_sent, seconds=60, interval=0.5, what="every push sent after the restart")
    after_restart = lab.log_path.read_text(errors="replace")[len(log_before) :]
    assert "ran out at" not in after_restart, after_restart[-3000:]
    for job_id in held:  # each taken back because its holder's process is gone, not by its lease
        assert f"job {job_id} (federation.push): attempt " in after_restart
    taken_back = [line for line in after_restart.splitlines() if "was taken back early" in line]
    assert len(taken_back) == len(held) and all("no longer runs" in line for line in taken_back), taken_back
    reports = [o for o in taxii_objects(hub, HUGO, type="report") if tag in str(o.get("name", ""))]
    names = sorted(str(o["name"]) for o in reports)
    assert len(names) == len(titles), names
    assert sorted(set(names)) == names  # no duplicates
    assert all(any(t in n for n in names) for t in titles)  # no loss

"""Federation end to end: items published at one lab, pushed to the hub, pulled by a second lab.

    .venv/bin/python bench/federation.py [--items 10000] [--batch 100] [--timeout 3600]
                                         [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Three Signalfire instances run as separate processes on loopback, each `signalfire serve` over its own
database (SQLite files, or one PostgreSQL database each with --postgres), started by the same launcher as
the federated demo and the live tests (src/signalfire/demo_federated.py):

  aurora   a lab: peered with the hub, the hub's `members` collection as push only
  hub      the forum's hub
  meridian another lab: the same collection as pull only (polled every second)

The bench publishes --items GREEN items to all members at aurora through the real authoring service
(create the draft, screen, publish; the push is queued in the publishing transaction), --batch per
transaction, in this process against aurora's database while aurora's embedded worker is already
pushing. Nothing else is done by hand: aurora's worker pushes, meridian's scheduler pulls.

Measured, per item, from the instances' own records (matched by the item's STIX id):
  queued      aurora's push ledger row (written in the publishing transaction)
  at hub      aurora's ledger `sent_at` (the hub answered the TAXII add)
  at meridian meridian's provenance row `fetched_at` (the page holding it was committed)

Reported: publish rate; the published items of the pushing lab's org at the hub and at the puller (each
lab item must be one item at both); end-to-end objects/s = items / (last arrival at meridian - first queued);
lag (at meridian - queued) p50, p95 and max; push lag (at hub - queued) p95. Times are each instance's
UTC clock; all three run on this machine.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from signalfire.demo_federated import (  # noqa: E402
    Cluster,
    hub_spec,
    lab_admin_email,
    lab_spec,
    peer_with_hub,
)

PUSHER, PULLER = "aurora", "meridian"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def publish_items(database_url: str, org_id: Any, count: int, batch: int) -> float:
    """Publish `count` items at the pusher through the authoring service; seconds taken."""
    from signalfire.access import service as access
    from signalfire.access.models import User
    from signalfire.core.db.session import make_engine, session_factory, unit_of_work
    from signalfire.exchange import authoring
    from signalfire.exchange.schemas import ItemIn

    engine = make_engine(database_url)
    factory = session_factory(engine)
    started = time.perf_counter()
    done = 0
    while done < count:
        with unit_of_work(factory) as session:
            user = session.execute(select(User).where(User.email == lab_admin_email(PUSHER))).scalar_one()
            actor = access.build_actor(session, user, org_id, via="session")
            assert actor is not None
            for n in range(done, min(done + batch, count)):
                data = ItemIn.model_validate(
                    {
                        "category": "threat",
                        "title": f"Bench jailbreak family {n:05d}",
                        "summary": f"Prompt family {n} bypasses refusal training when tools are enabled.",
                        "severity": "medium",
                        "tlp": "GREEN",
                        "permitted_uses": ["threat_detection"],
                        "audience": ["all_members"],
                    }
                )
                item = authoring.create_draft(session, actor, data)
                session.flush()  # publish looks the draft up by id
                authoring.publish(session, actor, item.id)
        done = min(done + batch, count)
        print(f"  published {done}/{count}", end="\r", flush=True)
    print()
    engine.dispose()
    return time.perf_counter() - started


def ledger(database_url: str) -> dict[str, tuple[datetime, datetime | None]]:
    """STIX id -> (queued, sent) of the pusher's sent push rows."""
    from signalfire.core.db.session import make_engine
    from signalfire.federation.models import PushLedger, PushState

    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(PushLedger.stix_id, PushLedger.created_at, PushLedger.sent_at, PushLedger.state)
        ).all()
    engine.dispose()
    return {r.stix_id: (r.created_at, r.sent_at) for r in rows if r.state == PushState.SENT}


def arrivals(database_url: str) -> dict[str, datetime]:
    """STIX id -> first fetched_at at the puller."""
    from signalfire.core.db.session import make_engine
    from signalfire.federation.models import PulledObject

    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(PulledObject.stix_id, func.min(PulledObject.fetched_at)).group_by(PulledObject.stix_id)
        ).all()
    engine.dispose()
    return {stix_id: at for stix_id, at in rows}


def published_items(database_url: str, org_id: Any) -> int:
    """How many published exchange items of ``org_id`` an instance holds (the same org id on every instance)."""
    from signalfire.core.db.session import make_engine
    from signalfire.exchange.models import ExchangeItem, ItemStatus

    engine = make_engine(database_url)
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(ExchangeItem)
            .where(ExchangeItem.org_id == org_id, ExchangeItem.status == ItemStatus.PUBLISHED)
        ).scalar_one()
    engine.dispose()
    return int(count)


def _utc(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up waiting after this many seconds")
    parser.add_argument("--postgres", default=None, help="admin URL; one database per instance is made here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sf-bench-fed-"))
    print(f"machine: {platform.machine()} {platform.processor() or ''}, python {platform.python_version()}")
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; work directory {work}")
    with Cluster(work, postgres_url=args.postgres) as cluster:
        t0 = time.perf_counter()
        cluster.start(hub_spec((PUSHER, PULLER)))
        cluster.start(lab_spec(PUSHER, (PULLER,)))
        cluster.start(lab_spec(PULLER, (PUSHER,)))
        peer_with_hub(cluster, PUSHER, direction="push")
        peer_with_hub(cluster, PULLER, direction="pull")
        print(f"three instances up and peered in {time.perf_counter() - t0:.1f} s")

        pusher = cluster.instances[PUSHER]
        puller = cluster.instances[PULLER]
        publish_seconds = publish_items(pusher.database_url, pusher.org_id(PUSHER), args.items, args.batch)
        print(f"published {args.items} items in {publish_seconds:.1f} s ({args.items / publish_seconds:.0f}/s)")

        deadline = time.monotonic() + args.timeout
        sent: dict[str, tuple[datetime, datetime | None]] = {}
        arrived: dict[str, datetime] = {}
        while time.monotonic() < deadline:
            sent = ledger(pusher.database_url)
            arrived = arrivals(puller.database_url)
            got = sum(1 for s in sent if s in arrived)
            print(f"  at hub {len(sent)}/{args.items}, at {PULLER} {got}/{args.items}", end="\r", flush=True)
            if got >= args.items:
                break
            for name, instance in cluster.instances.items():
                if not instance.alive():
                    raise SystemExit(f"{name} died:\n{instance.log_tail()}")
            time.sleep(2)
        print()
        matched = {s: (q, at, arrived[s]) for s, (q, at) in sent.items() if s in arrived}
        if len(matched) < args.items:
            print(f"INCOMPLETE: {len(matched)} of {args.items} arrived within {args.timeout} s")
        if not matched:
            return 1
        first = min(_utc(q) for q, _, _ in matched.values())
        last = max(_utc(a) for _, _, a in matched.values())
        lags = [(_utc(a) - _utc(q)).total_seconds() for q, _, a in matched.values()]
        push_lags = [(_utc(h) - _utc(q)).total_seconds() for q, h, _ in matched.values() if h is not None]
        span = (last - first).total_seconds()
        result: dict[str, Any] = {
            "items": len(matched),
            "publish_per_s": args.items / publish_seconds,
            "end_to_end_per_s": len(matched) / span if span > 0 else float("inf"),
            "span_s": span,
            "lag_p50_s": statistics.median(lags),
            "lag_p95_s": percentile(lags, 0.95),
            "lag_max_s": max(lags),
            "push_lag_p95_s": percentile(push_lags, 0.95),
            # Each lab item must stay one item downstream: one hub item and one item at the puller per item.
            "hub_items": published_items(cluster.instances["hub"].database_url, pusher.org_id(PUSHER)),
            "puller_items": published_items(puller.database_url, pusher.org_id(PUSHER)),
        }
        print("result:")
        for key, value in result.items():
            print(f"  {key:<18} {value:.2f}" if isinstance(value, float) else f"  {key:<18} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

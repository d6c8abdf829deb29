"""Benchmark: the open-incident board and the response metrics over 100,000 incidents on PostgreSQL.

    .venv/bin/python bench/response_board.py [--incidents 100000] [--orgs 40] [--measured 12000]
        [--runs 50] [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--keep]

Builds a scratch database by the real migrations with ORGS frontier developers and their responders,
and bulk-loads (executemany in batches) INCIDENTS incidents: MEASURED of them belong to the org whose
queries are timed, the rest are spread over the others (so the timed queries must use the org-leading
indexes, not scan the table). Three years of awareness times, every severity and risk domain, 5%
drills, 3% still open, each incident with its lifecycle timestamps, a commander, 3 to 6 timeline
entries and, for most, a response action. ``--orgs 1`` puts every incident in the measured org (the
worst case). Then it times the same functions the UI, the API and the CLI call, with the access policy
inside the SQL:

* ``stats.board``: the org's open incidents (up to 200), most severe and oldest first, with
  the current commander, the open-action count and the nearest action target;
* ``stats.response_metrics``: time to acknowledge / contain / mitigate / resolve, overall, per
  severity and per risk domain, drills excluded, over the last 30 days, 12 months and all three years,
  as served (exact up to ``stats.EXACT_LIMIT`` incidents, else from the sketches of ``rollup``), and
  the other path beside it for comparison, with the largest relative difference between the two.

The bulk load goes around the ORM, so the sketches are rebuilt first (``rollup.rebuild``, reported, not
timed). Last, the write cost of the sketches: opening and triaging an incident through the service with
the sketch events on and off, alternating. Prints medians and 95th percentiles against the 50 ms limit.
Loopback only; the scratch database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from _scratch import scratch_database  # bench/ is on sys.path when run as a script
from sqlalchemy import Table, event, insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from signalfire.access.models import OrgKind, Role
from signalfire.access.service import add_member, build_actor, create_org, create_user
from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.response import rollup, stats
from signalfire.response.metrics import Measure
from signalfire.response.models import (
    Incident,
    IncidentParticipant,
    ModelVersion,
    ResponseAction,
    TimelineEntry,
)
from signalfire.response.vocab import (
    ActionKind,
    ActionStatus,
    IncidentStatus,
    ParticipantRole,
    RiskDomain,
    Severity,
)

LIMIT_MS = 50.0
BATCH = 5_000
NOW = datetime.now(UTC).replace(microsecond=0)
STAGES = ("triaged_at", "contained_at", "mitigated_at", "resolved_at", "closed_at")


def _incident_rows(
    plan: list[tuple[uuid.UUID, uuid.UUID]], measured: int, n: int, rng: random.Random
) -> Iterator[dict[str, Any]]:
    """Incidents: the first ``measured`` for plan[0]'s org, the rest round-robin over the others."""
    severities = list(Severity)
    domains = list(RiskDomain)
    for k in range(1, n + 1):
        org_id, creator = plan[0] if k <= measured or len(plan) == 1 else plan[1 + k % (len(plan) - 1)]
        aware = NOW - timedelta(seconds=rng.randint(3600, 3 * 365 * 86400))
        open_ = rng.random() < 0.03
        reached = rng.randint(0, 3) if open_ else 5
        row: dict[str, Any] = {
            "id": uuid.uuid4(),
            "org_id": org_id,
            "reference": f"INC-{aware.year}-{k:06d}",
            "title": f"Incident {k}",
            "summary": "",
            "severity": rng.choice(severities),
            "risk_domain": rng.choice(domains),
            "is_drill": rng.random() < 0.05,
            "affected_models": ["model-a 1.0"],
            "occurred_at": None,
            "aware_at": aware,
            "reported_at": aware,
            "source": None,
            "created_at": aware,
            "updated_at": aware,
            "created_by": creator,
        }
        at = aware
        last = aware
        for i, stage in enumerate(STAGES):
            if i < reached:
                at = at + timedelta(minutes=rng.randint(2, 60 * (i + 1) ** 2))
                row[stage] = at if at < NOW else None
                last = row[stage] or last
            else:
                row[stage] = None
        statuses = [IncidentStatus.REPORTED, *(IncidentStatus(s.removesuffix("_at")) for s in STAGES)]
        row["status"] = statuses[max((i + 1 for i, s in enumerate(STAGES) if row[s]), default=0)]
        row["status_changed_at"] = last
        yield row


def _batched(rows: Iterator[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(table), rows)  # executemany: psycopg batches the statements


def load(url: str, n: int, orgs: int, measured: int, seed: int = 2026) -> dict[str, Any]:
    rng = random.Random(seed)
    engine = make_engine(url, poolclass=NullPool)
    migrate.upgrade(engine)
    staff: dict[uuid.UUID, list[uuid.UUID]] = {}
    with unit_of_work(session_factory(engine)) as s:
        for o in range(orgs):
            org = create_org(s, slug=f"bench-lab-{o}", name=f"Bench Lab {o}", kind=OrgKind.frontier_developer)
            for i in range(8 if o == 0 else 3):
                u = create_user(s, email=f"r{i}@lab{o}.bench.example", display_name=f"Responder {i}", password=None)
                add_member(s, org=org, user=u, role=Role.admin if i == 0 else Role.responder)
                staff.setdefault(org.id, []).append(u.id)
            s.add(ModelVersion(org_id=org.id, name="model-a", version="1.0", surfaces=["api"]))
    plan = [(org_id, people[0]) for org_id, people in staff.items()]
    org_id, admin_id = plan[0]
    started = time.perf_counter()
    counts = {"incidents": 0, "timeline": 0, "participants": 0, "actions": 0}
    kinds = list(ActionKind)
    with engine.begin() as conn:
        for batch in _batched(_incident_rows(plan, measured if orgs > 1 else n, n, rng)):
            timeline, participants, actions = [], [], []
            for row in batch:
                people = staff[row["org_id"]]
                commander = rng.choice(people)
                participants.append(
                    {
                        "id": uuid.uuid4(),
                        "incident_id": row["id"],
                        "user_id": commander,
                        "role": ParticipantRole.COMMANDER,
                        "label": "Responder",
                        "affiliation": None,
                        "assumed_at": row["aware_at"],
                        "renounced_at": None,
                        "added_by": people[0],
                    }
                )
                entries = [(row["aware_at"], "status_change", "Incident reported")]
                entries += [(row[s], "status_change", f"Moved to {s[:-3]}") for s in STAGES if row[s]]
                entries += [(row["aware_at"] + timedelta(minutes=5), "note", "Investigating.")]
                for at, kind, body in entries[:6]:
                    timeline.append(
                        {
                            "id": uuid.uuid4(),
                            "incident_id": row["id"],
                            "at": at,
                            "recorded_at": at,
                            "kind": kind,
                            "author_user_id": commander,
                            "author_label": "Responder",
                            "body": body,
                            "source": None,
                            "data": {},
                        }
                    )
                if rng.random() < 0.7:
                    is_open = row["status"] is not IncidentStatus.CLOSED and rng.random() < 0.5
                    done = None if is_open else (row["contained_at"] or row["aware_at"] + timedelta(hours=1))
                    actions.append(
                        {
                            "id": uuid.uuid4(),
                            "incident_id": row["id"],
                            "org_id": row["org_id"],
                            "is_drill": row["is_drill"],
                            "kind": rng.choice(kinds),
                            "status": ActionStatus.IN_PROGRESS if is_open else ActionStatus.VERIFIED,
                            "title": "Contain",
                            "detail": "",
                            "owner_user_id": commander,
                            "from_version_id": None,
                            "to_version_id": None,
                            "scope": ["api"],
                            "capability": None,
                            "params": {},
                            "requested_at": row["aware_at"],
                            "started_at": row["aware_at"],
                            "completed_at": done,
                            "verified_at": done,
                            "verified_by": commander if done else None,
                            "verification": None,
                            "target_at": row["aware_at"] + timedelta(hours=12),
                            "suppressed": False,
                            "task_id": None,
                            "created_at": row["aware_at"],
                            "created_by": commander,
                        }
                    )
            _insert(conn, Incident.__table__, batch)  # type: ignore[arg-type]
            _insert(conn, IncidentParticipant.__table__, participants)  # type: ignore[arg-type]
            _insert(conn, TimelineEntry.__table__, timeline)  # type: ignore[arg-type]
            _insert(conn, ResponseAction.__table__, actions)  # type: ignore[arg-type]
            counts["incidents"] += len(batch)
            counts["timeline"] += len(timeline)
            counts["participants"] += len(participants)
            counts["actions"] += len(actions)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return {"org_id": org_id, "admin_id": admin_id, "load_seconds": time.perf_counter() - started, **counts}


def _largest_difference(a: stats.MetricsResult, b: stats.MetricsResult) -> float:
    """The largest relative difference between two results' medians and p90s, over every group."""
    worst = 0.0
    pairs = [(a.overall, b.overall)]
    pairs += [(a.by_severity.get(k, {}), v) for k, v in b.by_severity.items()]
    pairs += [(a.by_domain.get(k, {}), v) for k, v in b.by_domain.items()]
    for got, want in pairs:
        for measure, summary in want.items():
            for x, y in ((got[measure].median, summary.median), (got[measure].p90, summary.p90)):
                if y.total_seconds() > 1:
                    worst = max(worst, abs((x - y).total_seconds()) / y.total_seconds())
    return worst


_SKETCH_EVENTS = (
    ("after_insert", rollup.after_insert),
    ("before_update", rollup.before_update),
    ("after_delete", rollup.after_delete),
)


def _write_cost(engine: Any, org_id: uuid.UUID, admin_id: uuid.UUID, rounds: int = 5) -> tuple[float, float]:
    """Median ms of opening an incident and moving it to triaged, through the service in one committed
    transaction each, with the sketch events on and off, alternating so both see the same machine."""
    from signalfire.access.models import User
    from signalfire.response import service
    from signalfire.response.schemas import IncidentCreate, TransitionIn

    samples: dict[bool, list[float]] = {True: [], False: []}
    for k in range(rounds * 2 * 20):
        on = (k // 20) % 2 == 0
        if not on:
            for name, fn in _SKETCH_EVENTS:
                event.remove(Incident, name, fn)
        try:
            t = time.perf_counter()
            with unit_of_work(session_factory(engine)) as s:
                user = s.get(User, admin_id)
                assert user is not None
                actor = build_actor(s, user, org_id, via="bench")
                assert actor is not None
                aware = NOW - timedelta(minutes=30)
                inc = service.create_incident(
                    s,
                    actor,
                    IncidentCreate(
                        title="Bench write", severity=Severity.SEV3, risk_domain=RiskDomain.OTHER, aware_at=aware
                    ),
                )
                service.change_status(
                    s, actor, inc, TransitionIn(status=IncidentStatus.TRIAGED, at=aware + timedelta(minutes=5))
                )
            samples[on].append((time.perf_counter() - t) * 1000)
        finally:
            if not on:
                for name, fn in _SKETCH_EVENTS:
                    event.listen(Incident, name, fn)
    return statistics.median(samples[True]), statistics.median(samples[False])


def _time(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()  # warm the plan and the cache
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--orgs", type=int, default=40)
    parser.add_argument("--measured", type=int, default=12_000, help="incidents of the measured org")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    with scratch_database(args.admin_url, "sf_bench_response", keep=args.keep) as url:
        facts = load(url, args.incidents, args.orgs, min(args.measured, args.incidents))
        print(
            f"loaded {facts['incidents']:,} incidents over {args.orgs} org(s), "
            f"{facts['timeline']:,} timeline entries, "
            f"{facts['participants']:,} participants, {facts['actions']:,} actions "
            f"in {facts['load_seconds']:.1f} s"
        )
        engine = make_engine(url, poolclass=NullPool)
        with Session(engine) as s:
            t = time.perf_counter()
            read = rollup.rebuild(s)  # the bulk load went around the ORM, whose events keep the sketches
            s.commit()
            sketch_rows = s.execute(text("SELECT count(*) FROM response_metric_rollup")).scalar_one()
            print(
                f"rebuilt the response-time sketches from {read:,} incidents in {time.perf_counter() - t:.1f} s "
                f"({sketch_rows:,} rows; not timed below)"
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE response_metric_rollup")
        with Session(engine) as s:
            from signalfire.access.models import User

            user = s.get(User, facts["admin_id"])
            assert user is not None
            actor = build_actor(s, user, facts["org_id"], via="bench")
            assert actor is not None
            mine = s.execute(
                text(
                    "SELECT count(*) FILTER (WHERE status <> 'closed'), count(*) FROM response_incident "
                    "WHERE org_id = :o"
                ),
                {"o": facts["org_id"]},
            ).one()
            rows = stats.board(s, actor)
            print(f"measured org: {mine[1]:,} incidents, {mine[0]:,} open; board shows {len(rows)}")
            windows = {
                "last 30 days": (NOW - timedelta(days=30), NOW + timedelta(seconds=1)),
                "last 12 months": (NOW - timedelta(days=365), NOW + timedelta(seconds=1)),
                "all 3 years": (NOW - timedelta(days=4 * 365), NOW + timedelta(seconds=1)),
            }
            results = {"open-incident board (200 rows)": _time(lambda: stats.board(s, actor), args.runs)}
            for label, (start, end) in windows.items():
                served = stats.response_metrics(s, actor, start, end)
                exact = stats.response_metrics(s, actor, start, end, exact_limit=10**9)
                sketch = stats.response_metrics(s, actor, start, end, exact_limit=0)
                counted = exact.overall[Measure.ACKNOWLEDGE].count if exact.overall else 0
                print(
                    f"metrics, {label}: {counted:,} incidents measured, {exact.drills_excluded:,} drills excluded; "
                    f"served {'from the sketches' if served.approximate else 'exactly'}; sketch vs exact: largest "
                    f"relative difference {_largest_difference(sketch, exact):.3%} "
                    f"(bound {rollup.RELATIVE_ACCURACY:.3%} or 1 s)"
                )
                kind = "sketch" if served.approximate else "exact"
                results[f"metrics, {label} (served: {kind})"] = _time(
                    partial(stats.response_metrics, s, actor, start, end), args.runs
                )
                other = 0 if not served.approximate else 10**9
                results[f"  for comparison: {label}, {'sketch' if other == 0 else 'exact'}"] = _time(
                    partial(stats.response_metrics, s, actor, start, end, exact_limit=other), args.runs
                )
        with_sketch, without = _write_cost(engine, facts["org_id"], facts["admin_id"])
        engine.dispose()
        print(f"\n{'query':52} {'median ms':>10} {'p95 ms':>8}  vs {LIMIT_MS:.0f} ms limit")
        for name, (median, p95) in results.items():
            print(
                f"{name:52} {median:10.2f} {p95:8.2f}  {median / LIMIT_MS:.2f}x {'OK' if median < LIMIT_MS else 'OVER'}"
            )
        print(
            f"\nwrite cost: open an incident and triage it (service calls, one commit), median of 100 each: "
            f"{with_sketch:.2f} ms with the sketch events, {without:.2f} ms without ({with_sketch / without:.2f}x)"
        )


if __name__ == "__main__":
    main()

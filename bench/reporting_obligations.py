"""Benchmark: compute and store reporting obligations for 100,000 incidents across every regime, then
time the deadline board, on PostgreSQL.

    .venv/bin/python bench/reporting_obligations.py [--incidents 100000] [--orgs 10] [--measured 20000]
        [--workers 2] [--runs 50] [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--keep]

Builds a scratch database by the real migrations and bulk-loads (raw executemany) INCIDENTS incidents over
ORGS frontier developers, MEASURED of them in the org whose board is timed, each with a current
assessment under one regime (every regime file in turn, each incident in one class chosen at random, a
fifth also with the regime's concurrent reports, a third resolved), with awareness times over the last
120 days so that some clocks are overdue, some running and some waiting.

Timed: the obligations of every incident computed by the one pure deadline function
(``deadlines.compute_obligations``), turned into rows by the same ``obligations.new_row_values`` the
service uses, and stored in batches by ``bulk.store_new`` (COPY FROM STDIN), split over
WORKERS processes (each its own connection and transaction); limit 10 s. Then ``obligations.board`` (the org's open
obligations, 200 rows, soonest first, plus its four counts, the policy inside the SQL) RUNS times; limit
50 ms median. Loopback only; the scratch database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _scratch import scratch_database  # bench/ is on sys.path when run as a script
from sqlalchemy import insert, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from signalfire.access.models import OrgKind, Role
from signalfire.access.service import add_member, build_actor, create_org, create_user
from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.reporting import bulk, obligations
from signalfire.reporting.models import Assessment, Obligation
from signalfire.reporting.rules import catalog
from signalfire.reporting.rules.assessment_engine import AssessmentResult, assess
from signalfire.reporting.rules.deadlines import compute_obligations
from signalfire.reporting.rules.regime_schema import Regime, criterion_refs
from signalfire.response.models import Incident
from signalfire.response.vocab import IncidentStatus, RiskDomain, Severity

COMPUTE_LIMIT_S = 10.0
BOARD_LIMIT_MS = 50.0
BATCH = 5_000
NOW = datetime.now(UTC).replace(microsecond=0)
# Events that follow from reports or records; everything else a regime reads is recorded at awareness.
DERIVED = {"initial_report_sent", "last_report_sent", "documented", "resolved", "handling_ended"}


@dataclass(frozen=True)
class Job:
    """One incident's inputs to the deadline function."""

    incident_id: uuid.UUID
    org_id: uuid.UUID
    assessment_id: uuid.UUID
    regime_key: tuple[str, str]
    result: AssessmentResult
    events: dict[str, datetime | None]


def _regimes() -> list[Regime]:
    return [versions[-1] for versions in catalog.regimes().values()]


def _answers(regime: Regime, rng: random.Random) -> dict[str, str]:
    """Yes to what one class (chosen at random) needs, and sometimes to a concurrent report's criterion."""
    cls = rng.choice(regime.classes)
    yes = {ref for ref, _ in criterion_refs(cls.when)}
    if regime.reports.concurrent and rng.random() < 0.2:
        yes |= {ref for ref, _ in criterion_refs(rng.choice(regime.reports.concurrent).when)}
    return {q: "yes" if q in yes else "no" for q in regime.question_ids()}


def plan(
    n: int, orgs: list[tuple[uuid.UUID, uuid.UUID]], measured: int, seed: int = 2026
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Job]]:
    rng = random.Random(seed)
    regimes = _regimes()
    cache: dict[tuple[str, tuple[tuple[str, str], ...]], AssessmentResult] = {}
    incidents, assessments, jobs = [], [], []
    for k in range(n):
        org_id, user_id = orgs[0] if k < measured or len(orgs) == 1 else orgs[1 + k % (len(orgs) - 1)]
        regime = regimes[k % len(regimes)]
        aware = NOW - timedelta(seconds=rng.randint(600, 120 * 86400))
        resolved = aware + timedelta(hours=rng.randint(2, 40 * 24)) if rng.random() < 0.33 else None
        resolved = resolved if resolved is not None and resolved < NOW else None
        incident_id, assessment_id = uuid.uuid4(), uuid.uuid4()
        incidents.append(
            {
                "id": incident_id,
                "org_id": org_id,
                "reference": f"INC-{aware.year}-{k:06d}",
                "title": f"Incident {k}",
                "summary": "",
                "severity": rng.choice(list(Severity)),
                "risk_domain": rng.choice(list(RiskDomain)),
                "status": IncidentStatus.RESOLVED if resolved else IncidentStatus.TRIAGED,
                "is_drill": False,
                "affected_models": [],
                "occurred_at": aware - timedelta(hours=1),
                "aware_at": aware,
                "reported_at": aware,
                "triaged_at": aware,
                "contained_at": None,
                "mitigated_at": None,
                "resolved_at": resolved,
                "closed_at": None,
                "status_changed_at": resolved or aware,
                "source": None,
                "created_at": aware,
                "updated_at": resolved or aware,
                "created_by": user_id,
            }
        )
        answers = _answers(regime, rng)
        key = (regime.id, tuple(sorted(answers.items())))
        if key not in cache:
            cache[key] = assess(regime, answers)  # type: ignore[arg-type]
        result = cache[key]
        assessments.append(
            {
                "id": assessment_id,
                "org_id": org_id,
                "incident_id": incident_id,
                "regime_id": regime.id,
                "regime_version": regime.version,
                "version": 1,
                "is_current": True,
                "answers": answers,
                "facts": {},
                "applicability": "yes",
                "missing_facts": [],
                "outcome": result.outcome,
                "classes": list(result.classes),
                "possible_classes": list(result.possible_classes),
                "concurrent_reports": list(result.concurrent_reports),
                "possible_concurrent_reports": list(result.possible_concurrent_reports),
                "missing": list(result.missing),
                "engine_rationale": list(result.rationale),
                "rationale": "",
                "incident_snapshot": {},
                "assessed_at": aware + timedelta(minutes=30),
                "assessed_by": user_id,
                "assessed_by_label": "Bench",
            }
        )
        events: dict[str, datetime | None] = {
            e: aware + timedelta(minutes=rng.randint(0, 90)) for e in regime.referenced_events() if e not in DERIVED
        }
        events.update({"occurred": aware - timedelta(hours=1), "aware_of_incident": aware, "resolved": resolved})
        jobs.append(Job(incident_id, org_id, assessment_id, (regime.id, regime.version), result, events))
    return incidents, assessments, jobs


def _batched(rows: list[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def load(url: str, orgs: int, n: int, measured: int) -> tuple[list[Job], uuid.UUID, uuid.UUID, float]:
    engine = make_engine(url, poolclass=NullPool)
    migrate.upgrade(engine)
    people: list[tuple[uuid.UUID, uuid.UUID]] = []
    with unit_of_work(session_factory(engine)) as s:
        for o in range(orgs):
            org = create_org(
                s,
                slug=f"bench-dev-{o}",
                name=f"Bench Developer {o}",
                kind=OrgKind.frontier_developer,
                jurisdictions=["EU", "US-CA", "US-NY", "CN", "US"],
            )
            user = create_user(s, email=f"reporter@dev{o}.bench.example", display_name="Reporter", password=None)
            add_member(s, org=org, user=user, role=Role.admin)
            people.append((org.id, user.id))
    started = time.perf_counter()
    incidents, assessments, jobs = plan(n, people, measured)
    with engine.begin() as conn:
        for batch in _batched(incidents):
            conn.execute(insert(Incident.__table__), batch)  # type: ignore[arg-type]
        for batch in _batched(assessments):
            conn.execute(insert(Assessment.__table__), batch)  # type: ignore[arg-type]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    return jobs, people[0][0], people[0][1], time.perf_counter() - started


# -- the timed part: compute with the pure function, store with COPY ---------------------------------------

_JOBS: list[Job] = []  # set before forking; workers read their slice (copy-on-write)


def _backend_cpu(pid: int) -> float:
    """CPU seconds a local PostgreSQL backend has used (user + system), from /proc; 0 if unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _executemany(conn: Any, rows: list[dict[str, Any]]) -> int:
    """The comparison: the driver's executemany (psycopg pipelines it), one INSERT per row."""
    conn.execute(insert(Obligation), rows)
    return len(rows)


WRITERS: dict[str, Callable[[Any, list[dict[str, Any]]], int]] = {
    "copy": bulk.store_new,
    "executemany": _executemany,
}


def _work(args: tuple[str, int, int, str]) -> tuple[int, float, float, float, float]:
    """Compute and store one slice; returns (rows, compute s, store s, own CPU s, backend CPU s)."""
    url, start, stop, writer = args
    store = WRITERS[writer]
    regimes = {(r.id, r.version): r for versions in catalog.regimes().values() for r in versions}
    engine = make_engine(url, poolclass=NullPool)
    computed = stored = 0.0
    count = 0
    rows: list[dict[str, Any]] = []
    cpu = time.process_time()
    with engine.begin() as conn:
        backend = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        backend_cpu = _backend_cpu(backend)
        for job in _JOBS[start:stop]:
            t = time.perf_counter()
            specs = compute_obligations(regimes[job.regime_key], job.result, job.events)
            rows += [
                obligations.new_row_values(
                    spec, org_id=job.org_id, incident_id=job.incident_id, assessment_id=job.assessment_id, now=NOW
                )
                for spec in specs
            ]
            computed += time.perf_counter() - t
            if len(rows) >= BATCH or job is _JOBS[stop - 1]:
                t = time.perf_counter()
                count += store(conn, rows)
                stored += time.perf_counter() - t
                rows = []
        backend_cpu = _backend_cpu(backend) - backend_cpu
    engine.dispose()
    return count, computed, stored, time.process_time() - cpu, backend_cpu


def compute_and_store(url: str, jobs: list[Job], workers: int, writer: str = "copy") -> tuple[int, float, list[float]]:
    global _JOBS
    _JOBS = jobs
    step = -(-len(jobs) // workers)
    slices = [(url, i, min(i + step, len(jobs)), writer) for i in range(0, len(jobs), step)]
    started = time.perf_counter()
    if workers == 1:
        results = [_work(slices[0])]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_work, slices)
    wall = time.perf_counter() - started
    return sum(r[0] for r in results), wall, [sum(r[i] for r in results) for i in range(1, 5)]


def _time(fn: Any, runs: int) -> tuple[float, float]:
    fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--measured", type=int, default=20_000, help="incidents of the org whose board is timed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--compare", action="store_true", help="also time executemany (one INSERT per row) first, for comparison"
    )
    args = parser.parse_args()

    with scratch_database(args.admin_url, "sf_bench_reporting", keep=args.keep) as url:
        catalog.regimes()  # load the files once, before forking
        jobs, org_id, user_id, load_s = load(url, args.orgs, args.incidents, min(args.measured, args.incidents))
        print(
            f"loaded {len(jobs):,} incidents with one assessment each over {args.orgs} org(s), "
            f"{len(_regimes())} regimes, in {load_s:.1f} s (not timed)"
        )
        cores = os.cpu_count() or 1
        # The comparison first, then emptied, so the served path (COPY) runs last and leaves the board's data.
        writers = (["executemany"] if args.compare else []) + ["copy"]
        for writer in writers:
            load_before = os.getloadavg()[0]
            count, wall, (computed, stored, own_cpu, db_cpu) = compute_and_store(url, jobs, args.workers, writer)
            print(
                f"[{writer}] computed and stored {count:,} obligations for {len(jobs):,} incidents in {wall:.2f} s "
                f"wall ({args.workers} worker(s); compute {computed:.2f} s, store {stored:.2f} s, summed over "
                f"workers) vs {COMPUTE_LIMIT_S:.0f} s limit: {wall / COMPUTE_LIMIT_S:.2f}x "
                f"{'OK' if wall < COMPUTE_LIMIT_S else 'OVER'}"
            )
            print(
                f"[{writer}] CPU used: workers {own_cpu:.2f} s + their PostgreSQL backends {db_cpu:.2f} s = "
                f"{own_cpu + db_cpu:.2f} s, i.e. {(own_cpu + db_cpu) / cores:.2f} s on {cores} idle cores "
                f"(load average when the timed part started: {load_before:.1f})"
            )
            if writer != writers[-1]:
                engine = make_engine(url, poolclass=NullPool)
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("TRUNCATE reporting_obligation CASCADE")  # only empty tables refer to it here
                    conn.exec_driver_sql("VACUUM ANALYZE reporting_obligation")
                engine.dispose()
        engine = make_engine(url, poolclass=NullPool)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE reporting_obligation")
        with Session(engine) as s:
            from signalfire.access.models import User

            user = s.get(User, user_id)
            assert user is not None
            actor = build_actor(s, user, org_id, via="bench")
            assert actor is not None
            mine = s.execute(
                text("SELECT count(*) FILTER (WHERE is_open), count(*) FROM reporting_obligation WHERE org_id = :o"),
                {"o": org_id},
            ).one()
            b = obligations.board(s, actor)
            print(
                f"measured org: {mine[1]:,} obligations, {mine[0]:,} open ({b.overdue:,} overdue, {b.due_7d:,} "
                f"due within 7 days, {b.waiting:,} waiting); the board shows {len(b.rows)}"
            )
            median, p95 = _time(lambda: obligations.board(s, actor), args.runs)
        engine.dispose()
        print(
            f"deadline board (200 rows + 4 counts): median {median:.2f} ms, p95 {p95:.2f} ms vs "
            f"{BOARD_LIMIT_MS:.0f} ms limit: {median / BOARD_LIMIT_MS:.2f}x "
            f"{'OK' if median < BOARD_LIMIT_MS else 'OVER'}"
        )


if __name__ == "__main__":
    main()

"""HTTP intake (the downstream reports API) beside raw inserts of the same rows, in one run.

    .venv/bin/python bench/intake_http.py [--requests 5000] [--clients 8] [--rounds 3] [--stability 0]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres | --sqlite]

One scratch database (the real migrations; PostgreSQL, or a SQLite file with --sqlite), a receiving org with
its channel open and one downstream API user (every client sends as that one user: the case that used to
queue on one rate-limit row). One uvicorn server with the embedded worker, which places what arrives
(`--worker-process`: the server without it, and a `signalfire worker` process beside it, as deployed).
Each round, alternating which side goes first:

* http: --clients threads with a keep-alive connection each send --requests reports in all
  (`POST /api/v1/intake/reports`, an Idempotency-Key each; texts drawn from 300 stories, so clustering has
  real work), timed to the last 201;
* raw: the same number of rows of the same shape inserted by as many threads with raw psycopg (or
  `sqlite3`), one INSERT and one commit per row, into `bench_raw_signal` (a copy of `intake_signal` with
  its indexes).

Reported per round and as medians: requests or rows per second, p50 and p99 latency, the ratio, the API
server's CPU per request (from /proc; steadier than wall-clock time on a shared machine), and with
`--worker-process` the worker's CPU per signal it placed; from the http rounds, receipt to clustered
(the signal's received_at to its audit entry, written by the worker in the placement transaction)
p50/p95/max, and how long the backlog took to drain after the last request.
`--group-commit-probe` adds a third side: raw inserts where one writer thread commits whatever rows the
clients queued meanwhile in one transaction and then answers each (group commit), to see whether that
would pay over one commit per row at this concurrency. `--floor-probe` adds a bare ASGI app
(`_floor_app.py`) under the same uvicorn that only inserts the row and commits: the floor under any HTTP
door in this stack. `--stability N` then sends N more requests to a fresh database, and reports the rate of
each successive 5,000 (tables growing from empty).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import queue
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _scratch import scratch_database

HERE = Path(__file__).resolve().parent
SLUG = "bench-receiver"
MODELS = ["Nimbus-7", "Cirrus-3", "Stratus-2", "Aurora-XL", "Zephyr-1"]
VERBS = ["leaks", "reveals", "prints", "exposes", "discloses", "repeats"]
THINGS = [
    "its system prompt", "customer addresses", "API keys", "internal tool schemas", "training snippets",
    "billing records", "moderation rules", "hidden instructions", "chat histories", "access tokens",
]  # fmt: skip
FILLER = [
    "observed",
    "reproduced",
    "again",
    "yesterday",
    "under",
    "load",
    "during",
    "testing",
    "in",
    "production",
    "after",
    "the",
    "update",
    "when",
    "asked",
    "politely",
    "with",
    "a",
    "long",
    "context",
    "through",
    "the",
    "widget",
    "via",
    "the",
    "public",
    "API",
    "on",
    "mobile",
    "in",
    "three",
    "of",
    "ten",
    "attempts",
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stories(count: int = 300) -> list[tuple[str, str]]:
    rnd = random.Random(7)
    out = []
    for k in range(count):
        model, verb, thing = rnd.choice(MODELS), rnd.choice(VERBS), rnd.choice(THINGS)
        marker = f"case{k:03d} ticket-{rnd.randrange(10**6):06d}"
        out.append((f"{model} {verb} {thing}", f"{model} {verb} {thing} ({marker})."))
    return out


def report(rnd: random.Random, told: list[tuple[str, str]]) -> dict[str, str]:
    title, lead = rnd.choice(told)
    extra = " ".join(rnd.sample(FILLER, 8))
    return {"org": SLUG, "title": title, "description": f"{lead} It was {extra}. Reference {rnd.randrange(10**9)}."}


def seed(url: str) -> str:
    from signalfire.access import service
    from signalfire.access.models import OrgKind, Role
    from signalfire.core.db import migrate
    from signalfire.core.db.session import make_engine, session_factory, unit_of_work
    from signalfire.intake.models import IntakeSettings

    engine = make_engine(url)
    migrate.upgrade(engine)
    with unit_of_work(session_factory(engine)) as session:
        receiver = service.create_org(session, slug=SLUG, name="Bench receiver", kind=OrgKind.frontier_developer)
        session.add(IntakeSettings(org_id=receiver.id, public_form_enabled=True, model_names=["Nimbus-7"]))
        sender = service.create_org(session, slug="bench-sender", name="Bench sender", kind=OrgKind.downstream)
        user = service.create_user(session, email="sender@bench.example", display_name="Sender", password=None)
        service.add_member(session, org=sender, user=user, role=Role.admin)
        actor = service.build_actor(session, user, sender.id, via="session")
        assert actor is not None
        token = service.create_token(session, actor=actor, name="bench", scopes=["*"], expires_in_days=1).secret
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "CREATE TABLE bench_raw_signal (LIKE intake_signal INCLUDING DEFAULTS INCLUDING INDEXES)"
            )
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("CREATE TABLE bench_raw_signal AS SELECT * FROM intake_signal WHERE 0")
            conn.exec_driver_sql("CREATE UNIQUE INDEX ux_bench_raw_ref ON bench_raw_signal (reference)")
            conn.exec_driver_sql("CREATE INDEX ix_bench_raw_queue ON bench_raw_signal (org_id, state, received_at)")
            conn.exec_driver_sql("CREATE INDEX ix_bench_raw_hash ON bench_raw_signal (org_id, text_hash)")
    engine.dispose()
    return token


@dataclass
class Server:
    base_port: int
    process: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        for proc in (self.process, self.worker):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)


def start(url: str, processes: int = 1, worker_process: bool = False) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "SIGNALFIRE_DATABASE_URL": url,
        "SIGNALFIRE_ENVIRONMENT": "development",
        "SIGNALFIRE_EMBEDDED_WORKER": "false" if worker_process else "true",
        # Counted as always, never refused: the bench measures throughput, not the limit.
        "SIGNALFIRE_LIMITS__PUBLIC_SUBMISSIONS_PER_MINUTE": "1000000000",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "signalfire.web.app:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log", "--workers", str(processes)],
        env=env,
    )  # fmt: skip
    wait_up(process, port, "/healthz")
    worker = None
    if worker_process:  # the deployment README describes: API processes, and `signalfire worker` beside them
        worker = subprocess.Popen(
            [sys.executable, "-c", "from signalfire.cli import main; main()", "worker"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    return Server(port, process, worker)


def start_floor(url: str, org_id: str) -> Server:
    """The bare ASGI door of `_floor_app` under the same uvicorn (see --floor-probe)."""
    port = free_port()
    env = {
        **os.environ,
        "SIGNALFIRE_FLOOR_DSN": url.replace("postgresql+psycopg://", "postgresql://"),
        "SIGNALFIRE_FLOOR_ORG": org_id,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "_floor_app:create_app", "--app-dir", str(HERE),
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        env=env,
    )  # fmt: skip
    wait_up(process, port, "/")
    return Server(port, process)


def wait_up(process: subprocess.Popen[bytes], port: int, path: str, seconds: float = 60) -> None:
    """Until the server answers 200 on `path`; a server that never does is killed, not left behind."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server on port {port} did not start")


def cpu_seconds(pid: int) -> float:
    """CPU (user + system) of a process and its live children, from /proc: steadier than wall-clock time
    on a shared machine, and it counts the server's work only (not the client's, not PostgreSQL's)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{p}/task/{p}/children") as f:
                pids += [int(c) for c in f.read().split()]
        except OSError:  # gone meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


@dataclass
class Run:
    rate: float
    p50: float
    p99: float
    done_at: list[float]  # monotonic completion times, for rates over successive slices


def _summary(latencies: list[float], started: float, done_at: list[float]) -> Run:
    flat = sorted(latencies)
    elapsed = max(done_at) - started
    return Run(
        len(flat) / elapsed, flat[len(flat) // 2] * 1000, flat[int(len(flat) * 0.99) - 1] * 1000, sorted(done_at)
    )


def run_clients(clients: int, total: int, work: Callable[[int], Callable[[int], None]]) -> Run:
    """`clients` threads share `total` operations; work(i) gives thread i its operation (called with n)."""
    counter = iter(range(total))
    lock = threading.Lock()
    latencies: list[float] = []
    done_at: list[float] = []
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def client(i: int) -> None:
        op = work(i)
        mine: list[float] = []
        ends: list[float] = []
        barrier.wait()
        try:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    break
                t0 = time.perf_counter()
                op(n)
                t1 = time.perf_counter()
                mine.append(t1 - t0)
                ends.append(t1)
        except BaseException as exc:  # report, do not hang the others
            errors.append(exc)
        with lock:
            latencies.extend(mine)
            done_at.extend(ends)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed: {errors[0]!r}")
    return _summary(latencies, started, done_at)


def http_side(port: int, token: str, clients: int, total: int, seed_: int) -> Run:
    told = stories()

    def work(i: int) -> Callable[[int], None]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        rnd = random.Random(seed_ * 1000 + i)

        def op(n: int) -> None:
            body = json.dumps(report(rnd, told))
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            conn.request("POST", "/api/v1/intake/reports", body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            if resp.status != 201:
                raise RuntimeError(f"HTTP {resp.status}: {payload[:300]!r}")

        return op

    return run_clients(clients, total, work)


def raw_row(rnd: random.Random, told: list[tuple[str, str]], org_id: str) -> dict[str, Any]:
    """The row the API stores for one report, built without the app (same columns, same sizes)."""
    r = report(rnd, told)
    text = r["description"]
    now = datetime.now(UTC)
    return {
        "id": str(uuid.uuid4()),
        "org_id": org_id,
        "reference": f"SF-R-{uuid.uuid4().hex[:4].upper()}-{uuid.uuid4().hex[:4].upper()}",
        "source_kind": "downstream_api",
        "title": r["title"],
        "text": text,
        "text_hash": hashlib.sha256(f"{r['title']}\n{text}".lower().encode()).hexdigest(),
        "match_text": f"{r['title']}\n{text}".lower(),
        "raw_payload": json.dumps({**r, "attachments": []}),
        "received_at": now,
        "updated_at": now,
        "state": "new",
        "likely_severity": "sev4",
    }


COLUMNS = (
    "id, org_id, reference, source_kind, title, text, text_hash, match_text, raw_payload, received_at, updated_at, "
    "state, likely_severity, authors, severity_reasons, matched_models, relevance, update_count, anonymous, "
    "placement_pending"
)


def raw_pg_side(url: str, clients: int, total: int, seed_: int, org_id: str) -> Run:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    told = stories()
    sql = (
        f"INSERT INTO bench_raw_signal ({COLUMNS}) VALUES (%(id)s, %(org_id)s, %(reference)s, %(source_kind)s, "
        "%(title)s, %(text)s, %(text_hash)s, %(match_text)s, %(raw_payload)s, %(received_at)s, %(updated_at)s, "
        "%(state)s, %(likely_severity)s, '[]', '[]', '[]', 0, 0, false, false)"
    )

    def work(i: int) -> Callable[[int], None]:
        conn = psycopg.connect(dsn)
        rnd = random.Random(seed_ * 1000 + i)

        def op(n: int) -> None:
            with conn.cursor() as cur:
                cur.execute(sql, raw_row(rnd, told, org_id))
            conn.commit()

        return op

    return run_clients(clients, total, work)


def group_commit_pg_side(url: str, clients: int, total: int, seed_: int, org_id: str) -> Run:
    """Clients hand their row to one writer, which inserts all rows queued meanwhile in one transaction,
    commits, and then answers each: group commit at the application's door."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    told = stories()
    sql = (
        f"INSERT INTO bench_raw_signal ({COLUMNS}) VALUES (%(id)s, %(org_id)s, %(reference)s, %(source_kind)s, "
        "%(title)s, %(text)s, %(text_hash)s, %(match_text)s, %(raw_payload)s, %(received_at)s, %(updated_at)s, "
        "%(state)s, %(likely_severity)s, '[]', '[]', '[]', 0, 0, false, false)"
    )
    inbox: queue.Queue[tuple[dict[str, Any], threading.Event] | None] = queue.Queue()
    sizes: list[int] = []

    def writer() -> None:
        conn = psycopg.connect(dsn)
        while True:
            first = inbox.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < 64:
                try:
                    item = inbox.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    inbox.put(None)
                    break
                batch.append(item)
            with conn.cursor() as cur:
                cur.executemany(sql, [row for row, _ in batch])
            conn.commit()
            sizes.append(len(batch))
            for _, done in batch:
                done.set()
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()

    def work(i: int) -> Callable[[int], None]:
        rnd = random.Random(seed_ * 1000 + i)

        def op(n: int) -> None:
            done = threading.Event()
            inbox.put((raw_row(rnd, told, org_id), done))
            done.wait()

        return op

    try:
        return run_clients(clients, total, work)
    finally:
        inbox.put(None)
        thread.join()
        if sizes:
            print(f"    group commit: {len(sizes)} commits, {statistics.mean(sizes):.1f} rows each on average")


def raw_sqlite_side(path: str, clients: int, total: int, seed_: int, org_id: str) -> Run:
    told = stories()
    sql = (
        f"INSERT INTO bench_raw_signal ({COLUMNS}) VALUES (:id, :org_id, :reference, :source_kind, :title, :text, "
        ":text_hash, :match_text, :raw_payload, :received_at, :updated_at, :state, :likely_severity, '[]', '[]', "
        "'[]', 0, 0, 0, 0)"
    )

    def work(i: int) -> Callable[[int], None]:
        # The app's own settings: WAL, synchronous=NORMAL, a busy timeout, BEGIN IMMEDIATE per transaction.
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        rnd = random.Random(seed_ * 1000 + i)

        def op(n: int) -> None:
            row = raw_row(rnd, told, org_id.replace("-", ""))
            row["received_at"] = row["updated_at"] = row["received_at"].isoformat()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(sql, row)
            conn.execute("COMMIT")

        return op

    return run_clients(clients, total, work)


def placement_lag(url: str, since: datetime) -> tuple[list[float], int]:
    """Seconds from each signal's receipt to its audit entry (written when the worker placed it)."""
    from sqlalchemy import select

    from signalfire.audit.models import AuditEvent
    from signalfire.core.db.session import make_engine, session_factory
    from signalfire.intake.models import Signal

    engine = make_engine(url)
    with session_factory(engine)() as session:
        received = {
            sid: at
            for sid, at in session.execute(select(Signal.id, Signal.received_at).where(Signal.received_at >= since))
        }
        placed = session.execute(
            select(AuditEvent.target_id, AuditEvent.occurred_at).where(
                AuditEvent.action == "intake.signal.receive", AuditEvent.occurred_at >= since
            )
        ).all()
        lags = [(at - received[uuid.UUID(t)]).total_seconds() for t, at in placed if uuid.UUID(str(t)) in received]
        waiting = len(received) - len(lags)
    engine.dispose()
    return sorted(lags), waiting


def wait_drained(url: str, timeout: float = 600) -> float:
    from sqlalchemy import func, select

    from signalfire.core.db.session import make_engine
    from signalfire.intake.models import Signal

    engine = make_engine(url)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            with engine.connect() as conn:
                left = conn.execute(select(func.count()).where(Signal.placement_pending.is_(True))).scalar_one()
            if not left:
                return time.perf_counter() - started
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise RuntimeError("the placement backlog did not drain")


def org_id_of(url: str) -> str:
    from sqlalchemy import select

    from signalfire.access.models import Organization
    from signalfire.core.db.session import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        org_id = conn.execute(select(Organization.id).where(Organization.slug == SLUG)).scalar_one()
    engine.dispose()
    return str(org_id)


@contextmanager
def database(args: argparse.Namespace, name: str) -> Iterator[str]:
    if args.sqlite:
        with tempfile.TemporaryDirectory(prefix="sf-bench-intake-") as tmp:
            yield f"sqlite:///{tmp}/{name}.db"
    else:
        with scratch_database(args.postgres, f"{name}_{os.getpid()}") as url:
            yield url


def pct(xs: list[float], q: float) -> float:
    return xs[max(0, int(len(xs) * q) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead, against raw sqlite3")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stability", type=int, default=0, help="then N requests to a fresh database")
    parser.add_argument("--group-commit-probe", action="store_true")
    parser.add_argument(
        "--floor-probe", action="store_true",
        help="a third side: a bare ASGI app under the same uvicorn doing one INSERT and commit per request",
    )  # fmt: skip
    parser.add_argument("--processes", type=int, default=1, help="uvicorn worker processes (each with its worker)")
    parser.add_argument(
        "--worker-process", action="store_true",
        help="run the outbox worker (which places signals) as its own `signalfire worker` process, not embedded",
    )  # fmt: skip
    args = parser.parse_args()
    print(f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}, {'SQLite' if args.sqlite else 'PostgreSQL'}")  # fmt: skip
    if args.rounds:
        compare(args)
    if args.stability:
        stability(args)


def compare(args: argparse.Namespace) -> None:
    results: dict[str, list[Run]] = {}
    with database(args, "sf_bench_intake") as url:
        token = seed(url)
        org_id = org_id_of(url)
        server = start(url, args.processes, args.worker_process)
        floor = start_floor(url, org_id) if args.floor_probe and not args.sqlite else None
        try:
            sides: dict[str, Callable[[int], Run]] = {
                "http": lambda r: http_side(server.base_port, token, args.clients, args.requests, r),
                "raw": (
                    (lambda r: raw_sqlite_side(url.removeprefix("sqlite:///"), args.clients, args.requests, r, org_id))
                    if args.sqlite
                    else (lambda r: raw_pg_side(url, args.clients, args.requests, r, org_id))
                ),
            }
            if args.group_commit_probe and not args.sqlite:
                sides["group"] = lambda r: group_commit_pg_side(url, args.clients, args.requests, r, org_id)
            if floor is not None:
                sides["floor"] = lambda r: http_side(floor.base_port, token, args.clients, args.requests, r)
            http_side(server.base_port, token, args.clients, 200, 999)  # warm-up (imports, pools, first plans)
            wait_drained(url)
            lags: list[float] = []
            drains: list[float] = []
            cpu_ms: list[float] = []
            floor_cpu_ms: list[float] = []
            worker_cpu_ms: list[float] = []
            for rnd in range(args.rounds):
                names = list(sides) if rnd % 2 == 0 else list(sides)[::-1]
                for name in names:
                    since = datetime.now(UTC)
                    served_by = floor if name == "floor" and floor is not None else server
                    cpu_before = cpu_seconds(served_by.process.pid)
                    worker_before = cpu_seconds(server.worker.pid) if server.worker is not None else 0.0
                    run = sides[name](rnd + 1)
                    cpu_used = cpu_seconds(served_by.process.pid) - cpu_before
                    results.setdefault(name, []).append(run)
                    extra = ""
                    if name == "floor":
                        floor_cpu_ms.append(cpu_used / args.requests * 1000)
                        extra = f"  server CPU {floor_cpu_ms[-1]:.2f} ms/request"
                    if name == "http":
                        cpu_ms.append(cpu_used / args.requests * 1000)
                        drains.append(wait_drained(url))
                        if server.worker is not None:  # the placement's own CPU, per signal it placed
                            worker_used = cpu_seconds(server.worker.pid) - worker_before
                            worker_cpu_ms.append(worker_used / args.requests * 1000)
                        round_lags, waiting = placement_lag(url, since)
                        assert not waiting, f"{waiting} signals were not placed"
                        lags.extend(round_lags)
                        extra = (
                            f"  placed p95 {pct(round_lags, 0.95) * 1000:.0f} ms, drained {drains[-1]:.1f} s after,"
                            f" server CPU {cpu_ms[-1]:.2f} ms/request"
                            + (f", worker CPU {worker_cpu_ms[-1]:.2f} ms/signal" if worker_cpu_ms else "")
                        )
                    print(f"  round {rnd + 1} {name:5s} {run.rate:7.1f}/s  p50 {run.p50:6.1f} ms  "
                          f"p99 {run.p99:6.1f} ms  load {os.getloadavg()[0]:.2f}{extra}")  # fmt: skip
        finally:
            server.stop()
            if floor is not None:
                floor.stop()
    med = statistics.median
    print(f"\nmedians over {args.rounds} rounds of {args.requests} with {args.clients} clients:")
    for name, runs in results.items():
        print(f"  {name:5s} {med(r.rate for r in runs):7.1f}/s  p50 {med(r.p50 for r in runs):6.1f} ms  "
              f"p99 {med(r.p99 for r in runs):6.1f} ms")  # fmt: skip
    ratio = med(r.rate for r in results["http"]) / med(r.rate for r in results["raw"])
    print(f"  http / raw: {ratio:.3f}x")
    if cpu_ms:
        print(f"  server CPU per request (the API process, placement not included with --worker-process): "
              f"{med(cpu_ms):.2f} ms (median)")  # fmt: skip
    if worker_cpu_ms:
        # What keeping up would take: placing signals as fast as a door at half the raw rate takes them.
        half_raw = 0.5 * med(r.rate for r in results["raw"])
        print(f"  worker CPU per placed signal: {med(worker_cpu_ms):.2f} ms (median; PostgreSQL's share not"
              f" included); placing 0.5 x raw = {half_raw:.0f} signals/s would take"
              f" {half_raw * med(worker_cpu_ms) / 1000:.2f} cores for the worker alone")  # fmt: skip
    if "floor" in results:
        floor_rate = med(r.rate for r in results["floor"])
        raw_rate = med(r.rate for r in results["raw"])
        print(f"  floor (bare ASGI, one INSERT and commit) / raw: {floor_rate / raw_rate:.3f}x;"
              f" http / floor: {med(r.rate for r in results['http']) / floor_rate:.3f}x;"
              f" floor server CPU {med(floor_cpu_ms):.2f} ms/request (median)")  # fmt: skip
    if "group" in results:
        print(f"  group commit / one commit per row: "
              f"{med(r.rate for r in results['group']) / med(r.rate for r in results['raw']):.2f}x")  # fmt: skip
    if lags:
        lags.sort()  # each round's are sorted, not their concatenation
        print(f"  receipt to clustered over {len(lags)} signals: p50 {pct(lags, 0.5) * 1000:.0f} ms, "
              f"p95 {pct(lags, 0.95) * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms; backlog drained "
              f"{med(drains):.1f} s (median) after the last request")  # fmt: skip


def stability(args: argparse.Namespace) -> None:
    slice_ = 5000
    with database(args, "sf_bench_intake_growth") as url:
        token = seed(url)
        server = start(url, args.processes, args.worker_process)
        try:
            since = datetime.now(UTC)
            run = http_side(server.base_port, token, args.clients, args.stability, 4242)
            wait_drained(url)
            lags, waiting = placement_lag(url, since)
        finally:
            server.stop()
    ends = run.done_at
    rates = []
    for start_ in range(0, len(ends) - slice_ + 1, slice_):
        part = ends[start_ : start_ + slice_]
        before = ends[start_ - 1] if start_ else part[0] - (part[1] - part[0])
        rates.append(slice_ / (part[-1] - before))
    print(f"\nstability: {args.stability} requests into an empty database, {args.clients} clients: "
          f"{run.rate:.1f}/s overall, p99 {run.p99:.1f} ms, load {os.getloadavg()[0]:.2f}")  # fmt: skip
    print("  per 5,000: " + ", ".join(f"{r:.0f}" for r in rates))
    if len(rates) >= 2:
        print(f"  last / first: {rates[-1] / rates[0]:.2f}")
    print(f"  receipt to clustered: p50 {pct(lags, 0.5) * 1000:.0f} ms, p95 {pct(lags, 0.95) * 1000:.0f} ms, "
          f"max {lags[-1] * 1000:.0f} ms ({waiting} unplaced)")  # fmt: skip


if __name__ == "__main__":
    main()

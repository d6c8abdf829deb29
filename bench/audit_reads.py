"""Audited detail reads by another org, beside the same reads with the audit log off, on PostgreSQL.

    .venv/bin/python bench/audit_reads.py [--objects 300] [--seconds 8] [--rounds 3] [--clients 1,4,16]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

One scratch database (the real migrations), two orgs: one publishes --objects STIX indicators to the
members' TAXII collection, the other reads them. Two uvicorn servers on loopback over that database, side
by side in one run: "audited" (as shipped) and "unaudited" (`bench/_unaudited.py`: the same app with
`audit.chain.record` a no-op), both with the embedded worker (outbox, scheduler and audit sequencer
threads; the sequencer that holds the lease integrates the audited server's entries, whichever process it
runs in). For each round and each client count, the two servers get --seconds each of `GET
.../objects/{id}/` for random objects, in four slices A-B-B-A (B-A-A-B in odd rounds) so a change in the
shared machine's load during the cell falls on both alike, each slice after --warmup seconds of warm-up,
from that many client threads with a keep-alive session each, as the reader org with a declared purpose.
Reported: medians over rounds of requests/s and of the p99 latency, the audited/unaudited ratio of those
medians and the median of the per-round ratios ("paired"), and the CPU time of the two server processes
per request while each was loaded, less their idle rate (less sensitive to other jobs than throughput);
the sequencer lag (from an entry's occurred_at to the signed checkpoint that first covers it) over every
entry written during the audited runs; and the append throughput of the log alone (concurrent `record` +
commit, then one sequencer pass over what they wrote), with its CPU time per entry. Loopback only.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from _scratch import scratch_database

TAXII = "application/taxii+json;version=2.1"
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str) -> tuple[str, str]:
    from signalfire.access import service
    from signalfire.access.models import OrgKind, Role
    from signalfire.core.db import migrate
    from signalfire.core.db.session import make_engine, session_factory, unit_of_work

    engine = make_engine(url)
    migrate.upgrade(engine)
    tokens = []
    with unit_of_work(session_factory(engine)) as session:
        for label in ("writer", "reader"):
            org = service.create_org(
                session, slug=f"bench-{label}", name=f"Bench {label}", kind=OrgKind.frontier_developer,
                exchange_member=True,
            )  # fmt: skip
            user = service.create_user(session, email=f"{label}@bench.example", display_name=label, password=None)
            service.add_member(session, org=org, user=user, role=Role.admin)
            actor = service.build_actor(session, user, org.id, via="session")
            assert actor is not None
            tokens.append(
                service.create_token(session, actor=actor, name="bench", scopes=["*"], expires_in_days=1).secret
            )
    engine.dispose()
    return tokens[0], tokens[1]


def basic(email: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()


def stix_objects(count: int) -> list[dict[str, Any]]:
    green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
    when = "2026-01-01T00:00:00.000Z"
    return [
        {
            "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}", "created": when,
            "modified": when, "name": f"Jailbreak prompt family {n}", "pattern_type": "stix", "valid_from": when,
            "pattern": f"[url:value = 'https://prompts-{n}.example/jb']", "object_marking_refs": [green],
        }
        for n in range(count)
    ]  # fmt: skip


@dataclass
class Server:
    name: str
    base: str
    process: subprocess.Popen[bytes]


def start(name: str, url: str, *, audited: bool, embedded: bool = True) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "SIGNALFIRE_DATABASE_URL": url,
        "SIGNALFIRE_ENVIRONMENT": "development",
        # Both run the embedded worker (outbox, scheduler, sequencer thread): only the audit work differs.
        "SIGNALFIRE_EMBEDDED_WORKER": "true" if embedded else "false",
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    factory = "signalfire.web.app:create_app" if audited else "_unaudited:create_app"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return Server(name, base, process)
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{name} server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(urls: list[str], headers: dict[str, str], clients: int, seconds: float) -> list[float]:
    """The latencies (s) of `clients` threads reading random URLs for `seconds`."""
    stop_at = [0.0]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0]
    barrier = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        http = requests.Session()
        rnd = random.Random(i)
        barrier.wait()
        while (now := time.perf_counter()) < stop_at[0]:
            r = http.get(rnd.choice(urls), headers=headers, timeout=30)
            if r.status_code != 200:
                errors[0] += 1
            latencies[i].append(time.perf_counter() - now)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    barrier.wait()
    for t in threads:
        t.join()
    if errors[0]:
        raise RuntimeError(f"{errors[0]} requests failed")
    return [x for per in latencies for x in per]


@dataclass
class Cell:
    """One server at one client count in one round: the sum of its slices."""

    seconds: float = 0.0
    latencies: list[float] | None = None
    cpu: float = 0.0  # CPU of both server processes while this one was loaded

    def add(self, latencies: list[float], seconds: float, cpu: float) -> None:
        self.latencies = (self.latencies or []) + latencies
        self.seconds += seconds
        self.cpu += cpu

    @property
    def rate(self) -> float:
        return len(self.latencies or []) / self.seconds

    @property
    def p99(self) -> float:
        flat = sorted(self.latencies or [])
        return flat[int(len(flat) * 0.99) - 1] * 1000

    @property
    def cpu_ms(self) -> float:
        return self.cpu * 1000 / len(self.latencies or [1])


def sequencer_lag(url: str, since: datetime) -> list[float]:
    from sqlalchemy import text

    from signalfire.core.db.session import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT EXTRACT(EPOCH FROM ((SELECT min(c.created_at) FROM audit_checkpoint c"
                " WHERE c.size > e.leaf_index) - e.occurred_at)) FROM audit_event e"
                " WHERE e.occurred_at >= :since AND e.action = 'exchange.taxii.read'"
            ),
            {"since": since},
        ).scalars()
        pending = conn.execute(
            text("SELECT count(*) FROM audit_event WHERE leaf_index IS NULL AND occurred_at >= :since"),
            {"since": since},
        ).scalar_one()
    engine.dispose()
    lags = [float(x) for x in rows if x is not None]
    if pending:
        print(f"  ({pending} entries were still unsequenced when measured)")
    return lags


def backends_cpu(probe: Any) -> float:
    """CPU seconds used so far by the other PostgreSQL backends of this database (this machine's /proc).
    `probe` is an engine of its own (not the measured pool, whose connection would exclude itself)."""
    from sqlalchemy import text

    with probe.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        ).scalars()
        return sum(cpu_seconds(pid) for pid in pids if Path(f"/proc/{pid}").exists())


@dataclass
class Append:
    appended: float  # entries/s committed
    append_cpu: tuple[float, float]  # ms of CPU per entry: this process, its database backends
    integrated: float  # entries/s integrated by one sequencer drain afterwards
    integrate_cpu: tuple[float, float]
    pass_cpu: tuple[float, float]  # ms of CPU for one sequencer pass over 20 entries


def append_throughput(url: str, writers: int, seconds: float) -> Append:
    """Entries/s committed by `writers` threads (one entry per transaction), then entries/s integrated,
    each with its CPU time per entry (the servers are stopped by then: this process and its backends)."""
    from sqlalchemy.pool import NullPool

    from signalfire.audit.chain import record
    from signalfire.audit.sequencer import Sequencer
    from signalfire.core.db.session import make_engine, session_factory, unit_of_work
    from signalfire.core.settings import Settings

    engine = make_engine(url, pool_size=writers + 2)
    probe = make_engine(url, poolclass=NullPool)
    factory = session_factory(engine)
    counts = [0] * writers
    db0, cpu0 = backends_cpu(probe), time.process_time()
    stop_at = time.perf_counter() + seconds

    def writer(i: int) -> None:
        while time.perf_counter() < stop_at:
            with unit_of_work(factory) as s:
                record(s, action="bench.append", target_type="thing", target_id=str(i), summary={"n": counts[i]})
            counts[i] += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(counts)
    cpu1 = time.process_time()  # before the probe: its connection is not the writers' work
    db1 = backends_cpu(probe)
    cpu_start = time.process_time()
    sequencer = Sequencer(factory, Settings(database_url=url), holder="bench-append")
    started = time.perf_counter()
    integrated = sequencer.drain()
    elapsed = time.perf_counter() - started
    cpu2 = time.process_time()
    db2 = backends_cpu(probe)
    # The live sequencer's passes are small (what arrived in 0.2 s): the cost of one pass over 20 entries.
    passes, pass_cpu, pass_db = 50, 0.0, 0.0
    for _ in range(passes):
        with unit_of_work(factory) as s:
            for n in range(20):
                record(s, action="bench.append", target_type="thing", summary={"n": n})
        db3, cpu3 = backends_cpu(probe), time.process_time()
        sequencer.run_once()
        pass_cpu += time.process_time() - cpu3
        pass_db += backends_cpu(probe) - db3
    sequencer.release()
    engine.dispose()
    probe.dispose()
    per = 1000 / max(integrated, 1)
    return Append(
        total / seconds,
        ((cpu1 - cpu0) * 1000 / total, (db1 - db0) * 1000 / total),
        integrated / elapsed,
        ((cpu2 - cpu_start) * per, (db2 - db1) * per),
        (pass_cpu * 1000 / passes, pass_db * 1000 / passes),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--objects", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds of warm-up before each slice")
    parser.add_argument(
        "--worker-process", action="store_true", help="run the worker (and sequencer) as its own process"
    )
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    print(f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    with scratch_database(args.postgres, f"sf_bench_audit_{os.getpid()}") as url:
        from signalfire.exchange.taxii.collections import MEMBERS_ID

        writer, reader = seed(url)
        embedded = not args.worker_process
        servers = [
            start("audited", url, audited=True, embedded=embedded),
            start("unaudited", url, audited=False, embedded=embedded),
        ]
        worker = None
        if args.worker_process:
            worker = subprocess.Popen(
                [sys.executable, "-c", "from signalfire.cli import main; main()", "worker"],
                env={**os.environ, "SIGNALFIRE_DATABASE_URL": url, "SIGNALFIRE_ENVIRONMENT": "development"},
                stderr=subprocess.DEVNULL,
            )
        try:
            collection = f"{servers[0].base}/taxii2/exchange/collections/{MEMBERS_ID}/objects/"
            objects = stix_objects(args.objects)
            r = requests.post(
                collection,
                json={"objects": objects},
                headers={
                    "Accept": TAXII, "Content-Type": TAXII, "Authorization": basic("writer@bench.example", writer),
                    "X-Signalfire-Permitted-Uses": "threat_detection,safeguards",
                },
                timeout=120,
            )  # fmt: skip
            r.raise_for_status()
            read = {
                "Accept": TAXII,
                "Authorization": basic("reader@bench.example", reader),
                "X-Signalfire-Purpose": "threat_detection",
            }
            paths = [f"taxii2/exchange/collections/{MEMBERS_ID}/objects/{o['id']}/" for o in objects]
            check = requests.get(f"{servers[0].base}/{paths[0]}", headers=read, timeout=30)
            assert check.status_code == 200, check.text
            since = datetime.now(UTC)
            results: dict[tuple[str, int], list[Cell]] = {}
            pids = [s.process.pid for s in servers]
            # What the two servers burn idle (worker threads polling), taken off each slice's CPU below.
            idle_from = sum(map(cpu_seconds, pids))
            time.sleep(3.0)
            idle = (sum(map(cpu_seconds, pids)) - idle_from) / 3.0
            print(f"  servers idle: {idle * 1000:.1f} ms of CPU per second")
            for rnd in range(args.rounds):
                for clients in counts:
                    # A-B-B-A slices (B-A-A-B in odd rounds): a drift in the machine's load during the
                    # cell falls on both servers alike.
                    a, b = servers if rnd % 2 == 0 else servers[::-1]
                    cells = {a.name: Cell(), b.name: Cell()}
                    for server in (a, b, b, a):
                        urls = [f"{server.base}/{p}" for p in paths]
                        load(urls, read, clients, args.warmup)
                        before = sum(cpu_seconds(pid) for pid in pids)
                        latencies = load(urls, read, clients, args.seconds / 2)
                        used = sum(map(cpu_seconds, pids)) - before - idle * args.seconds / 2
                        cells[server.name].add(latencies, args.seconds / 2, used)
                    for name, cell in sorted(cells.items()):
                        results.setdefault((name, clients), []).append(cell)
                        print(
                            f"  round {rnd + 1} {name:9s} {clients:2d} clients: {cell.rate:7.1f} req/s "
                            f"p99 {cell.p99:6.1f} ms, servers' CPU {cell.cpu_ms:5.2f} ms/req"
                        )
                    print(f"  load average {os.getloadavg()[0]:.2f}")
            time.sleep(1.5)  # let the sequencer finish the last batch
            lags = sequencer_lag(url, since)
        finally:
            for process in [s.process for s in servers] + ([worker] if worker else []):
                process.terminate()
                process.wait(timeout=20)
        print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
        print("clients  audited req/s (p99 ms)  unaudited req/s (p99 ms)  ratio  paired  CPU ms/req a / u")
        med: Callable[[list[float]], float] = statistics.median
        for clients in counts:
            a, u = results[("audited", clients)], results[("unaudited", clients)]
            ar, ap, ac = med([x.rate for x in a]), med([x.p99 for x in a]), med([x.cpu_ms for x in a])
            ur, up, uc = med([x.rate for x in u]), med([x.p99 for x in u]), med([x.cpu_ms for x in u])
            paired = med([x.rate / y.rate for x, y in zip(a, u, strict=True)])
            print(f"{clients:7d}  {ar:8.1f} ({ap:6.1f})        {ur:8.1f} ({up:6.1f})           {ar / ur:5.2f}"
                  f"  {paired:5.2f}   {ac:5.2f} / {uc:5.2f}")  # fmt: skip
        if lags:
            lags.sort()
            print(f"\nsequencer lag over {len(lags)} entries: median {med(lags) * 1000:.0f} ms, "
                  f"p95 {lags[int(len(lags) * 0.95) - 1] * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms")  # fmt: skip
        for writers in (1, 8):
            r = append_throughput(url, writers, args.seconds)
            print(f"append alone, {writers} writer(s): {r.appended:.0f} entries/s committed "
                  f"(CPU per entry: {r.append_cpu[0]:.3f} ms Python, {r.append_cpu[1]:.3f} ms PostgreSQL); "
                  f"sequencer integrated {r.integrated:.0f} entries/s "
                  f"({r.integrate_cpu[0]:.3f} ms Python, {r.integrate_cpu[1]:.3f} ms PostgreSQL); a pass "
                  f"over 20 entries {r.pass_cpu[0]:.2f} ms Python, {r.pass_cpu[1]:.2f} ms PostgreSQL")  # fmt: skip


if __name__ == "__main__":
    main()

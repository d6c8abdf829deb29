"""Benchmark: a placement batch's audit entries, one `record` each against one `record_many`.

    PYTHONPATH=src .venv/bin/python bench/audit_batch.py [--postgres URL | --sqlite] [--batch 200] [--rounds 20]

A scratch database built by the migrations (PostgreSQL on loopback, dropped afterwards, or a SQLite file).
Each round writes one batch of `--batch` entries shaped like the worker's `intake.signal.receive` entries
in one transaction and commits, once per way; the order of the two ways flips every round so they share
the machine's noise. Reports the median milliseconds per batch of each way and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy.orm import Session

from signalfire.audit.chain import Entry, record, record_many
from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine, session_factory


def _entries(n: int) -> list[Entry]:
    org = uuid.uuid4()
    return [
        Entry(
            action="intake.signal.receive",
            target_type="intake_signal",
            target_id=uuid.uuid4(),
            actor_label="Signalfire intake",
            org_id=org,
            summary={"reference": f"SIG-{i:06d}", "source_kind": "api", "state": "new", "cluster_id": str(org)},
        )
        for i in range(n)
    ]


def one_each(session: Session, entries: list[Entry]) -> None:
    for e in entries:
        record(
            session,
            action=e.action,
            target_type=e.target_type,
            target_id=e.target_id,
            summary=e.summary,
            actor_label=e.actor_label,
            org_id=e.org_id,
        )


def batched(session: Session, entries: list[Entry]) -> None:
    record_many(session, entries)


def run(url: str, batch: int, rounds: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = session_factory(engine)
    ways: dict[str, Callable[[Session, list[Entry]], None]] = {"one record each": one_each, "record_many": batched}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for r in range(rounds):
        order = list(ways) if r % 2 == 0 else list(reversed(ways))
        for name in order:
            entries = _entries(batch)
            with factory() as session:
                started = time.perf_counter()
                ways[name](session, entries)
                session.commit()
                times[name].append((time.perf_counter() - started) * 1000)
    engine.dispose()
    load = os.getloadavg()[0]
    print(f"{engine.dialect.name}, batch {batch}, {rounds} rounds, load average {load:.2f}")
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, ms in medians.items():
        print(f"  {name:16} median {ms:8.1f} ms per batch  ({batch / ms * 1000:8.0f} entries/s)")
    print(f"  one each / record_many: {medians['one record each'] / medians['record_many']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if args.sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/bench.db", args.batch, args.rounds)
        return
    from _scratch import scratch_database

    with scratch_database(args.postgres, f"sf_bench_audit_batch_{os.getpid()}") as url:
        run(url, args.batch, args.rounds)


if __name__ == "__main__":
    main()

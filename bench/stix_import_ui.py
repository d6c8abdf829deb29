"""Benchmark: how long the STIX import page's request takes at its bound (1,000 reports), dry run and import.

    .venv/bin/python bench/stix_import_ui.py [--reports 100 1000] [--runs 3]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

The import page is synchronous and bounded (exchange.stix.pages: 5 MiB, and bundles.MAX_IMPORT_ITEMS
reports), so its answer time is what a person waits for. This times the service both the page and
``POST /api/v1/exchange/import`` call (``bundles.import_bundle``), for a bundle of N Signalfire-extension
reports (TLP:GREEN, with mitigations and ATLAS references), on a scratch SQLite file and, with
--admin-url, a scratch PostgreSQL database (loopback; dropped at the end). Per size it reports the
median of --runs runs of: the dry run (nothing stored), the first import (N drafts), and the repeat
import of the same bundle (all unchanged). Each run is one transaction, rolled back, like a request.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.access.service import add_member, build_actor, create_org, create_user
from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.exchange.stix import bundles
from signalfire.exchange.stix.convert import SIGNALFIRE_EXTENSION_ID, TLP2_MARKING_IDS
from signalfire.exchange.vocab import Tlp


def _bundle(reports: int) -> bytes:
    objects: list[dict[str, Any]] = []
    for n in range(reports):
        objects.append(
            {
                "type": "report",
                "spec_version": "2.1",
                "id": f"report--{uuid.UUID(int=n + 1, version=4)}",
                "created": "2026-11-02T09:00:00.000Z",
                "modified": "2026-11-02T09:00:00.000Z",
                "name": f"Indirect prompt injection variant {n}",
                "description": "Instructions hidden in retrieved pages are followed by the agent. " * 4,
                "published": "2026-11-02T09:00:00.000Z",
                "report_types": ["threat-report"],
                "object_refs": [f"identity--{uuid.UUID(int=10**9 + n, version=4)}"],
                "object_marking_refs": [TLP2_MARKING_IDS[Tlp.GREEN]],
                "extensions": {
                    SIGNALFIRE_EXTENSION_ID: {
                        "extension_type": "property-extension",
                        "item_version": 1,
                        "category": "threat",
                        "permitted_uses": ["threat_detection", "safeguards"],
                        "severity": "high",
                        "priority": "routine",
                        "technique_refs": ["AML.T0051"],
                        "details": "Strip HTML comments before retrieval results reach the model. " * 20,
                    }
                },
            }
        )
    return json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}).encode()


def _actor(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    with unit_of_work(session_factory(make_engine(url, poolclass=NullPool))) as s:
        org = create_org(s, slug="bench-lab", name="Bench Lab", kind=OrgKind.frontier_developer, exchange_member=True)
        user = create_user(s, email="bench@lab.example", display_name="Bench", password=None)
        add_member(s, org=org, user=user, role=Role.admin)
        s.flush()
        return user.id, org.id


def _as(session: Session, ids: tuple[uuid.UUID, uuid.UUID]) -> Actor:
    from signalfire.access.models import User

    actor = build_actor(session, session.get_one(User, ids[0]), ids[1], via="bench")
    assert actor is not None
    return actor


def _time(url: str, ids: tuple[uuid.UUID, uuid.UUID], raw: bytes, runs: int) -> dict[str, float]:
    engine = make_engine(url, poolclass=NullPool)
    factory = session_factory(engine)
    out: dict[str, list[float]] = {"dry run": [], "import": [], "repeat import": []}
    for _ in range(runs):
        session = factory()
        try:
            actor = _as(session, ids)
            start = time.perf_counter()
            planned = bundles.import_bundle(session, actor, raw, dry_run=True)
            out["dry run"].append(time.perf_counter() - start)
            start = time.perf_counter()
            done = bundles.import_bundle(session, actor, raw)
            session.flush()
            out["import"].append(time.perf_counter() - start)
            start = time.perf_counter()
            again = bundles.import_bundle(session, actor, raw)
            session.flush()
            out["repeat import"].append(time.perf_counter() - start)
            assert planned.counts["create"] == done.counts["create"] == again.counts["unchanged"]
        finally:
            session.rollback()
            session.close()
    engine.dispose()
    return {k: statistics.median(v) for k, v in out.items()}


def _run(label: str, url: str, sizes: list[int], runs: int) -> None:
    migrate.upgrade(make_engine(url, poolclass=NullPool))
    ids = _actor(url)
    for n in sizes:
        raw = _bundle(n)
        figures = _time(url, ids, raw, runs)
        line = ", ".join(f"{k} {v:.2f} s ({n / v:.0f} reports/s)" for k, v in figures.items())
        print(f"{label:10} {n:5} reports, {len(raw) / 1e6:.1f} MB: {line}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--admin-url", default=None)
    args = parser.parse_args()
    os.environ.setdefault("SIGNALFIRE_ENVIRONMENT", "test")
    with tempfile.TemporaryDirectory() as folder:
        _run("SQLite", f"sqlite:///{folder}/bench.db", args.reports, args.runs)
    if args.admin_url:
        name = f"sf_bench_stix_import_{os.getpid()}"
        admin = make_engine(args.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
            _run("PostgreSQL", url, args.reports, args.runs)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()

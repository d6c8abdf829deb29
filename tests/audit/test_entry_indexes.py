"""audit_event carries only the indexes the product reads by (migration 0018), and the sequencer finds
pending entries through its own partial index whatever the planner's statistics say."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine.interfaces import ReflectedIndex, ReflectedUniqueConstraint

from signalfire.audit.chain import raw_entries, record
from signalfire.audit.models import AuditEvent
from signalfire.audit.sequencer import Sequencer
from signalfire.audit.service import verify_log
from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine, session_factory
from tests.conftest import make_settings

# Written from the reads in the product: the primary key (seq), proofs by entry id, an org's audit view
# newest first, positions (verify, proofs), the pending queue.
EXPECTED = {("seq",), ("id",), ("org_id", "seq"), ("leaf_index",), ("seq", "pending")}
BEFORE_0018 = {("seq",), ("id",), ("org_id",), ("actor_user_id",), ("action",), ("target_id",), ("leaf_index",)}


def _indexes(url: str) -> set[tuple[str, ...]]:
    engine = make_engine(url)
    insp = inspect(engine)
    found: set[tuple[str, ...]] = {tuple(insp.get_pk_constraint("audit_event")["constrained_columns"])}
    reflected: list[ReflectedIndex | ReflectedUniqueConstraint] = [
        *insp.get_indexes("audit_event"),
        *insp.get_unique_constraints("audit_event"),
    ]
    for ix in reflected:
        columns = tuple(c for c in ix["column_names"] if c)
        found.add((*columns, "pending") if ix["name"] == "ix_audit_event_pending" else columns)
    engine.dispose()
    return found


def _rows(url: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT * FROM audit_event ORDER BY seq"))]
    engine.dispose()
    return rows


def test_0018_changes_indexes_only_and_keeps_every_entry(fresh_db: str) -> None:
    engine = make_engine(fresh_db)
    migrate.downgrade(engine, "0014")
    assert _indexes(fresh_db) == BEFORE_0018
    factory = session_factory(engine)
    settings = make_settings(fresh_db)
    with factory.begin() as s:
        for n in range(3):
            record(s, action="test.positioned", target_type="thing", target_id=n, summary={"n": n})
    assert Sequencer(factory, settings).drain() == 3
    with factory.begin() as s:
        record(s, action="test.pending", target_type="thing", summary={"late": True})
    before = _rows(fresh_db)

    migrate.upgrade(engine)
    assert _indexes(fresh_db) == EXPECTED
    assert _rows(fresh_db) == before  # not a field, position or hash changed
    assert migrate.check(engine) is None
    assert Sequencer(factory, settings).drain() == 1  # the pending one is still found and positioned
    with factory() as s:
        report = verify_log(s, settings)
    assert report.findings == [] and report.entries == 4

    after = _rows(fresh_db)
    migrate.downgrade(engine, "0014")
    assert _indexes(fresh_db) == BEFORE_0018
    assert _rows(fresh_db) == after
    migrate.upgrade(engine)
    engine.dispose()


@pytest.mark.skipif(not os.environ.get("SIGNALFIRE_TEST_DATABASE_URL"), reason="PostgreSQL's planner")
def test_pending_scan_uses_the_partial_index_with_stale_statistics(fresh_db: str) -> None:
    """Statistics taken while every entry was pending (autovacuum may be off: they are never refreshed)
    once led the planner to walk the primary key past every positioned entry on each pass."""
    engine = make_engine(fresh_db)
    factory = session_factory(engine)
    with factory.begin() as s:
        for n in range(2000):
            record(s, action="test.bulk", target_type="thing", summary={"n": n})
    with engine.begin() as conn:
        conn.execute(text("ANALYZE audit_event"))
    assert Sequencer(factory, make_settings(fresh_db)).drain() == 2000
    pending = raw_entries().where(AuditEvent.leaf_index.is_(None)).order_by(AuditEvent.seq).limit(5000)
    sql = str(pending.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        plan = "\n".join(conn.execute(text(f"EXPLAIN {sql}")).scalars())
    engine.dispose()
    assert "ix_audit_event_pending" in plan, plan

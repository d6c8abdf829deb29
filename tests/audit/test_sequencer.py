"""Writers share no row; the sequencer positions what has committed, under a lease; the old chain migrates."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from signalfire.audit.chain import record
from signalfire.audit.models import AuditEvent, AuditTree
from signalfire.audit.sequencer import Sequencer
from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine, session_factory
from tests.conftest import make_settings

pg_only = pytest.mark.skipif(
    not os.environ.get("SIGNALFIRE_TEST_DATABASE_URL"),
    reason="SQLite has one writer at a time by design; concurrent writers need PostgreSQL",
)


def _positions(url: str) -> dict[str, int | None]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(AuditEvent.action, AuditEvent.leaf_index)).all()
    engine.dispose()
    return {a: i for a, i in rows}


@pg_only
def test_writers_do_not_wait_for_each_other(fresh_db: str) -> None:
    """A writer holding an uncommitted entry does not block another (the old design locked one row)."""
    engine = make_engine(fresh_db)
    factory = session_factory(engine)
    with factory() as first, factory() as second:
        record(first, action="test.first", target_type="t")
        first.flush()
        second.execute(text("SET LOCAL lock_timeout = '1s'"))
        record(second, action="test.second", target_type="t")
        second.commit()  # would time out on a shared row lock
        seq = Sequencer(factory, make_settings(fresh_db))
        assert seq.drain() == 1  # only what has committed
        first.commit()
        assert seq.drain() == 1
    engine.dispose()
    # The late commit has the lower arrival number but the later position.
    assert _positions(fresh_db) == {"test.second": 0, "test.first": 1}


def test_one_sequencer_at_a_time(fresh_db: str) -> None:
    engine = make_engine(fresh_db)
    factory = session_factory(engine)
    settings = make_settings(fresh_db)
    a, b = Sequencer(factory, settings, holder="a"), Sequencer(factory, settings, holder="b")
    with factory.begin() as s:
        record(s, action="test.one", target_type="t")
    assert a.run_once() == 1
    with factory.begin() as s:
        record(s, action="test.two", target_type="t")
    assert b.run_once() is None  # a holds the lease
    with factory.begin() as s:  # a dies: its lease runs out
        s.execute(update(AuditTree).values(lease_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert b.run_once() == 1
    with factory.begin() as s:
        record(s, action="test.three", target_type="t")
    assert a.run_once() is None  # now b holds it
    assert b.run_once() == 1
    assert a.run_once() == 0  # idle: nothing to do, nothing locked
    engine.dispose()
    assert _positions(fresh_db) == {"test.one": 0, "test.two": 1, "test.three": 2}


def _old_chain_hash(prev: str, row: dict[str, object]) -> str:
    """The former chain's rule, written out here independently of the migration."""
    content = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev + "\n" + content).encode()).hexdigest()


def test_old_chain_migrates_without_loss_or_redating(fresh_db: str) -> None:
    engine = make_engine(fresh_db)
    migrate.downgrade(engine, "0007")
    base = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    prev, old = "0" * 64, []
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event"))
        for seq in range(1, 6):
            row: dict[str, object] = {
                "id": str(uuid.uuid4()),
                "occurred_at": (base + timedelta(days=seq)).isoformat(),
                "actor_user_id": None,
                "actor_label": "system",
                "org_id": None,
                "action": f"old.{seq}",
                "target_type": "thing",
                "target_id": str(seq),
                "summary": {"n": seq},
                "request_id": None,
            }
            h = _old_chain_hash(prev, row)
            conn.execute(
                text(
                    "INSERT INTO audit_event (seq, id, occurred_at, actor_label, action, target_type, target_id,"
                    " summary, prev_hash, hash) VALUES (:seq, :id, :at, 'system', :action, 'thing', :tid, :summary,"
                    " :prev, :hash)"
                ),
                {
                    "seq": seq,
                    "id": row["id"] if "postgresql" in fresh_db else uuid.UUID(str(row["id"])).hex,
                    "at": base + timedelta(days=seq) if "postgresql" in fresh_db else
                    (base + timedelta(days=seq)).replace(tzinfo=None).isoformat(sep=" "),
                    "action": row["action"], "tid": str(seq), "summary": json.dumps(row["summary"]),
                    "prev": prev, "hash": h,
                },
            )  # fmt: skip
            conn.execute(text("UPDATE audit_head SET seq = :s, last_hash = :h"), {"s": seq, "h": h})
            old.append((seq, row["id"], base + timedelta(days=seq), h))
            prev = h
    migrate.upgrade(engine)
    settings = make_settings(fresh_db)
    factory = session_factory(engine)
    assert Sequencer(factory, settings).drain() == 5
    with factory() as s:
        from signalfire.audit.service import verify_log

        assert verify_log(s, settings).findings == []
        rows = s.execute(select(AuditEvent).order_by(AuditEvent.leaf_index)).scalars().all()
        assert [(e.seq, str(e.id), e.occurred_at, e.legacy_hash) for e in rows] == old
        assert [e.leaf_index for e in rows] == [0, 1, 2, 3, 4]
        # New entries follow the migrated ones.
        record(s, action="new.one", target_type="thing")
        s.commit()
    assert Sequencer(factory, settings).drain() == 1
    assert _positions(fresh_db)["new.one"] == 5
    # And back: the downgrade rebuilds a valid chain over all six.
    migrate.downgrade(engine, "0007")
    with engine.connect() as conn:
        chain = conn.execute(text("SELECT seq, prev_hash, hash FROM audit_event ORDER BY seq")).all()
        head = conn.execute(text("SELECT seq, last_hash FROM audit_head")).one()
    assert [c.seq for c in chain] == [1, 2, 3, 4, 5, 6]
    assert [c.hash for c in chain[:5]] == [o[3] for o in old]
    assert all(chain[i].prev_hash == chain[i - 1].hash for i in range(1, 6))
    assert tuple(head) == (6, chain[-1].hash)
    migrate.upgrade(engine)
    engine.dispose()

"""The audit chain detects edited, deleted and reordered entries, and `signalfire audit verify` says which."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from signalfire.audit.chain import record, verify
from signalfire.cli import app as cli_app
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings


@pytest.fixture()
def chain_db(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real database holding ten committed entries, and the CLI pointed at it."""
    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as s:
        for i in range(10):
            record(s, action="test.event", target_type="thing", target_id=str(i), summary={"n": i})
    engine.dispose()
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    yield fresh_db
    get_settings.cache_clear()


def _sql(url: str, statement: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def _verify_cli() -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, ["audit", "verify"])
    return result.exit_code, result.output


def test_intact_chain_verifies(chain_db: str) -> None:
    code, out = _verify_cli()
    assert code == 0, out
    assert "10 entries verified" in out


def test_edited_entry_is_reported(chain_db: str) -> None:
    _sql(chain_db, "UPDATE audit_event SET action = 'test.tampered' WHERE seq = 4")
    code, out = _verify_cli()
    assert code == 1
    assert "edited at entry 4" in out
    assert "entry 5" not in out.split("edited at entry 4")[0]


def test_deleted_entry_is_reported(chain_db: str) -> None:
    _sql(chain_db, "DELETE FROM audit_event WHERE seq = 6")
    code, out = _verify_cli()
    assert code == 1
    assert "deleted at entry 6" in out


def test_deleted_tail_is_reported(chain_db: str) -> None:
    _sql(chain_db, "DELETE FROM audit_event WHERE seq >= 9")
    code, out = _verify_cli()
    assert code == 1
    assert "entries 9-10 deleted from the end" in out


def test_reordered_entries_are_reported(chain_db: str) -> None:
    # Swap positions 3 and 7 (content and hashes move with them).
    _sql(chain_db, "UPDATE audit_event SET seq = 1000 WHERE seq = 3")
    _sql(chain_db, "UPDATE audit_event SET seq = 3 WHERE seq = 7")
    _sql(chain_db, "UPDATE audit_event SET seq = 7 WHERE seq = 1000")
    code, out = _verify_cli()
    assert code == 1
    assert "reordered at entry 3" in out
    assert "reordered at entry 7" in out
    assert "edited" not in out


def test_rehashed_edit_breaks_the_link(chain_db: str) -> None:
    """An attacker who edits an entry and recomputes its own hash still breaks the next link."""
    engine = make_engine(chain_db)
    with unit_of_work(session_factory(engine)) as s:
        from signalfire.audit.chain import compute_hash
        from signalfire.audit.models import AuditEvent

        ev = s.get(AuditEvent, 5)
        assert ev is not None
        ev.summary = {"n": 999}
        ev.hash = compute_hash(ev.prev_hash, ev)
    engine.dispose()
    code, out = _verify_cli()
    assert code == 1
    assert "entry 6 does not follow entry 5" in out


def test_entries_commit_with_the_change(db: Session) -> None:
    """An entry written in a transaction that rolls back leaves no trace and no gap."""
    with db.begin_nested() as sp:
        record(db, action="x.rolled_back", target_type="t")
        sp.rollback()
    record(db, action="x.kept", target_type="t")
    db.flush()
    assert verify(db) == []

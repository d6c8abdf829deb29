"""A database refusing for contention (SQLite's single writer busy past its timeout) is a 503 problem+json
with Retry-After, not a 500; any other operational error stays a 500."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from signalfire.core.web import handlers


def _app(db_file: Path) -> FastAPI:
    app = FastAPI()
    handlers.install(app)
    # No busy wait: a locked database fails at once, as it does after the timeout under a storm.
    engine = create_engine(f"sqlite:///{db_file}", connect_args={"timeout": 0})

    @app.post("/api/v1/write")
    def write() -> dict[str, str]:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        return {"ok": "yes"}

    @app.get("/api/v1/broken")
    def broken() -> dict[str, str]:
        with engine.begin() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))
        return {"ok": "no"}

    return app


def test_a_locked_sqlite_database_is_a_503_with_retry_after(tmp_path: Path) -> None:
    db_file = tmp_path / "busy.db"
    holder = sqlite3.connect(db_file, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    client = TestClient(_app(db_file), raise_server_exceptions=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the one write lock
    try:
        resp = client.post("/api/v1/write")
    finally:
        holder.execute("ROLLBACK")
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.headers["retry-after"] == "1"
    assert resp.json()["status"] == 503 and "stored nothing" in resp.json()["detail"]
    # Once the lock is free the same request goes through.
    assert client.post("/api/v1/write").status_code == 200
    assert holder.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_other_operational_errors_stay_internal_errors(tmp_path: Path) -> None:
    client = TestClient(_app(tmp_path / "other.db"), raise_server_exceptions=False)
    resp = client.get("/api/v1/broken")
    assert resp.status_code == 500
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["title"] == "Internal error"

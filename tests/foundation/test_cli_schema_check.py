"""Commands on a database that is not ready say so in one line: no tables yet (before `signalfire db
upgrade`), an older or unknown migration, or no database server at all. `serve` and `worker` refuse to
start rather than fail on every request or job; other commands turn the driver's traceback into the same
line. The commands run as an operator runs them: `python -m signalfire.cli ...` in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine
from tests.conftest import PG_URL, free_port

ROOT = Path(__file__).resolve().parents[2]


def _run(url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SIGNALFIRE_DATABASE_URL": url, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "signalfire.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _admin(sql: str) -> None:
    assert PG_URL
    engine = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


@pytest.fixture()
def empty_url(tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it: what an operator has before the first `signalfire db upgrade`."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"sf_empty_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ("orgs", "list"),
        ("exchange", "export", "--as", "alice@aurora.example", "--purpose", "threat_detection"),
        ("worker", "--once"),
    ],
)
def test_a_command_before_the_first_upgrade_says_to_upgrade(empty_url: str, command: tuple[str, ...]) -> None:
    line = _one_line(_run(empty_url, *command))
    assert "no Signalfire tables yet" in line
    assert "run `signalfire db upgrade` first" in line


def test_serve_refuses_to_start_without_the_schema(empty_url: str) -> None:
    line = _one_line(_run(empty_url, "serve", "--port", str(free_port()), "--no-worker"))
    assert "no Signalfire tables yet" in line and "signalfire db upgrade" in line


def test_serve_refuses_a_database_one_migration_behind(empty_url: str) -> None:
    engine = make_engine(empty_url)
    migrate.upgrade(engine)
    migrate.downgrade(engine, "-1")
    engine.dispose()
    line = _one_line(_run(empty_url, "serve", "--port", str(free_port()), "--no-worker"))
    heads = _heads()
    assert f"this version needs {heads}" in line
    assert "run `signalfire db upgrade` first" in line


def test_serve_refuses_a_database_migrated_by_a_version_it_does_not_know(empty_url: str) -> None:
    engine = make_engine(empty_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00dfeed9999'")
    engine.dispose()
    line = _one_line(_run(empty_url, "worker", "--once"))
    assert "migration f00dfeed9999, which this version of Signalfire does not know" in line


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])  # an IPv6 host's brackets are shown as they are
def test_an_unreachable_database_is_named_without_its_password(host: str) -> None:
    port, name = free_port(), "nothing"
    url = f"postgresql+psycopg://postgres:s3cret-word@{host}:{port}/{name}"
    line = _one_line(_run(url, "orgs", "list"))
    assert line.startswith(f"error: cannot reach the database postgresql+psycopg://postgres:***@{host}:{port}/{name}:")
    assert "s3cret-word" not in line


def test_an_upgraded_database_runs_commands(empty_url: str) -> None:
    assert _run(empty_url, "db", "upgrade").returncode == 0
    result = _run(empty_url, "orgs", "list")
    assert result.returncode == 0, result.stderr
    assert "error:" not in result.stderr


def _heads() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    return ", ".join(sorted(script.get_heads()))

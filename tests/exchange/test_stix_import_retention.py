"""Retention of STIX import jobs: a finished (done or failed) job's stored bundle goes after
SIGNALFIRE_RETENTION__IMPORT_BUNDLE_DAYS (7 by default), its row, with the outcome its page shows, after
__IMPORT_JOB_DAYS (90); queued and running jobs are never touched, whatever their age. Pruning runs in
bounded batches, oldest finished first, from the worker's schedule, and leaves one audit entry per job.

The expected answers are written here from those rules, not taken from the code.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, Role
from signalfire.audit.models import AuditEvent
from signalfire.core.clock import utcnow
from signalfire.core.settings import JobSettings, RetentionSettings, Settings, get_settings
from signalfire.exchange.stix import jobs
from signalfire.exchange.stix.models import ImportJobState, StixImportBundle, StixImportJob
from signalfire.notify.registry import PERIODIC
from signalfire.notify.transports import LogMailer
from signalfire.notify.worker import Worker
from tests import factories
from tests.conftest import PG_URL
from tests.exchange.stix_reports import stix_report

Client = Callable[[Actor | None], TestClient]
API = "/api/v1/exchange/imports"
DAY = timedelta(days=1)

# name: (state, finished how many days ago (None: not finished), stored bundle?)
SEED: dict[str, tuple[ImportJobState, float | None, bool]] = {
    "queued-old": (ImportJobState.QUEUED, None, True),
    "running-old": (ImportJobState.RUNNING, None, True),
    # A queued job is never pruned, whatever its timestamps say.
    "queued-odd": (ImportJobState.QUEUED, 400, True),
    "failed-6d": (ImportJobState.FAILED, 6, True),
    "failed-8d": (ImportJobState.FAILED, 8, True),
    "failed-30d": (ImportJobState.FAILED, 30, True),
    "done-8d": (ImportJobState.DONE, 8, False),  # a done job dropped its bundle as it finished
    "done-89d": (ImportJobState.DONE, 89, False),
    "done-91d": (ImportJobState.DONE, 91, False),
    "failed-95d": (ImportJobState.FAILED, 95, True),
    "failed-120d": (ImportJobState.FAILED, 120, True),
}


def _seed(db: Session, actor: Actor, seed: dict[str, tuple[ImportJobState, float | None, bool]] = SEED) -> None:
    now = utcnow()
    for name, (state, finished_days, bundle) in seed.items():
        job = StixImportJob(
            id=uuid.uuid4(),
            org_id=actor.org_id,
            user_id=actor.user_id,
            state=state,
            filename=name,
            bundle_bytes=4,
            bundle_sha256="0" * 64,
            default_uses=[],
            audience="only_me",
            max_items=10,
            total=1,
            done=1 if state.finished else 0,
            outcome={"objects": [], "ignored": []},
            created_at=now - timedelta(days=500),
            finished_at=now - finished_days * DAY if finished_days is not None else None,
        )
        db.add(job)
        db.flush()
        if bundle:
            db.add(StixImportBundle(job_id=job.id, content=b"{}  "))
    db.flush()


def _left(db: Session) -> tuple[set[str], set[str]]:
    """(names of the jobs left, names of the jobs whose bundle is left)."""
    names = set(db.execute(select(StixImportJob.filename)).scalars())
    bundled = set(
        db.execute(
            select(StixImportJob.filename).join(StixImportBundle, StixImportBundle.job_id == StixImportJob.id)
        ).scalars()
    )
    return names, bundled


def _audit(db: Session, action: str) -> list[AuditEvent]:
    return list(db.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_old_finished_jobs_lose_their_bundle_then_their_row_and_nothing_else_goes(
    db: Session, make_actor: Callable[..., Actor]
) -> None:
    actor = make_actor()
    _seed(db, actor)
    ids = {j.filename: j.id for j in db.execute(select(StixImportJob)).scalars()}
    pruned = jobs.prune_finished(db, utcnow(), RetentionSettings())
    assert pruned == {"import_bundles": 4, "import_jobs": 3}  # bundles: 8d, 30d, 95d, 120d; rows: 91d, 95d, 120d
    names, bundled = _left(db)
    assert names == {
        "queued-old",
        "running-old",
        "queued-odd",
        "failed-6d",
        "failed-8d",
        "failed-30d",
        "done-8d",
        "done-89d",
    }
    assert bundled == {"queued-old", "running-old", "queued-odd", "failed-6d"}
    # One audit entry per job, naming it, in its org, done by no person.
    bundle_entries = _audit(db, "exchange.stix.import_bundle_pruned")
    assert sorted(e.target_id or "" for e in bundle_entries) == sorted(
        str(ids[n]) for n in ("failed-8d", "failed-30d", "failed-95d", "failed-120d")
    )
    row_entries = _audit(db, "exchange.stix.import_job_pruned")
    assert sorted(e.target_id or "" for e in row_entries) == sorted(
        str(ids[n]) for n in ("done-91d", "failed-95d", "failed-120d")
    )
    for entry in [*bundle_entries, *row_entries]:
        assert entry.target_type == "exchange_import_job" and entry.org_id == actor.org_id
        assert entry.actor_user_id is None
    assert {e.summary["retention_days"] for e in bundle_entries} == {7.0}
    assert {e.summary["retention_days"] for e in row_entries} == {90.0}
    # A second run finds nothing more to do.
    assert jobs.prune_finished(db, utcnow(), RetentionSettings()) == {"import_bundles": 0, "import_jobs": 0}


def test_the_retention_periods_are_the_settings(db: Session, make_actor: Callable[..., Actor]) -> None:
    _seed(db, make_actor())
    short = RetentionSettings(import_bundle_days=31, import_job_days=7)
    jobs.prune_finished(db, utcnow(), short)
    names, bundled = _left(db)
    # Rows finished more than 7 days ago go (their bundles with them); bundles of younger ones stay.
    assert names == {"queued-old", "running-old", "queued-odd", "failed-6d"}
    assert bundled == names


def test_each_run_is_bounded_by_its_batches_oldest_first(db: Session, make_actor: Callable[..., Actor]) -> None:
    _seed(db, make_actor())
    bounded = RetentionSettings(batch_size=1, max_batches=2)
    assert jobs.prune_finished(db, utcnow(), bounded) == {"import_bundles": 2, "import_jobs": 2}
    names, bundled = _left(db)
    assert {"failed-8d", "failed-30d"} <= bundled  # the two oldest bundles went: 120 and 95 days
    assert "done-91d" in names and not {"failed-95d", "failed-120d"} & names
    assert jobs.prune_finished(db, utcnow(), bounded) == {"import_bundles": 2, "import_jobs": 1}
    names, bundled = _left(db)
    assert bundled == {"queued-old", "running-old", "queued-odd", "failed-6d"}
    assert names == {
        "queued-old",
        "running-old",
        "queued-odd",
        "failed-6d",
        "failed-8d",
        "failed-30d",
        "done-8d",
        "done-89d",
    }
    assert jobs.prune_finished(db, utcnow(), bounded) == {"import_bundles": 0, "import_jobs": 0}


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL's planner")
def test_the_job_sweep_reads_the_oldest_finished_jobs_from_their_index(
    db: Session, make_actor: Callable[..., Actor]
) -> None:
    """Without ix_exchange_import_job_finished (migration 0029) each batch read and sorted the whole table.
    The statement runs with its values bound, as the sweep runs it: the index is partial on the finished
    states, which PostgreSQL matches only against known values."""
    actor, now, rng = make_actor(), utcnow(), random.Random(29)
    rows = []
    for n in range(3000):
        finished: datetime | None = now - timedelta(days=rng.uniform(0, 100))
        state = ImportJobState.FAILED if n % 17 == 0 else ImportJobState.DONE
        if n % 100 == 0:
            state, finished = ImportJobState.RUNNING, None
        rows.append(
            {
                "id": uuid.uuid4(),
                "org_id": actor.org_id,
                "user_id": actor.user_id,
                "state": state,
                "filename": f"bulk-{n}",
                "bundle_bytes": 4,
                "bundle_sha256": "0" * 64,
                "default_uses": [],
                "audience": "only_me",
                "max_items": 10,
                "total": 1,
                "done": 1,
                "outcome": {"objects": [], "ignored": []},
                "created_at": now - timedelta(days=101),
                "finished_at": finished,
            }
        )
    db.execute(insert(StixImportJob), rows)
    db.execute(text("ANALYZE exchange_import_job"))
    oldest = jobs._oldest(1000, *jobs._finished_before(now - timedelta(days=90)))
    compiled = oldest.compile(dialect=db.get_bind().dialect, compile_kwargs={"render_postcompile": True})
    plan = "\n".join(db.connection().exec_driver_sql("EXPLAIN " + compiled.string, compiled.params).scalars())
    assert "ix_exchange_import_job_finished" in plan, plan


def test_retention_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings().retention
    assert (defaults.import_bundle_days, defaults.import_job_days) == (7.0, 90.0)
    monkeypatch.setenv("SIGNALFIRE_RETENTION__IMPORT_BUNDLE_DAYS", "2")
    monkeypatch.setenv("SIGNALFIRE_RETENTION__IMPORT_JOB_DAYS", "30")
    settings = Settings()
    assert (settings.retention.import_bundle_days, settings.retention.import_job_days) == (2.0, 30.0)
    monkeypatch.setenv("SIGNALFIRE_RETENTION__IMPORT_JOB_DAYS", "0")
    with pytest.raises(ValueError, match="import_job_days"):
        Settings()


# --- the page and the API of a pruned job ------------------------------------------------------------------


def _failed_import(db: Session, session_maker: sessionmaker[Session], owner: Actor) -> StixImportJob:
    """A real import that fails (its requester lost the right to import): failed, its bundle kept."""
    raw = json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [stix_report("Kept")]}).encode()
    job = jobs.submit_import(db, owner, raw, filename="lost-rights.json")
    factories.membership(db, owner).role = Role.viewer
    db.commit()
    Worker(session_maker, settings=JobSettings(), mailer=LogMailer()).drain()
    found = db.get(StixImportJob, job.id)
    assert found is not None
    db.refresh(found)
    assert found.state is ImportJobState.FAILED and db.get(StixImportBundle, job.id) is not None
    return found


def test_a_job_whose_bundle_was_pruned_still_shows_its_outcome_until_its_row_goes(
    db: Session,
    session_maker: sessionmaker[Session],
    make_actor: Callable[..., Actor],
    api_client: Client,
    browser_client: Client,
) -> None:
    owner = make_actor()
    org = db.get(Organization, owner.org_id)
    assert org is not None
    colleague = factories.actor(db, role=Role.admin, organization=org)  # may still see the org's imports
    job = _failed_import(db, session_maker, owner)
    page, api = f"/exchange/import/jobs/{job.id}", f"{API}/{job.id}"
    before_page = browser_client(colleague).get(page)
    before_api = api_client(colleague).get(api)
    assert before_page.status_code == before_api.status_code == 200

    assert jobs.prune_finished(db, utcnow() + 6 * DAY, RetentionSettings()) == {"import_bundles": 0, "import_jobs": 0}
    assert jobs.prune_finished(db, utcnow() + 8 * DAY, RetentionSettings()) == {"import_bundles": 1, "import_jobs": 0}
    db.commit()
    assert db.get(StixImportBundle, job.id) is None
    after_page = browser_client(colleague).get(page)
    assert after_page.status_code == 200
    assert 'data-testid="import-failed"' in after_page.text and "may no longer write exchange items" in after_page.text
    after_api = api_client(colleague).get(api)
    assert after_api.status_code == 200 and after_api.json() == before_api.json()

    assert jobs.prune_finished(db, utcnow() + 91 * DAY, RetentionSettings()) == {"import_bundles": 0, "import_jobs": 1}
    db.commit()
    assert browser_client(colleague).get(page).status_code == 404
    gone = api_client(colleague).get(api)
    missing = api_client(colleague).get(f"{API}/{uuid.uuid4()}")
    assert gone.status_code == missing.status_code == 404
    assert {k: v for k, v in gone.json().items() if k != "instance"} == {
        k: v for k, v in missing.json().items() if k != "instance"
    }


# --- the worker's schedule ------------------------------------------------------------------------------------


def test_the_worker_prunes_import_jobs_on_its_schedule(
    db: Session, session_maker: sessionmaker[Session], make_actor: Callable[..., Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGNALFIRE_RETENTION__IMPORT_JOB_DAYS", "60")
    get_settings.cache_clear()
    try:
        _seed(db, make_actor())
        db.commit()
        worker = Worker(session_maker, settings=JobSettings(), mailer=LogMailer())
        assert "exchange.prune_import_jobs" in PERIODIC
        assert "exchange.prune_import_jobs" in worker.run_due_periodic()
        names, bundled = _left(db)
        assert names == {"queued-old", "running-old", "queued-odd", "failed-6d", "failed-8d", "failed-30d", "done-8d"}
        assert bundled == {"queued-old", "running-old", "queued-odd", "failed-6d"}
    finally:
        get_settings.cache_clear()


def test_a_worker_process_registers_the_import_pruning_job() -> None:
    """In a fresh process (no test imported the exchange tasks), loading the domains' tasks registers it."""
    code = (
        "from signalfire.notify.registry import PERIODIC, load_domain_tasks; load_domain_tasks(); "
        "print('exchange.prune_import_jobs' in PERIODIC)"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(src)},
    )
    assert out.stdout.strip() == "True"

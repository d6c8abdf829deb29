"""STIX imports as background jobs (exchange/stix/jobs.py): the lifecycle over the API and the page, progress
committed batch by batch and visible to another reader mid-import, the outcome a single synchronous import
gives (the expected answers are written here from the bundle, not taken from the code), who may see a job,
Idempotency-Key replays, and what becomes of a job whose worker died.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, Role
from signalfire.audit.models import AuditEvent
from signalfire.core.clock import utcnow
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import JobSettings
from signalfire.exchange import authoring
from signalfire.exchange.models import ExchangeItem
from signalfire.exchange.stix import bundles, jobs
from signalfire.exchange.stix.bundles import import_item_id
from signalfire.exchange.stix.models import ImportJobState, StixImportBundle, StixImportJob
from signalfire.exchange.vocab import Tlp
from signalfire.notify.models import JobStatus, OutboxJob
from signalfire.notify.transports import LogMailer
from signalfire.notify.worker import Worker
from tests import factories
from tests.exchange.stix_reports import stix_indicator, stix_report

Client = Callable[[Actor | None], TestClient]
API = "/api/v1/exchange/imports"
JSON = {"Content-Type": "application/json"}


def _report(name: str, *, tlp: Tlp | None = Tlp.GREEN, stix_id: str | None = None, when: str = "01") -> dict[str, Any]:
    return stix_report(
        name,
        tlp=tlp,
        stix_id=stix_id,
        modified=f"2026-02-{when}T00:00:00.000Z",
        description=f"{name}: seen on an inference cluster (version of the {when}th).",
    )


def _raw(*objects: dict[str, Any]) -> bytes:
    return json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)}).encode()


def _reports(n: int, prefix: str = "Report") -> bytes:
    return _raw(*[_report(f"{prefix} {i}") for i in range(n)])


def _job(db: Session, job_id: uuid.UUID | str) -> StixImportJob:
    job = db.get(StixImportJob, uuid.UUID(str(job_id)))
    assert job is not None
    db.refresh(job)
    return job


def _audits(db: Session, action: str) -> list[AuditEvent]:
    return list(db.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


# --- a bundle whose every outcome is known ------------------------------------------------------------


@pytest.fixture()
def mixed() -> dict[str, Any]:
    """v1: two reports imported before. v2: one of them with new content (update), the other as it was
    (unchanged), a new report (create), one without a TLP marking (refused), and an indicator (ignored)."""
    changed, same = f"report--{uuid.uuid4()}", f"report--{uuid.uuid4()}"
    v1 = _raw(_report("Changed report", stix_id=changed), _report("Same report", stix_id=same))
    new, unmarked = _report("New report"), _report("Unmarked report", tlp=None)
    indicator = stix_indicator("[file:name = 'x']")
    v2 = _raw(
        _report("Changed report", stix_id=changed, when="09"),
        _report("Same report", stix_id=same),
        new,
        unmarked,
        indicator,
    )
    # What importing v2 over v1 does, in the report's order (refused-at-reading objects first, then the rest
    # in bundle order): written from the bundle above.
    expected = [
        (unmarked["id"], "refuse", "it has no TLP marking; the exchange never guesses one", "Unmarked report"),
        (changed, "update", "imported before; its draft gets this version's content", "Changed report"),
        (same, "unchanged", "already imported with this content", "Same report"),
        (new["id"], "create", "", "New report"),
    ]
    return {"v1": v1, "v2": v2, "expected": expected, "ignored": [indicator["id"]]}


def _as_expected(outcome: dict[str, Any], org_id: uuid.UUID) -> list[tuple[str, str, str, str]]:
    rows = [(o["stix_id"], o["action"], o["reason"], o["title"]) for o in outcome["objects"]]
    for o in outcome["objects"]:  # each draft has the org's own name-based id, linked from the report
        want = str(import_item_id(org_id, o["stix_id"])) if o["action"] != "refuse" else None
        assert o["item_id"] == want, o
    return rows


def test_api_job_lifecycle_gives_the_outcome_of_the_synchronous_import(
    db: Session,
    make_actor: Callable[..., Actor],
    api_client: Client,
    drain_jobs: Callable[[], int],
    mixed: dict[str, Any],
) -> None:
    by_job, by_request = make_actor(), make_actor()
    for actor in (by_job, by_request):
        bundles.import_bundle(db, actor, mixed["v1"])
    db.commit()
    client = api_client(by_job)

    started = client.post(API, content=mixed["v2"], headers=JSON)
    assert started.status_code == 202, started.text
    body = started.json()
    assert started.headers["location"] == f"{API}/{body['id']}"
    assert body["state"] == "queued" and body["progress"] == {"done": 0, "total": 4} and body["outcome"] is None
    job = _job(db, body["id"])
    assert job.org_id == by_job.org_id and job.user_id == by_job.user_id
    assert db.get(StixImportBundle, job.id) is not None  # stored before it was acknowledged
    assert [e.target_id for e in _audits(db, "exchange.stix.import_queued")] == [str(job.id)]

    polled = client.get(started.headers["location"])
    assert polled.status_code == 200 and polled.json()["state"] == "queued"

    assert drain_jobs() > 0
    finished = client.get(started.headers["location"]).json()
    assert finished["state"] == "done" and finished["progress"] == {"done": 4, "total": 4}
    assert finished["started_at"] and finished["finished_at"] and finished["error"] is None
    assert _as_expected(finished["outcome"], by_job.org_id) == mixed["expected"]
    assert finished["outcome"]["counts"] == {
        "create": 1,
        "update": 1,
        "unchanged": 1,
        "refuse": 1,
        "ignored": 1,
        "objects": 4,
    }
    # The same bundle imported in one request by another org gives the same report.
    same = bundles.import_bundle(db, by_request, mixed["v2"]).as_json()
    assert _as_expected(same, by_request.org_id) == mixed["expected"]
    assert same["ignored"] == finished["outcome"]["ignored"] == 1
    # Done: the drafts hold the content, the bundle is gone, the completion is audited with the outcome.
    titles = db.execute(select(ExchangeItem.title).where(ExchangeItem.org_id == by_job.org_id)).scalars().all()
    assert sorted(titles) == ["Changed report", "New report", "Same report"]
    assert db.get(StixImportBundle, job.id) is None
    completed = [e for e in _audits(db, "exchange.stix.imported") if e.target_id == str(job.id)]
    assert len(completed) == 1 and completed[0].actor_user_id == by_job.user_id
    assert completed[0].summary["created"] == [str(import_item_id(by_job.org_id, mixed["expected"][3][0]))]


def test_the_page_follows_the_job_to_its_report(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client, drain_jobs: Callable[[], int]
) -> None:
    importer = make_actor()
    client = browser_client(importer)
    client.follow_redirects = False
    started = client.post(
        "/exchange/import",
        files={"file": ("feed.json", _reports(3), "application/json")},
        data={"dry_run": "false"},
    )
    assert started.status_code == 303
    url = started.headers["location"]
    page = client.get(url)
    assert page.status_code == 200
    assert '<progress class="import-progress" value="0" max="3"' in page.text and "0 of 3 objects" in page.text
    assert 'role="status" aria-live="polite"' in page.text
    # The htmx poll gets the progress fragment alone while the job runs...
    poll = client.get(url, headers={"HX-Request": "true"})
    assert "<html" not in poll.text
    assert f'hx-get="{url}"' in poll.text and "HX-Refresh" not in poll.headers
    drain_jobs()
    # ... and, once it has finished, a refresh of the whole page, which shows the report with links to the drafts.
    last = client.get(url, headers={"HX-Request": "true"})
    assert last.headers.get("HX-Refresh") == "true" and f'hx-get="{url}"' not in last.text
    done = client.get(url)
    assert "3 of 3 objects" in done.text and 'data-testid="count-create">3<' in done.text
    for item_id in db.execute(select(ExchangeItem.id).where(ExchangeItem.org_id == importer.org_id)).scalars():
        assert f'href="/exchange/items/{item_id}"' in done.text
    # The import page lists it, and states its limits.
    form = client.get("/exchange/import").text
    assert f'href="{url}"' in form and "At most 5 MiB and 200 reports per import on this page" in form


# --- progress -----------------------------------------------------------------------------------------


@pytest.fixture()
def real_db(fresh_db: str) -> Iterator[tuple[sessionmaker[Session], str]]:
    engine = make_engine(fresh_db)
    yield session_factory(engine), fresh_db
    engine.dispose()


def test_progress_is_committed_batch_by_batch_and_seen_by_another_reader(
    real_db: tuple[sessionmaker[Session], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    factory, url = real_db
    with unit_of_work(factory) as s:
        actor = factories.actor(s)
        job_id = jobs.submit_import(s, actor, _reports(7)).id
    # Another connection (not the importer's, plain deferred transactions) reads `done` each time a draft is made.
    observer = create_engine(url)
    seen: list[int] = []
    create_draft = authoring.create_draft

    def watched(*args: Any, **kwargs: Any) -> Any:
        with observer.connect() as conn:
            seen.append(conn.execute(select(StixImportJob.done).where(StixImportJob.id == job_id)).scalar_one())
        return create_draft(*args, **kwargs)

    monkeypatch.setattr(authoring, "create_draft", watched)
    try:
        store = jobs.run_import(factory, job_id, batch_size=2)
    finally:
        observer.dispose()
    assert seen == [0, 0, 2, 2, 4, 4, 6]  # the batches before each draft were committed and visible
    with unit_of_work(factory) as s:
        store(s)
    with unit_of_work(factory) as s:
        job = s.get(StixImportJob, job_id)
        assert job is not None and job.state is ImportJobState.DONE and job.done == job.total == 7
        assert [o["title"] for o in job.outcome["objects"]] == [f"Report {i}" for i in range(7)]


def test_a_long_import_is_a_chain_of_tasks_each_within_its_budget(
    db: Session, make_actor: Callable[..., Actor], drain_jobs: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "BATCH_SIZE", 2)
    monkeypatch.setattr(jobs, "RUN_BUDGET_SECONDS", 0.0)  # every task hands on after one batch
    actor = make_actor()
    job = jobs.submit_import(db, actor, _reports(5))
    db.commit()
    drain_jobs()
    job = _job(db, job.id)
    assert job.state is ImportJobState.DONE and job.done == 5
    tasks = db.execute(select(OutboxJob).where(OutboxJob.topic == jobs.TASK)).scalars().all()
    assert len(tasks) == 3 and {t.status for t in tasks} == {JobStatus.done}  # batches of 2, 2 and 1
    assert [o["title"] for o in job.outcome["objects"]] == [f"Report {i}" for i in range(5)]
    assert len(db.execute(select(ExchangeItem.id).where(ExchangeItem.org_id == actor.org_id)).all()) == 5


# --- who may see a job ----------------------------------------------------------------------------------


def test_only_the_org_s_importers_see_a_job(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, browser_client: Client
) -> None:
    owner = make_actor()
    job = jobs.submit_import(db, owner, _reports(1))
    db.commit()
    viewer = make_actor(role=Role.viewer)  # another org, and a role there that may not import either
    writer = make_actor()  # another org's importer
    same_org_viewer = factories.actor(db, role=Role.viewer, organization=_org(db, owner))
    same_org_writer = factories.actor(db, role=Role.admin, organization=_org(db, owner))
    page, api = f"/exchange/import/jobs/{job.id}", f"{API}/{job.id}"
    for who in (viewer, writer, same_org_viewer):  # another org, or a role that may not import: no such job
        assert api_client(who).get(api).status_code == 404
        assert browser_client(who).get(page).status_code == 404
    assert api_client(None).get(api).status_code == 401
    assert browser_client(None).get(page, follow_redirects=False).status_code == 303  # to sign in
    for who in (owner, same_org_writer):
        assert api_client(who).get(api).json()["id"] == str(job.id)
        assert browser_client(who).get(page).status_code == 200
    # A token without the write scope is a role without the permission.
    reader = api_client(None)
    reader.headers["Authorization"] = f"Bearer {factories.token_for(db, owner, scopes=['exchange:item:read'])}"
    assert reader.get(api).status_code == 404


def _org(db: Session, actor: Actor) -> Organization:
    found = db.get(Organization, actor.org_id)
    assert found is not None
    return found


# --- idempotency ----------------------------------------------------------------------------------------


def test_a_retried_create_with_its_idempotency_key_gets_the_first_job(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    client = api_client(make_actor())
    raw = _reports(2)
    first = client.post(API, content=raw, headers={**JSON, "Idempotency-Key": "import-1"})
    again = client.post(API, content=raw, headers={**JSON, "Idempotency-Key": "import-1"})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["location"] == first.headers["location"]
    assert db.execute(select(func.count()).select_from(StixImportJob)).scalar_one() == 1
    assert len(db.execute(select(OutboxJob.id).where(OutboxJob.topic == jobs.TASK)).all()) == 1
    other = client.post(API, content=_reports(2), headers={**JSON, "Idempotency-Key": "import-1"})
    assert other.status_code == 422 and other.headers["content-type"].startswith("application/problem+json")
    fresh = client.post(API, content=raw, headers={**JSON, "Idempotency-Key": "import-2"})
    assert fresh.status_code == 202 and fresh.json()["id"] != first.json()["id"]


def test_the_import_job_api_is_in_the_openapi_document(api_client: Client) -> None:
    paths = api_client(None).get("/api/v1/openapi.json").json()["paths"]
    assert "202" in paths[API]["post"]["responses"]
    assert {p["name"] for p in paths[API]["post"]["parameters"]} >= {"permitted_uses", "audience", "idempotency-key"}
    assert "200" in paths[API + "/{job_id}"]["get"]["responses"]


def test_a_bundle_that_cannot_be_imported_is_refused_at_once_with_nothing_stored(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    client = api_client(make_actor())
    assert client.post(API, content=b"not json", headers=JSON).status_code == 422
    too_many = client.post(API, content=_reports(bundles.MAX_IMPORT_ITEMS + 1), headers=JSON)
    assert too_many.status_code == 413 and "import at most 1000" in too_many.json()["detail"]
    assert db.execute(select(func.count()).select_from(StixImportJob)).scalar_one() == 0


# --- crashes and lost rights ---------------------------------------------------------------------------


def _die_after_one_batch(db: Session, session_maker: sessionmaker[Session], job_id: uuid.UUID) -> OutboxJob:
    """A worker claims the job, commits its first batch and dies (its completion is never stored)."""
    doomed = Worker(session_maker, settings=JobSettings(), mailer=LogMailer(), worker_id="doomed")
    claimed = doomed.claim()
    assert [c.topic for c in claimed] == [jobs.TASK]
    jobs.run_import(session_maker, job_id, batch_size=2, budget_seconds=0)  # its store is lost with the process
    job = _job(db, job_id)
    assert job.state is ImportJobState.RUNNING and job.done == 2
    # The lease runs out (the watchdog's last resort for a holder it cannot judge).
    db.execute(
        update(OutboxJob).where(OutboxJob.id == claimed[0].id).values(locked_until=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    task = db.get(OutboxJob, claimed[0].id)
    assert task is not None
    return task


def test_an_import_whose_worker_died_is_retried_from_where_it_stopped(
    db: Session, session_maker: sessionmaker[Session], make_actor: Callable[..., Actor], mixed: dict[str, Any]
) -> None:
    actor = make_actor()
    bundles.import_bundle(db, actor, mixed["v1"])
    job = jobs.submit_import(db, actor, mixed["v2"])
    db.commit()
    _die_after_one_batch(db, session_maker, job.id)
    Worker(session_maker, settings=JobSettings(), mailer=LogMailer()).drain()
    job = _job(db, job.id)
    assert job.state is ImportJobState.DONE and job.done == 4
    # Every object once, with the outcome of a single run (the update done before the crash stays an update).
    assert _as_expected(job.outcome, actor.org_id) == mixed["expected"]
    assert len(db.execute(select(ExchangeItem.id).where(ExchangeItem.org_id == actor.org_id)).all()) == 3


def test_an_import_whose_task_died_for_good_is_failed_not_left_running(
    db: Session, session_maker: sessionmaker[Session], make_actor: Callable[..., Actor], browser_client: Client
) -> None:
    actor = make_actor()
    job = jobs.submit_import(db, actor, _reports(5))
    db.commit()
    task = _die_after_one_batch(db, session_maker, job.id)
    Worker(session_maker, settings=JobSettings(max_attempts=1), mailer=LogMailer()).drain()
    db.refresh(task)
    assert task.status is JobStatus.dead
    job = _job(db, job.id)
    assert job.state is ImportJobState.FAILED and job.finished_at is not None and job.done == 2
    assert job.error is not None and "stopped after 1 attempt" in job.error and "2 of 5 objects" in job.error
    assert db.get(StixImportBundle, job.id) is not None  # kept with a failed job
    assert [e.target_id for e in _audits(db, "exchange.stix.import_failed")] == [str(job.id)]
    page = browser_client(actor).get(f"/exchange/import/jobs/{job.id}").text
    assert 'data-testid="import-failed"' in page and "Imported before the failure" in page
    assert 'data-testid="count-create">2<' in page


def test_an_import_stops_when_its_requester_may_no_longer_import(
    db: Session, make_actor: Callable[..., Actor], drain_jobs: Callable[[], int]
) -> None:
    actor = make_actor()
    job = jobs.submit_import(db, actor, _reports(2))
    factories.membership(db, actor).role = Role.viewer
    db.commit()
    drain_jobs()
    job = _job(db, job.id)
    assert job.state is ImportJobState.FAILED and "may no longer write exchange items" in (job.error or "")
    assert db.execute(select(ExchangeItem.id).where(ExchangeItem.org_id == actor.org_id)).all() == []

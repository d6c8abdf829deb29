"""The alert a dead outbox job sends its org's admins names what died. A task of the product (a STIX import,
a federation push, a feed poll ...) is named as that task, after how many attempts, with what became of
the work and what to do; a notification (email, webhook, chat) keeps the notification wording.

The expected texts are written here from what an admin needs to read, not taken from the code.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.core.clock import utcnow
from signalfire.core.settings import JobSettings, get_settings
from signalfire.exchange.stix import jobs
from signalfire.exchange.stix.models import ImportJobState, StixImportJob
from signalfire.notify.models import JobKind, JobStatus, OutboxJob
from signalfire.notify.registry import DEAD_TASK_ALERTS, STAGED_TASKS, TASKS, load_domain_tasks
from signalfire.notify.transports import LogMailer
from signalfire.notify.worker import ALERT_TOPIC, Worker
from tests.exchange.stix_reports import stix_report


def _bundle(n: int) -> bytes:
    objects = [stix_report(f"Report {i}") for i in range(n)]
    return json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}).encode()


def _alerts(db: Session) -> list[OutboxJob]:
    db.expire_all()
    return list(db.execute(select(OutboxJob).where(OutboxJob.topic == ALERT_TOPIC)).scalars())


def _page(job_id: uuid.UUID) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/exchange/import/jobs/{job_id}"


@pytest.fixture()
def broken_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run of an import task fails with an error the worker retries (a bug, a database hiccup)."""

    def boom(*args: Any, **kwargs: Any) -> jobs.Store:
        raise RuntimeError("the import broke")

    monkeypatch.setattr(jobs, "run_import", boom)


@pytest.mark.usefixtures("broken_import")
def test_an_import_task_out_of_retries_alerts_naming_the_import_and_its_page(
    db: Session, session_maker: sessionmaker[Session], make_actor: Callable[..., Actor]
) -> None:
    admin = make_actor()  # an admin of the org, who started the import
    job = jobs.submit_import(db, admin, _bundle(2), filename="b.json")
    db.commit()
    # No backoff between the two attempts, so one drain uses them both up.
    Worker(session_maker, settings=JobSettings(max_attempts=2, backoff_base_seconds=0), mailer=LogMailer()).drain()
    task = db.execute(select(OutboxJob).where(OutboxJob.topic == jobs.TASK)).scalar_one()
    assert (task.status, task.attempts) == (JobStatus.dead, 2)
    (alert,) = _alerts(db)
    assert alert.payload["to"] == [admin.email]
    subject, body = alert.payload["subject"], alert.payload["body"]
    assert subject == "Signalfire: a STIX import job failed after 2 attempts (exchange.stix_import)"
    assert "notification" not in subject + body
    assert body.startswith(
        "A background task of your organisation failed after 2 attempts and will not be retried.\n\n"
        f"Task: a STIX import job (exchange.stix_import)\nJob: {task.id}\nError: RuntimeError: the import broke\n\n"
    )
    assert "marked failed" in body and f"sees the reason on the job page: {_page(job.id)}" in body
    assert "importing the same bundle again" in body
    # And the job is indeed failed, with the reason its requester sees on that page.
    found = db.get(StixImportJob, job.id)
    assert found is not None
    db.refresh(found)
    assert found.state is ImportJobState.FAILED and "stopped after 2 attempt(s)" in (found.error or "")


def test_an_import_whose_worker_died_for_good_alerts_naming_the_import(
    db: Session, session_maker: sessionmaker[Session], make_actor: Callable[..., Actor]
) -> None:
    """The watchdog's path: the worker died holding the task, and it had no attempts left."""
    admin = make_actor()
    job = jobs.submit_import(db, admin, _bundle(1))
    db.commit()
    doomed = Worker(session_maker, settings=JobSettings(), mailer=LogMailer(), worker_id="doomed")
    (claimed,) = doomed.claim()
    db.execute(update(OutboxJob).where(OutboxJob.id == claimed.id).values(locked_until=utcnow() - timedelta(seconds=1)))
    db.commit()
    Worker(session_maker, settings=JobSettings(max_attempts=1), mailer=LogMailer()).drain()
    (alert,) = _alerts(db)
    assert alert.payload["subject"] == "Signalfire: a STIX import job failed after 1 attempt (exchange.stix_import)"
    assert f"Job: {claimed.id}\n" in alert.payload["body"] and _page(job.id) in alert.payload["body"]


def test_a_dead_notification_keeps_the_notification_wording(
    db: Session, session_maker: sessionmaker[Session], make_actor: Callable[..., Actor]
) -> None:
    """An email is a notification even when its topic reads like a task's name."""
    admin = make_actor()
    email = OutboxJob(kind=JobKind.email, topic=jobs.TASK, org_id=admin.org_id, payload={"to": ["x@example.test"]})
    db.add(email)
    db.commit()
    Worker(session_maker, settings=JobSettings(), mailer=LogMailer()).drain()
    (alert,) = _alerts(db)
    assert alert.payload["subject"] == "Signalfire could not deliver a notification (exchange.stix_import)"
    assert alert.payload["body"] == (
        "A background job of your organisation failed for good and will not be retried.\n\n"
        f"Job: {email.id}\nKind of notification: exchange.stix_import\n"
        "Error: the job has no 'subject' to build the message from\n\n"
        "Whoever it was meant for has not been told. Check the cause (for example an address or a webhook "
        "endpoint) and send the information another way if it is still needed."
    )


def test_every_task_kind_of_the_product_says_what_it_is_when_it_dies() -> None:
    load_domain_tasks()
    product = {name for name in [*TASKS, *STAGED_TASKS] if not name.startswith("tests.")}
    assert {"exchange.stix_import", "federation.push", "intake.poll_feed", "response.escalation_check"} <= product
    assert product - set(DEAD_TASK_ALERTS) == set()
    for name in product:
        alert = DEAD_TASK_ALERTS[name]
        assert alert.what.startswith(("a ", "an ")) and "notification" not in alert.what
        for args in ({}, {"job_id": str(uuid.uuid4()), "feed_id": str(uuid.uuid4())}):
            assert len(alert.then(args)) > 40, name  # says what became of the work, whatever the arguments

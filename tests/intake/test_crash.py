"""Crash test: `signalfire serve` is killed with SIGKILL during a burst of public submissions.

Every submission that got a receipt must be in the database afterwards, exactly once, and retrying the
ones without a receipt (same Idempotency-Key) after a restart must not store anything twice.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from signalfire.access.models import OrgKind, Role
from signalfire.access.service import add_member, create_org, create_user
from signalfire.audit.models import AuditEvent
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.web.idempotency import IdempotencyRecord
from signalfire.intake import placement
from signalfire.intake.models import IntakeSettings, Signal
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
THREADS = 3
PER_THREAD = 25
KILL_AFTER_RECEIPTS = 12


def _start(db_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SIGNALFIRE_DATABASE_URL": db_url,
        "SIGNALFIRE_ENVIRONMENT": "test",
        "SIGNALFIRE_EMBEDDED_WORKER": "false",
        "SIGNALFIRE_LIMITS__PUBLIC_SUBMISSIONS_PER_MINUTE": "100000",
        "PYTHONPATH": str(ROOT / "src"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "signalfire.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("signalfire serve did not start")


@pytest.fixture()
def crash_org(fresh_db: str) -> str:
    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as s:
        org = create_org(s, slug=f"crash-{uuid.uuid4().hex[:8]}", name="Crash Labs", kind=OrgKind.frontier_developer)
        add_member(
            s,
            org=org,
            user=create_user(s, email=f"{uuid.uuid4().hex[:8]}@x.test", display_name="A", password=None),
            role=Role.admin,
        )
        s.add(
            IntakeSettings(
                org_id=org.id,
                public_form_enabled=True,
                intro="",
                allow_anonymous=True,
                min_fill_seconds=0,
                model_names=[],
            )
        )
        slug = org.slug
    engine.dispose()
    return slug


class Reporter:
    """One person's browser: its own cookies, a form loaded once, a list of submissions with keys."""

    def __init__(self, base: str, slug: str, n: int) -> None:
        self.base = base
        self.slug = slug
        self.client = httpx.Client(base_url=base, timeout=10)
        page = self.client.get(f"/report/{slug}")
        self.fields = {"csrf_token": CSRF.findall(page.text)[0], "form_token": FORM_TOKEN.findall(page.text)[0]}
        self.keys = [f"{uuid.uuid4().hex}" for _ in range(n)]
        self.receipts: dict[str, str] = {}

    def submit(self, key: str) -> None:
        data = {
            **self.fields,
            "title": f"Crash test report {key[:8]}",
            "description": f"Submission {key} sent during a burst.",
        }
        try:
            resp = self.client.post(
                f"/report/{self.slug}", data=data, headers={"Idempotency-Key": key, "Accept": "application/json"}
            )
        except httpx.HTTPError:
            return
        if resp.status_code == 201:
            self.receipts[key] = resp.json()["reference"]

    def burst(self, stop: threading.Event) -> None:
        for key in self.keys:
            if stop.is_set():
                return
            self.submit(key)


@pytest.mark.slow  # starts `signalfire serve` twice
def test_killed_server_loses_no_receipted_submission_and_stores_none_twice(fresh_db: str, crash_org: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(fresh_db, port)
    try:
        reporters = [Reporter(base, crash_org, PER_THREAD) for _ in range(THREADS)]
        stop = threading.Event()
        threads = [threading.Thread(target=r.burst, args=(stop,)) for r in reporters]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while sum(len(r.receipts) for r in reporters) < KILL_AFTER_RECEIPTS and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)  # mid-burst: requests are in flight
        proc.wait(timeout=10)
        for t in threads:
            t.join(timeout=60)
        before_restart = {k: v for r in reporters for k, v in r.receipts.items()}
        assert KILL_AFTER_RECEIPTS <= len(before_restart) < THREADS * PER_THREAD, "the kill was not mid-burst"

        proc = _start(fresh_db, port)
        for r in reporters:  # the same browsers retry what got no receipt, with the same keys
            for key in r.keys:
                if key not in r.receipts:
                    r.submit(key)
            r.client.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)

    receipts = {k: v for r in reporters for k, v in r.receipts.items()}
    assert len(receipts) == THREADS * PER_THREAD
    for key, ref in before_restart.items():
        assert receipts[key] == ref
    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as s:
        stored = dict(s.execute(select(Signal.reference, func.count()).group_by(Signal.reference)).all())
        titles = s.execute(select(Signal.title, func.count()).group_by(Signal.title).having(func.count() > 1)).all()
        records = s.execute(
            select(func.count()).select_from(IdempotencyRecord).where(IdempotencyRecord.scope.like("intake:report:%"))
        ).scalar_one()
        waiting = s.execute(select(func.count()).where(Signal.placement_pending.is_(True))).scalar_one()
    assert all(stored.get(ref) == 1 for ref in receipts.values()), "a receipted submission is missing"
    assert len(stored) == THREADS * PER_THREAD and not titles, "a submission was stored twice"
    assert records == THREADS * PER_THREAD
    # Served without a worker: every acknowledged signal waits for placement; the worker's sweep then
    # clusters and audits each exactly once.
    assert waiting == THREADS * PER_THREAD
    assert placement.drain(session_factory(engine)) == THREADS * PER_THREAD
    with unit_of_work(session_factory(engine)) as s:
        unplaced = s.execute(
            select(func.count()).where(Signal.placement_pending.is_(True) | Signal.cluster_id.is_(None))
        ).scalar_one()
        audited = dict(
            s.execute(
                select(AuditEvent.target_id, func.count())
                .where(AuditEvent.action == "intake.signal.receive")
                .group_by(AuditEvent.target_id)
            ).all()
        )
        ids = {str(i) for i in s.execute(select(Signal.id)).scalars()}
    engine.dispose()
    assert unplaced == 0
    assert set(audited) == ids and set(audited.values()) == {1}

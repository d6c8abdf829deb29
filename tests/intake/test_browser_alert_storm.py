"""In a real browser: an alert storm (200 Alertmanager notifications in a few seconds, from many pods) is
acknowledged at once, clustered by the worker into a few clusters in the triage queue, and a responder
accepts the suggested known incident for the storm's refusal-bypass alerts."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from signalfire.access.models import User
from signalfire.access.service import build_actor
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.intake import alert_sources
from signalfire.intake.models import AlertFormat, Signal, SourceKind
from tests.conftest import LiveServer, login, screenshot

pytestmark = pytest.mark.browser

STORM = 200
KINDS = [
    ("RefusalBypassSpike", "critical", "Refusal-bypass score above 0.9 for {n} accounts on aurora-large 3.2"),
    ("SafetyClassifierLatencyHigh", "warning", "Safety classifier p99 latency above 800 ms"),
    ("IngestDiskAlmostFull", "warning", "Disk of the log ingest node almost full"),
]


def _storm_source(database_url: str) -> tuple[str, str]:
    engine = make_engine(database_url)
    with unit_of_work(session_factory(engine)) as session:
        alice = session.execute(select(User).where(User.email == "alice@aurora.example")).scalar_one()
        actor = build_actor(session, alice, None, via="session")
        assert actor is not None
        source, bearer = alert_sources.create_source(session, actor, name="storm", format=AlertFormat.alertmanager)
        source_id = str(source.id)
    engine.dispose()
    return source_id, bearer


def _notification(i: int) -> dict[str, Any]:
    name, severity, summary = KINDS[i % len(KINDS)]
    pod = f"pod-{i:03d}"
    text = summary.format(n=30 + i % 17)
    labels = {"alertname": name, "severity": severity, "model": "aurora-large", "pod": pod}
    return {
        "version": "4",
        "groupKey": f'{{}}/{{alertname="{name}",pod="{pod}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "signalfire",
        "groupLabels": {"alertname": name, "pod": pod},
        "commonLabels": labels,
        "commonAnnotations": {"summary": text},
        "externalURL": "http://alertmanager.aurora.internal:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": text},
                "startsAt": datetime.now(UTC).isoformat(),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.aurora.internal:9090/graph",
                "fingerprint": f"{i:016x}",
            }
        ],
    }


def _send_storm(url: str, source_id: str, bearer: str) -> float:
    statuses: list[int] = []
    lock = threading.Lock()

    def sender(part: range) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in part:
                resp = client.post(
                    f"/api/v1/intake/alerts/{source_id}",
                    json=_notification(i),
                    headers={"Authorization": f"Bearer {bearer}"},
                )
                with lock:
                    statuses.append(resp.status_code)

    started = time.monotonic()
    threads = [threading.Thread(target=sender, args=(range(k, STORM, 4),)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(201) == STORM, sorted(set(statuses))
    return time.monotonic() - started


def _wait_placed(database_url: str, timeout: float = 180) -> None:
    engine = make_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                left = conn.execute(select(func.count()).where(Signal.placement_pending.is_(True))).scalar_one()
            if not left:
                return
            time.sleep(0.5)
    finally:
        engine.dispose()
    raise AssertionError(f"{left} signals still waiting for placement")


def test_alert_storm_ends_as_a_few_clusters_and_a_known_incident_is_accepted(
    live_server: LiveServer, page: Any
) -> None:
    url = live_server.url
    source_id, bearer = _storm_source(live_server.database_url)
    login(page, url, "raj@aurora.example")
    took = _send_storm(url, source_id, bearer)
    assert took < 60  # acknowledged as they come (a few seconds on an idle machine)
    page.goto(f"{url}/intake?source=monitoring_alert&sort=newest")
    screenshot(page, "intake-storm-01-arriving")
    _wait_placed(live_server.database_url)

    page.goto(f"{url}/intake?source=monitoring_alert&sort=newest&collapse=true")
    rows = page.locator("[data-testid=queue] tbody tr")
    # 200 alerts of three kinds (plus the demo's own few alerts): a handful of rows, one per cluster.
    assert 3 <= rows.count() <= 8, rows.count()
    assert page.locator("[data-testid=clustering-pending]").count() == 0
    screenshot(page, "intake-storm-02-clustered")

    page.goto(f"{url}/intake?source=monitoring_alert&sort=newest&collapse=false&q=refusal-bypass")
    page.click("[data-testid=queue] a.row-title >> nth=0")
    page.wait_for_selector("[data-testid=match-accept]")
    assert "linked to" in page.content() and "an incident" in page.content()
    screenshot(page, "intake-storm-03-suggestion")
    page.click("[data-testid=match-accept]")
    page.wait_for_selector("text=Suggestion accepted")
    screenshot(page, "intake-storm-04-accepted")

    engine = make_engine(live_server.database_url)
    with engine.connect() as conn:
        storm = conn.execute(
            select(func.count(func.distinct(Signal.cluster_id))).where(
                Signal.source_kind == SourceKind.monitoring_alert, Signal.alert_source_id == uuid.UUID(source_id)
            )
        ).scalar_one()
    engine.dispose()
    assert storm <= 6, storm

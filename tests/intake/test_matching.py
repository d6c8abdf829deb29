"""Clustering in the database, known or new, per-org thresholds, accept/reject and calibration."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, Role
from signalfire.audit.models import AuditEvent
from signalfire.core.errors import Conflict, Forbidden, NotFound
from signalfire.intake import calibration, matching
from signalfire.intake.aiid import AiidRowError, iter_aiid_incidents
from signalfire.intake.aiid_reports import import_aiid_reports, iter_aiid_reports
from signalfire.intake.feeds import parse_feed
from signalfire.intake.models import Cluster, Decision, DecisionKind, MatchSuggestion, Signal, SourceKind, Verdict
from signalfire.intake.reports_import import ReportRecord, import_reports
from tests import factories as tf
from tests.intake import factories as f

STORY_A = [
    "Lawyer cited fake cases invented by ChatGPT in Avianca lawsuit",
    "Avianca lawsuit: ChatGPT made up the court cases a lawyer cited",
    "Judge weighs sanctions for lawyer whose ChatGPT brief cited fake cases",
]
STORY_B = [
    "Robotaxi blocked an ambulance on a San Francisco street",
    "San Francisco ambulance delayed by stalled robotaxi",
    "Stalled robotaxi held up ambulance, San Francisco fire department says",
]


def _clusters(db: Session, signals: Sequence[Signal]) -> list[uuid.UUID | None]:
    for s in signals:
        db.refresh(s)
    return [s.cluster_id for s in signals]


def _suggestion(db: Session, signal: Signal) -> MatchSuggestion | None:
    return db.execute(select(MatchSuggestion).where(MatchSuggestion.signal_id == signal.id)).scalar_one_or_none()


def test_reports_of_two_stories_make_two_clusters_one_by_one(db: Session, make_actor: Callable[..., Actor]) -> None:
    actor = make_actor()
    signals = [
        f.signal(db, actor.org_id, title=t, text="") for pair in zip(STORY_A, STORY_B, strict=True) for t in pair
    ]
    ids = _clusters(db, signals)
    a, b = ids[0::2], ids[1::2]
    assert len(set(a)) == 1 and len(set(b)) == 1 and a[0] != b[0]
    counts = {c.id: c.signal_count for c in db.execute(select(Cluster).where(Cluster.org_id == actor.org_id)).scalars()}
    assert counts == {a[0]: 3, b[0]: 3}


def test_batch_import_clusters_and_is_idempotent(db: Session, make_actor: Callable[..., Actor]) -> None:
    actor = make_actor()
    records = [ReportRecord(key=f"r{i}", title=t) for i, t in enumerate(STORY_A + STORY_B)]
    first = import_reports(db, actor.org_id, records)
    again = import_reports(db, actor.org_id, records)
    assert (first.created, again.created, again.skipped) == (6, 0, 6)
    rows = db.execute(select(Signal.dedupe_key, Signal.cluster_id).where(Signal.org_id == actor.org_id)).all()
    by_key = dict(rows)
    assert len({by_key[f"r{i}"] for i in range(3)}) == 1
    assert len({by_key[f"r{i}"] for i in range(3, 6)}) == 1
    assert by_key["r0"] != by_key["r3"]


def test_a_new_report_of_a_stored_story_is_known_with_score_and_reason(
    db: Session, make_actor: Callable[..., Actor]
) -> None:
    actor = make_actor()
    stored = [f.signal(db, actor.org_id, title=t, text="") for t in STORY_A + STORY_B]
    known = f.signal(db, actor.org_id, title="ChatGPT invented the cases: Avianca lawyer faces sanctions", text="")
    new = f.signal(db, actor.org_id, title="Deepfake audio of a mayor spread before the local election", text="")
    hit = _suggestion(db, known)
    assert hit is not None and hit.known
    assert hit.cluster_id == stored[0].cluster_id
    assert hit.score >= matching.thresholds_for(db, actor.org_id).known
    assert "wording" in hit.reason and "SF-R-" in hit.reason
    miss = _suggestion(db, new)
    assert miss is None or not miss.known


def test_org_thresholds_are_used(db: Session, make_actor: Callable[..., Actor]) -> None:
    actor = make_actor()
    calibration.set_thresholds(db, actor, cluster=0.99, known=0.99)
    first = f.signal(db, actor.org_id, title=STORY_A[0], text="")
    second = f.signal(db, actor.org_id, title=STORY_A[1], text="")
    assert first.cluster_id != second.cluster_id
    suggestion = _suggestion(db, second)
    assert suggestion is not None and not suggestion.known and suggestion.cluster_id == first.cluster_id
    calibration.set_thresholds(db, actor, cluster=None, known=None, reset=True)
    limits = matching.thresholds_for(db, actor.org_id, embedded=False)
    assert (limits.cluster, limits.known) == (0.10, 0.30)
    audit = db.execute(select(func.count()).where(AuditEvent.action == "intake.thresholds.update")).scalar_one()
    assert audit == 2


def test_accept_moves_the_signal_and_reject_splits_it_out(db: Session, make_actor: Callable[..., Actor]) -> None:
    actor = make_actor()
    calibration.set_thresholds(db, actor, cluster=0.99, known=None)
    first = f.signal(db, actor.org_id, title=STORY_A[0], text="")
    second = f.signal(db, actor.org_id, title=STORY_A[1], text="")
    assert second.cluster_id != first.cluster_id
    decided = calibration.decide(db, actor, second.id, accept=True)
    assert decided.verdict is Verdict.accepted and decided.decided_by == actor.user_id
    db.refresh(second)
    assert second.cluster_id == first.cluster_id
    cluster = db.get(Cluster, first.cluster_id)
    assert cluster is not None
    db.refresh(cluster)
    assert cluster.signal_count == 2
    with pytest.raises(Conflict):
        calibration.decide(db, actor, second.id, accept=False)

    calibration.set_thresholds(db, actor, cluster=0.1, known=None)
    third = f.signal(db, actor.org_id, title=STORY_A[2], text="")
    assert third.cluster_id == first.cluster_id  # joined automatically
    calibration.decide(db, actor, third.id, accept=False)
    db.refresh(third)
    alone = db.get(Cluster, third.cluster_id)
    assert alone is not None and alone.curated and third.cluster_id != first.cluster_id
    kinds = db.execute(select(Decision.kind).where(Decision.signal_id.in_([second.id, third.id]))).scalars().all()
    assert DecisionKind.suggestion_accepted in kinds and DecisionKind.suggestion_rejected in kinds


def test_deciding_needs_triage_and_the_same_org(db: Session, make_actor: Callable[..., Actor]) -> None:
    admin = make_actor()
    f.signal(db, admin.org_id, title=STORY_A[0], text="")
    second = f.signal(db, admin.org_id, title=STORY_A[1], text="")
    org = db.get(Organization, admin.org_id)
    assert org is not None
    viewer = tf.actor_for(db, tf.member(db, org, Role.viewer), org)
    outsider = make_actor()
    with pytest.raises(Forbidden):
        calibration.decide(db, viewer, second.id, accept=True)
    with pytest.raises(NotFound):
        calibration.decide(db, outsider, second.id, accept=True)
    assert calibration.suggestion_for(db, outsider, second) is None
    assert calibration.calibration(db, outsider).decided == 0


def _decided(db: Session, actor: Actor, scores: list[tuple[float, bool]]) -> None:
    """Suggestions of our own making with known scores and verdicts (replacing what ingest suggested)."""
    for score, ok in scores:
        s = f.signal(db, actor.org_id, title=f"Signal {uuid.uuid4().hex}", text="")
        suggestion = _suggestion(db, s) or MatchSuggestion(org_id=actor.org_id, signal_id=s.id, known=False)
        suggestion.score = score
        suggestion.reason = "made by the test"
        suggestion.verdict = Verdict.accepted if ok else Verdict.rejected
        db.add(suggestion)
    db.flush()


def test_calibration_report_against_the_orgs_decisions(db: Session, make_actor: Callable[..., Actor]) -> None:
    actor = make_actor()
    calibration.set_thresholds(db, actor, cluster=None, known=0.4)
    _decided(db, actor, [(0.9, True), (0.6, True), (0.3, True), (0.5, False), (0.2, False)])
    report = calibration.calibration(db, actor)
    assert (report.decided, report.accepted, report.rejected) == (5, 3, 2)
    # At 0.4: known = {0.9, 0.6, 0.5}: 2 right, 1 wrong; 0.3 (accepted) missed.
    point = report.at_threshold
    assert point is not None
    assert point.precision == pytest.approx(2 / 3) and point.recall == pytest.approx(2 / 3)
    assert point.f1 == pytest.approx(2 / 3)
    # Best over the grid: at 0.55 and 0.6 both accepted-above, nothing wrong: P 1, R 2/3, F1 0.8;
    # at 0.25 and 0.3: P 3/4, R 1, F1 6/7 (0.857), the highest.
    assert report.best is not None and report.best.f1 == pytest.approx(6 / 7)
    assert report.best.threshold in (0.25, 0.3)


def test_match_and_calibration_through_the_api(
    db: Session, make_actor: Callable[..., Actor], api_client: Callable[[Actor | None], TestClient]
) -> None:
    actor = make_actor()
    f.signal(db, actor.org_id, title=STORY_A[0], text="")
    second = f.signal(db, actor.org_id, title=STORY_A[1], text="")
    db.commit()
    c = api_client(actor)
    shown = c.get(f"/api/v1/intake/signals/{second.id}/match")
    assert shown.status_code == 200 and shown.json()["answer"] == "known" and shown.json()["verdict"] == "pending"
    accepted = c.post(f"/api/v1/intake/signals/{second.id}/match/accept")
    assert accepted.status_code == 200 and accepted.json()["verdict"] == "accepted"
    again = c.post(f"/api/v1/intake/signals/{second.id}/match/reject")
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    assert c.put("/api/v1/intake/thresholds", json={"known_threshold": 1.5}).status_code == 422
    assert c.put("/api/v1/intake/thresholds", json={"known_threshold": "x"}).status_code == 422
    put = c.put("/api/v1/intake/thresholds", json={"known_threshold": 0.3})
    assert put.status_code == 200 and put.json()["known_threshold"] == 0.3
    report = c.get("/api/v1/intake/calibration").json()
    assert report["decided"] == 1 and report["accepted"] == 1
    assert c.get(f"/api/v1/intake/signals/{uuid.uuid4()}/match").status_code == 404
    other = api_client(make_actor())
    assert other.get(f"/api/v1/intake/signals/{second.id}/match").status_code == 404
    assert other.get("/api/v1/intake/calibration").json()["decided"] == 0


def test_the_signal_page_shows_the_suggestion_and_accepts_it_in_one_click(
    db: Session, make_actor: Callable[..., Actor], browser_client: Callable[[Actor | None], TestClient]
) -> None:
    actor = make_actor()
    f.signal(db, actor.org_id, title=STORY_A[0], text="")
    second = f.signal(db, actor.org_id, title=STORY_A[1], text="")
    db.commit()
    c = browser_client(actor)
    page = c.get(f"/intake/signals/{second.id}")
    assert page.status_code == 200 and 'data-testid="match-accept"' in page.text and "Known" in page.text
    done = c.post(f"/intake/signals/{second.id}/match/accept", follow_redirects=False)
    assert done.status_code in (302, 303)
    assert 'data-testid="match-verdict"' in c.get(f"/intake/signals/{second.id}").text
    assert c.post(f"/intake/signals/{second.id}/match/sideways").status_code == 404
    cal = c.get("/intake/calibration")
    assert cal.status_code == 200 and 'data-testid="calibration"' in cal.text
    bad = c.post("/intake/thresholds", data={"cluster_threshold": "7"})
    assert bad.status_code == 422


class _FakeEmbedder:
    """Two directions: texts naming a robotaxi, and all others."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[1.0, 0.0] if "robotaxi" in t.lower() else [0.0, 1.0] for t in texts]


def test_ingest_uses_the_embedder_when_one_is_installed(
    db: Session, make_actor: Callable[..., Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matching, "active_embedder", lambda: _FakeEmbedder())
    actor = make_actor()
    first = f.signal(db, actor.org_id, title=STORY_B[0], text="")
    second = f.signal(db, actor.org_id, title=STORY_B[1], text="")
    assert first.embedding is not None and len(first.embedding) == 8  # two float32
    assert second.cluster_id == first.cluster_id
    reason = db.execute(
        select(Decision.reason).where(Decision.signal_id == second.id, Decision.kind == DecisionKind.clustered)
    ).scalar_one()
    assert "meaning 1.00" in reason


def test_the_embedder_reads_the_title_and_the_headline_slug(
    db: Session, make_actor: Callable[..., Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    class Recording(_FakeEmbedder):
        def embed(self, texts: Sequence[str]) -> list[list[float]]:
            seen.extend(texts)
            return super().embed(texts)

    monkeypatch.setattr(matching, "active_embedder", lambda: Recording())
    actor = make_actor()
    f.signal(
        db,
        actor.org_id,
        title="Driverless car blocks ambulance",
        text="",
        url="https://a.example/2024/05/robotaxi-blocks-ambulance.html",
    )
    f.signal(db, actor.org_id, title="Self-driving taxi halts an ambulance", text="")
    assert seen[:2] == [
        "Driverless car blocks ambulance robotaxi blocks ambulance",
        "Self-driving taxi halts an ambulance",
    ]


def test_embedder_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    matching.active_embedder.cache_clear()
    monkeypatch.setenv(matching.EMBEDDER_ENV, "off")
    try:
        assert matching.active_embedder() is None
    finally:
        matching.active_embedder.cache_clear()


REPORTS_CSV = """_id,report_number,title,url,source_domain,authors,date_published,text
a1,101,Lawyer cited fake ChatGPT cases,https://news.example/2023/fake-cases,news.example,"[""Ann Lee""]",2023-05-27,x
a2,102,Avianca lawyer's ChatGPT brief,https://other.example/brief,other.example,"Bo Chen, Cy Diaz",2023-05-28T10:00Z,
a3,103,Unlisted report about a robotaxi,https://third.example/robotaxi,third.example,,,
a4,abc,Bad number,https://x.example/,x.example,,,
a5,104,,https://x.example/,x.example,,,
"""


def test_aiid_report_level_import(db: Session, make_actor: Callable[..., Actor]) -> None:
    actor = make_actor()
    incidents_csv = Path(__file__).parent / "fixtures" / "aiid_incidents.csv"
    with incidents_csv.open("rb") as fh:
        incidents = list(iter_aiid_incidents(fh))
    first = incidents[0]
    errors: list[AiidRowError] = []
    reports = list(iter_aiid_reports(io.StringIO(REPORTS_CSV), errors=errors))
    assert [r.report_number for r in reports] == [101, 102, 103]
    assert len(errors) == 2
    assert reports[0].authors == ("Ann Lee",) and reports[1].authors == ("Bo Chen", "Cy Diaz")
    # Give the first incident our two reports, whatever its own report numbers are.
    incident = replace(first, report_numbers=(101, 102))
    result = import_aiid_reports(db, actor.org_id, [incident], reports)
    assert result.created == 4  # the incident's record and three reports
    rows = {s.dedupe_key: s for s in db.execute(select(Signal).where(Signal.org_id == actor.org_id)).scalars().all()}
    own = rows[f"aiid:{first.incident_id}"].cluster_id
    assert rows["aiid-report:101"].cluster_id == own and rows["aiid-report:102"].cluster_id == own
    assert rows["aiid-report:101"].authors == ["Ann Lee"]
    cluster = db.get(Cluster, own)
    assert cluster is not None and cluster.curated and cluster.signal_count == 3
    assert rows["aiid-report:103"].cluster_id != own
    again = import_aiid_reports(db, actor.org_id, [incident], reports)
    assert (again.created, again.skipped) == (0, 4)


RSS_WITH_AUTHORS = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>
<item><title>One</title><link>https://a.example/1</link><guid>1</guid><dc:creator>Dana Reyes</dc:creator></item>
<item><title>Two</title><link>https://a.example/2</link><guid>2</guid><author>ed@a.example (Eli Park)</author></item>
<item><title>Three</title><link>https://a.example/3</link><guid>3</guid></item>
</channel></rss>"""


def test_feed_entries_keep_their_authors() -> None:
    entries = parse_feed(RSS_WITH_AUTHORS).entries
    assert entries[0].authors == ("Dana Reyes",)
    assert entries[1].authors and "Eli Park" in entries[1].authors[0]
    assert entries[2].authors == ()


def test_alerts_of_one_system_are_not_one_story_because_they_share_its_url(
    db: Session, make_actor: Callable[..., Actor]
) -> None:
    actor = make_actor()
    url = "https://grafana.example/alerting/list"
    first = f.signal(
        db,
        actor.org_id,
        title="Refusal-bypass score above 0.9",
        text="",
        source_kind=SourceKind.monitoring_alert,
        url=url,
    )
    second = f.signal(
        db,
        actor.org_id,
        title="Classifier p99 latency above 800 ms",
        text="",
        source_kind=SourceKind.monitoring_alert,
        url=url,
    )
    assert first.cluster_id != second.cluster_id
    # The same URL on two news reports is one article.
    a = f.signal(db, actor.org_id, title="Headline one", text="", url="https://news.example/story")
    b = f.signal(db, actor.org_id, title="Other words entirely", text="", url="https://www.news.example/story/")
    assert a.cluster_id == b.cluster_id


def test_a_stored_signals_features_are_computed_afresh_when_its_text_changes() -> None:
    """Member features are kept between batches, but an alert group whose summary grew is read anew."""
    from signalfire.intake.similarity import features

    alert = Signal(
        id=uuid.uuid4(),
        source_kind=SourceKind.monitoring_alert,
        title="Jailbreak rate above baseline",
        match_text="refusals dropped on the roleplay prompts",
        text="",
        url=None,
        authors=[],
    )
    first = matching._member_features(alert)
    assert first == features(matching.report_of(alert))
    assert matching._member_features(alert) is first  # the same signal, unchanged: not recomputed
    alert.match_text = "refusals dropped on the roleplay prompts; exfiltration of the system prompt seen"
    again = matching._member_features(alert)
    assert again == features(matching.report_of(alert)) and again != first


def test_a_report_is_compared_on_its_publication_day_and_an_alert_is_not() -> None:
    from datetime import UTC, date, datetime

    published = datetime(2024, 2, 14, 23, 30, tzinfo=UTC)
    fields = {
        "title": "T",
        "text": "",
        "url": "https://x.example/2019/01/02/t",
        "authors": [],
        "published_at": published,
    }
    report = Signal(id=uuid.uuid4(), source_kind=SourceKind.feed_item, **fields)
    alert = Signal(id=uuid.uuid4(), source_kind=SourceKind.monitoring_alert, match_text="t", **fields)
    assert matching.report_of(report).published == date(2024, 2, 14)  # its own day wins over the URL's
    assert matching.report_of(alert).published is None
    assert matching.report_of(alert).url is None  # so no URL day either
    received_only = Signal(id=uuid.uuid4(), source_kind=SourceKind.feed_item, title="T", text="", authors=[])
    assert matching.report_of(received_only).published is None


@pytest.mark.parametrize(
    ("keys", "width"), [(1, 1), (2, 2), (3, 4), (5, 8), (64, 64), (65, 128), (129, 200), (200, 200)]
)
def test_lookups_are_built_for_a_few_widths_only(keys: int, width: int) -> None:
    assert matching._postings_lookup(keys)[1] == width
    assert matching._recent_members(keys)[1] == width

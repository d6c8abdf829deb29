"""Ingest: one record for every source, clustering across sources, scoring, automatic decisions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.audit.models import AuditEvent
from signalfire.intake import ingest as ingest_mod
from signalfire.intake import service
from signalfire.intake.ingest import Incoming, clean_text, ingest, sampled_for_review
from signalfire.intake.models import Cluster, Decision, DecisionKind, Signal, SignalBand, SourceKind, TriageState
from signalfire.intake.receipts import REFERENCE_PREFIX, new_reference, normalise_reference
from signalfire.intake.schemas import ReviewIn, SplitIn
from signalfire.response.vocab import Severity
from tests.intake import factories as f
from tests.response import factories as rf

ARTICLES = json.loads((Path(__file__).parent / "fixtures" / "articles.json").read_text())


def _clusters(db: Session, org_id: object) -> list[int]:
    rows = db.execute(
        select(Signal.cluster_id, func.count()).where(Signal.org_id == org_id).group_by(Signal.cluster_id)
    ).all()
    return sorted(n for _, n in rows)


def test_twenty_reports_of_one_event_become_one_cluster_across_sources(
    db: Session, make_actor: Callable[..., Actor]
) -> None:
    actor = make_actor()
    kinds = [SourceKind.feed_item, SourceKind.public_form, SourceKind.downstream_api, SourceKind.manual]
    for i, text in enumerate(ARTICLES["event"]):
        f.signal(db, actor.org_id, title=f"Report {i}", text=text, source_kind=kinds[i % len(kinds)])
    for i, text in enumerate(ARTICLES["unrelated"]):
        f.signal(db, actor.org_id, title=f"Other {i}", text=text, source_kind=SourceKind.feed_item)
    assert _clusters(db, actor.org_id) == [1] * len(ARTICLES["unrelated"]) + [len(ARTICLES["event"])]
    big = db.execute(select(Cluster).where(Cluster.org_id == actor.org_id, Cluster.signal_count > 1)).scalar_one()
    assert big.signal_count == 20
    # Every automatic placement is an explained decision.
    reasons = (
        db.execute(
            select(Decision.reason).where(Decision.cluster_id == big.id, Decision.kind == DecisionKind.clustered)
        )
        .scalars()
        .all()
    )
    assert reasons and all("wording" in r for r in reasons)


def test_clusters_never_cross_organisations(db: Session, make_actor: Callable[..., Actor]) -> None:
    a, b = make_actor(), make_actor()
    s1 = f.signal(db, a.org_id, text=ARTICLES["event"][0])
    s2 = f.signal(db, b.org_id, text=ARTICLES["event"][0])
    assert s1.cluster_id != s2.cluster_id
    assert s2.state is TriageState.new and s2.similarity is None


def test_syndicated_feed_copy_is_marked_duplicate_but_a_persons_report_is_not(
    db: Session, make_actor: Callable[..., Actor]
) -> None:
    actor = make_actor()
    text = ARTICLES["event"][0]
    first = f.signal(db, actor.org_id, title="Agent deletes database", text=text, source_kind=SourceKind.feed_item)
    copy = f.signal(
        db, actor.org_id, title="Agent deletes database", text=text + " (Reuters)", source_kind=SourceKind.feed_item
    )
    person = f.signal(db, actor.org_id, title="Agent deletes database", text=text, source_kind=SourceKind.public_form)
    assert copy.state is TriageState.duplicate and copy.duplicate_of_id == first.id
    assert person.state is TriageState.new
    assert first.cluster_id == copy.cluster_id == person.cluster_id


def test_relevance_matches_model_inventory_and_configured_names(db: Session, make_actor: Callable[..., Actor]) -> None:
    admin = make_actor()
    rf.model_version(db, admin, name="aurora-large", version="3.2")
    f.open_channel(db, admin, model_names=["Aurora Assistant"])
    hit = f.signal(db, admin.org_id, title="Jailbreak of Aurora-Large reported", text="Users bypass refusals.")
    alias = f.signal(db, admin.org_id, title="Complaint about the aurora assistant app", text="It was rude.")
    miss = f.signal(db, admin.org_id, title="Other lab's model misbehaves", text="Nothing about us here.")
    assert hit.matched_models == ["aurora-large"] and hit.relevance >= 0.7
    assert alias.matched_models == ["Aurora Assistant"]
    assert miss.relevance == 0.0 and miss.matched_models == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Leaked model weights were posted online; model weights stolen from a contractor.", Severity.SEV1),
        ("A jailbreak lets users get around the refusal training.", Severity.SEV2),
        ("The chatbot hallucinated a court case.", Severity.SEV3),
        ("The new release notes are out.", Severity.SEV4),
    ],
)
def test_likely_severity_comes_with_reasons(
    db: Session, make_actor: Callable[..., Actor], text: str, expected: Severity
) -> None:
    s = f.signal(db, make_actor().org_id, title="Report", text=text)
    assert s.likely_severity is expected
    assert bool(s.severity_reasons) is (expected is not Severity.SEV4)


def test_each_signal_is_indexed_and_audited(db: Session, make_actor: Callable[..., Actor]) -> None:
    actor = make_actor()
    s = f.signal(db, actor.org_id)
    assert db.execute(select(func.count()).select_from(SignalBand).where(SignalBand.signal_id == s.id)).scalar_one() > 0
    event = db.execute(select(AuditEvent).where(AuditEvent.target_id == str(s.id))).scalar_one()
    assert event.action == "intake.signal.receive" and event.org_id == actor.org_id


def test_control_characters_and_nul_are_removed(db: Session, make_actor: Callable[..., Actor]) -> None:
    s = f.signal(db, make_actor().org_id, title="Bad\x00 title\x07", text="line one\x00\nline two\x1b[31m")
    assert s.title == "Bad title" and s.text == "line one\nline two[31m"


def test_sampled_automatic_decision_can_be_undone_by_a_person(
    db: Session, make_actor: Callable[..., Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    actor = make_actor()
    monkeypatch.setattr(ingest_mod, "REVIEW_SAMPLE_RATE", 1.0)
    first = f.signal(db, actor.org_id, text=ARTICLES["event"][0])
    second = f.signal(db, actor.org_id, text=ARTICLES["event"][1])
    assert second.cluster_id == first.cluster_id
    pending = service.review_queue(db, actor)
    assert [d.signal_id for d in pending] == [second.id]
    service.review(db, actor, pending[0].id, ReviewIn(outcome="undo", note="different incident"))
    db.refresh(second)
    assert second.cluster_id != first.cluster_id
    assert service.review_queue(db, actor) == []
    kinds = [d.kind for d in service.decisions_for(db, actor, second)]
    assert kinds[-2:] == [DecisionKind.split_off, DecisionKind.reviewed]


def test_a_split_cluster_is_not_merged_again_automatically(db: Session, make_actor: Callable[..., Actor]) -> None:
    actor = make_actor()
    signals = [f.signal(db, actor.org_id, title=f"R{i}", text=t) for i, t in enumerate(ARTICLES["event"][:6])]
    cluster = service.get_cluster(db, actor, signals[0].cluster_id)  # type: ignore[arg-type]
    new = service.split_cluster(db, actor, cluster, SplitIn(signal_ids=[signals[4].id, signals[5].id]))
    assert new.signal_count == 2 and new.curated
    db.refresh(cluster)
    assert cluster.signal_count == 4 and cluster.curated
    late = f.signal(db, actor.org_id, title="R-late", text=ARTICLES["event"][6])
    assert {late.cluster_id} <= {cluster.id, new.id}
    db.refresh(cluster)
    db.refresh(new)
    assert cluster.signal_count + new.signal_count == 7


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=300))
def test_clean_text_never_keeps_nul_or_controls(value: str) -> None:
    out = clean_text(value, 100)
    assert len(out) <= 100
    assert all(ch in "\n\t" or (ord(ch) >= 32 and ord(ch) != 127) for ch in out)


@settings(max_examples=100)
@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_review_sample_is_a_pure_function_of_the_id(n: int) -> None:
    import uuid

    sid = uuid.UUID(int=n)
    assert sampled_for_review(sid, 0.0) is False
    assert sampled_for_review(sid, 1.0) is True
    assert sampled_for_review(sid, 0.05) is sampled_for_review(sid, 0.05)


@settings(max_examples=100)
@given(st.data())
def test_references_survive_how_people_retype_them(data: st.DataObject) -> None:
    ref = new_reference()
    assert ref.startswith(REFERENCE_PREFIX) and len(ref) == 14
    typed = data.draw(
        st.sampled_from(
            [
                ref,
                ref.lower(),
                ref.replace("-", " "),
                ref.removeprefix(REFERENCE_PREFIX),
                " " + ref.lower().replace("0", "o") + " ",
            ]
        )
    )
    assert normalise_reference(typed) == ref


def test_ingest_keeps_raw_payload_as_received(db: Session, make_actor: Callable[..., Actor]) -> None:
    payload = {"weird": ["keys", 1, None], "nested": {"ünïcode": "✓"}}
    s = ingest(
        db,
        Incoming(org_id=make_actor().org_id, source_kind=SourceKind.manual, title="t", text="x", raw_payload=payload),
    )
    db.expire(s)
    assert s.raw_payload == payload
    assert s.title == "(untitled)" or s.title == "t"


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["model", "jailbreak", "of", "the", "aurora", "weights", "said", "a"]), max_size=30),
    st.integers(min_value=1, max_value=4),
)
def test_story_shingles_are_dedup_shingles_without_stopword_only_ones(words: list[str], size: int) -> None:
    from signalfire.intake.clustering import word_shingles
    from signalfire.intake.dedup import shingles
    from signalfire.intake.similarity import STOPWORDS

    text = " ".join(words)
    ours, theirs = word_shingles(text.split(), size), shingles(text, size)
    assert ours <= theirs
    content = {g for g in theirs if not all(w in STOPWORDS for w in g.split())}
    assert ours == (content or theirs)

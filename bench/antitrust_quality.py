"""Precision and recall of the antitrust family screen on a hand-labelled set of sentences.

    PYTHONPATH=src python bench/antitrust_quality.py [--json]

The set (tests/exchange/data/antitrust_labelled.tsv) has one sentence a line: a family label
(prices, wages, allocation, bids, output, plans) or ``none`` for benign safety-sharing sentences.
A sentence counts as flagged for a family if the detector reports that family for it; the old
keyword rules are measured alongside (any antitrust finding from ``screening.screen``) for contrast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from signalfire.exchange.antitrust import default_family_rules, detect_families
from signalfire.exchange.screening import default_rules, screen

DATA = Path(__file__).resolve().parents[1] / "tests" / "exchange" / "data" / "antitrust_labelled.tsv"


def load(path: Path = DATA) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, sentence = line.split("\t", 1)
        rows.append((label.strip(), sentence.strip()))
    return rows


def measure(rows: list[tuple[str, str]] | None = None) -> dict[str, dict[str, float]]:
    rows = rows if rows is not None else load()
    families = [family.id for family in default_family_rules().families]
    keyword_rules = [rule for rule in default_rules() if rule.kind == "antitrust"]
    result: dict[str, dict[str, float]] = {}
    predicted = [{hit.family for hit in detect_families(sentence)} for _label, sentence in rows]
    for family in families:
        tp = sum(1 for (label, _s), got in zip(rows, predicted, strict=True) if label == family and family in got)
        fp = sum(1 for (label, _s), got in zip(rows, predicted, strict=True) if label != family and family in got)
        fn = sum(1 for (label, _s), got in zip(rows, predicted, strict=True) if label == family and family not in got)
        result[family] = _scores(tp, fp, fn)
    # Any family at all: is a sentence flagged (whatever the family) when it should be?
    tp = sum(1 for (label, _s), got in zip(rows, predicted, strict=True) if label != "none" and got)
    fp = sum(1 for (label, _s), got in zip(rows, predicted, strict=True) if label == "none" and got)
    fn = sum(1 for (label, _s), got in zip(rows, predicted, strict=True) if label != "none" and not got)
    result["any (families)"] = _scores(tp, fp, fn)
    old = [bool(screen({"text": sentence}, rules=keyword_rules)) for _label, sentence in rows]
    tp = sum(1 for (label, _s), got in zip(rows, old, strict=True) if label != "none" and got)
    fp = sum(1 for (label, _s), got in zip(rows, old, strict=True) if label == "none" and got)
    fn = sum(1 for (label, _s), got in zip(rows, old, strict=True) if label != "none" and not got)
    result["any (keyword rules only)"] = _scores(tp, fp, fn)
    return result


def _scores(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(precision, 3), "recall": round(recall, 3)}


def main() -> None:
    rows = load()
    scores = measure(rows)
    if "--json" in sys.argv:
        print(json.dumps(scores, indent=2))
        return
    print(f"{len(rows)} sentences ({sum(1 for label, _ in rows if label == 'none')} benign)")
    print(f"{'family':<26}{'tp':>4}{'fp':>4}{'fn':>4}{'precision':>11}{'recall':>8}")
    for name, s in scores.items():
        print(f"{name:<26}{s['tp']:>4}{s['fp']:>4}{s['fn']:>4}{s['precision']:>11.3f}{s['recall']:>8.3f}")
    if "--errors" in sys.argv:
        for label, sentence in rows:
            got = {hit.family for hit in detect_families(sentence)}
            if (label == "none" and got) or (label != "none" and label not in got):
                print(f"  {label:<10} got {sorted(got)}: {sentence}")


if __name__ == "__main__":
    main()

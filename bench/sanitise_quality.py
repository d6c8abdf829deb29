"""Precision and recall of the lesson sanitiser on a hand-labelled corpus.

    PYTHONPATH=src python bench/sanitise_quality.py [--errors] [--json]

The corpus (tests/exchange/data/sanitise_corpus.jsonl) holds short incident texts, each with the spans
a person marked as identifiers (offsets, text and class); some texts have none. The sanitiser runs
with a fixed org context (its users' names and its domain, as the service would pass them).

Two ways of counting:

* leak (class-blind): a labelled span is caught when the sanitiser's replacements cover all of it; a
  replacement is correct when it overlaps a labelled span. This is what matters for leaks.
* exact: a replacement is correct when it has the labelled span's offsets and class.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from signalfire.exchange.sanitise import SanitiseContext, detect

DATA = Path(__file__).resolve().parents[1] / "tests" / "exchange" / "data" / "sanitise_corpus.jsonl"
# Written after the recognizers, on purpose in formats they were not designed for: an honest check.
HELD_OUT = DATA.with_name("sanitise_heldout.jsonl")
CONTEXT = SanitiseContext(
    names=("Jane Okafor", "Tomas Reyes", "Priya Nair", "Wei Zhang"),
    domains=("acme-ai.com",),
)


def load(path: Path = DATA) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def measure(rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    rows = rows if rows is not None else load()
    gold_total = pred_total = caught = pred_ok = exact = 0
    missed_by_class: Counter[str] = Counter()
    gold_by_class: Counter[str] = Counter()
    errors: list[str] = []
    started = time.perf_counter()
    for row in rows:
        text = row["text"]
        gold = [(s["start"], s["end"], s["entity"]) for s in row["spans"]]
        predicted = [(d.start, d.end, d.entity) for d in detect(text, CONTEXT)]
        gold_total += len(gold)
        pred_total += len(predicted)
        for start, end, entity in gold:
            gold_by_class[entity] += 1
            covered = all(any(ps <= i < pe for ps, pe, _e in predicted) for i in range(start, end))
            if covered:
                caught += 1
            else:
                missed_by_class[entity] += 1
                errors.append(f"missed {entity} {text[start:end]!r} in {text!r}")
            if (start, end, entity) in predicted:
                exact += 1
        for start, end, entity in predicted:
            if any(start < ge and gs < end for gs, ge, _g in gold):
                pred_ok += 1
            else:
                errors.append(f"extra {entity} {text[start:end]!r} in {text!r}")
    elapsed = time.perf_counter() - started
    return {
        "texts": len(rows),
        "labelled_spans": gold_total,
        "replacements": pred_total,
        "leak_recall": round(caught / gold_total, 3) if gold_total else 1.0,
        "leak_precision": round(pred_ok / pred_total, 3) if pred_total else 1.0,
        "exact_recall": round(exact / gold_total, 3) if gold_total else 1.0,
        "exact_precision": round(exact / pred_total, 3) if pred_total else 1.0,
        "recall_by_class": {
            entity: round(1 - missed_by_class[entity] / count, 3) for entity, count in sorted(gold_by_class.items())
        },
        "seconds": round(elapsed, 3),
        "errors": errors,
    }


def main() -> None:
    detect("warm up the engines", CONTEXT)
    for name, path in (("corpus", DATA), ("held-out", HELD_OUT)):
        scores = measure(load(path))
        errors = scores.pop("errors")
        print(f"== {name} ({path.name})")
        if "--json" in sys.argv:
            print(json.dumps(scores, indent=2))
        else:
            for key, value in scores.items():
                print(f"{key:<16} {value}")
        if "--errors" in sys.argv:
            print("\n".join(errors))


if __name__ == "__main__":
    main()

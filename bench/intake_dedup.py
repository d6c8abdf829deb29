"""Benchmark: ingesting signals with near-duplicate clustering, and the dedup lookup it runs per signal.

Superseded: this measured the MinHash LSH path (``intake.clustering``) that ingest used before
migration 0013. Ingest now clusters with ``intake.matching`` (word/URL keys, TF-IDF, average linkage);
its quality and import rate are measured by bench/intake_quality.py. The lookup figures below no
longer describe ingest.

    .venv/bin/python bench/intake_dedup.py [--signals 20000] [--events 1000] [--per-event 10]
        [--lookups 300] [--brute 30] [--database-url sqlite:///...] [--keep]

Builds a scratch database by the real migrations (SQLite in a temporary folder unless --database-url
names another, e.g. a PostgreSQL database to create the tables in), then ingests SIGNALS synthetic
news texts through ``intake.ingest.ingest`` (the path every feed item, report and alert takes:
normalise, score, MinHash signature, LSH lookup in ``intake_signal_band``, exact check of the best
candidates, cluster placement, band rows), committing every 500. EVENTS x PER_EVENT of them are
reports about one event each, written differently (shared sentences, reworded words, filler); the
rest are unrelated. Reported:

* ingest throughput (signals per second, overall and for the last 2,000, when the index is full);
* dedup lookup latency (``clustering.find_matches``, median and p95 over LOOKUPS texts against the
  full index: half new reports of known events, half unrelated);
* the same lookup done naively (exact Jaccard against every stored signal, over BRUTE texts), the
  "limit" a system without an index would pay, and the ratio;
* clustering quality: how many event reports ended in their event's main cluster, and how many
  unrelated texts were wrongly put in a cluster with anything else.

Deterministic (seeded); loopback only; the scratch database is removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from signalfire.access.models import OrgKind
from signalfire.access.service import create_org
from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.intake.clustering import SAME_STORY_THRESHOLD, find_matches, signature_of, story_text
from signalfire.intake.dedup import exact_jaccard, shingles
from signalfire.intake.ingest import Incoming, ingest
from signalfire.intake.models import Signal, SourceKind
from signalfire.intake.normalize import normalize_for_matching
from signalfire.intake.scoring import Inventory

BATCH = 500
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "re",
    "tu",
    "vo",
    "shi",
    "na",
    "pe",
    "ra",
    "do",
    "qui",
    "zen",
    "fa",
    "bo",
    "el",
    "ur",
    "an",
    "is",
    "ot",
    "gri",
    "sta",
    "mon",
    "tel",
]
COMMON = [
    "the",
    "a",
    "of",
    "to",
    "in",
    "and",
    "said",
    "that",
    "was",
    "for",
    "on",
    "with",
    "by",
    "at",
    "from",
    "after",
    "model",
    "company",
    "users",
    "system",
    "report",
    "researchers",
    "data",
    "new",
    "its",
    "were",
    "has",
    "have",
    "not",
    "but",
    "this",
]


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _sentence(rng: random.Random, vocab: list[str], n: int = 12) -> list[str]:
    # News prose: content words with the usual function words between them.
    return [rng.choice(COMMON) if rng.random() < 0.35 else rng.choice(vocab) for _ in range(n)]


def _reword(rng: random.Random, vocab: list[str], sentence: list[str]) -> list[str]:
    out = list(sentence)
    for _ in range(rng.randint(1, 2)):
        out[rng.randrange(len(out))] = rng.choice(vocab)
    return out


def corpus(signals: int, events: int, per_event: int, seed: int = 7) -> list[tuple[str, str, int | None]]:
    """(title, text, event number or None), shuffled the way a mixed feed arrives."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng, 6000)
    items: list[tuple[str, str, int | None]] = []
    for e in range(events):
        facts = [_sentence(rng, vocab) for _ in range(8)]
        for _ in range(per_event):
            chosen = rng.sample(facts, 5)
            body = [_reword(rng, vocab, s) for s in chosen] + [_sentence(rng, vocab) for _ in range(2)]
            rng.shuffle(body)
            text = " ".join(" ".join(s).capitalize() + "." for s in body)
            items.append((" ".join(_reword(rng, vocab, facts[0][:8])).capitalize(), text, e))
    while len(items) < signals:
        body = [_sentence(rng, vocab) for _ in range(7)]
        items.append((" ".join(body[0][:8]).capitalize(), " ".join(" ".join(s) + "." for s in body), None))
    rng.shuffle(items)
    return items[:signals]


def _ms(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signals", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=1_000)
    parser.add_argument("--per-event", type=int, default=10)
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--brute", type=int, default=30)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="sf-bench-intake-")
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = session_factory(engine)
    with unit_of_work(factory) as s:
        org_id = create_org(
            s, slug=f"bench-{uuid.uuid4().hex[:8]}", name="Bench Labs", kind=OrgKind.frontier_developer
        ).id
    inventory = Inventory(["aurora-large"], ["Bench Labs"])
    items = corpus(args.signals, args.events, args.per_event)
    extra = corpus(args.lookups, args.lookups // 2, 1, seed=11)  # fresh texts for the lookups
    print(
        f"database {engine.url.get_backend_name()}; {len(items)} signals, "
        f"{args.events} events x {args.per_event} reports",
        flush=True,
    )

    ids: list[tuple[uuid.UUID, int | None]] = []
    started = time.perf_counter()
    tail_started = started
    tail_from = max(0, len(items) - 2_000)
    for start in range(0, len(items), BATCH):
        with unit_of_work(factory) as s:
            for i, (title, text, event) in enumerate(items[start : start + BATCH], start=start):
                if i == tail_from:
                    tail_started = time.perf_counter()
                signal = ingest(
                    s,
                    Incoming(org_id=org_id, source_kind=SourceKind.feed_item, title=title, text=text),
                    inventory=inventory,
                    quiet=True,
                )
                ids.append((signal.id, event))
        if (start // BATCH) % 8 == 0:
            print(f"  {start + BATCH} ingested, {time.perf_counter() - started:.1f} s", flush=True)
    elapsed = time.perf_counter() - started
    tail = time.perf_counter() - tail_started
    overall_rate = len(items) / elapsed
    tail_rate = (len(items) - tail_from) / tail

    with Session(engine) as s:
        cluster_of = dict(s.execute(select(Signal.id, Signal.cluster_id).where(Signal.org_id == org_id)).all())
        texts = [
            story_text(t, x)
            for t, x in s.execute(select(Signal.title, Signal.text).where(Signal.org_id == org_id)).all()
        ]
        by_event: dict[int, list[uuid.UUID | None]] = {}
        for sid, event in ids:
            if event is not None:
                by_event.setdefault(event, []).append(cluster_of[sid])
        together = sum(Counter(c).most_common(1)[0][1] for c in by_event.values())
        sizes = Counter(cluster_of.values())
        unrelated_joined = sum(1 for sid, event in ids if event is None and sizes[cluster_of[sid]] > 1)

        lookups: list[float] = []
        for title, text, _ in extra:
            t0 = time.perf_counter()  # the whole lookup, normalising the new text included
            words = normalize_for_matching(story_text(title, text)).split()
            find_matches(s, org_id, words, signature_of(words))
            lookups.append(time.perf_counter() - t0)
        brute: list[float] = []
        stored = [shingles(t, 2) for t in texts]  # what a naive system keeps in memory at best
        for title, text, _ in extra[: args.brute]:
            t0 = time.perf_counter()
            mine = shingles(story_text(title, text), 2)
            [j for j in (exact_jaccard(mine, other) for other in stored) if j >= SAME_STORY_THRESHOLD]
            brute.append(time.perf_counter() - t0)

    med, p95 = _ms(lookups)
    bmed, _ = _ms(brute)
    event_reports = args.events * args.per_event
    print(
        f"ingest: {overall_rate:.0f} signals/s overall ({elapsed:.1f} s), {tail_rate:.0f} signals/s for the "
        f"last {len(items) - tail_from} (index full)"
    )
    print(f"dedup lookup over {len(items)} signals: median {med:.2f} ms, p95 {p95:.2f} ms ({len(lookups)} lookups)")
    print(
        f"naive exact comparison with every signal (shingles in memory): median {bmed:.1f} ms "
        f"-> the index is {bmed / med:.0f}x faster"
    )
    print(
        f"clustering: {together}/{event_reports} event reports in their event's main cluster "
        f"({100 * together / max(event_reports, 1):.1f}%); {unrelated_joined}/{len(items) - event_reports} "
        f"unrelated texts clustered with something"
    )
    engine.dispose()
    if args.keep:
        print(f"kept {url}")
    else:
        tmp.cleanup()


if __name__ == "__main__":
    main()

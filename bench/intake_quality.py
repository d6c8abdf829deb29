"""Benchmark: clustering quality and known-or-new answers on the intake development set.

    PYTHONPATH=src .venv/bin/python bench/intake_quality.py [--data ../shared/data/intake-dev]
        [--embedder auto|off] [--batch 500] [--database-url sqlite:///...] [--out DIR]

Reads the development set (real AIID news reports with the editors' incidents, and the known/new
queries; see its README) at run time and never copies it. Everything goes through the product's own
path on a scratch database built by the real migrations:

* E1: the 1,945 reports are imported with ``reports_import.import_reports`` (one signal per report,
  clustered batch by batch), in the file's order; the clusters they end in are scored with the
  set's own ``score_clusters.py`` (B-cubed, ARI, pairwise). Also timed: reports per second.
* E2: the known base is imported as curated clusters (incident title + its report titles, grouped
  as AIID's editors grouped them); each query is then ingested as a manual signal inside a savepoint
  (rolled back afterwards, so one query never becomes "known" for the next), and the known-or-new
  suggestion stored for it is the answer, scored with ``score_known_new.py``.

The thresholds are the product defaults (or the org's, if --cluster/--known are given).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from signalfire.access.models import OrgKind
from signalfire.access.service import create_org
from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.intake.ingest import Incoming, ingest
from signalfire.intake.models import Cluster, IntakeSettings, MatchSuggestion, Signal, SourceKind
from signalfire.intake.reports_import import ReportRecord, import_reports

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "intake-dev"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _org(session: Session, slug: str, cluster: float | None, known: float | None) -> uuid.UUID:
    org = create_org(session, name=slug, slug=slug, kind=OrgKind.frontier_developer)
    session.flush()
    if cluster is not None or known is not None:
        session.add(IntakeSettings(org_id=org.id, cluster_threshold=cluster, known_threshold=known))
    return org.id


def _score(script: Path, gold: Path, answers: dict[str, Any], out: Path) -> dict[str, Any]:
    answers_path = out / f"{script.stem}_answers.json"
    result_path = out / f"{script.stem}_result.json"
    answers_path.write_text(json.dumps(answers), encoding="utf-8")
    printed = subprocess.run(
        [sys.executable, str(script), str(gold), str(answers_path), "--json", str(result_path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    print(printed)
    loaded: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    return loaded


def e1(factory: Any, data: Path, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    rows = _jsonl(data / "stream.jsonl")
    with unit_of_work(factory) as s:
        org_id = _org(s, "bench-e1", args.cluster, args.known)
    records = [ReportRecord(key=r["ref"], title=r["title"], url=r["url"], authors=tuple(r["authors"])) for r in rows]
    # Imported before the clock starts: scipy's first import (seconds on a loaded machine) is a cost per
    # process, not per import; the worker and the CLI pay it once too.
    from signalfire.intake import matching  # noqa: F401

    started, cpu_started = time.perf_counter(), time.process_time()
    for start in range(0, len(records), args.batch):
        with unit_of_work(factory) as s:
            import_reports(s, org_id, records[start : start + args.batch], batch_size=args.batch)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started  # this process's CPU (the database's own is not in it on PG)
    with unit_of_work(factory) as s:
        placed = {
            key: str(cluster)
            for key, cluster in s.execute(
                select(Signal.dedupe_key, Signal.cluster_id).where(Signal.org_id == org_id)
            ).all()
        }
        clusters = s.execute(select(Cluster.id).where(Cluster.org_id == org_id)).scalars().all()
    result = _score(data / "score_clusters.py", data / "gold.json", placed, out)
    result["reports_per_second"] = round(len(records) / elapsed, 1)
    result["reports_per_cpu_second"] = round(len(records) / cpu, 1)
    result["load_average"] = round(os.getloadavg()[0], 2)
    result["clusters"] = len(clusters)
    return result


def char_baseline(data: Path, out: Path, ours: Path) -> dict[str, Any]:
    """Character 3-5-gram TF-IDF of the title alone, average linkage, threshold tuned on this same
    data (the README's "tfidf_char" baseline, an upper bound for it); compared with ours, paired."""
    from signalfire.intake.similarity import Report, TermStats, average_linkage, features, similarities

    rows = _jsonl(data / "stream.jsonl")
    feats = [features(Report(r["title"])) for r in rows]
    stats = TermStats()
    stats.add(feats)
    char = similarities([replace(f, word_terms={}) for f in feats], stats).char
    gold = json.loads((data / "gold.json").read_text(encoding="utf-8"))
    best: tuple[float, float, dict[str, str]] | None = None
    for step in range(8, 33, 2):
        threshold = step / 100
        labels = average_linkage(char, threshold)
        answer = {r["ref"]: str(label) for r, label in zip(rows, labels, strict=True)}
        f1 = _bcubed_f1(answer, gold)
        if best is None or f1 > best[0]:
            best = (f1, threshold, answer)
    assert best is not None
    path = out / "char_baseline.json"
    path.write_text(json.dumps(best[2]), encoding="utf-8")
    printed = subprocess.run(
        [sys.executable, str(data / "score_clusters.py"), str(data / "gold.json"), str(ours), "--compare", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    print(printed)
    return {"threshold": best[1], "bcubed_f1": round(best[0], 4)}


def _bcubed_f1(answer: dict[str, str], gold: dict[str, list[int]]) -> float:
    """B-cubed F1 (a report is right with another when they share an incident), for the sweep only;
    reported figures come from the set's own scorer."""
    members: dict[str, list[str]] = {}
    for ref, label in answer.items():
        members.setdefault(label, []).append(ref)
    by_incident: dict[int, set[str]] = {}
    for ref, incidents in gold.items():
        for incident in incidents:
            by_incident.setdefault(incident, set()).add(ref)
    precision = recall = 0.0
    for ref, label in answer.items():
        mine = set(gold[ref])
        same = members[label]
        precision += sum(1 for o in same if mine & set(gold[o])) / len(same)
        related = set().union(*(by_incident[i] for i in mine))
        recall += sum(1 for o in related if answer.get(o) == label) / len(related)
    precision /= len(answer)
    recall /= len(answer)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def e2(factory: Any, data: Path, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    known = _jsonl(data / "e2" / "known.jsonl")
    queries = _jsonl(data / "e2" / "queries_title.jsonl")
    with unit_of_work(factory) as s:
        org_id = _org(s, "bench-e2", args.cluster, args.known)
    records: list[ReportRecord] = []
    for incident in known:
        group = f"incident:{incident['incident_id']}"
        records.append(ReportRecord(key=group, title=incident["title"], group=group))
        records.extend(
            ReportRecord(key=f"{group}:report:{n}", title=title, group=group)
            for n, title in enumerate(incident["report_titles"])
        )
    with unit_of_work(factory) as s:
        import_reports(s, org_id, records, batch_size=args.batch)
    answers: dict[str, Any] = {}
    with unit_of_work(factory) as s:
        incident_of = {
            cluster: key.split(":")[1]
            for key, cluster in s.execute(
                select(Signal.dedupe_key, Signal.cluster_id).where(
                    Signal.org_id == org_id, Signal.dedupe_key.like("incident:%")
                )
            ).all()
            if key.count(":") == 1
        }
        for query in queries:
            savepoint = s.begin_nested()
            signal = ingest(
                s, Incoming(org_id=org_id, source_kind=SourceKind.manual, title=query["text"], text=""), quiet=True
            )
            suggestion = s.execute(
                select(MatchSuggestion).where(MatchSuggestion.signal_id == signal.id)
            ).scalar_one_or_none()
            if suggestion is None or suggestion.cluster_id is None:
                answers[query["qid"]] = {"match": None, "score": 0.0, "candidates": []}
            else:
                incident = int(incident_of[suggestion.cluster_id])
                answers[query["qid"]] = {
                    "match": incident if suggestion.known else None,
                    "score": suggestion.score,
                    "candidates": [incident],
                }
            savepoint.rollback()
    return _score(data / "score_known_new.py", data / "e2" / "gold_e2.json", answers, out)


class CachingEmbedder:
    """The product's sentence embedder behind a file cache (text hash -> vector), so reruns of this bench
    on a shared 2-core machine do not embed the 1,945 titles again (about 5 minutes under load). The
    cache lives in a git-ignored folder (default .cache/intake-embeddings/) and never enters the repo."""

    def __init__(self, folder: Path) -> None:
        from signalfire.intake.dedup import SentenceEmbedder

        self.path = folder / "all-minilm-l6-v2.npz"
        folder.mkdir(parents=True, exist_ok=True)
        self.store: dict[str, Any] = dict(np.load(self.path)) if self.path.exists() else {}
        self.inner = SentenceEmbedder()

    def embed(self, texts: Any) -> list[list[float]]:
        keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self.store))
        if todo:
            for text, vector in zip(todo, self.inner.embed(todo), strict=True):
                self.store[hashlib.sha256(text.encode()).hexdigest()] = np.asarray(vector, dtype=np.float32)
            np.savez(self.path, **self.store)
        return [[float(x) for x in self.store[k]] for k in keys]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--embedder", choices=["auto", "off"], default="off")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--cluster", type=float, default=None, help="org cluster threshold (default: product's)")
    parser.add_argument("--known", type=float, default=None, help="org known threshold (default: product's)")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--out", type=Path, default=None, help="where to keep answers and scorer output")
    parser.add_argument("--only", choices=["e1", "e2"], default=None)
    parser.add_argument("--compare-char", action="store_true", help="also score the char TF-IDF baseline, paired")
    parser.add_argument(
        "--embedding-cache",
        type=Path,
        default=Path(__file__).resolve().parents[1] / ".cache" / "intake-embeddings",
        help="folder caching the embedder's vectors by text (git-ignored); --no-embedding-cache to embed afresh",
    )
    parser.add_argument("--no-embedding-cache", dest="embedding_cache", action="store_const", const=None)
    args = parser.parse_args()
    os.environ["SIGNALFIRE_INTAKE_EMBEDDER"] = args.embedder
    if args.embedder == "auto" and args.embedding_cache is not None:
        from signalfire.intake import matching

        cached = CachingEmbedder(args.embedding_cache)
        matching.active_embedder = lambda: cached  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        migrate.upgrade(engine)
        factory = session_factory(engine)
        summary: dict[str, Any] = {"embedder": args.embedder}
        if args.only in (None, "e1"):
            summary["e1"] = e1(factory, args.data, out, args)
            if args.compare_char:
                summary["char_baseline"] = char_baseline(args.data, out, out / "score_clusters_answers.json")
        if args.only in (None, "e2"):
            summary["e2"] = e2(factory, args.data, out, args)
        print(json.dumps(summary, indent=2, default=str))
        engine.dispose()


if __name__ == "__main__":
    main()

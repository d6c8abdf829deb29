"""RFC 9162 Merkle tree hashing, proofs and their verification (section 2.1).

leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right); the empty tree hashes to SHA-256("").
Positions are 0-based leaf indexes. Proof generation works over the list of leaf hashes; verification
needs only the proof, the index/sizes and the roots, so a client can check without trusting the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, iteratively: fold complete subtrees the way `CompactRange` does."""
    rng = CompactRange()
    for h in leaves:
        rng.append(h)
    return rng.root()


class CompactRange:
    """The right edge of the tree: one hash per set bit of the size (roots of the perfect subtrees).

    The sequencer keeps this between batches, so appending costs O(log n) hashes per entry and nothing
    needs to be re-read from the database.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ValueError("compact range does not match its size")
        self.size = size
        self.hashes = list(hashes)  # largest subtree first

    def append(self, leaf: bytes) -> None:
        h = leaf
        n = self.size
        while n & 1:
            h = node_hash(self.hashes.pop(), h)
            n >>= 1
        self.hashes.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        h = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            h = node_hash(left, h)
        return h


def _mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[lo]
    k = _split(n)
    return node_hash(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """PATH(m, D[0:size]) from RFC 9162 2.1.3.1."""
    if not 0 <= index < size <= len(leaves):
        raise ValueError("index outside the tree")
    proof: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            proof.append(_mth(leaves, lo + k, hi))
            hi = lo + k
        else:
            proof.append(_mth(leaves, lo, lo + k))
            lo, m = lo + k, m - k
    proof.reverse()
    return proof


def consistency_proof(leaves: Sequence[bytes], old: int, new: int) -> list[bytes]:
    """PROOF(m, D[0:new]) from RFC 9162 2.1.4.1."""
    if not 0 < old <= new <= len(leaves):
        raise ValueError("sizes outside the tree")
    return _subproof(leaves, old, 0, new, complete=True)


def _subproof(leaves: Sequence[bytes], m: int, lo: int, hi: int, *, complete: bool) -> list[bytes]:
    n = hi - lo
    if m == n:
        return [] if complete else [_mth(leaves, lo, hi)]
    k = _split(n)
    if m <= k:
        return [*_subproof(leaves, m, lo, lo + k, complete=complete), _mth(leaves, lo + k, hi)]
    return [*_subproof(leaves, m - k, lo + k, hi, complete=False), _mth(leaves, lo, lo + k)]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2."""
    if old == new:
        return old_root == new_root and not proof
    if not 0 < old < new or not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the first node of the path
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root

"""RFC 9162 proofs against published known answers and a reference written from the RFC's definitions.

The known answers are transparency-dev/merkle's (testonly/constants.go and reference_test.go) for the
eight RFC 6962 reference leaves. The reference functions below are the RFC's recursive definitions
(MTH, PATH, PROOF/SUBPROOF) over the leaf data, written out here independently of `audit.merkle`.
"""

from __future__ import annotations

import hashlib

import pytest

from signalfire.audit import merkle

LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43", bytes(range(0x50, 0x58)),
          bytes(range(0x60, 0x70))]  # fmt: skip
# Hashes of every complete subtree, by level then position (testonly/constants.go, NodeHashes).
NODES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
# The right edge (compact range) of the trees of sizes 0 to 8, largest subtree first (CompactTrees).
COMPACT = [
    [],
    [NODES[0][0]],
    [NODES[1][0]],
    [NODES[1][0], NODES[0][2]],
    [NODES[2][0]],
    [NODES[2][0], NODES[0][4]],
    [NODES[2][0], NODES[1][2]],
    [NODES[2][0], NODES[1][2], NODES[0][6]],
    [NODES[3][0]],
]
ROOT_7 = "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"
# (index, size) -> audit path (reference_test.go, TestRefInclusionProof).
INCLUSION = {
    (0, 1): [],
    (0, 2): [NODES[0][1]],
    (1, 2): [NODES[0][0]],
    (2, 3): [NODES[1][0]],
    (1, 5): [NODES[0][0], NODES[1][1], NODES[0][4]],
    (0, 8): [NODES[0][1], NODES[1][1], NODES[2][1]],
    (5, 8): [NODES[0][4], NODES[1][3], NODES[2][0]],
}
# (old, new) -> consistency proof (TestRefConsistencyProof).
CONSISTENCY = {
    (1, 1): [],
    (1, 8): [NODES[0][1], NODES[1][1], NODES[2][1]],
    (2, 5): [NODES[1][1], NODES[0][4]],
    (6, 8): [NODES[1][2], NODES[1][3], NODES[2][0]],
}


def _h(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n, counted out rather than computed with bit tricks."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return _h(b"")
    if len(d) == 1:
        return _h(b"\x00", d[0])
    k = _k(len(d))
    return _h(b"\x01", ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def _hashes(data: list[bytes]) -> list[bytes]:
    return [_h(b"\x00", x) for x in data]


def test_leaf_hashes_and_compact_ranges_match_the_published_nodes() -> None:
    assert [merkle.leaf_hash(x).hex() for x in LEAVES] == NODES[0]
    for level in range(1, 4):
        for i, expected in enumerate(NODES[level]):
            pair = bytes.fromhex(NODES[level - 1][2 * i]), bytes.fromhex(NODES[level - 1][2 * i + 1])
            assert merkle.node_hash(*pair).hex() == expected
    rng = merkle.CompactRange()
    assert rng.root() == bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    for size, leaf in enumerate(LEAVES, start=1):
        rng.append(merkle.leaf_hash(leaf))
        assert rng.size == size
        assert [h.hex() for h in rng.hashes] == COMPACT[size]
    assert rng.root().hex() == NODES[3][0]
    assert merkle.root(_hashes(LEAVES[:7])).hex() == ROOT_7


def test_a_compact_range_must_match_its_size() -> None:
    one = bytes(32)
    merkle.CompactRange(3, [one, one])  # 3 = 0b11: two subtrees
    merkle.CompactRange(4, [one])
    for size, hashes in [(3, [one]), (4, [one, one]), (0, [one]), (1, [])]:
        with pytest.raises(ValueError, match=r"^compact range does not match its size$"):
            merkle.CompactRange(size, hashes)
    resumed = merkle.CompactRange(7, [bytes.fromhex(h) for h in COMPACT[7]])
    resumed.append(merkle.leaf_hash(LEAVES[7]))
    assert resumed.size == 8
    assert resumed.root().hex() == NODES[3][0]


@pytest.mark.parametrize(("index", "size"), list(INCLUSION))
def test_inclusion_known_answers(index: int, size: int) -> None:
    hashes = _hashes(LEAVES)
    want = [bytes.fromhex(h) for h in INCLUSION[(index, size)]]
    assert merkle.inclusion_proof(hashes, index, size) == want
    root = ref_mth(LEAVES[:size])
    assert merkle.verify_inclusion(hashes[index], index, size, want, root)


@pytest.mark.parametrize(("old", "new"), list(CONSISTENCY))
def test_consistency_known_answers(old: int, new: int) -> None:
    hashes = _hashes(LEAVES)
    want = [bytes.fromhex(h) for h in CONSISTENCY[(old, new)]]
    assert merkle.consistency_proof(hashes, old, new) == want
    assert merkle.verify_consistency(old, new, ref_mth(LEAVES[:old]), ref_mth(LEAVES[:new]), want)


def _variants(proof: list[bytes]) -> list[list[bytes]]:
    """Proofs that must not verify: each element altered, each pair swapped, one dropped, one added."""
    out: list[list[bytes]] = []
    for i in range(len(proof)):
        out.append([*proof[:i], _h(proof[i]), *proof[i + 1 :]])
        out.append(proof[:i] + proof[i + 1 :])
        for j in range(i + 1, len(proof)):
            if proof[i] != proof[j]:
                swapped = list(proof)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                out.append(swapped)
    out.append([*proof, _h(b"extra")])
    out.append([_h(b"extra"), *proof])
    return out


def test_every_inclusion_proof_up_to_21_leaves() -> None:
    data = [i.to_bytes(2, "big") for i in range(21)]
    hashes = _hashes(data)
    for size in range(1, 22):
        root = ref_mth(data[:size])
        assert merkle.root(hashes[:size]) == root
        for index in range(size):
            path = ref_path(index, data[:size])
            assert merkle.inclusion_proof(hashes, index, size) == path, (index, size)
            assert merkle.verify_inclusion(hashes[index], index, size, path, root), (index, size)
            for bad in _variants(path):
                assert not merkle.verify_inclusion(hashes[index], index, size, bad, root), (index, size, bad)
            for other in range(size):
                if other != index:
                    assert not merkle.verify_inclusion(hashes[index], other, size, path, root), (index, other, size)


def test_every_consistency_proof_up_to_21_leaves() -> None:
    data = [i.to_bytes(2, "big") for i in range(21)]
    hashes = _hashes(data)
    for new in range(1, 22):
        new_root = ref_mth(data[:new])
        for old in range(1, new + 1):
            old_root = ref_mth(data[:old])
            proof = ref_subproof(old, data[:new], True)
            assert merkle.consistency_proof(hashes, old, new) == proof, (old, new)
            assert merkle.verify_consistency(old, new, old_root, new_root, proof), (old, new)
            for bad in _variants(proof):
                assert not merkle.verify_consistency(old, new, old_root, new_root, bad), (old, new, bad)
            assert not merkle.verify_consistency(old, new, _h(old_root), new_root, proof), (old, new)
            assert not merkle.verify_consistency(old, new, old_root, _h(new_root), proof), (old, new)
            if old < new:
                for other in range(1, new):
                    if other != old:
                        assert not merkle.verify_consistency(other, new, old_root, new_root, proof), (old, other, new)


def test_verification_refuses_impossible_sizes() -> None:
    hashes = _hashes(LEAVES)
    root = ref_mth(LEAVES[:4])
    path = merkle.inclusion_proof(hashes, 0, 4)
    assert merkle.verify_inclusion(hashes[0], 0, 4, path, root)
    assert not merkle.verify_inclusion(hashes[0], -1, 4, path, root)
    assert not merkle.verify_inclusion(hashes[3], 4, 4, path, root)
    assert not merkle.verify_inclusion(hashes[0], 0, 0, [], root)
    # A one-leaf tree: the root is the leaf hash and the proof is empty; anything more does not verify.
    assert merkle.verify_inclusion(hashes[0], 0, 1, [], hashes[0])
    assert not merkle.verify_inclusion(hashes[0], 0, 1, [hashes[1]], hashes[0])
    assert not merkle.verify_inclusion(hashes[0], 0, 1, [], hashes[1])
    assert not merkle.verify_inclusion(hashes[0], 1, 1, [], hashes[0])  # position 1 of a one-leaf tree
    # Equal sizes: equal roots and no proof.
    assert merkle.verify_consistency(4, 4, root, root, [])
    assert not merkle.verify_consistency(4, 4, root, root, [hashes[0]])
    assert not merkle.verify_consistency(4, 4, root, hashes[0], [])
    assert merkle.verify_consistency(0, 0, root, root, [])
    # From an empty tree, backwards, or with no proof at all.
    assert not merkle.verify_consistency(0, 4, merkle.EMPTY_ROOT, root, [root])
    assert not merkle.verify_consistency(0, 4, merkle.EMPTY_ROOT, root, [])
    assert not merkle.verify_consistency(5, 4, root, root, [root])
    assert not merkle.verify_consistency(2, 4, ref_mth(LEAVES[:2]), root, [])
    assert not merkle.verify_consistency(3, 4, ref_mth(LEAVES[:3]), root, [])
    assert not merkle.verify_consistency(-1, 4, root, root, [root])


def test_proofs_refuse_positions_outside_the_tree() -> None:
    hashes = _hashes(LEAVES)
    for index, size in [(-1, 4), (4, 4), (0, 0), (0, 9), (8, 9)]:
        with pytest.raises(ValueError, match=r"^index outside the tree$"):
            merkle.inclusion_proof(hashes, index, size)
    assert merkle.inclusion_proof(hashes, 7, 8) == ref_path(7, LEAVES)
    for old, new in [(0, 4), (5, 4), (1, 9), (-1, 4)]:
        with pytest.raises(ValueError, match=r"^sizes outside the tree$"):
            merkle.consistency_proof(hashes, old, new)
    assert merkle.consistency_proof(hashes, 8, 8) == []
    assert merkle.consistency_proof(hashes, 3, 8) == ref_subproof(3, LEAVES, True)

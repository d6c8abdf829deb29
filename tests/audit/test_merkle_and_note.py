"""RFC 9162 hashing and proofs, and signed notes, against answers published by others."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalfire.audit import merkle
from signalfire.audit.note import (
    ALG_COSIGNATURE,
    Checkpoint,
    NoteError,
    Verifier,
    cosign,
    generate_signer,
    parse_checkpoint_text,
    parse_note,
    parse_skey,
    parse_vkey,
    sign_checkpoint,
    verify_cosignature,
    verify_note,
)

# The RFC 6962 / 9162 reference leaves and the roots of their prefixes (Certificate Transparency's test data).
LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43", bytes(range(0x50, 0x58)),
          bytes(range(0x60, 0x70))]  # fmt: skip
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_reference_roots() -> None:
    hashes = [merkle.leaf_hash(d) for d in LEAVES]
    assert merkle.root([]) == hashlib.sha256(b"").digest()
    for n, expected in enumerate(ROOTS, start=1):
        assert merkle.root(hashes[:n]).hex() == expected


def test_leaf_and_node_prefixes() -> None:
    assert merkle.leaf_hash(b"a") == hashlib.sha256(b"\x00a").digest()
    assert merkle.node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()


@given(st.integers(min_value=1, max_value=70), st.data())
def test_proofs_verify_and_wrong_ones_do_not(size: int, data: st.DataObject) -> None:
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    root = merkle.root(hashes)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    path = merkle.inclusion_proof(hashes, index, size)
    assert merkle.verify_inclusion(hashes[index], index, size, path, root)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"other"), index, size, path, root)
    if size > 1:
        assert not merkle.verify_inclusion(hashes[index], (index + 1) % size, size, path, root)
    old = data.draw(st.integers(min_value=1, max_value=size))
    proof = merkle.consistency_proof(hashes, old, size)
    old_root = merkle.root(hashes[:old])
    assert merkle.verify_consistency(old, size, old_root, root, proof)
    if old < size:
        forked = [*hashes[: old - 1], merkle.leaf_hash(b"forked"), *hashes[old:]]
        assert not merkle.verify_consistency(old, size, merkle.root(forked[:old]), root, proof)
        assert not merkle.verify_consistency(old, size, old_root, merkle.root(forked), proof)


def test_compact_range_matches_the_full_tree() -> None:
    hashes = [merkle.leaf_hash(bytes([i])) for i in range(37)]
    rng = merkle.CompactRange()
    for n, h in enumerate(hashes, start=1):
        rng.append(h)
        resumed = merkle.CompactRange(rng.size, list(rng.hashes))
        assert resumed.root() == merkle.root(hashes[:n])


# golang.org/x/mod/sumdb/note's documented example key and note.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_NOTE = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_interoperates_with_go_signed_notes() -> None:
    v = parse_vkey(GO_VKEY)
    assert parse_skey(GO_SKEY).verifier == v
    assert v.vkey == GO_VKEY
    note = parse_note(GO_NOTE)
    assert verify_note(note, v)
    assert not verify_note(parse_note(GO_NOTE.replace("problem,", "problem;")), v)


def test_key_ids_are_checked() -> None:
    with pytest.raises(NoteError, match="id does not match"):
        parse_vkey(GO_VKEY.replace("c74f20a3", "c74f20a4"))


def test_checkpoint_roundtrip_and_cosignature() -> None:
    log = generate_signer("example.org/log")
    cp = Checkpoint("example.org/log", 8, bytes.fromhex(ROOTS[7]))
    note = parse_note(sign_checkpoint(cp, log))
    assert parse_checkpoint_text(note.text) == cp
    assert verify_note(note, log.verifier)
    witness = generate_signer("witness.example")
    wv = Verifier(witness.name, witness.verifier.public, ALG_COSIGNATURE)
    sig = cosign(note.text, witness, 1_700_000_000)
    assert verify_cosignature(note.text, sig, wv) == 1_700_000_000
    assert verify_cosignature(note.text.replace("\n8\n", "\n9\n"), sig, wv) is None
    assert not verify_note(note, wv)  # a cosignature key is not a checkpoint key


@pytest.mark.parametrize(
    "text", ["", "o\n", "o\n01\n" + "A" * 44 + "\n", "o\n1\nnot-base64\n", "o\n1\nAAAA\n", "o\n-1\nAAAA\n"]
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        parse_checkpoint_text(text)


def test_a_proof_does_not_stretch_to_another_tree_size() -> None:
    hashes = [merkle.leaf_hash(bytes([i])) for i in range(4)]
    path, root2 = merkle.inclusion_proof(hashes, 0, 2), merkle.root(hashes[:2])
    assert merkle.verify_inclusion(hashes[0], 0, 2, path, root2)
    assert not merkle.verify_inclusion(hashes[0], 0, 3, path, root2)
    assert not merkle.verify_consistency(1, 3, hashes[0], root2, merkle.consistency_proof(hashes, 1, 2))

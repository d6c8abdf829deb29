#!/usr/bin/env python3
"""Check a Signalfire audit checkpoint, an inclusion proof or a consistency proof without trusting the server.

Needs only the Python standard library and `cryptography` (for Ed25519). Inputs are files, URLs or `-`:

  verify_checkpoint.py checkpoint NOTE --key VKEY [--witness VKEY ... --quorum N]
  verify_checkpoint.py inclusion PROOF.json --key VKEY     (from `signalfire audit proof` or the API)
  verify_checkpoint.py consistency PROOF.json --key VKEY   (from `signalfire audit consistency` or the API)

VKEY is the log's verifier key, "<name>+<hex key id>+<base64(0x01 || Ed25519 public key)>", obtained from
the operator out of band (not from the server you are checking). Hashing follows RFC 9162, notes follow
c2sp.org/signed-note and c2sp.org/tlog-checkpoint, cosignatures c2sp.org/tlog-cosignature. Exit status 0
when everything checks, 1 otherwise, with the reason on stderr.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import struct
import sys
import urllib.request
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DASH = "\u2014 "


class Invalid(Exception):
    pass


def read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=30) as resp:  # noqa: S310 (the user names the URL)
            return str(resp.read().decode("utf-8"))
    with open(source, encoding="utf-8") as fh:
        return fh.read()


# -- keys and notes --------------------------------------------------------------------------------------


def parse_vkey(vkey: str) -> tuple[str, bytes, int, bytes]:
    name, hex_id, b64 = vkey.strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    if len(raw) != 33:
        raise Invalid("verifier key is not an Ed25519 key")
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_id.hex() != hex_id.lower():
        raise Invalid("verifier key id does not match its name and key")
    return name, key_id, raw[0], raw[1:]


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    text, sep, sig_block = note.rpartition("\n\n")
    if not sep or not sig_block.endswith("\n"):
        raise Invalid("not a signed note")
    sigs = []
    for line in sig_block[:-1].split("\n"):
        if not line.startswith(DASH):
            raise Invalid("malformed signature line")
        name, _, b64 = line[len(DASH) :].partition(" ")
        sigs.append((name, base64.b64decode(b64, validate=True)))
    return text + "\n", sigs


def ed25519_ok(public: bytes, sig: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, message)
    except InvalidSignature:
        return False
    return True


def check_checkpoint(note: str, vkey: str, witnesses: list[str], quorum: int) -> tuple[str, int, bytes]:
    """Verify the log's signature (and witness cosignatures); return origin, size and root."""
    name, key_id, alg, public = parse_vkey(vkey)
    if alg != 0x01:
        raise Invalid("the log key must be an Ed25519 note key (type 0x01)")
    text, sigs = split_note(note)
    if not any(n == name and s[:4] == key_id and ed25519_ok(public, s[4:], text.encode()) for n, s in sigs):
        raise Invalid(f"checkpoint is not signed by {name} ({key_id.hex()})")
    lines = text.split("\n")
    if len(lines) < 4 or not lines[1].isdigit():
        raise Invalid("checkpoint body malformed")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise Invalid("checkpoint root is not a SHA-256 hash")
    cosigned = 0
    for w in witnesses:
        wname, wid, walg, wpub = parse_vkey(w)
        if walg != 0x04:
            raise Invalid(f"witness key {wname} is not a cosignature key (type 0x04)")
        for n, s in sigs:
            if n == wname and s[:4] == wid and len(s) == 4 + 8 + 64:
                (ts,) = struct.unpack(">Q", s[4:12])
                message = f"cosignature/v1\ntime {ts}\n".encode() + text.encode()
                if ed25519_ok(wpub, s[12:], message):
                    cosigned += 1
                    break
    if cosigned < quorum:
        raise Invalid(f"{cosigned} valid witness cosignature(s), {quorum} required")
    return lines[0], int(lines[1]), root


# -- RFC 9162 ----------------------------------------------------------------------------------------------


def h_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def h_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def inclusion_ok(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = h_node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = h_node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def consistency_ok(m: int, n: int, old_root: bytes, new_root: bytes, path: list[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2."""
    if m == n:
        return old_root == new_root and not path
    if not 0 < m < n or not path:
        return False
    if m & (m - 1) == 0:
        path = [old_root, *path]
    fn, sn = m - 1, n - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = h_node(c, fr), h_node(c, sr)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = h_node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


def b64list(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v, validate=True) for v in values]


# -- commands ----------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> str:
    raw = read(args.input)
    if args.command == "checkpoint":
        origin, size, root = check_checkpoint(raw, args.key, args.witness, args.quorum)
        return f"checkpoint OK: {origin} size {size} root {root.hex()}"
    proof: dict[str, Any] = json.loads(raw)
    if args.command == "inclusion":
        origin, size, root = check_checkpoint(proof["checkpoint"], args.key, args.witness, args.quorum)
        data = base64.b64decode(proof["leaf_data"], validate=True)
        index = int(proof["index"])
        if json.loads(data).get("index") != index:
            raise Invalid("the entry's own position does not match the proof")
        if size != int(proof["tree_size"]):
            raise Invalid("proof and checkpoint disagree on the tree size")
        if not inclusion_ok(h_leaf(data), index, size, b64list(proof["inclusion_path"]), root):
            raise Invalid(f"entry {index} is NOT included in the checkpoint of size {size}")
        return f"inclusion OK: entry {index} is in {origin} at size {size}"
    old_origin, old, old_root = check_checkpoint(proof["old_checkpoint"], args.key, [], 0)
    origin, new, new_root = check_checkpoint(proof["new_checkpoint"], args.key, args.witness, args.quorum)
    if old_origin != origin:
        raise Invalid("the two checkpoints are from different logs")
    if (old, new) != (int(proof["old_size"]), int(proof["new_size"])):
        raise Invalid("proof and checkpoints disagree on the sizes")
    if not consistency_ok(old, new, old_root, new_root, b64list(proof["proof"])):
        raise Invalid(f"the checkpoint of size {new} is NOT an extension of the one of size {old}")
    return f"consistency OK: {origin} size {old} -> {new} only appended"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["checkpoint", "inclusion", "consistency"])
    parser.add_argument("input", help="a file, an http(s) URL, or - for stdin")
    parser.add_argument("--key", required=True, help="the log's verifier key")
    parser.add_argument("--witness", action="append", default=[], help="a witness's cosignature verifier key")
    parser.add_argument("--quorum", type=int, default=0, help="how many witness cosignatures are required")
    args = parser.parse_args(argv)
    try:
        print(run(args))
    except (Invalid, ValueError, KeyError, OSError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

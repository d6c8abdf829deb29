"""Signed notes, keys, checkpoints and cosignatures, byte for byte against the published formats.

Expected values come from the specifications, not from `audit.note`: Ed25519 keys and signatures from
RFC 8032 section 7.1 (tests 1 and 2), key ids as c2sp.org/signed-note defines them
(SHA-256(name || 0x0A || type || key), first four bytes; type 0x01 Ed25519, 0x04 cosignature/v1), the
key strings as golang.org/x/mod/sumdb/note writes them, and cosignatures as c2sp.org/tlog-cosignature
defines them (8-byte big-endian time || Ed25519 over "cosignature/v1\\ntime <t>\\n" + the note body).
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from signalfire.audit.note import (
    ALG_COSIGNATURE,
    ALG_ED25519,
    Checkpoint,
    Note,
    NoteError,
    Signature,
    Signer,
    Verifier,
    cosign,
    generate_signer,
    key_id,
    parse_checkpoint_text,
    parse_note,
    parse_skey,
    parse_vkey,
    sign_checkpoint,
    verify_cosignature,
    verify_note,
)

# RFC 8032 7.1, TEST 1 (empty message) and TEST 2 (message 0x72).
SEED1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PUB1 = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
SIG1 = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
SEED2 = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
PUB2 = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
SIG2 = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)
NAME = "log.example/a"
DASH = "\u2014 "
T1, T2, T4, ZERO = b"\x01", b"\x02", b"\x04", b"\x00"  # key types, for use inside f-strings
ROOT = bytes(range(32))
BODY = f"{NAME}\n42\n{base64.b64encode(ROOT).decode()}\n"


NAME_RULE = "a key name must be non-empty, without spaces or '+'"
SKEY_FORM = "a signing key is PRIVATE+KEY+<name>+<hex id>+<base64 key>"
NOTE_FORM = "a note is text, a blank line and signature lines"
EM_DASH = "a signature line starts with an em dash and a space"


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def _kid(name: str, kind: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\x0a" + bytes([kind]) + public).digest()[:4]


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _ed25519(public: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except Exception:
        return False
    return True


def test_signer_and_verifier_follow_rfc_8032_and_the_key_formats() -> None:
    s = Signer(NAME, SEED1)
    assert s.sign(b"") == SIG1
    assert Signer(NAME, SEED2).sign(b"\x72") == SIG2
    v = s.verifier
    assert (v.name, v.public, v.alg) == (NAME, PUB1, ALG_ED25519)
    assert key_id(NAME, 1, PUB1) == _kid(NAME, 1, PUB1)
    assert key_id(NAME, 4, PUB1) == _kid(NAME, 4, PUB1)
    assert v.id == _kid(NAME, 1, PUB1)
    assert Verifier(NAME, PUB1, ALG_COSIGNATURE).id == _kid(NAME, 4, PUB1)
    kid = _kid(NAME, 1, PUB1).hex()
    assert v.vkey == f"{NAME}+{kid}+{_b64(T1 + PUB1)}"
    assert Verifier(NAME, PUB1, ALG_COSIGNATURE).vkey == f"{NAME}+{_kid(NAME, 4, PUB1).hex()}+{_b64(T4 + PUB1)}"
    assert s.skey == f"PRIVATE+KEY+{NAME}+{kid}+{_b64(T1 + SEED1)}"
    assert v.verify(b"", SIG1)
    assert not v.verify(b"x", SIG1)
    assert not Verifier(NAME, PUB2).verify(b"", SIG1)


def test_keys_parse_back_and_bad_ones_are_refused() -> None:
    s = Signer(NAME, SEED1)
    assert parse_skey(s.skey) == s
    assert parse_skey(f"  {s.skey}\n") == s
    kid = s.verifier.id.hex()
    assert parse_skey(s.skey.replace(kid, kid.upper())) == s
    assert parse_vkey(s.verifier.vkey) == s.verifier
    assert parse_vkey(f"\n{s.verifier.vkey}  ") == s.verifier
    assert parse_vkey(s.verifier.vkey.replace(kid, kid.upper())) == s.verifier
    cos = Verifier(NAME, PUB1, ALG_COSIGNATURE)
    assert parse_vkey(cos.vkey) == cos
    seed_b64, pub_b64 = _b64(b"\x01" + SEED1), _b64(b"\x01" + PUB1)
    bad_vkeys = {
        f"{NAME}+{kid}": "a verifier key is <name>+<hex id>+<base64 key>",
        f"{NAME}+{kid}+***": "verifier key is not base64",
        f"{NAME}+{kid}+{_b64(T1 + PUB1[:31])}": "only Ed25519 verifier keys are supported",
        f"{NAME}+{kid}+{_b64(T1 + PUB1 + ZERO)}": "only Ed25519 verifier keys are supported",
        f"{NAME}+{kid}+{_b64(T2 + PUB1)}": "only Ed25519 verifier keys are supported",
        f"{NAME}+00000000+{pub_b64}": "verifier key id does not match its name and key",
        f"+{kid}+{pub_b64}": NAME_RULE,
        f"a b+{kid}+{pub_b64}": NAME_RULE,
    }
    for text, message in bad_vkeys.items():
        with pytest.raises(NoteError, match=_exactly(message)):
            parse_vkey(text)
    bad_skeys = {
        f"PRIVATE+KEY+{NAME}+{kid}": SKEY_FORM,
        f"PUBLIC+KEY+{NAME}+{kid}+{seed_b64}": SKEY_FORM,
        f"PRIVATE+KEYS+{NAME}+{kid}+{seed_b64}": SKEY_FORM,
        f"PRIVATE+KEY+{NAME}+{kid}+***": "signing key is not base64",
        f"PRIVATE+KEY+{NAME}+{kid}+{_b64(T1 + SEED1[:31])}": "only Ed25519 signing keys are supported",
        f"PRIVATE+KEY+{NAME}+{kid}+{_b64(T4 + SEED1)}": "only Ed25519 signing keys are supported",
        f"PRIVATE+KEY+{NAME}+00000000+{seed_b64}": "signing key id does not match its name and key",
        f"PRIVATE+KEY+a\tb+{kid}+{seed_b64}": NAME_RULE,
    }
    for text, message in bad_skeys.items():
        with pytest.raises(NoteError, match=_exactly(message)):
            parse_skey(text)


@pytest.mark.parametrize("name", ["", "a b", "a\tb", "a+b", "x\n"])
def test_key_names_without_spaces_or_plus(name: str) -> None:
    with pytest.raises(NoteError, match=_exactly(NAME_RULE)):
        generate_signer(name)


def test_generated_signers_are_fresh_ed25519_keys() -> None:
    a, b = generate_signer(NAME), generate_signer(NAME)
    assert a.name == NAME
    assert len(a.seed) == 32
    assert a.seed != b.seed
    assert _ed25519(a.verifier.public, b"m", a.sign(b"m"))


def test_a_checkpoint_note_byte_for_byte() -> None:
    cp = Checkpoint(NAME, 42, ROOT)
    assert cp.text == BODY
    s = Signer(NAME, SEED1)
    note = sign_checkpoint(cp, s)
    signature = Signer(NAME, SEED1).sign(BODY.encode())
    assert note == BODY + "\n" + DASH + NAME + " " + _b64(_kid(NAME, 1, PUB1) + signature) + "\n"
    assert _ed25519(PUB1, BODY.encode(), signature)
    parsed = parse_note(note)
    assert parsed.text == BODY
    assert parsed.signatures == (Signature(NAME, _kid(NAME, 1, PUB1), signature),)
    assert parsed.render() == note
    assert verify_note(parsed, s.verifier)
    assert parse_checkpoint_text(parsed.text) == cp


def test_note_verification_needs_the_name_the_key_id_and_the_signature() -> None:
    s, other = Signer(NAME, SEED1), Signer(NAME, SEED2)
    note = parse_note(sign_checkpoint(Checkpoint(NAME, 42, ROOT), s))
    (sig,) = note.signatures
    assert verify_note(note, s.verifier)
    assert not verify_note(note, other.verifier)
    assert not verify_note(Note(note.text, (Signature("other", sig.key_id, sig.sig),)), s.verifier)
    assert not verify_note(Note(note.text, (Signature(NAME, b"\x00" * 4, sig.sig),)), s.verifier)
    assert not verify_note(Note(note.text, (Signature(NAME, sig.key_id, sig.sig + b"\x00"),)), s.verifier)
    assert not verify_note(Note(note.text.replace("42", "43"), note.signatures), s.verifier)
    # Any one good signature among others is enough.
    foreign = Signature("w", b"\x01\x02\x03\x04", bytes(64))
    assert verify_note(Note(note.text, (foreign, sig)), s.verifier)
    assert verify_note(Note(note.text, (sig, foreign)), s.verifier)
    assert not verify_note(Note(note.text, (foreign,)), s.verifier)


def test_note_parsing_refuses_what_is_not_a_signed_note() -> None:
    good = sign_checkpoint(Checkpoint(NAME, 42, ROOT), Signer(NAME, SEED1))
    line = good.split("\n\n", 1)[1]
    five = DASH + "n " + _b64(b"\x01\x02\x03\x04\x05") + "\n"
    note = parse_note(BODY + "\n" + five)
    assert note.signatures == (Signature("n", b"\x01\x02\x03\x04", b"\x05"),)
    two = parse_note(BODY + "\n" + line + five)
    assert [s.name for s in two.signatures] == [NAME, "n"]
    bad = {
        BODY + line: NOTE_FORM,
        "\n\n" + line: NOTE_FORM,
        BODY + "\n" + line[:-1]: "signature lines must end in a newline",
        BODY + "\n" + "- n " + _b64(b"12345") + "\n": EM_DASH,
        BODY + "\n" + "\u2014n " + _b64(b"12345") + "\n": EM_DASH,
        BODY + "\n" + DASH + "n ***\n": "signature is not base64",
        BODY + "\n" + DASH + "n " + _b64(b"1234") + "\n": "signature too short",
        BODY + "\n" + line + "\n": "signature lines must end in a newline",  # the last blank line splits
        BODY + "\n" + line + "x\n" + line: EM_DASH,
        BODY + "\n" + DASH + "a b " + _b64(b"12345") + "\n": "signature is not base64",  # the name ends at a space
    }
    for raw, message in bad.items():
        with pytest.raises(NoteError, match=_exactly(message)):
            parse_note(raw)
    # The size limit: a note of exactly 1,000,000 characters is read, one more is refused.
    pad = 1_000_000 - len(good)
    big = f"{NAME}\n42\n{_b64(ROOT)}\n" + "x" * (pad - 1) + "\n" + good[len(BODY) :]
    assert len(big) == 1_000_000
    assert parse_note(big).signatures == parse_note(good).signatures
    with pytest.raises(NoteError, match=_exactly("note too large")):
        parse_note(big.replace("x", "xx", 1))


def test_checkpoint_bodies() -> None:
    root64 = _b64(ROOT)
    assert parse_checkpoint_text(f"o\n0\n{root64}\n") == Checkpoint("o", 0, ROOT)
    assert parse_checkpoint_text(f"o\n10\n{root64}\n") == Checkpoint("o", 10, ROOT)
    # Extension lines after the root are allowed by c2sp.org/tlog-checkpoint.
    assert parse_checkpoint_text(f"o\n7\n{root64}\nextension\n") == Checkpoint("o", 7, ROOT)
    lines = "a checkpoint body has an origin, a size and a root hash, each on its own line"
    head = "checkpoint origin or size malformed"
    bad = {
        f"o\n7\n{root64}": lines,  # no final newline
        f"o\n7\n{root64}\nx": lines,
        "o\n7\n": lines,
        f"\n7\n{root64}\n": head,  # no origin
        f"o\n\n{root64}\n": head,
        f"o\n007\n{root64}\n": head,
        f"o\n00\n{root64}\n": head,
        f"o\n+7\n{root64}\n": head,
        f"o\n7\n{_b64(ROOT[:31])}\n": "checkpoint root is not a SHA-256 hash",
        f"o\n7\n{_b64(ROOT + b'x')}\n": "checkpoint root is not a SHA-256 hash",
        "o\n7\n!!!!\n": "checkpoint root is not base64",
    }
    for text, message in bad.items():
        with pytest.raises(NoteError, match=_exactly(message)):
            parse_checkpoint_text(text)


def test_cosignatures_follow_tlog_cosignature() -> None:
    witness = Signer("witness.example", SEED2)
    t = 1_700_000_000
    sig = cosign(BODY, witness, t)
    assert sig.name == "witness.example"
    assert sig.key_id == _kid("witness.example", 4, PUB2)
    assert sig.sig[:8] == t.to_bytes(8, "big")
    assert len(sig.sig) == 72
    message = f"cosignature/v1\ntime {t}\n".encode() + BODY.encode()
    assert _ed25519(PUB2, message, sig.sig[8:])
    wv = Verifier("witness.example", PUB2, ALG_COSIGNATURE)
    assert verify_cosignature(BODY, sig, wv) == t
    # A cosignature made by hand from the specification verifies too.
    by_hand = Signature("witness.example", _kid("witness.example", 4, PUB2), (5).to_bytes(8, "big") + witness.sign(
        b"cosignature/v1\ntime 5\n" + BODY.encode()
    ))  # fmt: skip
    assert verify_cosignature(BODY, by_hand, wv) == 5
    assert verify_cosignature(BODY + "x\n", sig, wv) is None
    assert verify_cosignature(BODY, sig, Verifier("witness.example", PUB2, ALG_ED25519)) is None
    assert verify_cosignature(BODY, sig, Verifier("witness.other", PUB2, ALG_COSIGNATURE)) is None
    assert verify_cosignature(BODY, sig, Verifier("witness.example", PUB1, ALG_COSIGNATURE)) is None
    assert verify_cosignature(BODY, Signature(sig.name, b"\x00" * 4, sig.sig), wv) is None
    assert verify_cosignature(BODY, Signature(sig.name, sig.key_id, sig.sig + b"\x00"), wv) is None
    assert verify_cosignature(BODY, Signature(sig.name, sig.key_id, sig.sig[1:]), wv) is None
    later = (t + 1).to_bytes(8, "big") + sig.sig[8:]
    assert verify_cosignature(BODY, Signature(sig.name, sig.key_id, later), wv) is None
    # The time is an unsigned 64-bit number: the largest one round-trips.
    top = 2**64 - 1
    big = cosign(BODY, witness, top)
    assert big.sig[:8] == b"\xff" * 8
    assert verify_cosignature(BODY, big, wv) == top
    # A cosignature-shaped signature under the Ed25519 (type 0x01) key id is not a cosignature.
    plain = Verifier("witness.example", PUB2, ALG_ED25519)
    confused = Signature("witness.example", plain.id, t.to_bytes(8, "big") + witness.sign(message))
    assert verify_cosignature(BODY, confused, wv) is None
    assert verify_cosignature(BODY, confused, plain) is None


def test_a_note_with_two_signatures_renders_both_lines() -> None:
    a = Signature("a", b"\x01\x02\x03\x04", b"\x05")
    b = Signature("b", b"\x06\x07\x08\x09", b"\x0a")
    assert Note(BODY, (a, b)).render() == BODY + "\n" + DASH + "a AQIDBAU=\n" + DASH + "b BgcICQo=\n"

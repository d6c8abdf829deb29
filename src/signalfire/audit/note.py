"""C2SP signed notes and tlog checkpoints with Ed25519 (c2sp.org/signed-note, c2sp.org/tlog-checkpoint).

A checkpoint is the note text "<origin>\\n<size>\\n<base64 root>\\n", a blank line, then one line per
signature: "— <key name> <base64(key id || signature)>". The key id is the first four bytes of
SHA-256(name || 0x0A || 0x01 || public key) for Ed25519. Witness cosignatures (c2sp.org/tlog-cosignature,
type 0x04) sign "cosignature/v1\\ntime <t>\\n" + the note text and carry the time in the signature bytes.
Keys are written the way Go's golang.org/x/mod/sumdb/note writes them:
"PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>" and "<name>+<hex key id>+<base64(0x01 || key)>".
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = 0x01
ALG_COSIGNATURE = 0x04
DASH = "\u2014 "


class NoteError(ValueError):
    """A note, key or checkpoint that does not parse."""


def key_id(name: str, alg: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError("a key name must be non-empty, without spaces or '+'")


@dataclass(frozen=True)
class Verifier:
    name: str
    public: bytes
    alg: int = ALG_ED25519

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.alg, self.public)

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(bytes([self.alg]) + self.public).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def parse_vkey(vkey: str) -> Verifier:
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("a verifier key is <name>+<hex id>+<base64 key>")
    name, hex_id, b64 = parts
    _check_name(name)
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError as exc:
        raise NoteError("verifier key is not base64") from exc
    if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE):
        raise NoteError("only Ed25519 verifier keys are supported")
    v = Verifier(name, raw[1:], raw[0])
    if v.id.hex() != hex_id.lower():
        raise NoteError("verifier key id does not match its name and key")
    return v


@dataclass(frozen=True)
class Signer:
    name: str
    seed: bytes

    @property
    def _key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    @property
    def skey(self) -> str:
        b64 = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.id.hex()}+{b64}"

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def generate_signer(name: str) -> Signer:
    _check_name(name)
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return Signer(name, seed)


def parse_skey(skey: str) -> Signer:
    parts = skey.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteError("a signing key is PRIVATE+KEY+<name>+<hex id>+<base64 key>")
    name, hex_id, b64 = parts[2:]
    _check_name(name)
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError as exc:
        raise NoteError("signing key is not base64") from exc
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise NoteError("only Ed25519 signing keys are supported")
    signer = Signer(name, raw[1:])
    if signer.verifier.id.hex() != hex_id.lower():
        raise NoteError("signing key id does not match its name and key")
    return signer


# -- notes and checkpoints ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    sig: bytes  # for a cosignature: 8-byte big-endian timestamp || signature

    @property
    def line(self) -> str:
        return f"{DASH}{self.name} {base64.b64encode(self.key_id + self.sig).decode()}\n"


@dataclass(frozen=True)
class Note:
    text: str  # the signed body, ending in a newline
    signatures: tuple[Signature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line for s in self.signatures)


def parse_note(raw: str) -> Note:
    if len(raw) > 1_000_000:
        raise NoteError("note too large")
    text, sep, sigs = raw.rpartition("\n\n")
    if not sep or not text:
        raise NoteError("a note is text, a blank line and signature lines")
    text += "\n"
    if not sigs.endswith("\n"):
        raise NoteError("signature lines must end in a newline")
    out: list[Signature] = []
    for line in sigs[:-1].split("\n"):
        if not line.startswith(DASH):
            raise NoteError("a signature line starts with an em dash and a space")
        name, _, b64 = line[len(DASH) :].partition(" ")
        try:
            raw_sig = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise NoteError("signature is not base64") from exc
        if len(raw_sig) < 5:
            raise NoteError("signature too short")
        out.append(Signature(name, raw_sig[:4], raw_sig[4:]))
    # At least one signature: `sigs` ends in a newline, so the loop ran at least once and raised or appended.
    return Note(text, tuple(out))


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    @property
    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_checkpoint_text(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint body has an origin, a size and a root hash, each on its own line")
    origin, size, b64 = lines[0], lines[1], lines[2]
    if not origin or not size.isdigit() or (size.startswith("0") and size != "0"):
        raise NoteError("checkpoint origin or size malformed")
    try:
        root_hash = base64.b64decode(b64, validate=True)
    except ValueError as exc:
        raise NoteError("checkpoint root is not base64") from exc
    if len(root_hash) != 32:
        raise NoteError("checkpoint root is not a SHA-256 hash")
    return Checkpoint(origin, int(size), root_hash)


def sign_checkpoint(cp: Checkpoint, signer: Signer) -> str:
    sig = Signature(signer.name, signer.verifier.id, signer.sign(cp.text.encode()))
    return Note(cp.text, (sig,)).render()


def verify_note(note: Note, verifier: Verifier) -> bool:
    """True when one of the note's signatures is a valid Ed25519 signature by this key."""
    for s in note.signatures:
        if (
            s.name == verifier.name
            and s.key_id == verifier.id
            and len(s.sig) == 64
            and verifier.verify(note.text.encode(), s.sig)
        ):
            return True
    return False


def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


def cosign(text: str, signer: Signer, timestamp: int) -> Signature:
    cosigner = Verifier(signer.name, signer.verifier.public, ALG_COSIGNATURE)
    sig = signer.sign(_cosigned_message(text, timestamp))
    return Signature(signer.name, cosigner.id, struct.pack(">Q", timestamp) + sig)


def verify_cosignature(text: str, sig: Signature, verifier: Verifier) -> int | None:
    """The cosignature's timestamp when it is a valid cosignature by this witness key, else None."""
    if verifier.alg != ALG_COSIGNATURE or sig.name != verifier.name or sig.key_id != verifier.id or len(sig.sig) != 72:
        return None
    (timestamp,) = struct.unpack(">Q", sig.sig[:8])
    return timestamp if verifier.verify(_cosigned_message(text, timestamp), sig.sig[8:]) else None

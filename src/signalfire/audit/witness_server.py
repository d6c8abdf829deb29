"""A witness in the C2SP tlog-witness style: it cosigns a log's checkpoint only after checking that it
extends the last checkpoint it cosigned (a consistency proof), so a log cannot show two histories.

`add_checkpoint` takes the protocol's request body ("old <size>", the proof lines in base64, a blank
line, the signed checkpoint) and answers with an HTTP status and body: 200 and the cosignature line;
409 and the size it knows when `old` is not it; 403 for an unknown log or a bad log signature; 422 for a
proof that does not check. A forum hub or an authority can run it (its state here is a dict; a real
deployment keeps it durable), and the tests use it as the far side of the client.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from signalfire.audit.merkle import verify_consistency
from signalfire.audit.note import (
    NoteError,
    Signer,
    Verifier,
    cosign,
    parse_checkpoint_text,
    parse_note,
    verify_note,
)

MAX_BODY = 64 * 1024


@dataclass
class WitnessState:
    size: int
    root: bytes


@dataclass
class Witness:
    signer: Signer
    logs: dict[str, Verifier]  # origin -> the log's key
    state: dict[str, WitnessState] = field(default_factory=dict)

    def add_checkpoint(self, body: str, *, now: int) -> tuple[int, str]:
        if len(body) > MAX_BODY:
            return 413, "request too large\n"
        head, sep, note_text = body.partition("\n\n")
        lines = head.split("\n")
        if not sep or not lines[0].startswith("old ") or not lines[0][4:].isdigit():
            return 400, "malformed request\n"
        old = int(lines[0][4:])
        try:
            proof = [base64.b64decode(x, validate=True) for x in lines[1:]]
            note = parse_note(note_text)
            cp = parse_checkpoint_text(note.text)
        except (NoteError, binascii.Error, ValueError):
            return 400, "malformed request\n"
        key = self.logs.get(cp.origin)
        if key is None or not verify_note(note, key):
            return 403, "unknown log or bad signature\n"
        known = self.state.get(cp.origin, WitnessState(0, b""))
        if old != known.size:
            return 409, f"{known.size}\n"
        if cp.size < old:
            return 400, "checkpoint smaller than the old size\n"
        if old and not verify_consistency(old, cp.size, known.root, cp.root, proof):
            return 422, "consistency proof does not check\n"
        self.state[cp.origin] = WitnessState(cp.size, cp.root)
        return 200, cosign(note.text, self.signer, now).line

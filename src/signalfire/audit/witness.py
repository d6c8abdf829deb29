"""Witnesses of this log: registering them, asking them to cosign, keeping their cosignatures.

The instance sends each witness that has a URL the latest checkpoint with a consistency proof from the
last one it cosigned (C2SP tlog-witness add-checkpoint). A witness that remembers a different size says
so (409 with its size) and gets a proof from that size instead. Cosignatures are verified before they
are kept; `verify --quorum N` then requires N of them on a checkpoint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.audit.models import AuditCheckpoint, AuditCosignature, AuditWitness
from signalfire.audit.note import ALG_COSIGNATURE, NoteError, parse_note, parse_vkey, verify_cosignature
from signalfire.audit.service import consistency, latest_checkpoint
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, FieldError, ValidationFailed

log = logging.getLogger("signalfire.audit.witness")


def register(session: Session, *, name: str, vkey: str, url: str | None) -> AuditWitness:
    try:
        v = parse_vkey(vkey)
    except NoteError as exc:
        raise ValidationFailed([FieldError("vkey", str(exc))], detail=str(exc)) from exc
    if v.alg != ALG_COSIGNATURE:
        msg = "a witness key is a cosignature key (type 0x04)"
        raise ValidationFailed([FieldError("vkey", msg)], detail=msg)
    if url is not None and not url.startswith(("https://", "http://")):
        raise ValidationFailed([FieldError("url", "an http(s) URL")], detail="a witness URL is an http(s) URL")
    if session.execute(select(AuditWitness).where(AuditWitness.name == name)).first():
        raise Conflict(f"a witness named {name} is registered already")
    w = AuditWitness(name=name, vkey=v.vkey, url=url, created_at=utcnow())
    session.add(w)
    return w


def last_cosigned(session: Session, witness: AuditWitness) -> int:
    size = session.execute(
        select(func.max(AuditCosignature.checkpoint_size)).where(AuditCosignature.witness_id == witness.id)
    ).scalar_one()
    return int(size or 0)


def keep(session: Session, witness: AuditWitness, cp: AuditCheckpoint, line: str) -> bool:
    """Store a cosignature line if it is a valid cosignature of this checkpoint by this witness."""
    text = parse_note(cp.note).text
    try:
        sig = parse_note(text + "\n" + line).signatures[0]
    except NoteError:
        return False
    stamp = verify_cosignature(text, sig, parse_vkey(witness.vkey))
    if stamp is None:
        return False
    session.add(AuditCosignature(witness_id=witness.id, checkpoint_size=cp.size, line=sig.line, cosigned_at=utcnow()))
    return True


@dataclass(frozen=True)
class Outcome:
    witness: str
    status: str  # cosigned | up-to-date | refused | unreachable


def _request(session: Session, old: int, cp: AuditCheckpoint) -> str:
    proof = consistency(session, old, cp.size)["proof"] if 0 < old < cp.size else []
    return f"old {old}\n" + "".join(f"{p}\n" for p in proof) + "\n" + cp.note


def _known_size(resp: httpx.Response) -> int | None:
    text = resp.text.strip()
    return int(text) if text.isdigit() else None


def request_cosignatures(session: Session, http: httpx.Client) -> list[Outcome]:
    cp = latest_checkpoint(session)
    if cp is None:
        return []
    outcomes: list[Outcome] = []
    witnesses = session.execute(select(AuditWitness).where(AuditWitness.url.is_not(None))).scalars().all()
    for w in witnesses:
        old = last_cosigned(session, w)
        if old == cp.size:
            outcomes.append(Outcome(w.name, "up-to-date"))
            continue
        try:
            # lint: allow-network-in-transaction bounded by the witness timeout; see audit/tasks.py
            resp = http.post(str(w.url), content=_request(session, old, cp).encode())
            if resp.status_code == 409 and (known := _known_size(resp)) is not None and known != old:
                if known > cp.size or (known and session.get(AuditCheckpoint, known) is None):
                    outcomes.append(Outcome(w.name, "refused"))
                    log.warning("witness %s knows size %s, which this log never signed", w.name, known)
                    continue
                # lint: allow-network-in-transaction bounded by the witness timeout; see audit/tasks.py
                resp = http.post(str(w.url), content=_request(session, known, cp).encode())
        except httpx.HTTPError as exc:
            log.warning("witness %s unreachable: %s", w.name, exc)
            outcomes.append(Outcome(w.name, "unreachable"))
            continue
        if resp.status_code == 200 and keep(session, w, cp, resp.text):
            outcomes.append(Outcome(w.name, "cosigned"))
        else:
            log.warning("witness %s refused checkpoint %s: %s %s", w.name, cp.size, resp.status_code, resp.text[:200])
            outcomes.append(Outcome(w.name, "refused"))
    return outcomes

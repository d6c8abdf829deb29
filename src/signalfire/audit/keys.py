"""Which key signs checkpoints, and which keys a verifier trusts (the current one plus rotated-out ones).

The trusted set comes from settings, never from the database: someone who can rewrite the database
could otherwise swap in a key of their own and re-sign a rewritten history.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from signalfire.audit.note import NoteError, Signer, Verifier, parse_skey, parse_vkey
from signalfire.core.settings import Environment, Settings


def origin(settings: Settings) -> str:
    if settings.audit.origin:
        return settings.audit.origin
    host = urlsplit(settings.public_base_url).netloc or "localhost"
    return f"{host}/signalfire/audit"


def signer(settings: Settings) -> Signer:
    cfg = settings.audit
    if cfg.signing_key is not None:
        return parse_skey(cfg.signing_key.get_secret_value())
    if cfg.signing_key_file is not None:
        try:
            text = cfg.signing_key_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise NoteError(f"cannot read the audit signing key file: {exc.strerror}") from exc
        return parse_skey(text)
    if settings.environment is Environment.production:  # settings refuse this already; belt and braces
        raise NoteError("no audit signing key configured")
    # Development and test: a stable key derived from the secret key, so restarts keep verifying.
    seed = hashlib.sha256(b"signalfire audit checkpoint key\n" + settings.secret_key.get_secret_value().encode())
    return Signer(origin(settings), seed.digest())


def trusted(settings: Settings) -> list[Verifier]:
    current = signer(settings).verifier
    return [current, *(parse_vkey(v) for v in settings.audit.trusted_keys if v.strip())]

"""Peer credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the instance secret.

The key is HKDF-SHA256 of ``SIGNALFIRE_SECRET_KEY`` with a purpose label, so it is never the secret
itself and rotating the secret key makes stored peer credentials unreadable (re-enter them): the page
then says the credential cannot be decrypted rather than sending garbage.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from signalfire.core.settings import get_settings

_INFO = b"signalfire federation peer credentials v1"


class CredentialUnreadable(Exception):
    """The stored credential was encrypted under another secret key (or was tampered with)."""


def _fernet(secret_key: str | None = None) -> Fernet:
    secret = secret_key if secret_key is not None else get_settings().secret_key.get_secret_value()
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


def encrypt(plain: str, *, secret_key: str | None = None) -> str:
    return _fernet(secret_key).encrypt(plain.encode()).decode()


def decrypt(token: str, *, secret_key: str | None = None) -> str:
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialUnreadable(
            "the peer's credential cannot be decrypted with this instance's secret key"
        ) from None

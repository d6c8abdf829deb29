"""Opaque bearer secrets (session cookies, API tokens): random, shown once, stored only as sha256.

sha256 (not argon2) is right here: the secrets carry 256 bits of entropy, so a fast hash cannot be
brute-forced, and lookups by hash must be cheap on every request.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "sf_"  # noqa: S105 (a public prefix, not a secret)


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()

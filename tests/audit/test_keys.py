"""Which key signs checkpoints, under which origin, and which keys a verifier trusts (all from settings)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from signalfire.audit import keys
from signalfire.audit.note import NoteError, Signer, generate_signer
from signalfire.core.settings import Environment
from tests.conftest import make_settings


def test_the_origin_is_configured_or_the_public_host() -> None:
    assert keys.origin(make_settings(audit={"origin": "audit.example/log"})) == "audit.example/log"
    assert keys.origin(make_settings(public_base_url="https://hub.example:8443/base")) == (
        "hub.example:8443/signalfire/audit"
    )
    assert keys.origin(make_settings(public_base_url="not a url")) == "localhost/signalfire/audit"


def test_without_a_key_development_derives_one_from_the_secret_key() -> None:
    secret = "a-secret-key-of-some-length-for-this-test"
    settings = make_settings(secret_key=secret, public_base_url="https://hub.example")
    seed = hashlib.sha256(b"signalfire audit checkpoint key\n" + secret.encode()).digest()
    assert keys.signer(settings) == Signer("hub.example/signalfire/audit", seed)
    other = make_settings(secret_key=secret + "x", public_base_url="https://hub.example")
    assert keys.signer(other).seed != seed


def test_a_configured_key_inline_or_in_a_file(tmp_path: Path) -> None:
    inline, in_file = generate_signer("log.example"), generate_signer("file.example")
    assert keys.signer(make_settings(audit={"signing_key": inline.skey})) == inline
    path = tmp_path / "audit.key"
    path.write_text(in_file.skey + "\n", encoding="utf-8")
    assert keys.signer(make_settings(audit={"signing_key_file": str(path)})) == in_file
    # The inline key wins over the file.
    assert keys.signer(make_settings(audit={"signing_key": inline.skey, "signing_key_file": str(path)})) == inline
    with pytest.raises(NoteError, match="cannot read the audit signing key file: No such file or directory"):
        keys.signer(make_settings(audit={"signing_key_file": str(tmp_path / "missing.key")}))


def test_production_never_derives_a_key() -> None:
    # Settings refuse production without a key; a copy skips validation to reach the second guard.
    settings = make_settings().model_copy(update={"environment": Environment.production})
    with pytest.raises(NoteError, match=r"^no audit signing key configured$"):
        keys.signer(settings)


def test_trusted_keys_are_the_current_one_and_the_configured_ones() -> None:
    old1, old2 = generate_signer("log.example"), generate_signer("log.example")
    current = generate_signer("log.example")
    settings = make_settings(
        audit={"signing_key": current.skey, "trusted_keys": [old1.verifier.vkey, "  ", "", old2.verifier.vkey]}
    )
    assert keys.trusted(settings) == [current.verifier, old1.verifier, old2.verifier]
    assert keys.trusted(make_settings(audit={"signing_key": current.skey})) == [current.verifier]

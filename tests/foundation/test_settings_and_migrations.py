"""Settings fail closed; migrations and models agree on this database."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from signalfire.core.db import migrate
from signalfire.core.settings import Settings


def test_production_refuses_default_secret() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", cookie_secure=True)
    with pytest.raises(ValidationError, match="COOKIE_SECURE"):
        Settings(environment="production", secret_key="x" * 40, audit={"signing_key_file": "k"})
    with pytest.raises(ValidationError, match="AUDIT__SIGNING_KEY"):
        Settings(environment="production", secret_key="x" * 40, cookie_secure=True)
    ok = Settings(
        environment="production",
        secret_key="x" * 40,
        cookie_secure=True,
        audit={"signing_key_file": "audit.key"},
    )
    assert ok.database_url.startswith("sqlite:///")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", "postgresql+psycopg://db/x")
    monkeypatch.setenv("SIGNALFIRE_MAIL__PORT", "2525")
    s = Settings()
    assert s.database_url == "postgresql+psycopg://db/x"
    assert s.mail.port == 2525


def test_models_match_migrations(engine: Engine) -> None:
    assert migrate.check(engine) is None

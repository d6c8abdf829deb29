"""`--as EMAIL --org SLUG`: one lookup (access.cli_actor) for every command group, case-insensitive on the
e-mail, with an error that says which part was wrong."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from sqlalchemy import update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from signalfire.access.cli_actor import CliActorError, cli_actor
from signalfire.access.models import Organization, Role, User
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from tests import factories


def test_email_is_matched_case_insensitively_and_trimmed(db: Session) -> None:
    admin = factories.actor(db)
    org = db.get_one(Organization, admin.org_id)
    got = cli_actor(db, f"  {admin.email.upper()} ", org.slug)
    assert (got.user_id, got.org_id, got.via) == (admin.user_id, org.id, "cli")
    # A row stored with capitals (before addresses were lowered) still matches.
    db.execute(update(User).where(User.id == admin.user_id).values(email=admin.email.replace("u-", "U-")))
    assert cli_actor(db, admin.email, org.slug).user_id == admin.user_id


def test_without_org_the_first_membership_is_used(db: Session) -> None:
    admin = factories.actor(db)
    assert cli_actor(db, admin.email, None).org_id == admin.org_id


@pytest.mark.parametrize(
    ("email", "slug", "message"),
    [
        ("nobody@example.test", "own", "no user with the e-mail address nobody@example.test"),
        ("", "own", "--as needs the e-mail address of a person"),
        ("member", "no-such-org", "no organisation with the slug 'no-such-org'"),
        ("member", "other", "is not an active member of the organisation"),
    ],
)
def test_each_failure_names_what_was_wrong(db: Session, email: str, slug: str, message: str) -> None:
    admin = factories.actor(db, role=Role.viewer)
    own = db.get_one(Organization, admin.org_id)
    other = factories.org(db)
    slugs = {"own": own.slug, "other": other.slug}
    with pytest.raises(CliActorError, match=message):
        cli_actor(db, admin.email if email == "member" else email, slugs.get(slug, slug))


@pytest.fixture()
def cli_world(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, str]]:
    engine = make_engine(fresh_db)
    with unit_of_work(session_factory(engine)) as s:
        admin = factories.actor(s)
        org = s.get_one(Organization, admin.org_id)
        stranger = factories.org(s)
        email, slug, other = admin.email, org.slug, stranger.slug
    engine.dispose()
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    yield email, slug, other
    get_settings.cache_clear()


def _groups() -> dict[str, tuple[typer.Typer, list[str]]]:
    from signalfire.exchange.cli import app as exchange_app
    from signalfire.readiness.cli import readiness_app
    from signalfire.reporting.cli import reporting_app
    from signalfire.response.cli import response_app

    return {
        "response": (response_app, ["list"]),
        "readiness": (readiness_app, []),  # a one-command group: typer runs it without its name
        "reporting": (reporting_app, ["obligations", "INC-2026-0001"]),
        "exchange": (exchange_app, ["items", "list"]),
        "stix": (exchange_app, ["export", "--purpose", "safeguards"]),
    }


@pytest.mark.parametrize("group", ["response", "readiness", "reporting", "exchange", "stix"])
def test_every_command_group_uses_the_one_lookup(cli_world: tuple[str, str, str], group: str) -> None:
    email, slug, other = cli_world
    app, args = _groups()[group]
    runner = CliRunner()
    upper = runner.invoke(app, [*args, "--as", email.upper(), "--org", slug])
    assert "no user" not in upper.output and "not an active member" not in upper.output, upper.output
    wrong = runner.invoke(app, [*args, "--as", email, "--org", other])
    assert wrong.exit_code == 1
    assert f"{email} is not an active member of the organisation '{other}'" in " ".join(wrong.output.split())
    missing = runner.invoke(app, [*args, "--as", "ghost@example.test", "--org", slug])
    assert missing.exit_code == 1 and "no user with the e-mail address ghost@example.test" in missing.output

"""`signalfire notices ...` and `signalfire intake answer`: the same services from the command line."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from signalfire.access.models import Organization
from signalfire.cli import _load_domain_commands
from signalfire.cli import app as cli_app
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from signalfire.intake import public
from signalfire.intake.models import IntakeSettings, SourceKind, ThreadMessage
from tests import factories
from tests.intake import factories as intake_f
from tests.notices import factories as nf


@pytest.fixture()
def cli_db(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    if not any(g.name == "notices" for g in cli_app.registered_groups):
        _load_domain_commands()
    yield fresh_db
    get_settings.cache_clear()


def test_cli_evaluate_approve_send_and_answer(cli_db: str) -> None:
    engine = make_engine(cli_db)
    with unit_of_work(session_factory(engine)) as s:
        a = factories.actor(s)
        nf.world(s, a)
        intake_f.open_channel(s, a)
        org = s.get(Organization, a.org_id)
        channel = s.get(IntakeSettings, a.org_id)
        assert org is not None and channel is not None
        signal = public.submit(
            s,
            org=org,
            settings=channel,
            report=public.Report(title="A public report", description="d", contact="pat@example.com"),
            source_kind=SourceKind.public_form,
        )
        email, slug, reference = a.email, org.slug, signal.reference
    runner = CliRunner()
    who = ["--as", email, "--org", slug]
    crossed = runner.invoke(
        cli_app,
        [
            "notices",
            "evaluate",
            *who,
            "--model",
            "aurora-large 3.2",
            "--evaluation",
            "bio uplift eval",
            "--score",
            "0.8",
        ],
    )
    assert crossed.exit_code == 0, crossed.output
    assert "opened SF-N-" in crossed.output
    ref = crossed.output.split("opened ", 1)[1].split(":", 1)[0]
    refused = runner.invoke(cli_app, ["notices", "send", ref, *who])
    assert refused.exit_code == 1 and "Approve" in refused.output
    assert runner.invoke(cli_app, ["notices", "approve", ref, *who]).exit_code == 0
    sent = runner.invoke(cli_app, ["notices", "send", ref, *who])
    assert sent.exit_code == 0 and f"{ref}: sent" in sent.output
    listed = runner.invoke(cli_app, ["notices", "list", *who])
    assert listed.exit_code == 0 and ref in listed.output and "Sent on time" in listed.output
    answered = runner.invoke(cli_app, ["intake", "answer", reference, *who, "--body", "Thanks, fixed."])
    assert answered.exit_code == 0 and "answer sent and e-mailed" in answered.output
    with unit_of_work(session_factory(engine)) as s:
        assert s.execute(select(ThreadMessage.body)).scalars().all() == ["Thanks, fixed."]
    engine.dispose()

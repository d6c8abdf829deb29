"""The counsel role wherever roles are chosen: the members page, the members API and `signalfire users`."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from signalfire import cli
from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Organization, Role, User
from signalfire.access.permissions import Permission, effective_permissions
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.settings import get_settings
from signalfire.demo import LOGINS
from tests import factories

Client = Callable[[Actor | None], TestClient]


def test_counsel_holds_the_sign_off_and_admins_do_not() -> None:
    # Spelled out beside the oracle's row: the one permission that moved from admins to counsel.
    from signalfire.access.models import OrgKind

    for kind in (OrgKind.frontier_developer, OrgKind.downstream, OrgKind.researcher, OrgKind.hub_operator):
        assert Permission.exchange_screening_counsel in effective_permissions(Role.counsel, kind)
        assert Permission.exchange_screening_counsel not in effective_permissions(Role.admin, kind)
    counsel = effective_permissions(Role.counsel, OrgKind.frontier_developer)
    for never in (
        Permission.org_member_manage,
        Permission.audit_log_read,
        Permission.response_incident_write,
        Permission.reporting_report_write,
        Permission.exchange_item_write,
        Permission.exchange_item_publish,
    ):
        assert never not in counsel


def test_admins_choose_counsel_on_the_members_page_and_api(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, browser_client: Client
) -> None:
    admin = make_actor()
    org = db.get_one(Organization, admin.org_id)
    db.commit()
    page = browser_client(admin).get("/admin/members")
    assert page.status_code == 200
    assert page.text.count('<option value="counsel"') == 2  # the new-member form and the admin's own row
    added = api_client(admin).post("/api/v1/members", json={"email": "cora@example.test", "role": "counsel"})
    assert added.status_code == 201, added.text
    assert added.json()["role"] == "counsel"
    analyst = make_actor(organization=org, role=Role.analyst)
    db.commit()
    membership = factories.membership(db, analyst)
    changed = api_client(admin).patch(f"/api/v1/members/{membership.id}", json={"role": "counsel"})
    assert changed.status_code == 200 and changed.json()["role"] == "counsel"
    form = browser_client(admin).post(f"/admin/members/{membership.id}/role", data={"role": "counsel"})
    assert form.status_code == 200
    db.expire_all()
    assert db.get_one(Membership, membership.id).role == Role.counsel


@pytest.fixture()
def cli_db(fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SIGNALFIRE_DATABASE_URL", fresh_db)
    get_settings.cache_clear()
    return fresh_db


def test_the_cli_adds_a_counsel(cli_db: str) -> None:
    engine = make_engine(cli_db)
    with unit_of_work(session_factory(engine)) as s:
        org = factories.org(s)
        person = factories.user(s)
        slug, email = org.slug, person.email
    runner = CliRunner()
    result = runner.invoke(cli.app, ["users", "add-member", email, slug, "--role", "counsel"])
    assert result.exit_code == 0, result.output
    assert f"{email} is now counsel in {slug}" in result.output
    assert "counsel" in runner.invoke(cli.app, ["users", "add-member", "--help"]).output
    with unit_of_work(session_factory(engine)) as s:
        role = s.execute(
            select(Membership.role).join(User, User.id == Membership.user_id).where(User.email == email)
        ).scalar_one()
        assert role == Role.counsel
    engine.dispose()


def test_the_demo_has_a_counsel_at_aurora() -> None:
    assert ("cora@aurora.example", "aurora", "counsel") in {(x.email, x.org, x.role) for x in LOGINS}
    # Nobody else in the demo holds the sign-off: Alice (admin) publishes, Cora signs off.
    assert [x.email for x in LOGINS if x.role == "counsel"] == ["cora@aurora.example"]


def test_the_demo_has_a_draft_waiting_for_cora(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from signalfire import demo
    from signalfire.exchange import demo as exchange_demo
    from signalfire.mywork.service import my_work

    monkeypatch.setattr("signalfire.access.service.hash_password", lambda password: f"test:{password}")
    ctx = demo.seed_foundation(db)
    exchange_demo.seed(db, ctx)
    aurora = ctx.orgs["aurora"]
    cora = factories.actor_for(db, ctx.users["cora@aurora.example"], aurora)
    waiting = [i for i in my_work(db, cora).items if i.kind == "signoff"]
    assert [i.title for i in waiting] == [
        "Fine-tuning jailbreak: throttle new fine-tuning jobs while the classifier is retrained"
    ]
    assert "output" in waiting[0].detail
    # Alice, the admin, publishes but does not sign off: nothing of this is on her list.
    alice = factories.actor_for(db, ctx.users["alice@aurora.example"], aurora)
    assert not [i for i in my_work(db, alice).items if i.kind == "signoff"]

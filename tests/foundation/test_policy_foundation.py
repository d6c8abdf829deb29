"""Another org, another role and an anonymous caller cannot see members, tokens, webhooks or audit entries."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.notify.service import create_webhook
from tests import factories


def test_org_data_stays_in_the_org(
    db: Session, make_actor: Callable[..., Actor], api_client: Callable[[Actor | None], TestClient]
) -> None:
    a_admin = make_actor(OrgKind.frontier_developer, Role.admin, name="A admin")
    a_org = factories.org(db)
    del a_org
    b_admin = make_actor(OrgKind.frontier_developer, Role.admin, name="B admin")
    create_webhook(db, actor=a_admin, url="http://127.0.0.1:9/a", events=["*"])
    db.commit()
    a, b = api_client(a_admin), api_client(b_admin)
    b_members = {m["email"] for m in b.get("/api/v1/members").json()}
    assert a_admin.email not in b_members
    assert b.get("/api/v1/webhooks").json() == []
    assert len(a.get("/api/v1/webhooks").json()) == 1
    b_audit = b.get("/api/v1/audit").json()
    assert all(e["summary"].get("url") != "http://127.0.0.1:9/a" for e in b_audit)
    assert any(e["action"] == "webhook.create" for e in a.get("/api/v1/audit").json())
    a_token_ids = {t["id"] for t in a.get("/api/v1/tokens").json()}
    for tid in a_token_ids:
        assert b.delete(f"/api/v1/tokens/{tid}").status_code == 404


def test_roles_see_only_their_own_tokens(
    db: Session, make_actor: Callable[..., Actor], api_client: Callable[[Actor | None], TestClient]
) -> None:
    admin = make_actor(OrgKind.frontier_developer, Role.admin)
    org = db.get(factories.Organization, admin.org_id)
    assert org is not None
    viewer = factories.actor_for(db, factories.member(db, org, Role.viewer), org)
    va, vv = api_client(admin), api_client(viewer)
    admin_tokens = {t["id"] for t in va.get("/api/v1/tokens").json()}
    viewer_tokens = {t["id"] for t in vv.get("/api/v1/tokens").json()}
    assert viewer_tokens and viewer_tokens < admin_tokens  # the admin sees everyone's, to revoke them
    assert vv.get("/api/v1/audit").json() == []  # audit is for admins
    for tid in admin_tokens - viewer_tokens:
        assert vv.delete(f"/api/v1/tokens/{tid}").status_code == 404


def test_a_scoped_token_does_not_list_or_revoke_its_owners_other_tokens(
    db: Session, make_actor: Callable[..., Actor], app: object
) -> None:
    admin = make_actor(OrgKind.frontier_developer, Role.admin)
    full = factories.token_for(db, admin)
    narrow = factories.token_for(db, admin, scopes=["exchange:item:read"])
    full_client = TestClient(app, headers={"Authorization": f"Bearer {full}"})  # type: ignore[arg-type]
    narrow_client = TestClient(app, headers={"Authorization": f"Bearer {narrow}"})  # type: ignore[arg-type]
    listed = full_client.get("/api/v1/tokens")
    assert listed.status_code == 200 and len(listed.json()) == 2
    refused = narrow_client.get("/api/v1/tokens")
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "prefix" not in refused.text and "name" not in refused.json()
    for token in listed.json():
        assert narrow_client.delete(f"/api/v1/tokens/{token['id']}").status_code == 404
    assert len(full_client.get("/api/v1/tokens").json()) == 2  # nothing was revoked
    # A token scoped to token management still lists them.
    manager = factories.token_for(db, admin, scopes=["org:token:manage"])
    managed = TestClient(app, headers={"Authorization": f"Bearer {manager}"}).get("/api/v1/tokens")  # type: ignore[arg-type]
    assert managed.status_code == 200 and len(managed.json()) == 3


def test_anonymous_sees_nothing(client: TestClient) -> None:
    for path in ("/api/v1/me", "/api/v1/members", "/api/v1/tokens", "/api/v1/webhooks", "/api/v1/audit"):
        assert client.get(path).status_code == 401
    r = client.get("/admin/members", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_authority_cannot_run_incident_permissions(make_actor: Callable[..., Actor]) -> None:
    from signalfire.access.permissions import Permission

    authority_admin = make_actor(OrgKind.authority, Role.admin)
    assert not authority_admin.can(Permission.response_incident_write)
    assert not authority_admin.can(Permission.exchange_item_write)
    assert authority_admin.can(Permission.reporting_inbox_read)

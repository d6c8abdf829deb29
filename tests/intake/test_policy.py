"""Who may see intake data: the receiving org's members only; other orgs, other kinds and anonymous see
nothing, in lists and details, in the UI and the API; a reporter sees only their receipt view."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.access.policy.intake import readable_clusters, readable_signals, submitted_reports
from signalfire.intake import public
from signalfire.intake.models import SourceKind
from tests.intake import factories as f


def test_readable_statements_keep_to_the_actors_org(db: Session, make_actor: Callable[..., Actor]) -> None:
    mine, other = make_actor(), make_actor()
    authority = make_actor(kind=OrgKind.authority)
    s = f.signal(db, mine.org_id)
    assert db.execute(readable_signals(mine)).scalars().all() == [s]
    assert db.execute(readable_signals(other)).scalars().all() == []
    assert db.execute(readable_signals(authority)).scalars().all() == []  # authorities never read intake
    assert db.execute(readable_clusters(other)).scalars().all() == []


def test_other_org_and_anonymous_get_nothing_through_ui_and_api(
    db: Session,
    make_actor: Callable[..., Actor],
    api_client: Callable[[Actor | None], TestClient],
    browser_client: Callable[[Actor | None], TestClient],
) -> None:
    mine, other = make_actor(), make_actor()
    s = f.signal(db, mine.org_id, title="Secret internal signal")
    db.commit()
    api_other = api_client(other)
    assert all(x["id"] != str(s.id) for x in api_other.get("/api/v1/intake/signals", params={"state": "all"}).json())
    assert api_other.get(f"/api/v1/intake/signals/{s.id}").status_code == 404
    assert api_other.get(f"/api/v1/intake/clusters/{s.cluster_id}").status_code == 404
    assert api_other.post(f"/api/v1/intake/signals/{s.id}/dismiss", json={"reason": "nope"}).status_code == 404
    ui_other = browser_client(other)
    assert "Secret internal signal" not in ui_other.get("/intake").text
    assert ui_other.get(f"/intake/signals/{s.id}").status_code == 404
    anon_api = api_client(None)
    assert anon_api.get("/api/v1/intake/signals").status_code == 401
    anon_ui = browser_client(None).get(f"/intake/signals/{s.id}", follow_redirects=False)
    assert anon_ui.status_code == 303 and anon_ui.headers["location"].startswith("/login")


def test_viewer_reads_but_cannot_decide_and_downstream_sender_sees_only_the_receipt(
    db: Session, make_actor: Callable[..., Actor], api_client: Callable[[Actor | None], TestClient]
) -> None:
    admin = make_actor()
    channel = f.open_channel(db, admin)
    from signalfire.access.models import Organization

    org = db.get(Organization, admin.org_id)
    assert org is not None
    viewer = make_actor(role=Role.viewer, organization=org)
    dev = make_actor(kind=OrgKind.downstream)
    sent = public.submit(
        db,
        org=org,
        settings=channel,
        source_kind=SourceKind.downstream_api,
        submitter=dev,
        report=public.Report(title="From a downstream dev", description="d"),
    )
    db.commit()
    v = api_client(viewer)
    assert v.get(f"/api/v1/intake/signals/{sent.id}").status_code == 200
    assert v.post(f"/api/v1/intake/signals/{sent.id}/dismiss", json={"reason": "viewer"}).status_code == 403
    d = api_client(dev)
    assert d.get(f"/api/v1/intake/signals/{sent.id}").status_code == 404
    assert d.get("/api/v1/intake/signals").json() == []
    assert d.get(f"/api/v1/intake/reports/{sent.reference}").status_code == 200
    assert db.execute(submitted_reports(admin)).scalars().all() == []

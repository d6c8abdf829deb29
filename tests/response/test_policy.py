"""Who sees which incidents: the org's readers, external participants (one incident only), nobody else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind, Role
from signalfire.core.errors import ValidationFailed
from signalfire.response import actions, reviews, service
from signalfire.response.models import Incident
from signalfire.response.schemas import ActionCreate, ParticipantIn, ReviewIn
from signalfire.response.vocab import ActionKind, ParticipantRole
from tests import factories
from tests.response import factories as rf

Client = Callable[[Actor | None], TestClient]


def _setup(db: Session) -> tuple[Actor, Actor, list[Incident], Incident]:
    owner = factories.actor(db)
    counsel_org = factories.org(db, OrgKind.researcher, name="Halden & Moss LLP")
    counsel = factories.actor(db, organization=counsel_org, role=Role.viewer, name="Outside Counsel")
    rf.model_version(db, owner, "aurora-large", "3.1")
    rf.model_version(db, owner, "aurora-large", "3.2")
    theirs = rf.incident(db, owner, title="Weights accessed from an unknown host")
    actions.create_action(
        db,
        owner,
        theirs,
        ActionCreate(
            kind=ActionKind.MODEL_ROLLBACK,
            title="Roll back",
            from_version="aurora-large 3.2",
            to_version="aurora-large 3.1",
        ),
    )
    others = [
        rf.incident(db, owner, title="Another incident"),
        rf.incident(db, owner, title="A drill", is_drill=True),
    ]
    service.add_participant(
        db,
        owner,
        theirs,
        ParticipantIn(role=ParticipantRole.EXTERNAL, email=counsel.email, affiliation="Halden & Moss, outside counsel"),
    )
    reviews.save_review(db, owner, theirs, ReviewIn(root_cause="Leaked CI token."))
    db.commit()
    return owner, counsel, others, theirs


def test_external_participant_sees_their_incident_and_nothing_else(db: Session, browser_client: Client) -> None:
    _owner, counsel, others, theirs = _setup(db)
    listed = {i.id for i in service.list_incidents(db, counsel)}
    assert listed == {theirs.id}
    c = browser_client(counsel)
    api = c.get("/api/v1/response/incidents").json()
    assert [i["id"] for i in api] == [str(theirs.id)]
    assert c.get(f"/api/v1/response/incidents/{theirs.id}").status_code == 200
    assert c.get(f"/api/v1/response/incidents/{theirs.id}/timeline").status_code == 200
    page = c.get(f"/response/incidents/{theirs.id}")
    assert page.status_code == 200 and "external participant" in page.text
    assert "aurora-large 3.2 → aurora-large 3.1" in page.text  # the incident's own facts
    assert 'data-testid="action-form"' not in page.text and 'data-testid="review-link"' not in page.text
    for other in others:
        assert c.get(f"/api/v1/response/incidents/{other.id}").status_code == 404
        assert c.get(f"/response/incidents/{other.id}").status_code == 404
    ui_list = c.get("/response/incidents").text
    assert "Weights accessed" in ui_list and "Another incident" not in ui_list
    # Org-internal records stay internal: the review, inventory, rosters, playbooks, metrics.
    assert c.get(f"/api/v1/response/incidents/{theirs.id}/review").status_code == 404
    assert c.get(f"/response/incidents/{theirs.id}/review").status_code == 404
    assert c.get("/api/v1/response/models").json() == []
    assert c.get("/api/v1/response/playbooks").json() == []
    assert c.get("/api/v1/response/metrics").json()["overall"] == {}


def test_external_participant_may_add_notes_only(db: Session, browser_client: Client) -> None:
    _owner, counsel, _others, theirs = _setup(db)
    c = browser_client(counsel)
    ok = c.post(f"/api/v1/response/incidents/{theirs.id}/timeline", json={"kind": "evidence", "body": "Host logs."})
    assert ok.status_code == 201 and ok.json()["author_label"] == "Outside Counsel"
    assert (
        c.post(
            f"/api/v1/response/incidents/{theirs.id}/timeline", json={"kind": "decision", "body": "Close it."}
        ).status_code
        == 403
    )
    assert c.post(f"/api/v1/response/incidents/{theirs.id}/status", json={"status": "triaged"}).status_code == 403
    assert (
        c.post(
            f"/api/v1/response/incidents/{theirs.id}/actions", json={"kind": "other", "title": "Do a thing"}
        ).status_code
        == 403
    )


def test_access_ends_when_the_participant_is_removed(db: Session) -> None:
    owner, counsel, _, theirs = _setup(db)
    p = next(v.participant for v in service.participants(db, theirs) if v.participant.role is ParticipantRole.EXTERNAL)
    service.remove_participant(db, owner, theirs, p.id)
    assert service.list_incidents(db, counsel) == []


def test_other_orgs_and_authorities_see_nothing(db: Session, browser_client: Client) -> None:
    _owner, _counsel, _others, theirs = _setup(db)
    stranger = factories.actor(db)
    authority = factories.actor(db, kind=OrgKind.authority)
    db.commit()
    for who in (stranger, authority):
        assert service.list_incidents(db, who) == []
        c = browser_client(who)
        assert c.get("/api/v1/response/incidents").json() == []
        assert c.get(f"/api/v1/response/incidents/{theirs.id}").status_code == 404
        assert c.get(f"/response/incidents/{theirs.id}").status_code == 404
        assert c.get("/api/v1/response/board").json() == []


def test_an_authority_user_cannot_be_made_an_external_participant(db: Session) -> None:
    owner = factories.actor(db)
    authority = factories.actor(db, kind=OrgKind.authority)
    inc = rf.incident(db, owner)
    with pytest.raises(ValidationFailed):
        service.add_participant(
            db,
            owner,
            inc,
            ParticipantIn(role=ParticipantRole.EXTERNAL, email=authority.email, affiliation="EU AI Office"),
        )


def test_every_member_role_reads_the_org_incidents(db: Session) -> None:
    owner = factories.actor(db)
    inc = rf.incident(db, owner)
    org = db.get(Organization, owner.org_id)
    assert org is not None
    for role in Role:
        member = factories.actor_for(db, factories.member(db, org, role), org)
        assert [i.id for i in service.list_incidents(db, member)] == [inc.id]

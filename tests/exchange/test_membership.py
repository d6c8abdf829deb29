"""Community membership at the hub: application with designated contacts per category, admission or
refusal, suspension and reinstatement; what a suspended member can no longer do; who sees which record.

Expected answers come from the task's rules: an admitted org reads what goes to all members and its
contacts become routing designations; a suspended org reads nothing of others' and publishes nothing until
reinstated; every step is audited and shown to the org with the hub's reason.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind, Role
from signalfire.audit.models import AuditEvent
from signalfire.core.errors import AppError
from signalfire.exchange import authoring
from signalfire.exchange.models import Designation
from signalfire.exchange.moderation import membership
from signalfire.exchange.moderation.membership import MemberDecision
from signalfire.exchange.vocab import Category
from tests import factories
from tests.exchange import factories as xf

Client = Callable[[Actor | None], TestClient]
STATEMENT = "We run a frontier lab and want to share jailbreak findings with peers."


def _outsider(db: Session) -> tuple[Actor, Actor]:
    """A lab outside the community: its admin and one of its analysts."""
    org = factories.org(db, OrgKind.frontier_developer, exchange_member=False)
    admin = factories.actor_for(db, factories.member(db, org, Role.admin), org)
    analyst = factories.actor_for(db, factories.member(db, org, Role.analyst), org)
    return admin, analyst


def _contacts(*actors: Actor) -> dict[str, list[str]]:
    return {c.value: [str(actors[i % len(actors)].user_id)] for i, c in enumerate(Category)}


def _audited(db: Session, action: str, org_id: object) -> set[object]:
    rows = db.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars()
    return {r.org_id for r in rows if r.target_id == str(org_id)}


def test_apply_admit_and_the_contacts_become_designations(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, browser_client: Client
) -> None:
    hub = make_actor(OrgKind.hub_operator)
    member = make_actor()
    applicant, analyst = _outsider(db)
    shared = xf.published(db, member)
    db.commit()
    assert api_client(applicant).get(f"/api/v1/exchange/items/{shared.id}").status_code == 404
    contacts = _contacts(applicant, analyst)
    body = {"statement": STATEMENT, "contacts": contacts}
    # Only an admin applies; a contact must belong to the applicant org.
    assert api_client(analyst).post("/api/v1/exchange/membership", json=body).status_code == 403
    stranger = {**body, "contacts": {**contacts, "threat": [str(member.user_id)]}}
    assert api_client(applicant).post("/api/v1/exchange/membership", json=stranger).status_code == 422
    missing = {**body, "contacts": {"threat": [str(applicant.user_id)]}}
    assert api_client(applicant).post("/api/v1/exchange/membership", json=missing).status_code == 422
    applied = api_client(applicant).post("/api/v1/exchange/membership", json=body)
    assert applied.status_code == 201, applied.text
    assert applied.json()["status"] == "applied"
    assert api_client(applicant).post("/api/v1/exchange/membership", json=body).status_code == 409
    # The hub sees the application with its contacts' names; another member sees only its own record.
    listing = api_client(hub).get("/api/v1/exchange/memberships").json()
    mine = next(s for s in listing if s["org_id"] == str(applicant.org_id))
    assert mine["status"] == "applied" and mine["statement"] == STATEMENT
    assert applicant.display_name in repr(mine["contacts"])
    assert api_client(member).get("/api/v1/exchange/memberships").status_code == 404
    assert api_client(member).get("/api/v1/exchange/membership").json()["org_id"] == str(member.org_id)
    assert api_client(None).get("/api/v1/exchange/membership").status_code == 401

    decision = f"/api/v1/exchange/memberships/{applicant.org_id}/decisions"
    assert api_client(member).post(decision, json={"decision": "admit"}).status_code == 404
    assert api_client(hub).post(decision, json={"decision": "admit"}).status_code == 200
    db.expire_all()
    assert db.get_one(Organization, applicant.org_id).exchange_member is True
    designations = db.execute(select(Designation).where(Designation.org_id == applicant.org_id)).scalars().all()
    assert {(d.category.value, d.user_id) for d in designations} == {
        (c, applicant.user_id if i % 2 == 0 else analyst.user_id) for i, c in enumerate(c.value for c in Category)
    }
    assert api_client(applicant).get(f"/api/v1/exchange/items/{shared.id}").status_code == 200
    assert _audited(db, "exchange.membership.admitted", applicant.org_id) == {hub.org_id, applicant.org_id}
    assert _audited(db, "exchange.membership.applied", applicant.org_id) == {applicant.org_id}
    page = browser_client(applicant).get("/exchange/membership")
    assert page.status_code == 200 and "Member" in page.text


def test_refusal_needs_a_reason_the_applicant_sees(
    db: Session, make_actor: Callable[..., Actor], api_client: Client
) -> None:
    hub = make_actor(OrgKind.hub_operator)
    applicant, analyst = _outsider(db)
    membership.apply(db, applicant, STATEMENT, {c: [applicant.user_id] for c in Category})
    db.commit()
    decision = f"/api/v1/exchange/memberships/{applicant.org_id}/decisions"
    assert api_client(hub).post(decision, json={"decision": "refuse"}).status_code == 422
    reason = "Your organisation does not train or deploy models yet."
    assert api_client(hub).post(decision, json={"decision": "refuse", "reason": reason}).status_code == 200
    own = api_client(applicant).get("/api/v1/exchange/membership").json()
    assert own["status"] == "refused" and own["decision_reason"] == reason
    log = api_client(analyst).get("/api/v1/exchange/moderation/log").json()
    assert [(e["action"], e["reason"]) for e in log] == [("refused", reason), ("applied", STATEMENT)]
    db.expire_all()
    assert db.get_one(Organization, applicant.org_id).exchange_member is False


def test_a_suspended_member_reads_and_publishes_nothing_until_reinstated(
    db: Session, make_actor: Callable[..., Actor], api_client: Client, browser_client: Client
) -> None:
    hub = make_actor(OrgKind.hub_operator)
    other = make_actor()
    suspended = make_actor()
    to_all = xf.published(db, other)
    named = xf.published(db, other, tlp="AMBER", audience=["named_orgs"], audience_org_ids=[suspended.org_id])
    own = xf.published(db, suspended)
    draft = xf.draft(db, suspended)
    db.commit()
    reason = "Shared a TLP:RED item outside the community; suspended pending review."
    decision = f"/api/v1/exchange/memberships/{suspended.org_id}/decisions"
    assert api_client(hub).post(decision, json={"decision": "suspend"}).status_code == 422
    assert api_client(hub).post(decision, json={"decision": "suspend", "reason": reason}).status_code == 200
    db.expire_all()
    client = api_client(suspended)
    listing = {i["id"] for i in client.get("/api/v1/exchange/items", params={"limit": 200}).json()}
    assert listing == {str(own.id)}  # its own items only, not even the one addressed to it by name
    for item in (to_all, named):
        assert client.get(f"/api/v1/exchange/items/{item.id}").status_code == 404
        assert browser_client(suspended).get(f"/exchange/items/{item.id}").status_code == 404
    with pytest.raises(AppError) as err:
        authoring.publish(db, suspended, draft.id)
    assert err.value.status == 403
    assert client.post(f"/api/v1/exchange/items/{draft.id}/publish", json={}).status_code == 403
    assert client.get("/api/v1/exchange/membership").json()["decision_reason"] == reason
    assert _audited(db, "exchange.membership.suspended", suspended.org_id) == {hub.org_id, suspended.org_id}
    # What it shared before stays shared (the hub hides items one by one if it must).
    assert api_client(other).get(f"/api/v1/exchange/items/{own.id}").status_code == 200

    reinstate = {"decision": "reinstate", "reason": "Review finished; the item was re-marked correctly."}
    assert api_client(hub).post(decision, json=reinstate).status_code == 200
    db.expire_all()
    assert client.get(f"/api/v1/exchange/items/{to_all.id}").status_code == 200
    assert client.get(f"/api/v1/exchange/items/{named.id}").status_code == 200
    assert client.post(f"/api/v1/exchange/items/{draft.id}/publish", json={}).status_code == 200


def test_who_may_apply_and_decide(db: Session, make_actor: Callable[..., Actor]) -> None:
    hub = make_actor(OrgKind.hub_operator)
    hub_analyst = factories.actor(db, kind=OrgKind.hub_operator, role=Role.analyst)
    authority = make_actor(OrgKind.authority)
    applicant, _ = _outsider(db)
    contacts = {c: [applicant.user_id] for c in Category}
    with pytest.raises(AppError) as err:
        membership.apply(db, authority, STATEMENT, {c: [authority.user_id] for c in Category})
    assert err.value.status == 409
    with pytest.raises(AppError) as err:
        membership.apply(db, make_actor(), STATEMENT, contacts)  # already a member
    assert err.value.status == 409
    membership.apply(db, applicant, STATEMENT, contacts)
    for actor in (hub_analyst, applicant):
        with pytest.raises(AppError) as err:
            membership.decide(db, actor, applicant.org_id, MemberDecision.ADMIT, "")
        assert err.value.status == 404
    with pytest.raises(AppError) as err:
        membership.decide(db, hub, hub.org_id, MemberDecision.SUSPEND, "The hub cannot suspend itself.")
    assert err.value.status == 404
    with pytest.raises(AppError) as err:
        membership.decide(db, hub, applicant.org_id, MemberDecision.REINSTATE, "Not suspended, so refused.")
    assert err.value.status == 409

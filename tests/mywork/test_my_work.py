"""My work lists what needs a person across channels, only through each channel's policy (issue 18)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access import service as access_service
from signalfire.access.actor import Actor
from signalfire.access.models import Organization, Role, User
from signalfire.exchange.antitrust import counsel as counsel_service
from signalfire.exchange.models import ExchangeItem
from signalfire.mywork.service import my_work
from signalfire.reporting import inbox, reports
from signalfire.reporting.models import Obligation
from signalfire.response import actions
from signalfire.response.schemas import ActionCreate, ActionProgress
from signalfire.response.vocab import ActionKind, ActionStatus, Severity
from tests import factories
from tests.exchange import factories as xf
from tests.reporting import factories as f
from tests.reporting.factories import COP, utc
from tests.response import factories as rf

Client = Callable[[Actor | None], TestClient]
NOW = utc(2026, 11, 3, 12)


def _rollback(db: Session, admin: Actor, owner: Actor, incident: object) -> object:
    rf.model_version(db, admin, "aurora-large", "3.1")
    rf.model_version(db, admin, "aurora-large", "3.2")
    data = ActionCreate.model_validate(
        {
            "kind": ActionKind.MODEL_ROLLBACK,
            "title": "Roll back to 3.1",
            "requested_at": NOW - timedelta(hours=3),
            "from_version": "aurora-large 3.2",
            "to_version": "aurora-large 3.1",
        }
    )
    return actions.create_action(db, owner, incident, data)  # type: ignore[arg-type]


def test_each_person_sees_their_own_work(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        lead = f.developer(db)  # admin: assesses, verifies, answers
        raj = f.colleague(db, lead, role=Role.responder)
        inc = f.incident(db, lead, aware_at=NOW - timedelta(hours=4), severity=Severity.SEV1)
        rollback = _rollback(db, lead, raj, inc)
        mine = my_work(db, raj)
        assert [i.kind for i in mine.items] == ["assessment", "action"]  # responders assess too
        assert "Roll back to 3.1" in mine.items[1].title
        lead_work = {i.kind for i in my_work(db, lead).items}
        assert lead_work == {"assessment"}  # the SEV1 is unassessed; the action is raj's

        actions.progress_action(db, raj, inc, rollback, ActionProgress(status=ActionStatus.COMPLETED))  # type: ignore[arg-type]
        assert [i.kind for i in my_work(db, raj).items] == ["assessment"]  # verifying is someone else's
        verify = [i for i in my_work(db, lead).items if i.kind == "verification"]
        assert len(verify) == 1 and verify[0].href == f"/response/incidents/{inc.id}"

        f.assess(db, lead, inc, COP, f.cop(death="yes"))
        near = [i for i in my_work(db, lead).items if i.kind == "obligation"]
        assert near == []  # due in 10 days: not within 48 hours
    with time_machine.travel(NOW + timedelta(days=9), tick=False):
        near = [i for i in my_work(db, lead).items if i.kind == "obligation"]
        assert len(near) == 1 and "Initial report" in near[0].title

        stranger = f.developer(db)
        assert my_work(db, stranger).items == []  # another org sees none of it


def test_an_authority_sees_what_waits_for_its_acknowledgement_and_the_lab_its_question(db: Session) -> None:
    with time_machine.travel(NOW, tick=False):
        lead = f.developer(db)
        office = f.authority(db, "AI Office (test)")
        f.bind(db, COP, "eu_ai_office", office)
        inc = f.incident(db, lead, aware_at=NOW - timedelta(hours=4))
        f.assess(db, lead, inc, COP, f.cop(death="yes"))
        version = f.submit(db, lead, _initial(db, inc.id))
        got = my_work(db, office)
        assert [i.kind for i in got.items] == ["delivery"]
        delivery = inbox.inbox(db, office)[0].delivery
        inbox.acknowledge(db, office, delivery.id)
        assert my_work(db, office).items == []
        inbox.ask(db, office, delivery.id, "Which model version?")
        questions = [i for i in my_work(db, lead).items if i.kind == "question"]
        assert len(questions) == 1 and questions[0].href == f"/reporting/reports/{version.report_id}"
        assert reports.get_report(db, lead, version.report_id) is not None


def test_page_api_and_badge_go_through_sign_in(db: Session, api_client: Client, browser_client: Client) -> None:
    with time_machine.travel(NOW, tick=False):
        lead = f.developer(db)
        f.incident(db, lead, aware_at=NOW - timedelta(hours=4), severity=Severity.SEV1)
        body = api_client(lead).get("/api/v1/me/work").json()
        assert body["total"] == 1 and body["counts"]["assessment"] == 1
        assert api_client(None).get("/api/v1/me/work").status_code == 401
        other = factories.actor(db)
        assert api_client(other).get("/api/v1/me/work").json()["total"] == 0
        page = browser_client(lead).get("/my-work")
        assert page.status_code == 200 and "Incidents to assess" in page.text
        badge = browser_client(lead).get("/my-work/count")
        assert 'data-testid="my-work-count"' in badge.text and ">1<" in badge.text
        anonymous = browser_client(None).get("/my-work", follow_redirects=False)
        assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]


def _initial(db: Session, incident_id: object) -> Obligation:
    from sqlalchemy import select

    return db.execute(
        select(Obligation).where(Obligation.incident_id == incident_id, Obligation.stage == "initial")
    ).scalar_one()


def test_counsel_sees_the_drafts_waiting_for_their_sign_off(
    db: Session, api_client: Client, browser_client: Client
) -> None:
    sensitive = "We will hold the fix's price below competitors until next quarter."
    admin = factories.actor(db)
    org = db.get_one(Organization, admin.org_id)
    cora = factories.actor(db, organization=org, role=Role.counsel)
    flagged = xf.draft(db, admin, title="Price note", details=sensitive)
    xf.draft(db, admin, title="Clean note", details="A jailbreak that works on every model we tried.")
    # Counsel's own draft (drafted as an analyst before becoming counsel) is not theirs to sign off.
    analyst = factories.actor(db, organization=org, role=Role.analyst)
    xf.draft(db, analyst, title="Analyst's price note", details=sensitive)
    db.commit()

    waiting = [i for i in my_work(db, cora).items if i.kind == "signoff"]
    assert sorted(i.title for i in waiting) == ["Analyst's price note", "Price note"]
    mine = next(i for i in waiting if i.title == "Price note")
    assert mine.href == f"/exchange/items/{flagged.id}" and "prices" in mine.detail
    # Neither the admin nor a viewer nor another org's counsel gets the list.
    assert not [i for i in my_work(db, admin).items if i.kind == "signoff"]
    assert not [i for i in my_work(db, factories.actor(db, organization=org, role=Role.viewer)).items]
    assert my_work(db, factories.actor(db, role=Role.counsel)).items == []
    # The page and the API show it too.
    page = browser_client(cora).get("/my-work")
    assert page.status_code == 200 and "Counsel sign-offs waiting for you" in page.text and "Price note" in page.text
    assert api_client(cora).get("/api/v1/me/work").json()["counts"]["signoff"] == 2

    # Signed off: gone from the list; edited afterwards: back, since the sign-off was for the old text.
    counsel_service.sign_off(db, cora, flagged.id, "Reviewed: a public list price, no agreement.")
    assert "Price note" not in [i.title for i in my_work(db, cora).items]
    db.get_one(ExchangeItem, flagged.id).details = sensitive + " We agreed on it with each other."
    db.flush()
    assert "Price note" in [i.title for i in my_work(db, cora).items]

    # The drafter, made counsel, does not see their own draft.
    membership = factories.membership(db, analyst)
    access_service.change_role(db, actor=admin, membership_id=membership.id, role=Role.counsel)
    drafter = factories.actor_for(db, db.get_one(User, analyst.user_id), org)
    assert [i.title for i in my_work(db, drafter).items if i.kind == "signoff"] == ["Price note"]

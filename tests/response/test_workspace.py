"""The incident workspace: the response page loads the reporting and exchange sections, each from its own
channel through its own policy (issue 18)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.response import service
from signalfire.response.models import PostIncidentReview
from signalfire.response.schemas import ParticipantIn
from signalfire.response.vocab import IncidentStatus, ParticipantRole, Severity
from tests import factories
from tests.reporting import factories as f
from tests.reporting.factories import COP, utc

Client = Callable[[Actor | None], TestClient]
NOW = utc(2026, 11, 3, 12)


def test_the_workspace_shows_reporting_and_sharing_only_to_those_who_may_see_them(
    db: Session, browser_client: Client
) -> None:
    with time_machine.travel(NOW, tick=False):
        lead = f.developer(db)
        inc = f.incident(db, lead, aware_at=NOW - timedelta(hours=5), severity=Severity.SEV1)
        counsel_org = factories.org(db, OrgKind.researcher, name="Outside counsel LLP")
        counsel = factories.actor(db, organization=counsel_org, role=Role.viewer)
        service.add_participant(
            db, lead, inc, ParticipantIn(role=ParticipantRole.EXTERNAL, email=counsel.email, affiliation="counsel")
        )
        db.commit()
        c = browser_client(lead)
        page = c.get(f"/response/incidents/{inc.id}").text
        assert f'hx-get="/reporting/incidents/{inc.id}/panel"' in page
        assert f'hx-get="/exchange/incidents/{inc.id}/panel"' in page
        panel = c.get(f"/reporting/incidents/{inc.id}/panel").text
        assert 'data-testid="workspace-unassessed"' in panel  # a SEV1 not yet assessed

        f.assess(db, lead, inc, COP, f.cop(death="yes"))
        db.commit()
        panel = c.get(f"/reporting/incidents/{inc.id}/panel").text
        assert 'data-testid="workspace-unassessed"' not in panel
        # Death under the Code: 10 days from the model's involvement, assumed at awareness (07:00 UTC).
        assert "Initial report" in panel and "2026-11-13 07:00 UTC" in panel
        assert "Nothing shared yet" in c.get(f"/exchange/incidents/{inc.id}/panel").text

        outside = browser_client(counsel)
        assert outside.get(f"/response/incidents/{inc.id}").status_code == 200  # their one incident
        assert "/reporting/incidents/" not in outside.get(f"/response/incidents/{inc.id}").text
        assert outside.get(f"/reporting/incidents/{inc.id}/panel").status_code == 404
        assert outside.get(f"/exchange/incidents/{inc.id}/panel").status_code == 404
        stranger = browser_client(f.developer(db))
        assert stranger.get(f"/reporting/incidents/{inc.id}/panel").status_code == 404
        assert stranger.get(f"/exchange/incidents/{inc.id}/panel").status_code == 404


def test_the_sharing_section_offers_a_lesson_from_this_incidents_own_review(
    db: Session, browser_client: Client
) -> None:
    """A closed incident's panel links the lesson form to its own review, not to the newest one."""
    with time_machine.travel(NOW, tick=False):
        lead = f.developer(db)
        older, newer, unreviewed = (
            f.incident(db, lead, aware_at=NOW - timedelta(days=d), severity=Severity.SEV2) for d in (9, 5, 3)
        )
        reviews = {}
        for days, inc in ((8, older), (4, newer), (2, unreviewed)):
            inc.status, inc.closed_at = IncidentStatus.CLOSED, NOW - timedelta(days=days)
            if inc is not unreviewed:
                reviews[inc.id] = PostIncidentReview(
                    incident_id=inc.id, org_id=lead.org_id, root_cause="A tool accepted any recipient."
                )
                db.add(reviews[inc.id])
        db.commit()
        c = browser_client(lead)
        for inc in (older, newer):
            panel = c.get(f"/exchange/incidents/{inc.id}/panel").text
            assert f'href="/exchange/lessons/new?review_id={reviews[inc.id].id}"' in panel
        assert "lessons/new" not in c.get(f"/exchange/incidents/{unreviewed.id}/panel").text
        assert "Write its post-incident review" in c.get(f"/exchange/incidents/{unreviewed.id}/panel").text
        form = c.get(f"/exchange/lessons/new?review_id={reviews[older.id].id}").text
        assert f'<option value="{reviews[older.id].id}" selected>' in form

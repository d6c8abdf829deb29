"""A whole incident through the public JSON API only (issue 12): org attributes with effective dates, an
incident opened in response, assessments under four regimes with implied event times and a past effective
time, a fact learned late, an outside filing with its real time, a filing inside a backstop, and the
resolution in response. Every expected instant below is worked out by hand from the texts (regimes.md
section 8), in the comment next to it, not read back from the engine.

Calendar facts used: in 2027, the EU moves to summer time on Sunday 28 March at 01:00 UTC (Brussels
UTC+1 -> +2, Helsinki UTC+2 -> +3); the US on Sunday 14 March (Los Angeles UTC-7 from then).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from tests import factories
from tests.reporting import factories as f
from tests.reporting.factories import COP, SB53, utc

API = "/api/v1/reporting"
RESPONSE = "/api/v1/response"
A73 = "eu-ai-act-art73"
RAISE = "us-ny-raise"
Client = Callable[[Actor | None], TestClient]

A73_ANSWERS = {
    "causal_link": "yes",
    "death": "no",
    "health_harm": "yes",
    "ci_disruption": "no",
    "fundamental_rights": "no",
    "property_environment": "no",
    "widespread_infringement": "no",
    "sector_carve_out": "no",
}
RAISE_ANSWERS = {
    "weights_compromise_harm": "no",
    "catastrophic_risk_materialised": "no",
    "loss_of_control_harm": "yes",
    "deceptive_subversion": "no",
    "imminent_risk": "no",
}


def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def refused(resp: Any, field: str) -> None:
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in resp.json()["errors"]}, resp.json()


def by_stage(incident: dict[str, Any], regime: str) -> dict[str, dict[str, Any]]:
    return {o["stage"]: o for o in incident["obligations"] if o["regime_id"] == regime and o["status"] != "superseded"}


def z(value: str | None) -> str | None:
    """API times end in Z or +00:00; compare them as the same text."""
    return value.replace("+00:00", "Z") if value else value


def test_a_whole_incident_through_the_api(db: Session, api_client: Client) -> None:
    with time_machine.travel(utc(2027, 3, 26, 12), tick=False) as clock:
        org = factories.org(db, OrgKind.frontier_developer, jurisdictions=[])
        admin = factories.actor(db, role=Role.admin, organization=org)
        c = api_client(admin)

        # -- the org's profile, held since 2026 (effective in the past) ---------------------------------
        ok(
            c.put(
                f"{API}/org-profile",
                json={
                    "jurisdictions": ["EU", "US-CA", "US-NY"],
                    "roles": ["gpai_systemic_risk_provider", "code_signatory", "high_risk_provider"],
                    "training_compute_flop": 3e26,
                    "effective_from": "2026-01-01T00:00:00Z",
                    "reason": "Profile as filed with the AI Office.",
                },
            )
        )
        refused(c.put(f"{API}/org-profile", json={"roles": ["wizard"]}), "roles")
        refused(
            c.put(f"{API}/org-profile", json={"roles": [], "effective_from": "2027-04-01T00:00:00Z"}), "effective_from"
        )
        ok(c.put(f"{API}/settings", json={"org_sla_minutes": 240, "assessment_prompt_minutes": 30}))

        # -- the incident, opened in response ----------------------------------------------------------
        incident = ok(
            c.post(
                f"{RESPONSE}/incidents",
                json={
                    "title": "Agent escaped its sandbox and harmed a user",
                    "severity": "sev1",
                    "risk_domain": "autonomy",
                    "occurred_at": "2027-03-25T06:00:00Z",
                    "aware_at": "2027-03-25T09:00:00Z",
                },
            ),
            201,
        )
        iid = incident["id"]
        board = ok(c.get(f"{API}/board"))
        assert [u["incident_id"] for u in board["unassessed"]] == [iid]  # a SEV1 nobody has assessed

        # A later profile change does not reach back: the incident reads the profile as of its awareness.
        ok(c.put(f"{API}/org-profile", json={"roles": ["gpai_systemic_risk_provider", "code_signatory"]}))

        # -- Code of Practice: model involved, with the time the org learned it, in the same request ---
        ok(
            c.post(
                f"{API}/incidents/{iid}/assessments",
                json={
                    "regime_id": COP,
                    "answers": f.cop(cyber_breach="yes"),
                    "event_times": {"aware_of_model_involvement": "2027-03-25T15:00:00Z"},
                },
            ),
            201,
        )
        # -- Art. 73: causal link suspected at 17:00; the assessment itself was made at 18:00 ---------
        a73 = ok(
            c.post(
                f"{API}/incidents/{iid}/assessments",
                json={
                    "regime_id": A73,
                    "answers": A73_ANSWERS,
                    "event_times": {"causal_link_suspected": "2027-03-25T17:00:00Z"},
                    "effective_at": "2027-03-25T18:00:00Z",
                },
            ),
            201,
        )
        assert a73["assessment"]["outcome"] == "reportable"  # high-risk provider as of 25 March
        assert z(a73["assessment"]["assessed_at"]) == "2027-03-25T18:00:00Z"
        assert z(a73["assessment"]["recorded_at"]) == "2027-03-26T12:00:00Z"
        # -- SB 53 and RAISE: no event time given ------------------------------------------------------
        for regime, answers in ((SB53, f.sb53(loss_of_control_harm="yes")), (RAISE, RAISE_ANSWERS)):
            ok(c.post(f"{API}/incidents/{iid}/assessments", json={"regime_id": regime, "answers": answers}), 201)
        # Out-of-range inputs change nothing.
        refused(
            c.post(
                f"{API}/incidents/{iid}/assessments",
                json={"regime_id": COP, "answers": f.cop(), "effective_at": "2027-03-27T00:00:00Z"},
            ),
            "effective_at",
        )
        refused(
            c.post(
                f"{API}/incidents/{iid}/assessments",
                json={
                    "regime_id": COP,
                    "answers": f.cop(),
                    "event_times": {"causal_link_suspected": "2027-03-24T00:00:00Z"},
                },
            ),
            "event_times.causal_link_suspected",
        )

        view = ok(c.get(f"{API}/incidents/{iid}"))
        assert not view["unassessed"]
        cop = by_stage(view, COP)
        # Cyber breach: 5 days from 15:00 UTC on 25 March. The same local time 5 days on (16:00 CET ->
        # 16:00 CEST in Brussels; 17:00 EET -> 17:00 EEST in Helsinki) is 14:00 UTC on the 30th, an hour
        # before 5 x 24 h (15:00 UTC). Legal (Reg. 1182/71): day 5 is Tuesday 30 March, ending at
        # midnight in Helsinki, 21:00 UTC.
        assert (cop["initial"]["class_id"], z(cop["initial"]["due_at"])) == ("cyber_breach", "2027-03-30T14:00:00Z")
        assert cop["initial"]["due_reading"] == "same_local_time"
        assert z(cop["initial"]["alt_due_at"]) == "2027-03-30T15:00:00Z"
        assert z(cop["initial"]["legal_due_at"]) == "2027-03-30T21:00:00Z"
        assert z(cop["initial"]["target_at"]) == "2027-03-30T14:00:00Z"  # no "immediately" in the Code
        assert cop["update-1"]["due_at"] is None and cop["update-1"]["waiting_for"] == "initial_report_sent"
        assert cop["update-1"]["next_action"]["kind"] == "submit_report"
        assert cop["final"]["waiting_for"] == "resolved" and cop["final"]["next_action"]["kind"] == "respond"

        art73 = by_stage(view, A73)["initial"]
        # Backstop: 15 days from awareness (09:00 UTC, 11:00 EET in Helsinki) -> 9 April 11:00 EEST = 08:00
        # UTC. Target: "immediately" after the suspected link, plus the org's 4-hour SLA: 21:00 UTC on the 25th.
        assert (z(art73["due_at"]), z(art73["target_at"])) == ("2027-04-09T08:00:00Z", "2027-03-25T21:00:00Z")
        assert art73["status"] == "due"  # the target has passed, the legal due has not: not late

        sb53 = by_stage(view, SB53)["initial"]
        # Discovery is the incident's awareness (from the response record). 15 days: 02:00 PDT on 25 March
        # to 02:00 PDT on 9 April (no clock change between) = 09:00 UTC, both readings alike.
        assert (sb53["start_event"], z(sb53["due_at"])) == ("discovered", "2027-04-09T09:00:00Z")

        raise_ = by_stage(view, RAISE)["initial"]
        # Reasonable belief is implied by the answer and no time was given: the awareness time (09:00 UTC)
        # is assumed. 72 hours are elapsed hours: 28 March 09:00 UTC.
        assert (raise_["start_event"], z(raise_["due_at"])) == ("reasonable_belief", "2027-03-28T09:00:00Z")
        states = {s["event"]: s for s in ok(c.get(f"{API}/incidents/{iid}/events"))}
        assert states["reasonable_belief"]["source"] == "assumed"
        assert states["aware_of_model_involvement"]["source"] == "assessment"
        assert states["discovered"]["source"] == "response"

        # -- a fact learned late, with its real (earlier) time ------------------------------------------
        ok(
            c.post(
                f"{API}/incidents/{iid}/events",
                json={
                    "event": "aware_of_model_involvement",
                    "at": "2027-03-25T13:00:00Z",
                    "evidence": "Chat log: the on-call engineer named the model at 13:00.",
                },
            ),
            201,
        )
        refused(
            c.post(
                f"{API}/incidents/{iid}/events",
                json={"event": "aware_of_incident", "at": "2027-03-25T08:00:00Z", "evidence": "Pager log."},
            ),
            "reason",  # the response record says 09:00: overriding it needs a reason
        )
        refused(
            c.post(
                f"{API}/incidents/{iid}/events",
                json={"event": "determined", "at": "2027-03-27T00:00:00Z", "evidence": "x"},
            ),
            "at",  # in the future
        )
        cop = by_stage(ok(c.get(f"{API}/incidents/{iid}")), COP)
        assert z(cop["initial"]["due_at"]) == "2027-03-30T12:00:00Z"  # two hours earlier with the start

        # -- resolved in response: the final report's clock starts by itself -----------------------------
        clock.move_to(utc(2027, 4, 2, 12))
        for status, at in (
            ("triaged", "2027-03-25T10:00:00Z"),
            ("contained", "2027-03-27T10:00:00Z"),
            ("mitigated", "2027-03-28T10:00:00Z"),
            ("resolved", "2027-04-01T10:00:00Z"),
        ):
            ok(c.post(f"{RESPONSE}/incidents/{iid}/status", json={"status": status, "at": at}))
        view = ok(c.get(f"{API}/incidents/{iid}"))
        cop = by_stage(view, COP)
        # 60 days after 1 April 10:00 UTC (12:00 CEST): 31 May 12:00 CEST = 10:00 UTC, both readings.
        assert z(cop["final"]["due_at"]) == "2027-05-31T10:00:00Z"
        assert cop["final"]["waiting_for"] is None
        assert by_stage(view, RAISE)["initial"]["status"] == "late"  # 28 March has passed unreported

        # -- the Code's initial report, filed by e-mail on 29 March, recorded now -----------------------
        report = ok(c.post(f"{API}/obligations/{cop['initial']['id']}/report"), 201)
        fields = {
            fid["id"]: {"value": f"Known so far ({fid['id']}).", "preliminary": False} for fid in report["fields"]
        }
        ok(c.patch(f"{API}/reports/{report['id']}", json={"fields": fields}))
        refused(
            c.post(
                f"{API}/reports/{report['id']}/submit",
                json={"filed_at": "2027-04-03T00:00:00Z", "channel": "email", "evidence": "x"},
            ),
            "filed_at",  # in the future
        )
        refused(
            c.post(
                f"{API}/reports/{report['id']}/submit",
                json={"filed_at": "2027-03-24T00:00:00Z", "channel": "email", "evidence": "x"},
            ),
            "filed_at",  # before the org knew of the incident
        )
        refused(
            c.post(
                f"{API}/reports/{report['id']}/submit", json={"filed_at": "2027-03-29T10:00:00Z", "channel": "email"}
            ),
            "evidence",
        )
        sent = ok(
            c.post(
                f"{API}/reports/{report['id']}/submit",
                json={
                    "filed_at": "2027-03-29T10:00:00Z",
                    "channel": "email",
                    "authority_reference": "AIO-2027-0042",
                    "evidence": "Sent to the AI Office's serious-incident mailbox, message-id <c9@aurora.example>.",
                },
            ),
            201,
        )
        assert z(sent["content"]["submitted_at"]) == "2027-03-29T10:00:00Z"
        assert sent["content"]["filed_outside"]["authority_reference"] == "AIO-2027-0042"

        # -- Art. 73 through Signalfire, now: after the target, well inside the backstop -----------------
        a73_report = ok(c.post(f"{API}/obligations/{art73['id']}/report"), 201)
        fields = {x["id"]: {"value": f"As known ({x['id']}).", "preliminary": False} for x in a73_report["fields"]}
        ok(c.patch(f"{API}/reports/{a73_report['id']}", json={"fields": fields}))
        ok(c.post(f"{API}/reports/{a73_report['id']}/submit"), 201)

        view = ok(c.get(f"{API}/incidents/{iid}"))
        every = {(o["regime_id"], o["stage"]): o for o in view["obligations"]}
        initial = every[(COP, "initial")]
        assert (initial["status"], z(initial["submitted_at"]), initial["submitted_late"]) == (
            "submitted",
            "2027-03-29T10:00:00Z",
            False,  # before its due (30 March 12:00 UTC)
        )
        a73_done = every[(A73, "initial")]
        assert (a73_done["status"], a73_done["submitted_late"]) == ("submitted", False)  # inside the backstop
        # Resolved on 1 April, before the first update would fall due (26 April): no update is owed.
        assert all(o["status"] == "superseded" for (r, s), o in every.items() if r == COP and s.startswith("update-"))
        assert every[(SB53, "initial")]["status"] == "due"
        assert {s["event"]: s["source"] for s in ok(c.get(f"{API}/incidents/{iid}/events"))}["resolved"] == "response"


def test_another_org_and_an_anonymous_caller_see_no_profile_or_events(db: Session, api_client: Client) -> None:
    with time_machine.travel(utc(2027, 3, 26, 12), tick=False):
        dev = f.developer(db)
        other = f.developer(db)
        inc = f.incident(db, dev, aware_at=utc(2027, 3, 25, 9))
        ok(api_client(dev).put(f"{API}/org-profile", json={"roles": ["code_signatory"]}))
        assert ok(api_client(other).get(f"{API}/org-profile"))["roles"] is None  # its own, empty
        assert api_client(other).get(f"{API}/incidents/{inc.id}/events").status_code == 404
        assert api_client(None).get(f"{API}/org-profile").status_code == 401
        assert api_client(None).get(f"{API}/incidents/{inc.id}/events").status_code == 401
        viewer = f.colleague(db, dev, role=Role.viewer)
        assert api_client(viewer).put(f"{API}/org-profile", json={"roles": []}).status_code in (403, 404)

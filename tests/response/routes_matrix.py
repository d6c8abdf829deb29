"""Access-matrix cases for every response route (pages, API, the public acknowledgement link)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from signalfire.access.models import Role
from signalfire.access.permissions import Permission as P
from signalfire.core.clock import utcnow
from signalfire.response import actions, contacts, oncall, paging, playbooks, reviews, service
from signalfire.response.schemas import (
    ActionCreate,
    ContactIn,
    EscalationPolicyIn,
    LayerIn,
    LevelIn,
    ParticipantIn,
    PlaybookIn,
    PlaybookStep,
    ReviewIn,
    ReviewItemIn,
    RosterIn,
    TransitionIn,
)
from signalfire.response.vocab import ActionKind, IncidentStatus, ParticipantRole, RiskDomain
from tests.matrix import MatrixContext, RouteCase
from tests.response import factories as rf

INC = "/response/incidents/{incident_id}"
API = "/api/v1/response"
AINC = API + "/incidents/{incident_id}"
SIGNED_IN_OK = {"other_org": 200, **{f"role:{r.value}": 200 for r in Role}}


def _incident(ctx: MatrixContext) -> dict[str, Any]:
    return {"incident_id": rf.incident(ctx.db, ctx.admin).id}


def _participant(ctx: MatrixContext) -> dict[str, Any]:
    out = _incident(ctx)
    inc = service.get_incident(ctx.db, ctx.admin, out["incident_id"])
    p = service.add_participant(
        ctx.db,
        ctx.admin,
        inc,
        ParticipantIn(role=ParticipantRole.SCRIBE, email=ctx.actors[Role.analyst].email),
    )
    return {**out, "participant_id": p.id}


def _action(ctx: MatrixContext) -> dict[str, Any]:
    out = _incident(ctx)
    inc = service.get_incident(ctx.db, ctx.admin, out["incident_id"])
    a = actions.create_action(ctx.db, ctx.admin, inc, ActionCreate(kind=ActionKind.OTHER, title="Check logs"))
    return {**out, "action_id": a.id}


def _playbook(ctx: MatrixContext) -> dict[str, Any]:
    book = playbooks.save_playbook(
        ctx.db,
        ctx.admin,
        PlaybookIn(
            slug="misuse",
            name="Misuse",
            risk_domain=RiskDomain.MISUSE,
            steps=[PlaybookStep(title="Assign a commander", target_minutes=15)],
        ),
    )
    return {**_incident(ctx), "playbook_id": book.id}


def _task(ctx: MatrixContext) -> dict[str, Any]:
    out = _playbook(ctx)
    inc = service.get_incident(ctx.db, ctx.admin, out["incident_id"])
    tasks = playbooks.start_playbook(ctx.db, ctx.admin, inc, out["playbook_id"])
    return {**out, "task_id": tasks[0].id}


def _roster(ctx: MatrixContext) -> dict[str, Any]:
    roster = oncall.create_roster(
        ctx.db,
        ctx.admin,
        RosterIn(
            team="IC rota",
            layers=[
                LayerIn(
                    name="Primary",
                    participant_emails=[ctx.admin.email],
                    anchor=utcnow() - timedelta(days=1),
                    shift_minutes=24 * 60,
                )
            ],
        ),
    )
    return {"roster_id": roster.id}


def _policy(ctx: MatrixContext) -> dict[str, Any]:
    policy = paging.create_policy(
        ctx.db,
        ctx.admin,
        EscalationPolicyIn(name="Page", levels=[LevelIn(targets=[ctx.admin.email], wait_minutes=5)]),
    )
    return {**_incident(ctx), "policy_id": policy.id}


def _page(ctx: MatrixContext) -> dict[str, Any]:
    out = _policy(ctx)
    inc = service.get_incident(ctx.db, ctx.admin, out["incident_id"])
    page = paging.start_page(ctx.db, ctx.admin, out["policy_id"], incident=inc)
    return {**out, "page_id": page.id, "token": paging.ack_token(page.id)}


def _contact(ctx: MatrixContext) -> dict[str, Any]:
    c = contacts.create_contact(
        ctx.db,
        ctx.admin,
        ContactIn(
            agency="EU AI Office",
            risk_domain=RiskDomain.MISUSE,
            jurisdiction="EU",
            channel="email",
            address="desk@ai-office.example",
        ),
    )
    return {"contact_id": c.id}


def _review(ctx: MatrixContext) -> dict[str, Any]:
    out = _incident(ctx)
    inc = service.get_incident(ctx.db, ctx.admin, out["incident_id"])
    review = reviews.save_review(ctx.db, ctx.admin, inc, ReviewIn(root_cause="A missing eval case."))
    item = reviews.add_item(
        ctx.db,
        ctx.admin,
        inc,
        ReviewItemIn(title="Add the case", owner_email=ctx.admin.email, due_on=utcnow().date()),
    )
    return {**out, "review_id": review.id, "item_id": item.id}


def _resolved_review(ctx: MatrixContext) -> dict[str, Any]:
    out = _review(ctx)
    inc = service.get_incident(ctx.db, ctx.admin, out["incident_id"])
    service.change_status(ctx.db, ctx.admin, inc, TransitionIn(status=IncidentStatus.RESOLVED, reason="false alarm"))
    return out


def _incident_form(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": "Jailbreak seen",
        "severity": "sev2",
        "risk_domain": "misuse",
        "aware_at": (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    }


def _incident_json(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": "Jailbreak seen",
        "severity": "sev2",
        "risk_domain": "misuse",
        "aware_at": (utcnow() - timedelta(hours=1)).isoformat(),
    }


def _scribe(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"role": "scribe", "email": ctx.actors[Role.viewer].email}


def _layer(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "Secondary",
        "participant_emails": ctx.admin.email,
        "anchor": utcnow().strftime("%Y-%m-%dT%H:%M"),
        "shift_hours": "24",
    }


def _override(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    start = utcnow() + timedelta(days=1)
    return {
        "email": ctx.admin.email,
        "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": (start + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
    }


def _override_json(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    start = utcnow() + timedelta(days=1)
    return {
        "email": ctx.admin.email,
        "start": start.isoformat(),
        "end": (start + timedelta(hours=8)).isoformat(),
    }


def _contact_form(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "agency": "CISA Central",
        "risk_domain": "model_weights",
        "jurisdiction": "US",
        "channel": "phone",
        "address": "+1 888 000 0000",
        "reachable_24h": "1",
        "is_government": "1",
    }


READ = P.response_incident_read
WRITE = P.response_incident_write
COMMAND = P.response_incident_command
REVIEW = P.response_review_write
MANAGE = P.response_playbook_manage
ROSTER = P.response_roster_manage

CASES = [
    # -- pages ------------------------------------------------------------------------------------------
    RouteCase("GET", "/response", READ),
    RouteCase("GET", "/response/incidents", READ),
    RouteCase("GET", "/response/incidents/new", READ),
    RouteCase("POST", "/response/incidents", WRITE, form=_incident_form),
    RouteCase("GET", INC, READ, owned=True, denied=404, setup=_incident),
    RouteCase("POST", INC + "/status", WRITE, owned=True, setup=_incident, form=lambda c, p: {"status": "triaged"}),
    RouteCase(
        "POST",
        INC + "/timeline",
        WRITE,
        owned=True,
        setup=_incident,
        form=lambda c, p: {"kind": "note", "body": "Checked the logs."},
    ),
    RouteCase(
        "POST",
        INC + "/edit",
        WRITE,
        owned=True,
        setup=_incident,
        form=lambda c, p: {"title": "Renamed incident", "severity": "sev1"},
    ),
    RouteCase("POST", INC + "/participants", COMMAND, owned=True, setup=_incident, form=_scribe),
    RouteCase("POST", INC + "/participants/{participant_id}/remove", COMMAND, owned=True, setup=_participant),
    RouteCase(
        "POST",
        INC + "/actions",
        WRITE,
        owned=True,
        setup=_incident,
        form=lambda c, p: {"kind": "other", "title": "Check logs", "scope": ""},
    ),
    RouteCase(
        "POST",
        INC + "/actions/{action_id}/progress",
        WRITE,
        owned=True,
        setup=_action,
        form=lambda c, p: {"status": "in_progress"},
    ),
    RouteCase(
        "POST",
        INC + "/playbooks",
        WRITE,
        owned=True,
        setup=_playbook,
        form=lambda c, p: {"playbook_id": str(p["playbook_id"])},
    ),
    RouteCase("POST", INC + "/tasks/{task_id}", WRITE, owned=True, setup=_task, form=lambda c, p: {"status": "done"}),
    RouteCase(
        "POST",
        INC + "/page",
        WRITE,
        owned=True,
        setup=_policy,
        form=lambda c, p: {"policy_id": str(p["policy_id"])},
    ),
    RouteCase("GET", INC + "/review", READ, owned=True, denied=404, setup=_review),
    RouteCase(
        "POST",
        INC + "/review",
        REVIEW,
        owned=True,
        setup=_incident,
        form=lambda c, p: {"root_cause": "Eval gap", "contributing_factors": "one\ntwo"},
    ),
    RouteCase(
        "POST",
        INC + "/review/items",
        REVIEW,
        owned=True,
        setup=_review,
        form=lambda c, p: {"title": "Add eval cases"},
    ),
    RouteCase("POST", INC + "/review/items/{item_id}/done", REVIEW, owned=True, setup=_review),
    RouteCase("POST", INC + "/review/close", REVIEW, owned=True, setup=_resolved_review),
    RouteCase("GET", "/response/models", READ),
    RouteCase("POST", "/response/models", MANAGE, form=lambda c, p: {"name": "aurora-large", "version": "9.1"}),
    RouteCase("GET", "/response/playbooks", READ),
    RouteCase(
        "POST",
        "/response/playbooks",
        MANAGE,
        form=lambda c, p: {
            "slug": "weights",
            "name": "Weights",
            "risk_domain": "model_weights",
            "steps": "Assign a commander | commander | 10\nRevoke credentials | domain_lead | 60 | access_revocation",
        },
    ),
    RouteCase("GET", "/response/playbooks/{playbook_id}", READ, owned=True, denied=404, setup=_playbook),
    RouteCase("GET", "/response/contacts", READ),
    RouteCase("POST", "/response/contacts", MANAGE, form=_contact_form),
    RouteCase("POST", "/response/contacts/{contact_id}/verify", MANAGE, owned=True, setup=_contact),
    RouteCase("GET", "/response/oncall", READ),
    RouteCase("POST", "/response/rosters", ROSTER, form=lambda c, p: {"team": "IC rota", "time_zone": "UTC"}),
    RouteCase("GET", "/response/rosters/{roster_id}", READ, owned=True, denied=404, setup=_roster),
    RouteCase("POST", "/response/rosters/{roster_id}/layers", ROSTER, owned=True, setup=_roster, form=_layer),
    RouteCase("POST", "/response/rosters/{roster_id}/overrides", ROSTER, owned=True, setup=_roster, form=_override),
    # Another org's admin names people who are not its members: refused as invalid input.
    RouteCase(
        "POST",
        "/response/escalation-policies",
        ROSTER,
        expect={"other_org": 422},
        form=lambda c, p: {"name": "Page", "level1_targets": c.admin.email, "level1_wait": "5"},
    ),
    RouteCase("POST", "/response/pages/{page_id}/ack", READ, owned=True, setup=_page),
    RouteCase("GET", "/response/metrics", READ),
    # The acknowledgement link: the token is the credential. Anonymous posts have no CSRF cookie here.
    RouteCase("GET", "/response/ack/{token}", public=True, setup=_page),
    RouteCase("POST", "/response/ack/{token}", public=True, setup=_page, expect={"anonymous": 403, **SIGNED_IN_OK}),
    # -- API --------------------------------------------------------------------------------------------
    RouteCase("GET", API + "/incidents", READ),
    RouteCase("POST", API + "/incidents", WRITE, json=_incident_json),
    RouteCase("GET", API + "/board", READ),
    RouteCase("GET", AINC, READ, owned=True, denied=404, setup=_incident),
    RouteCase("PATCH", AINC, WRITE, owned=True, setup=_incident, json=lambda c, p: {"title": "Renamed incident"}),
    RouteCase("POST", AINC + "/status", WRITE, owned=True, setup=_incident, json=lambda c, p: {"status": "triaged"}),
    RouteCase("GET", AINC + "/timeline", READ, owned=True, denied=404, setup=_incident),
    RouteCase("POST", AINC + "/timeline", WRITE, owned=True, setup=_incident, json=lambda c, p: {"body": "A note."}),
    RouteCase("GET", AINC + "/participants", READ, owned=True, denied=404, setup=_incident),
    RouteCase("POST", AINC + "/participants", COMMAND, owned=True, setup=_incident, json=_scribe),
    RouteCase("DELETE", AINC + "/participants/{participant_id}", COMMAND, owned=True, setup=_participant),
    RouteCase("GET", AINC + "/actions", READ, owned=True, denied=404, setup=_incident),
    RouteCase(
        "POST",
        AINC + "/actions",
        WRITE,
        owned=True,
        setup=_incident,
        json=lambda c, p: {"kind": "other", "title": "Check logs"},
    ),
    RouteCase(
        "POST",
        AINC + "/actions/{action_id}/progress",
        WRITE,
        owned=True,
        setup=_action,
        json=lambda c, p: {"status": "in_progress"},
    ),
    RouteCase("GET", AINC + "/tasks", READ, owned=True, denied=404, setup=_incident),
    RouteCase(
        "POST",
        AINC + "/playbooks",
        WRITE,
        owned=True,
        setup=_playbook,
        json=lambda c, p: {"playbook_id": str(p["playbook_id"])},
    ),
    RouteCase(
        "PATCH",
        AINC + "/tasks/{task_id}",
        WRITE,
        owned=True,
        setup=_task,
        json=lambda c, p: {"status": "done"},
    ),
    RouteCase(
        "POST",
        AINC + "/pages",
        WRITE,
        owned=True,
        setup=_policy,
        json=lambda c, p: {"policy_id": str(p["policy_id"])},
    ),
    RouteCase("GET", AINC + "/review", READ, owned=True, denied=404, setup=_review),
    RouteCase("PUT", AINC + "/review", REVIEW, owned=True, setup=_incident, json=lambda c, p: {"root_cause": "Gap"}),
    RouteCase(
        "POST",
        AINC + "/review/items",
        REVIEW,
        owned=True,
        setup=_review,
        json=lambda c, p: {"title": "Add eval cases"},
    ),
    RouteCase("POST", AINC + "/review/close", REVIEW, owned=True, setup=_resolved_review),
    RouteCase("GET", API + "/metrics", READ),
    RouteCase("GET", API + "/models", READ),
    RouteCase("POST", API + "/models", MANAGE, json=lambda c, p: {"name": "aurora-large", "version": "9.1"}),
    RouteCase("GET", API + "/playbooks", READ),
    RouteCase(
        "POST",
        API + "/playbooks",
        MANAGE,
        json=lambda c, p: {
            "slug": "weights",
            "name": "Weights",
            "risk_domain": "model_weights",
            "steps": [{"title": "Assign a commander", "role": "commander", "target_minutes": 10}],
        },
    ),
    RouteCase("GET", API + "/contacts", READ),
    RouteCase(
        "POST",
        API + "/contacts",
        MANAGE,
        json=lambda c, p: {
            "agency": "CISA Central",
            "risk_domain": "model_weights",
            "jurisdiction": "US",
            "channel": "phone",
            "address": "+1 888 000 0000",
            "reachable_24h": True,
        },
    ),
    RouteCase("POST", API + "/contacts/{contact_id}/verify", MANAGE, owned=True, setup=_contact),
    RouteCase("GET", API + "/rosters", READ),
    RouteCase("POST", API + "/rosters", ROSTER, json=lambda c, p: {"team": "IC rota"}),
    RouteCase(
        "POST",
        API + "/rosters/{roster_id}/layers",
        ROSTER,
        owned=True,
        setup=_roster,
        json=lambda c, p: {
            "name": "Secondary",
            "participant_emails": [c.admin.email],
            "anchor": utcnow().isoformat(),
            "shift_minutes": 720,
        },
    ),
    RouteCase("POST", API + "/rosters/{roster_id}/overrides", ROSTER, owned=True, setup=_roster, json=_override_json),
    RouteCase("GET", API + "/rosters/{roster_id}/coverage", READ, owned=True, denied=404, setup=_roster),
    RouteCase("GET", API + "/escalation-policies", READ),
    RouteCase(
        "POST",
        API + "/escalation-policies",
        ROSTER,
        expect={"other_org": 422},
        json=lambda c, p: {"name": "Page", "levels": [{"targets": [c.admin.email], "wait_minutes": 5}]},
    ),
    RouteCase("GET", API + "/pages", READ),
    RouteCase("POST", API + "/pages/{page_id}/ack", READ, owned=True, setup=_page),
]

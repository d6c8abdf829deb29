"""Access-matrix cases for capability-threshold notices: the org's own members, by the reporting
permissions (read: reporting:obligation:read; thresholds: reporting:settings:manage; results:
reporting:assessment:write; drafting and links: reporting:report:write; approving, sending, receipts:
reporting:report:submit). Other orgs get 404 for a notice, anonymous callers nothing."""

from __future__ import annotations

import uuid
from typing import Any

from signalfire.access.permissions import Permission as P
from signalfire.notices import queries, service
from signalfire.notices.schemas import EvaluationIn
from tests.matrix import MatrixContext, RouteCase
from tests.notices import factories as nf
from tests.response import factories as rf


def _world(ctx: MatrixContext) -> dict[str, Any]:
    threshold, people = nf.world(ctx.db, ctx.admin)
    return {"threshold_id": threshold.id, "contact_id": people[0].id}


def _notice(ctx: MatrixContext, stage: str = "draft") -> dict[str, Any]:
    params = _world(ctx)
    crossing = service.record_evaluation(
        ctx.db, ctx.admin, EvaluationIn(model="aurora-large 3.2", evaluation="bio uplift eval", score=0.9)
    )
    notice = queries.get_notice(ctx.db, ctx.admin, crossing.opened[0].id)
    if stage in ("approved", "sent"):
        service.approve(ctx.db, ctx.admin, notice)
    if stage == "sent":
        service.send(ctx.db, ctx.admin, notice)
    recipient = notice.recipients[0].id if notice.recipients else uuid.uuid4()
    incident = rf.incident(ctx.db, ctx.admin)
    return {**params, "notice_id": notice.id, "recipient_id": recipient, "incident_id": incident.id}


def _approved(ctx: MatrixContext) -> dict[str, Any]:
    return _notice(ctx, "approved")


def _sent(ctx: MatrixContext) -> dict[str, Any]:
    return _notice(ctx, "sent")


def _threshold(c: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"Threshold {uuid.uuid4().hex[:8]}",
        "framework": "Frontier Safety Framework 3.0",
        "risk_domain": "cyber_offence",
        "evaluation": "cyber range",
        "cutoff": 0.5,
        "notify_within_hours": 24,
        "contact_ids": [str(p["contact_id"])],
    }


def _threshold_form(c: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {**_threshold(c, p), "contact_ids": str(p["contact_id"])}


def _evaluation(c: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"model": "aurora-large 3.2", "evaluation": "bio uplift eval", "score": 0.95}


# Another org names its own contacts and models: ours are unknown to it (422, which reveals nothing).
FOREIGN = {"other_org": 422}
DRAFT = {"subject": "Capability threshold reached", "body": "We notify you that the model reached it."}
READ, SETTINGS, ASSESS = P.reporting_obligation_read, P.reporting_settings_manage, P.reporting_assessment_write
WRITE, SUBMIT = P.reporting_report_write, P.reporting_report_submit

CASES: list[RouteCase] = [
    # -- pages ---------------------------------------------------------------------------------------------
    RouteCase("GET", "/notices"),
    RouteCase("POST", "/notices/thresholds", SETTINGS, setup=_world, form=_threshold_form, expect=FOREIGN),
    RouteCase("POST", "/notices/evaluations", ASSESS, setup=_world, form=_evaluation, expect=FOREIGN),
    RouteCase("GET", "/notices/{notice_id}", READ, owned=True, denied=404, setup=_notice),
    RouteCase("POST", "/notices/{notice_id}/draft", WRITE, owned=True, setup=_notice, form=lambda c, p: DRAFT),
    RouteCase("POST", "/notices/{notice_id}/approve", SUBMIT, owned=True, setup=_notice, form=lambda c, p: {}),
    RouteCase("POST", "/notices/{notice_id}/send", SUBMIT, owned=True, setup=_approved, form=lambda c, p: {}),
    RouteCase(
        "POST",
        "/notices/{notice_id}/acknowledge",
        SUBMIT,
        owned=True,
        setup=_sent,
        form=lambda c, p: {"recipient_id": str(p["recipient_id"]), "receipt": "their ref"},
    ),
    RouteCase(
        "POST",
        "/notices/{notice_id}/link",
        WRITE,
        owned=True,
        setup=_notice,
        form=lambda c, p: {"incident_id": str(p["incident_id"])},
    ),
    # -- API -----------------------------------------------------------------------------------------------
    RouteCase("GET", "/api/v1/notices"),
    RouteCase("GET", "/api/v1/notices/thresholds"),
    RouteCase("POST", "/api/v1/notices/thresholds", SETTINGS, setup=_world, json=_threshold, expect=FOREIGN),
    RouteCase("GET", "/api/v1/notices/evaluations"),
    RouteCase("POST", "/api/v1/notices/evaluations", ASSESS, setup=_world, json=_evaluation, expect=FOREIGN),
    RouteCase("GET", "/api/v1/notices/{notice_id}", READ, owned=True, denied=404, setup=_notice),
    RouteCase("PUT", "/api/v1/notices/{notice_id}/draft", WRITE, owned=True, setup=_notice, json=lambda c, p: DRAFT),
    RouteCase("POST", "/api/v1/notices/{notice_id}/approve", SUBMIT, owned=True, setup=_notice),
    RouteCase("POST", "/api/v1/notices/{notice_id}/send", SUBMIT, owned=True, setup=_approved),
    RouteCase(
        "POST",
        "/api/v1/notices/{notice_id}/acknowledge",
        SUBMIT,
        owned=True,
        setup=_sent,
        json=lambda c, p: {"recipient_id": str(p["recipient_id"])},
    ),
    RouteCase(
        "POST",
        "/api/v1/notices/{notice_id}/link",
        WRITE,
        owned=True,
        setup=_notice,
        json=lambda c, p: {"incident_id": str(p["incident_id"])},
    ),
]

"""Access-matrix cases for every reporting route (pages under /reporting, API under /api/v1/reporting)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from signalfire.access.models import OrgKind
from signalfire.access.permissions import Permission as P
from signalfire.core.clock import utcnow
from signalfire.reporting import inbox, obligations, reports, retention
from signalfire.reporting.models import Obligation
from tests.matrix import MatrixContext, RouteCase
from tests.reporting import factories as f
from tests.reporting.factories import COP

API = "/api/v1/reporting"


def _incident(ctx: MatrixContext) -> dict[str, Any]:
    inc = f.incident(ctx.db, ctx.admin, aware_at=utcnow() - timedelta(hours=3))
    return {"incident_id": inc.id, "incident": inc, "regime_id": COP}


def _assessed(ctx: MatrixContext) -> dict[str, Any]:
    p = _incident(ctx)
    inc = p["incident"]
    f.record(ctx.db, ctx.admin, inc, "aware_of_model_involvement", utcnow() - timedelta(hours=2))
    f.assess(ctx.db, ctx.admin, inc, COP, f.cop(death="yes"))
    initial = ctx.db.query(Obligation).filter_by(incident_id=inc.id, stage="initial").one()
    return {**p, "obligation_id": initial.id, "obligation": initial}


def _hold(ctx: MatrixContext) -> dict[str, Any]:
    p = _assessed(ctx)
    return {**p, "hold_id": retention.place_hold(ctx.db, ctx.admin, p["incident"], "Litigation hold M-1").id}


def _draft(ctx: MatrixContext) -> dict[str, Any]:
    p = _assessed(ctx)
    report = reports.start_report(ctx.db, ctx.admin, p["obligation_id"])
    f.fill(ctx.db, ctx.admin, report)
    return {**p, "report_id": report.id}


def _submitted(ctx: MatrixContext) -> dict[str, Any]:
    p = _draft(ctx)
    authority = f.authority(ctx.db, "Matrix AI Office")
    f.bind(ctx.db, COP, "eu_ai_office", authority)
    reports.submit(ctx.db, ctx.admin, p["report_id"])
    delivery = inbox.inbox(ctx.db, authority)[0].delivery
    question = inbox.ask(ctx.db, authority, delivery.id, "Which model version?")
    return {**p, "number": 1, "question_id": question.id}


def _delivered_to_ctx(ctx: MatrixContext) -> dict[str, Any]:
    """For authority-kind cases: a developer's report delivered to the context's authority org."""
    dev = f.developer(ctx.db)
    inc = f.incident(ctx.db, dev, aware_at=utcnow() - timedelta(hours=3))
    f.record(ctx.db, dev, inc, "aware_of_model_involvement", utcnow() - timedelta(hours=2))
    f.assess(ctx.db, dev, inc, COP, f.cop(death="yes"))
    f.bind(ctx.db, COP, "eu_ai_office", ctx.admin)
    initial = ctx.db.query(Obligation).filter_by(incident_id=inc.id, stage="initial").one()
    f.submit(ctx.db, dev, initial)
    return {"delivery_id": inbox.inbox(ctx.db, ctx.admin)[0].delivery.id}


def _binding(ctx: MatrixContext) -> dict[str, Any]:
    authority = f.authority(ctx.db, "Matrix OES")
    f.bind(ctx.db, "us-ca-sb53", "ca_oes", authority)
    from signalfire.reporting.bindings import list_bindings

    binding = next(b for b, _ in list_bindings(ctx.db, ctx.admin) if b.regime_id == "us-ca-sb53")
    return {"binding_id": binding.id, "authority_org_id": authority.org_id}


def _event_form(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": "causal_link_suspected",
        "at": (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "evidence": "Pager alert",
    }


def _outside_form(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "outside_at": (utcnow() - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
        "outside_channel": "email",
        "outside_reference": "AIO-2026-77",
    }


def _event_json(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": "causal_link_suspected",
        "at": (utcnow() - timedelta(hours=1)).isoformat(),
        "evidence": "Pager alert",
    }


def _assess_form(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {**{f"q.{k}": v for k, v in f.cop(death="yes").items()}, **{f"f.{k}": v for k, v in f.COP_FACTS.items()}}


def _assess_json(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"regime_id": COP, "answers": f.cop(death="yes"), "facts": f.COP_FACTS}


def _reason(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"reason": "Counsel's instruction"}


def _binding_form(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"target": "us-ca-sb53/ca_oes", "authority_org_id": str(p["authority_org_id"])}


def _binding_json(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"regime_id": "us-ca-sb53", "recipient_id": "ca_oes", "authority_org_id": str(p["authority_org_id"])}


def _sync(ctx: MatrixContext) -> dict[str, Any]:
    p = _assessed(ctx)
    obligations.sync_incident(ctx.db, p["incident"])
    return p


READ = P.reporting_obligation_read
AUTH = OrgKind.authority
HUB = OrgKind.hub_operator

CASES = [
    # pages
    RouteCase("GET", "/reporting"),
    RouteCase("GET", "/reporting/incidents/{incident_id}", READ, owned=True, setup=_sync),
    RouteCase("GET", "/reporting/incidents/{incident_id}/panel", READ, owned=True, denied=404, setup=_incident),
    RouteCase(
        "POST",
        "/reporting/incidents/{incident_id}/events",
        P.reporting_assessment_write,
        owned=True,
        setup=_incident,
        form=_event_form,
    ),
    RouteCase(
        "POST",
        "/reporting/incidents/{incident_id}/recompute",
        P.reporting_assessment_write,
        owned=True,
        setup=_assessed,
    ),
    RouteCase("GET", "/reporting/incidents/{incident_id}/assess/{regime_id}", READ, owned=True, setup=_incident),
    RouteCase(
        "POST",
        "/reporting/incidents/{incident_id}/assess/{regime_id}",
        P.reporting_assessment_write,
        owned=True,
        setup=_incident,
        form=_assess_form,
    ),
    RouteCase(
        "POST",
        "/reporting/incidents/{incident_id}/holds",
        P.reporting_retention_manage,
        owned=True,
        setup=_incident,
        form=_reason,
    ),
    RouteCase(
        "POST",
        "/reporting/holds/{hold_id}/release",
        P.reporting_retention_manage,
        owned=True,
        setup=_hold,
        form=_reason,
    ),
    RouteCase(
        "POST", "/reporting/obligations/{obligation_id}/report", P.reporting_report_write, owned=True, setup=_assessed
    ),
    RouteCase(
        "POST",
        "/reporting/obligations/{obligation_id}/waive",
        P.reporting_report_submit,
        owned=True,
        setup=_assessed,
        form=_reason,
    ),
    RouteCase("GET", "/reporting/reports/{report_id}", READ, owned=True, setup=_draft),
    RouteCase(
        "POST",
        "/reporting/reports/{report_id}",
        P.reporting_report_write,
        owned=True,
        setup=_draft,
        form=lambda c, p: {"field.m1_dates": "Started 09:00 UTC"},
    ),
    RouteCase("POST", "/reporting/reports/{report_id}/submit", P.reporting_report_submit, owned=True, setup=_draft),
    RouteCase(
        "POST",
        "/reporting/reports/{report_id}/outside",
        P.reporting_report_submit,
        owned=True,
        setup=_draft,
        form=_outside_form,
    ),
    RouteCase("GET", "/reporting/reports/{report_id}/versions/{number}", READ, owned=True, setup=_submitted),
    RouteCase(
        "POST",
        "/reporting/reports/{report_id}/questions/{question_id}/answer",
        P.reporting_inbox_respond,
        owned=True,
        setup=_submitted,
        form=lambda c, p: {"body": "Version 3.2."},
    ),
    RouteCase("GET", "/reporting/inbox", org_kind=AUTH),
    RouteCase(
        "GET",
        "/reporting/inbox/{delivery_id}",
        P.reporting_inbox_read,
        owned=True,
        org_kind=AUTH,
        setup=_delivered_to_ctx,
    ),
    RouteCase(
        "GET",
        "/reporting/inbox/{delivery_id}/document",
        P.reporting_inbox_read,
        owned=True,
        org_kind=AUTH,
        setup=_delivered_to_ctx,
    ),
    RouteCase(
        "POST",
        "/reporting/inbox/{delivery_id}/acknowledge",
        P.reporting_inbox_respond,
        owned=True,
        org_kind=AUTH,
        setup=_delivered_to_ctx,
    ),
    RouteCase(
        "POST",
        "/reporting/inbox/{delivery_id}/questions",
        P.reporting_inbox_respond,
        owned=True,
        org_kind=AUTH,
        setup=_delivered_to_ctx,
        form=lambda c, p: {"body": "When did it start?"},
    ),
    RouteCase("GET", "/reporting/regimes"),
    RouteCase("GET", "/reporting/regimes/{regime_id}", setup=lambda c: {"regime_id": COP}),
    RouteCase("GET", "/reporting/settings"),
    RouteCase(
        "POST",
        "/reporting/settings",
        P.reporting_settings_manage,
        form=lambda c, p: {"org_sla_minutes": "60", "lead.1440": "on", "lead.0": "on"},
    ),
    RouteCase("GET", "/reporting/profile", READ, denied=404),
    RouteCase(
        "POST",
        "/reporting/profile",
        P.reporting_settings_manage,
        form=lambda c, p: {"jurisdictions": "EU, US-CA", "reason": "Matrix"},
    ),
    RouteCase("GET", "/reporting/bindings"),
    RouteCase(
        "POST", "/reporting/bindings", P.reporting_binding_manage, org_kind=HUB, setup=_binding, form=_binding_form
    ),
    RouteCase(
        "POST", "/reporting/bindings/{binding_id}/delete", P.reporting_binding_manage, org_kind=HUB, setup=_binding
    ),
    # API
    RouteCase("GET", f"{API}/regimes"),
    RouteCase("GET", f"{API}/regimes/{{regime_id}}", setup=lambda c: {"regime_id": COP}),
    RouteCase("GET", f"{API}/board"),
    RouteCase("GET", f"{API}/incidents/{{incident_id}}", READ, owned=True, setup=_assessed),
    RouteCase(
        "POST",
        f"{API}/incidents/{{incident_id}}/events",
        P.reporting_assessment_write,
        owned=True,
        setup=_incident,
        json=_event_json,
    ),
    RouteCase("GET", f"{API}/incidents/{{incident_id}}/questionnaire/{{regime_id}}", READ, owned=True, setup=_incident),
    RouteCase("GET", f"{API}/incidents/{{incident_id}}/assessments", READ, owned=True, setup=_assessed),
    RouteCase(
        "POST",
        f"{API}/incidents/{{incident_id}}/assessments",
        P.reporting_assessment_write,
        owned=True,
        setup=_incident,
        json=_assess_json,
    ),
    RouteCase(
        "POST", f"{API}/incidents/{{incident_id}}/recompute", P.reporting_assessment_write, owned=True, setup=_assessed
    ),
    RouteCase(
        "POST",
        f"{API}/incidents/{{incident_id}}/holds",
        P.reporting_retention_manage,
        owned=True,
        setup=_incident,
        json=_reason,
    ),
    RouteCase(
        "POST", f"{API}/holds/{{hold_id}}/release", P.reporting_retention_manage, owned=True, setup=_hold, json=_reason
    ),
    RouteCase("GET", f"{API}/obligations/{{obligation_id}}", READ, owned=True, setup=_assessed),
    RouteCase(
        "POST",
        f"{API}/obligations/{{obligation_id}}/waive",
        P.reporting_report_submit,
        owned=True,
        setup=_assessed,
        json=_reason,
    ),
    RouteCase(
        "POST", f"{API}/obligations/{{obligation_id}}/report", P.reporting_report_write, owned=True, setup=_assessed
    ),
    RouteCase("GET", f"{API}/reports/{{report_id}}", READ, owned=True, setup=_draft),
    RouteCase(
        "PATCH",
        f"{API}/reports/{{report_id}}",
        P.reporting_report_write,
        owned=True,
        setup=_draft,
        json=lambda c, p: {"fields": {"m1_dates": {"value": "Started 09:00 UTC", "preliminary": True}}},
    ),
    RouteCase("POST", f"{API}/reports/{{report_id}}/submit", P.reporting_report_submit, owned=True, setup=_draft),
    RouteCase("GET", f"{API}/reports/{{report_id}}/versions/{{number}}", READ, owned=True, setup=_submitted),
    RouteCase(
        "POST",
        f"{API}/reports/{{report_id}}/answers",
        P.reporting_inbox_respond,
        owned=True,
        setup=_submitted,
        json=lambda c, p: {"question_id": str(p["question_id"]), "body": "Version 3.2."},
    ),
    RouteCase("GET", f"{API}/inbox", org_kind=AUTH),
    RouteCase(
        "GET",
        f"{API}/inbox/{{delivery_id}}",
        P.reporting_inbox_read,
        owned=True,
        org_kind=AUTH,
        setup=_delivered_to_ctx,
    ),
    RouteCase(
        "POST",
        f"{API}/inbox/{{delivery_id}}/acknowledge",
        P.reporting_inbox_respond,
        owned=True,
        org_kind=AUTH,
        setup=_delivered_to_ctx,
    ),
    RouteCase(
        "POST",
        f"{API}/inbox/{{delivery_id}}/questions",
        P.reporting_inbox_respond,
        owned=True,
        org_kind=AUTH,
        setup=_delivered_to_ctx,
        json=lambda c, p: {"body": "When did it start?"},
    ),
    RouteCase("POST", f"{API}/retention/run", P.reporting_retention_manage, json=lambda c, p: {"dry_run": True}),
    RouteCase("GET", f"{API}/settings"),
    RouteCase(
        "PUT",
        f"{API}/settings",
        P.reporting_settings_manage,
        json=lambda c, p: {"org_sla_minutes": 60, "leads": [1440, 0]},
    ),
    RouteCase("GET", f"{API}/org-profile", READ),
    RouteCase(
        "PUT",
        f"{API}/org-profile",
        P.reporting_settings_manage,
        json=lambda c, p: {"roles": ["code_signatory"], "jurisdictions": ["EU"]},
    ),
    RouteCase("GET", f"{API}/incidents/{{incident_id}}/events", READ, owned=True, denied=404, setup=_incident),
    RouteCase("GET", f"{API}/bindings"),
    RouteCase("PUT", f"{API}/bindings", P.reporting_binding_manage, org_kind=HUB, setup=_binding, json=_binding_json),
    RouteCase("DELETE", f"{API}/bindings/{{binding_id}}", P.reporting_binding_manage, org_kind=HUB, setup=_binding),
]

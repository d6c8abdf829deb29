"""Access-matrix cases for every intake route (pages, API, the reporter-facing routes and the webhook)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from signalfire.access.models import Role
from signalfire.access.permissions import Permission as P
from signalfire.core.clock import utcnow
from signalfire.core.settings import DEV_SECRET
from signalfire.intake import alert_sources, public, service, sources
from signalfire.intake.models import AlertFormat, Attachment, Decision, DecisionKind, SourceKind
from signalfire.intake.receipts import form_token, receipt_secret
from signalfire.intake.schemas import DismissIn, FeedIn, IntakeSettingsIn, MergeIn
from tests import factories as tf
from tests.intake import factories as f
from tests.matrix import SUBJECTS, MatrixContext, RouteCase


def _signal(ctx: MatrixContext) -> dict[str, Any]:
    return {"signal_id": f.signal(ctx.db, ctx.org.id).id}


def _two_signals(ctx: MatrixContext) -> dict[str, Any]:
    a = f.signal(ctx.db, ctx.org.id, title="First report", text="alpha beta gamma delta epsilon")
    b = f.signal(ctx.db, ctx.org.id, title="Second report", text="entirely different words about outages")
    return {"signal_id": a.id, "other_id": b.id}


def _matched(ctx: MatrixContext) -> dict[str, Any]:
    """A signal with a known-or-new suggestion pending (a second report of a stored story)."""
    f.signal(ctx.db, ctx.org.id, title="Chatbot leaks customer records at Acme bank", text="")
    second = f.signal(ctx.db, ctx.org.id, title="Acme bank chatbot leaked customer records", text="")
    return {"signal_id": second.id, "verdict": "reject"}


def _dismissed(ctx: MatrixContext) -> dict[str, Any]:
    s = f.signal(ctx.db, ctx.org.id)
    service.dismiss(ctx.db, ctx.admin, s, DismissIn(reason="not ours"))
    return {"signal_id": s.id}


def _attachment(ctx: MatrixContext) -> dict[str, Any]:
    s = f.signal(ctx.db, ctx.org.id)
    att = Attachment(
        signal_id=s.id,
        filename="a.txt",
        content_type="text/plain",
        size=2,
        sha256="0" * 64,
        data=b"hi",
        created_at=utcnow(),
    )
    ctx.db.add(att)
    ctx.db.flush()
    return {"signal_id": s.id, "attachment_id": att.id}


def _cluster_of_two(ctx: MatrixContext) -> dict[str, Any]:
    ids = _two_signals(ctx)
    a = service.get_signal(ctx.db, ctx.admin, ids["signal_id"])
    b = service.get_signal(ctx.db, ctx.admin, ids["other_id"])
    target = service.merge_clusters(ctx.db, ctx.admin, MergeIn(into=a.cluster_id, clusters=[b.cluster_id]))
    return {"cluster_id": target.id, "other_id": b.id}


def _two_clusters(ctx: MatrixContext) -> dict[str, Any]:
    ids = _two_signals(ctx)
    a = service.get_signal(ctx.db, ctx.admin, ids["signal_id"])
    b = service.get_signal(ctx.db, ctx.admin, ids["other_id"])
    return {"into": a.cluster_id, "merge": b.cluster_id, "cluster_id": a.cluster_id}


def _decision(ctx: MatrixContext) -> dict[str, Any]:
    s = f.signal(ctx.db, ctx.org.id)
    d = Decision(
        org_id=ctx.org.id,
        signal_id=s.id,
        cluster_id=s.cluster_id,
        kind=DecisionKind.clustered,
        automatic=True,
        actor_label="Signalfire intake",
        reason="sampled",
        review_requested=True,
    )
    ctx.db.add(d)
    ctx.db.flush()
    return {"decision_id": d.id}


def _feed(ctx: MatrixContext) -> dict[str, Any]:
    return {"feed_id": sources.create_feed(ctx.db, ctx.org.id, FeedIn(url="https://feeds.example.org/x.xml")).id}


def _alert_source(ctx: MatrixContext) -> dict[str, Any]:
    source, _ = alert_sources.create_source(ctx.db, ctx.admin, name="am", format=AlertFormat.alertmanager)
    return {"source_id": source.id}


def _open_channel(ctx: MatrixContext) -> dict[str, Any]:
    f.open_channel(ctx.db, ctx.admin)
    return {"org_slug": ctx.org.slug}


def _target_org(ctx: MatrixContext) -> dict[str, Any]:
    target = tf.org(ctx.db)
    admin = tf.actor_for(ctx.db, tf.member(ctx.db, target, Role.admin), target)
    sources.update_settings(ctx.db, admin, IntakeSettingsIn(public_form_enabled=True))
    return {"target": target.slug}


def _sent_report(ctx: MatrixContext) -> dict[str, Any]:
    """A report ctx.org's admin sent to another org through the API (ctx.org owns its receipt view)."""
    slug = _target_org(ctx)["target"]
    org, channel = public.receiving_org(ctx.db, slug)
    signal = public.submit(
        ctx.db,
        org=org,
        settings=channel,
        source_kind=SourceKind.downstream_api,
        submitter=ctx.admin,
        report=public.Report(title="Sent report", description="d"),
    )
    return {"reference": signal.reference, "secret": receipt_secret(DEV_SECRET, signal.id)}


def _public_report(ctx: MatrixContext) -> dict[str, Any]:
    params = _open_channel(ctx)
    org, channel = public.receiving_org(ctx.db, ctx.org.slug)
    signal = public.submit(
        ctx.db,
        org=org,
        settings=channel,
        source_kind=SourceKind.public_form,
        report=public.Report(title="Public report", description="d"),
    )
    return {
        **params,
        "reference": signal.reference,
        "secret": receipt_secret(DEV_SECRET, signal.id),
        "form_token": form_token(DEV_SECRET, ctx.org.slug, utcnow() - timedelta(minutes=1)),
    }


def _new_feed(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"url": f"https://feeds.example.org/{uuid.uuid4().hex}.xml"}


def _am_payload(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"version": "4", "groupKey": "g", "status": "firing", "alerts": []}


TRIAGE = P.intake_signal_triage
MANAGE = P.intake_source_manage
# The anonymous public forms need the anonymous CSRF cookie, which a client without a visit has not got.
NO_ANON_COOKIE = {"anonymous": 403}
# Counsel reads no intake records, so an owned object is missing to them (404, tests/matrix.py CHANNEL_READ),
# except on routes that check triage before looking the object up: there counsel gets the 403 of any role
# without triage.
TRIAGE_FIRST = {"role:counsel": 403}
# A downstream sender's own report is read and answered by any member of the sending org (not an intake read).
SENDER_READS = {"role:counsel": 200}
SENDER_WRITES = {"role:counsel": 201}
# The webhook ignores sign-in entirely: only the source's own secret opens it.
WEBHOOK_ONLY = {s: 401 for s in SUBJECTS}

CASES = [
    # -- pages ---------------------------------------------------------------------------------------------
    RouteCase("GET", "/intake"),
    RouteCase("GET", "/intake/signals/new"),
    RouteCase("POST", "/intake/signals", TRIAGE, form=lambda c, p: {"title": "Manual signal", "text": "t"}),
    RouteCase("GET", "/intake/signals/{signal_id}", owned=True, denied=404, setup=_signal),
    RouteCase(
        "GET", "/intake/signals/{signal_id}/attachments/{attachment_id}", owned=True, denied=404, setup=_attachment
    ),
    RouteCase(
        "POST",
        "/intake/signals/{signal_id}/messages",
        TRIAGE,
        owned=True,
        setup=_signal,
        form=lambda c, p: {"body": "Internal note", "internal": "true"},
    ),
    RouteCase(
        "POST",
        "/intake/signals/{signal_id}/assign",
        TRIAGE,
        owned=True,
        setup=_signal,
        form=lambda c, p: {"assignee_id": ""},
    ),
    RouteCase(
        "POST",
        "/intake/signals/{signal_id}/dismiss",
        TRIAGE,
        owned=True,
        setup=_signal,
        form=lambda c, p: {"reason": "Not about us"},
    ),
    RouteCase(
        "POST",
        "/intake/signals/{signal_id}/duplicate",
        TRIAGE,
        owned=True,
        setup=_two_signals,
        form=lambda c, p: {"duplicate_of": str(p["other_id"])},
    ),
    RouteCase(
        "POST",
        "/intake/signals/{signal_id}/reopen",
        TRIAGE,
        owned=True,
        setup=_dismissed,
        form=lambda c, p: {"reason": "Needs another look"},
    ),
    RouteCase(
        "POST",
        "/intake/signals/{signal_id}/promote-incident",
        P.response_incident_write,
        owned=True,
        setup=_signal,
        form=lambda c, p: {"title": "From a signal", "severity": "sev3"},
    ),
    RouteCase(
        "POST",
        "/intake/signals/{signal_id}/promote-exchange",
        P.exchange_item_write,
        owned=True,
        setup=_signal,
        form=lambda c, p: {},
    ),
    RouteCase("GET", "/intake/clusters/{cluster_id}", owned=True, denied=404, setup=_two_clusters),
    RouteCase(
        "POST",
        "/intake/clusters/{cluster_id}/split",
        TRIAGE,
        owned=True,
        setup=_cluster_of_two,
        form=lambda c, p: {"signal_ids": [str(p["other_id"])]},
    ),
    RouteCase(
        "POST",
        "/intake/clusters/merge",
        TRIAGE,
        owned=True,
        expect=TRIAGE_FIRST,
        setup=_two_clusters,
        form=lambda c, p: {"into": str(p["into"]), "clusters": [str(p["merge"])]},
    ),
    RouteCase("GET", "/intake/reviews"),
    RouteCase(
        "POST",
        "/intake/decisions/{decision_id}/review",
        TRIAGE,
        owned=True,
        expect=TRIAGE_FIRST,
        setup=_decision,
        form=lambda c, p: {"outcome": "confirm"},
    ),
    RouteCase("GET", "/intake/sources"),
    RouteCase("GET", "/intake/calibration", P.intake_signal_read),
    RouteCase("POST", "/intake/thresholds", MANAGE, form=lambda c, p: {"known_threshold": "0.5"}),
    RouteCase(
        "POST",
        "/intake/signals/{signal_id}/match/{verdict}",
        TRIAGE,
        owned=True,
        setup=_matched,
        expect=TRIAGE_FIRST,
    ),
    RouteCase(
        "POST",
        "/intake/settings",
        MANAGE,
        form=lambda c, p: {"public_form_enabled": "true", "model_names": "aurora-large"},
    ),
    RouteCase("POST", "/intake/feeds", MANAGE, form=_new_feed),
    RouteCase("POST", "/intake/feeds/{feed_id}/poll", MANAGE, owned=True, setup=_feed),
    RouteCase(
        "POST", "/intake/feeds/{feed_id}/active", MANAGE, owned=True, setup=_feed, form=lambda c, p: {"active": "false"}
    ),
    RouteCase("POST", "/intake/alert-sources", MANAGE, form=lambda c, p: {"name": "prod", "format": "alertmanager"}),
    RouteCase("POST", "/intake/alert-sources/{source_id}/deactivate", MANAGE, owned=True, setup=_alert_source),
    # -- API -----------------------------------------------------------------------------------------------
    RouteCase("GET", "/api/v1/intake/signals"),
    RouteCase("POST", "/api/v1/intake/signals", TRIAGE, json=lambda c, p: {"title": "Manual", "text": "t"}),
    RouteCase("GET", "/api/v1/intake/signals/{signal_id}", owned=True, denied=404, setup=_signal),
    RouteCase("GET", "/api/v1/intake/signals/{signal_id}/messages", owned=True, denied=404, setup=_signal),
    RouteCase(
        "POST",
        "/api/v1/intake/signals/{signal_id}/messages",
        TRIAGE,
        owned=True,
        setup=_signal,
        json=lambda c, p: {"body": "Internal note", "internal": True},
    ),
    RouteCase(
        "POST",
        "/api/v1/intake/signals/{signal_id}/assign",
        TRIAGE,
        owned=True,
        setup=_signal,
        json=lambda c, p: {"assignee_id": None},
    ),
    RouteCase(
        "POST",
        "/api/v1/intake/signals/{signal_id}/dismiss",
        TRIAGE,
        owned=True,
        setup=_signal,
        json=lambda c, p: {"reason": "Not about us"},
    ),
    RouteCase(
        "POST",
        "/api/v1/intake/signals/{signal_id}/duplicate",
        TRIAGE,
        owned=True,
        setup=_two_signals,
        json=lambda c, p: {"duplicate_of": str(p["other_id"])},
    ),
    RouteCase(
        "POST",
        "/api/v1/intake/signals/{signal_id}/reopen",
        TRIAGE,
        owned=True,
        setup=_dismissed,
        json=lambda c, p: {"reason": "Needs another look"},
    ),
    RouteCase(
        "POST",
        "/api/v1/intake/signals/{signal_id}/promote-incident",
        P.response_incident_write,
        owned=True,
        setup=_signal,
        json=lambda c, p: {"title": "From a signal"},
    ),
    RouteCase(
        "POST",
        "/api/v1/intake/signals/{signal_id}/promote-exchange",
        P.exchange_item_write,
        owned=True,
        setup=_signal,
        json=lambda c, p: {},
    ),
    RouteCase("GET", "/api/v1/intake/clusters/{cluster_id}", owned=True, denied=404, setup=_two_clusters),
    RouteCase(
        "POST",
        "/api/v1/intake/clusters/merge",
        TRIAGE,
        owned=True,
        expect=TRIAGE_FIRST,
        setup=_two_clusters,
        json=lambda c, p: {"into": str(p["into"]), "clusters": [str(p["merge"])]},
    ),
    RouteCase(
        "POST",
        "/api/v1/intake/clusters/{cluster_id}/split",
        TRIAGE,
        owned=True,
        setup=_cluster_of_two,
        json=lambda c, p: {"signal_ids": [str(p["other_id"])]},
    ),
    RouteCase("GET", "/api/v1/intake/reviews"),
    RouteCase(
        "POST",
        "/api/v1/intake/decisions/{decision_id}/review",
        TRIAGE,
        owned=True,
        expect=TRIAGE_FIRST,
        setup=_decision,
        json=lambda c, p: {"outcome": "undo"},
    ),
    # Counsel reads no intake records: the settings are missing to them like a signal is.
    RouteCase("GET", "/api/v1/intake/settings", P.intake_signal_read, denied=404),
    RouteCase("GET", "/api/v1/intake/signals/{signal_id}/match", owned=True, denied=404, setup=_matched),
    RouteCase(
        "POST",
        "/api/v1/intake/signals/{signal_id}/match/accept",
        TRIAGE,
        owned=True,
        setup=_matched,
        expect=TRIAGE_FIRST,
    ),
    RouteCase(
        "POST",
        "/api/v1/intake/signals/{signal_id}/match/reject",
        TRIAGE,
        owned=True,
        setup=_matched,
        expect=TRIAGE_FIRST,
    ),
    RouteCase("GET", "/api/v1/intake/calibration", P.intake_signal_read),
    RouteCase("PUT", "/api/v1/intake/thresholds", MANAGE, json=lambda c, p: {"cluster_threshold": 0.2}),
    RouteCase("PATCH", "/api/v1/intake/settings", MANAGE, json=lambda c, p: {"model_names": ["aurora-large"]}),
    RouteCase("GET", "/api/v1/intake/feeds"),
    RouteCase("POST", "/api/v1/intake/feeds", MANAGE, json=_new_feed),
    RouteCase(
        "PATCH", "/api/v1/intake/feeds/{feed_id}", MANAGE, owned=True, setup=_feed, json=lambda c, p: {"active": False}
    ),
    RouteCase("POST", "/api/v1/intake/feeds/{feed_id}/poll", MANAGE, owned=True, setup=_feed),
    RouteCase("GET", "/api/v1/intake/alert-sources"),
    RouteCase("POST", "/api/v1/intake/alert-sources", MANAGE, json=lambda c, p: {"name": "prod"}),
    RouteCase("DELETE", "/api/v1/intake/alert-sources/{source_id}", MANAGE, owned=True, setup=_alert_source),
    # -- reporters and monitoring --------------------------------------------------------------------------
    RouteCase(
        "POST",
        "/api/v1/intake/reports",
        setup=_target_org,
        json=lambda c, p: {"org": p["target"], "title": "A report", "description": "d"},
    ),
    RouteCase("GET", "/api/v1/intake/reports/{reference}", owned=True, setup=_sent_report, expect=SENDER_READS),
    RouteCase(
        "POST",
        "/api/v1/intake/reports/{reference}/additions",
        owned=True,
        setup=_sent_report,
        expect=SENDER_WRITES,
        json=lambda c, p: {"body": "More detail"},
    ),
    RouteCase(
        "POST",
        "/api/v1/intake/reports/{reference}/replies",
        owned=True,
        setup=_sent_report,
        expect=SENDER_WRITES,
        json=lambda c, p: {"body": "Thanks for the answer"},
    ),
    RouteCase(
        "POST",
        "/api/v1/intake/alerts/{source_id}",
        public=True,
        setup=_alert_source,
        json=_am_payload,
        expect=WEBHOOK_ONLY,
    ),
    RouteCase("GET", "/report/status", public=True),
    RouteCase(
        "POST",
        "/report/status",
        public=True,
        setup=_public_report,
        expect=NO_ANON_COOKIE,
        form=lambda c, p: {"reference": p["reference"], "secret": p["secret"]},
    ),
    RouteCase(
        "POST",
        "/report/status/add",
        public=True,
        setup=_public_report,
        expect=NO_ANON_COOKIE,
        form=lambda c, p: {"reference": p["reference"], "secret": p["secret"], "body": "More"},
    ),
    RouteCase(
        "POST",
        "/report/status/reply",
        public=True,
        setup=_public_report,
        expect=NO_ANON_COOKIE,
        form=lambda c, p: {"reference": p["reference"], "secret": p["secret"], "body": "A reply"},
    ),
    RouteCase("GET", "/report/{org_slug}", public=True, setup=_open_channel),
    RouteCase(
        "POST",
        "/report/{org_slug}",
        public=True,
        setup=_public_report,
        expect=NO_ANON_COOKIE,
        form=lambda c, p: {"title": "Public report", "description": "d", "form_token": p["form_token"]},
    ),
]

"""Intake pages (/intake/...) and JSON API (/api/v1/intake/...) for the receiving org's members.

Routes parse, call one service function, then render or redirect; forms work without JavaScript.
The reporter-facing routes (public form, downstream API, alert webhook) are in ``public_routes``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, cast

from fastapi import Form, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from signalfire.access.deps import ActorDep
from signalfire.access.permissions import Permission
from signalfire.core.errors import NotFound, ValidationFailed
from signalfire.core.schemas import SafeText
from signalfire.core.settings import Settings
from signalfire.core.web.deps import SessionDep, SettingsDep, protected_router
from signalfire.core.web.idempotency import run_idempotent
from signalfire.core.web.templating import redirect, render
from signalfire.intake import alert_sources, calibration, queries, service, sources, thread
from signalfire.intake.models import (
    AlertFormat,
    AlertSource,
    FeedKind,
    MatchSuggestion,
    Signal,
    SourceKind,
    TriageState,
)
from signalfire.intake.public_routes import routers as public_routers
from signalfire.intake.schemas import (
    AdditionOut,
    AlertSourceCreatedOut,
    AlertSourceIn,
    AlertSourceOut,
    AnswerIn,
    AssignIn,
    CalibrationOut,
    CalibrationPointOut,
    ClusterDetailOut,
    ClusterOut,
    DecisionOut,
    DismissIn,
    DuplicateIn,
    FeedActiveIn,
    FeedIn,
    FeedOut,
    IntakeSettingsIn,
    IntakeSettingsOut,
    ManualSignalIn,
    MatchOut,
    MergeIn,
    PromoteExchangeIn,
    PromoteIncidentIn,
    PromotionOut,
    ReopenIn,
    ReviewIn,
    SignalDetailOut,
    SignalOut,
    SplitIn,
    ThreadMessageOut,
    ThresholdsIn,
)
from signalfire.response.vocab import RiskDomain, Severity

pages = protected_router(prefix="/intake", include_in_schema=False)
api = protected_router(prefix="/api/v1/intake", tags=["intake"])

SORTS = ("severity", "relevance", "newest", "oldest")


def _signal_url(signal_id: uuid.UUID) -> str:
    return f"/intake/signals/{signal_id}"


def _opt_enum(value: str | None, enum: Any, field: str) -> Any:
    if not value:
        return None
    try:
        return enum(value)
    except ValueError:
        raise ValidationFailed.single(field, f"unknown value {value[:40]!r}") from None


def _filters(
    actor: ActorDep,
    state: str | None,
    source: str | None,
    severity: str | None,
    assignee: str | None,
    relevant: bool,
    q: str | None,
    sort: str,
    collapse: bool,
    clustering: str | None = None,
) -> service.QueueFilters:
    if sort not in SORTS:
        raise ValidationFailed.single("sort", f"one of {', '.join(SORTS)}")
    chosen_state: TriageState | None = TriageState.new
    if state == "all":
        chosen_state = None
    elif state:
        chosen_state = _opt_enum(state, TriageState, "state")
    assignee_id = actor.user_id if assignee == "me" else None
    if assignee not in (None, "", "me", "unassigned", "any"):
        raise ValidationFailed.single("assignee", "one of me, unassigned, any")
    if clustering not in (None, "", "pending", "placed"):
        raise ValidationFailed.single("clustering", "one of pending, placed")
    return service.QueueFilters(
        state=chosen_state,
        source_kind=_opt_enum(source, SourceKind, "source"),
        severity=_opt_enum(severity, Severity, "severity"),
        assignee_id=assignee_id,
        unassigned=assignee == "unassigned",
        relevant_only=relevant,
        q=q or None,
        sort=cast(service.Sort, sort),
        collapse=collapse,
        placement_pending={"pending": True, "placed": False}.get(clustering or ""),
    )


# -- pages: queue and signals ---------------------------------------------------------------------------


@pages.get("")
def queue_page(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    state: Annotated[str | None, Query(max_length=30)] = None,
    source: Annotated[str | None, Query(max_length=30)] = None,
    severity: Annotated[str | None, Query(max_length=10)] = None,
    assignee: Annotated[str | None, Query(max_length=20)] = None,
    relevant: bool = False,
    q: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[str, Query(max_length=20)] = "severity",
    collapse: bool = True,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    clustering: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    filters = _filters(actor, state, source, severity, assignee, relevant, q, sort, collapse, clustering)
    rows, total = service.queue(session, actor, filters, page=page)
    return render(
        request,
        "intake/queue.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "page_size": service.PAGE_SIZE,
            "filters": filters,
            "raw": {
                "state": state or "",
                "source": source or "",
                "severity": severity or "",
                "assignee": assignee or "",
                "relevant": relevant,
                "q": q or "",
                "sort": sort,
                "collapse": collapse,
                "clustering": clustering or "",
            },
            "counts": service.counts_by_state(session, actor),
            "to_review": len(service.review_queue(session, actor)),
            "states": list(TriageState),
            "source_kinds": list(SourceKind),
            "severities": list(Severity),
            "sorts": SORTS,
            "can_triage": actor.can(Permission.intake_signal_triage),
        },
    )


@pages.get("/signals/new")
def new_signal_page(request: Request, actor: ActorDep) -> Response:
    return render(request, "intake/signal_new.html", {"can_triage": actor.can(Permission.intake_signal_triage)})


@pages.post("/signals")
def new_signal_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    title: Annotated[SafeText, Form(max_length=200)],
    text: Annotated[SafeText, Form(max_length=20_000)] = "",
    url: Annotated[SafeText, Form(max_length=2000)] = "",
) -> Response:
    signal = service.create_manual(session, actor, ManualSignalIn(title=title, text=text, url=url or None))
    return redirect(request, _signal_url(signal.id), flash=f"Signal {signal.reference} recorded.")


@pages.get("/signals/{signal_id}")
def signal_page(request: Request, session: SessionDep, actor: ActorDep, signal_id: uuid.UUID) -> Response:
    signal = service.get_signal(session, actor, signal_id)
    cluster = service.get_cluster(session, actor, signal.cluster_id) if signal.cluster_id else None
    siblings = [s for s in service.cluster_signals(session, actor, cluster) if s.id != signal.id] if cluster else []
    original = queries.original_of(session, actor, signal)
    return render(
        request,
        "intake/signal.html",
        {
            "s": signal,
            "cluster": cluster,
            "siblings": siblings[:25],
            "original": original,
            "decisions": service.decisions_for(session, actor, signal),
            "additions": service.additions_of(session, signal),
            "messages": thread.lab_messages(session, signal),
            "has_reporter": thread.has_reporter(signal),
            "reporter_email": thread.email_of(signal) is not None,
            "attachments": service.attachments_of(session, signal),
            "members": service.members(session, actor),
            "incidents": queries.open_incidents(session, actor),
            "incident": queries.linked_incident(session, actor, signal),
            "match": calibration.suggestion_for(session, actor, signal),
            "severities": list(Severity),
            "domains": list(RiskDomain),
            "can_triage": actor.can(Permission.intake_signal_triage),
            "can_incident": actor.can(Permission.response_incident_write),
            "can_exchange": actor.can(Permission.exchange_item_write),
        },
    )


@pages.get("/signals/{signal_id}/attachments/{attachment_id}")
def attachment_download(
    session: SessionDep, actor: ActorDep, signal_id: uuid.UUID, attachment_id: uuid.UUID
) -> Response:
    att = service.get_attachment(session, actor, signal_id, attachment_id)
    # Always a download, never rendered inline: the bytes come from an anonymous outsider.
    return Response(
        att.data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{att.filename}"', "X-Content-Type-Options": "nosniff"},
    )


@pages.post("/signals/{signal_id}/messages")
def message_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    signal_id: uuid.UUID,
    body: Annotated[SafeText, Form(max_length=20_000)],
    internal: Annotated[bool, Form()] = False,
) -> Response:
    """Answer the reporter, or write an internal note the reporter never sees."""
    signal = service.get_signal(session, actor, signal_id)
    thread.post(session, actor, signal, body, internal=internal)
    flash = "Internal note saved." if internal else "Answer sent to the reporter."
    return redirect(request, _signal_url(signal.id) + "#thread", flash=flash)


@pages.post("/signals/{signal_id}/assign")
def assign_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    signal_id: uuid.UUID,
    assignee_id: Annotated[SafeText, Form(max_length=40)] = "",
) -> Response:
    signal = service.get_signal(session, actor, signal_id)
    target = None
    if assignee_id:
        try:
            target = uuid.UUID(assignee_id)
        except ValueError:
            raise ValidationFailed.single("assignee_id", "not a valid id") from None
    service.assign(session, actor, signal, target)
    return redirect(request, _signal_url(signal.id), flash="Assignment saved.")


@pages.post("/signals/{signal_id}/match/{verdict}")
def match_submit(
    request: Request, session: SessionDep, actor: ActorDep, signal_id: uuid.UUID, verdict: str
) -> Response:
    if verdict not in ("accept", "reject"):
        raise NotFound()
    calibration.decide(session, actor, signal_id, accept=verdict == "accept")
    flash = "Suggestion accepted: the signal is in that cluster." if verdict == "accept" else "Suggestion rejected."
    return redirect(request, _signal_url(signal_id), flash=flash)


@pages.get("/calibration")
def calibration_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return render(
        request,
        "intake/calibration.html",
        {
            "report": calibration.calibration(session, actor),
            "can_manage": actor.can(Permission.intake_source_manage),
        },
    )


@pages.post("/thresholds")
def thresholds_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    cluster_threshold: Annotated[str, Form(max_length=10)] = "",
    known_threshold: Annotated[str, Form(max_length=10)] = "",
    reset: Annotated[bool, Form()] = False,
) -> Response:
    body = ThresholdsIn(
        cluster_threshold=_opt_float(cluster_threshold, "cluster_threshold"),
        known_threshold=_opt_float(known_threshold, "known_threshold"),
        reset=reset,
    )
    calibration.set_thresholds(
        session, actor, cluster=body.cluster_threshold, known=body.known_threshold, reset=body.reset
    )
    return redirect(request, "/intake/calibration", flash="Thresholds saved.")


def _opt_float(value: str, field: str) -> float | None:
    if not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValidationFailed.single(field, "must be a number between 0.01 and 1") from None
    if not 0.01 <= number <= 1.0:
        raise ValidationFailed.single(field, "must be a number between 0.01 and 1")
    return number


@pages.post("/signals/{signal_id}/dismiss")
def dismiss_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    signal_id: uuid.UUID,
    reason: Annotated[SafeText, Form(max_length=2000)],
    whole_cluster: Annotated[bool, Form()] = False,
) -> Response:
    signal = service.get_signal(session, actor, signal_id)
    done = service.dismiss(session, actor, signal, DismissIn(reason=reason, whole_cluster=whole_cluster))
    return redirect(request, _signal_url(signal.id), flash=f"Dismissed {len(done)} signal(s).")


@pages.post("/signals/{signal_id}/duplicate")
def duplicate_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    signal_id: uuid.UUID,
    duplicate_of: Annotated[SafeText, Form(max_length=40)],
) -> Response:
    signal = service.get_signal(session, actor, signal_id)
    original = _resolve_signal(session, actor, duplicate_of)
    service.mark_duplicate(session, actor, signal, original)
    return redirect(request, _signal_url(signal.id), flash="Marked as duplicate.")


def _resolve_signal(session: SessionDep, actor: ActorDep, value: str) -> uuid.UUID:
    """A signal id or an SF-R reference typed by a person."""
    from signalfire.intake.receipts import normalise_reference

    try:
        return uuid.UUID(value.strip())
    except ValueError:
        pass
    ref = normalise_reference(value)
    found = queries.signal_by_reference(session, actor, ref) if ref else None
    if found is None:
        raise ValidationFailed.single("duplicate_of", "no signal with this reference")
    return found.id


@pages.post("/signals/{signal_id}/reopen")
def reopen_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    signal_id: uuid.UUID,
    reason: Annotated[SafeText, Form(max_length=2000)],
) -> Response:
    signal = service.get_signal(session, actor, signal_id)
    service.reopen(session, actor, signal, ReopenIn(reason=reason).reason)
    return redirect(request, _signal_url(signal.id), flash="Back in the queue.")


@pages.post("/signals/{signal_id}/promote-incident")
def promote_incident_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    signal_id: uuid.UUID,
    incident_id: Annotated[SafeText, Form(max_length=40)] = "",
    title: Annotated[SafeText, Form(max_length=200)] = "",
    severity: Annotated[SafeText, Form(max_length=10)] = "",
    risk_domain: Annotated[SafeText, Form(max_length=30)] = "",
    whole_cluster: Annotated[bool, Form()] = False,
) -> Response:
    signal = service.get_signal(session, actor, signal_id)
    try:
        existing = uuid.UUID(incident_id) if incident_id else None
    except ValueError:
        raise ValidationFailed.single("incident_id", "not a valid id") from None
    done = service.promote_to_incident(
        session,
        actor,
        signal,
        PromoteIncidentIn(
            incident_id=existing,
            title=title or None,
            severity=_opt_enum(severity, Severity, "severity"),
            risk_domain=_opt_enum(risk_domain, RiskDomain, "risk_domain"),
            whole_cluster=whole_cluster,
        ),
    )
    return redirect(
        request,
        f"/response/incidents/{done.incident_id}",
        flash=f"{signal.reference} brought into {done.incident_reference}.",
    )


@pages.post("/signals/{signal_id}/promote-exchange")
def promote_exchange_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    signal_id: uuid.UUID,
    title: Annotated[SafeText, Form(max_length=200)] = "",
) -> Response:
    signal = service.get_signal(session, actor, signal_id)
    done = service.promote_to_exchange(session, actor, signal, PromoteExchangeIn(title=title or None))
    return redirect(
        request,
        _signal_url(signal.id),
        flash=f"Exchange draft started ({done.exchange_item_id}); edit and screen it before publishing.",
    )


# -- pages: clusters and reviews ----------------------------------------------------------------------------


@pages.get("/clusters/{cluster_id}")
def cluster_page(request: Request, session: SessionDep, actor: ActorDep, cluster_id: uuid.UUID) -> Response:
    cluster = service.get_cluster(session, actor, cluster_id)
    others = queries.other_clusters(session, actor, cluster)
    return render(
        request,
        "intake/cluster.html",
        {
            "cluster": cluster,
            "signals": service.cluster_signals(session, actor, cluster),
            "others": others,
            "can_triage": actor.can(Permission.intake_signal_triage),
        },
    )


@pages.post("/clusters/{cluster_id}/split")
def split_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    cluster_id: uuid.UUID,
    signal_ids: Annotated[list[uuid.UUID], Form()],
    title: Annotated[SafeText, Form(max_length=300)] = "",
) -> Response:
    cluster = service.get_cluster(session, actor, cluster_id)
    new = service.split_cluster(session, actor, cluster, SplitIn(signal_ids=signal_ids, title=title or None))
    return redirect(
        request, f"/intake/clusters/{new.id}", flash=f"Split {new.signal_count} signal(s) into a new cluster."
    )


@pages.post("/clusters/merge")
def merge_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    into: Annotated[uuid.UUID, Form()],
    clusters: Annotated[list[uuid.UUID], Form()],
) -> Response:
    target = service.merge_clusters(session, actor, MergeIn(into=into, clusters=clusters))
    return redirect(request, f"/intake/clusters/{target.id}", flash="Clusters merged.")


@pages.get("/reviews")
def reviews_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    decisions = service.review_queue(session, actor, limit=100)
    ids = [d.signal_id for d in decisions if d.signal_id]
    signals = queries.signals_by_id(session, actor, ids)
    return render(
        request,
        "intake/reviews.html",
        {"decisions": decisions, "signals": signals, "can_triage": actor.can(Permission.intake_signal_triage)},
    )


@pages.post("/decisions/{decision_id}/review")
def review_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    decision_id: uuid.UUID,
    outcome: Annotated[SafeText, Form(max_length=10)],
    note: Annotated[SafeText, Form(max_length=2000)] = "",
) -> Response:
    service.review(session, actor, decision_id, ReviewIn(outcome=outcome, note=note))
    return redirect(request, "/intake/reviews", flash="Review recorded.")


# -- pages: sources -------------------------------------------------------------------------------------------


def _sources_context(session: SessionDep, actor: ActorDep, settings: Settings) -> dict[str, Any]:
    return {
        "settings_row": sources.settings_for(session, actor.org_id),
        "org": queries.own_org(session, actor),
        "feeds": queries.feeds(session, actor),
        "alert_sources": queries.alert_sources(session, actor),
        "base_url": settings.public_base_url.rstrip("/"),
        "feed_kinds": list(FeedKind),
        "alert_formats": list(AlertFormat),
        "can_manage": actor.can(Permission.intake_source_manage),
    }


@pages.get("/sources")
def sources_page(request: Request, session: SessionDep, actor: ActorDep, settings: SettingsDep) -> Response:
    return render(request, "intake/sources.html", _sources_context(session, actor, settings))


@pages.post("/settings")
def settings_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    intro: Annotated[SafeText, Form(max_length=4000)] = "",
    model_names: Annotated[SafeText, Form(max_length=10_000)] = "",
    min_fill_seconds: Annotated[int, Form(ge=0, le=120)] = 3,
    public_form_enabled: Annotated[bool, Form()] = False,
    allow_anonymous: Annotated[bool, Form()] = False,
) -> Response:
    names = [n.strip() for n in model_names.replace(",", "\n").splitlines() if n.strip()]
    sources.update_settings(
        session,
        actor,
        IntakeSettingsIn(
            public_form_enabled=public_form_enabled,
            intro=intro,
            allow_anonymous=allow_anonymous,
            min_fill_seconds=min_fill_seconds,
            model_names=names,
        ),
    )
    return redirect(request, "/intake/sources", flash="Intake settings saved.")


@pages.post("/feeds")
def feed_add_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    url: Annotated[SafeText, Form(max_length=2000)],
    kind: Annotated[FeedKind, Form()] = FeedKind.rss_atom,
    title: Annotated[SafeText, Form(max_length=300)] = "",
    poll_interval_seconds: Annotated[int, Form(ge=60, le=7 * 86400)] = 900,
) -> Response:
    sources.add_feed(
        session, actor, FeedIn(url=url, kind=kind, title=title, poll_interval_seconds=poll_interval_seconds)
    )
    return redirect(request, "/intake/sources", flash="Feed added; it is polled within a minute.")


@pages.post("/feeds/{feed_id}/poll")
def feed_poll_submit(request: Request, session: SessionDep, actor: ActorDep, feed_id: uuid.UUID) -> Response:
    sources.poll_now(session, actor, sources.get_feed(session, actor, feed_id))
    return redirect(request, "/intake/sources", flash="Poll queued.")


@pages.post("/feeds/{feed_id}/active")
def feed_active_submit(
    request: Request, session: SessionDep, actor: ActorDep, feed_id: uuid.UUID, active: Annotated[bool, Form()] = False
) -> Response:
    sources.set_feed_active(session, actor, sources.get_feed(session, actor, feed_id), active)
    return redirect(request, "/intake/sources", flash="Feed resumed." if active else "Feed paused.")


@pages.post("/alert-sources")
def alert_source_add_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    name: Annotated[SafeText, Form(max_length=120)],
    format: Annotated[AlertFormat, Form()] = AlertFormat.alertmanager,
) -> Response:
    source, bearer = alert_sources.create_source(session, actor, name=name, format=format)
    # Rendered, not redirected: the secrets are shown exactly once and never put in a cookie.
    return render(
        request,
        "intake/sources.html",
        {**_sources_context(session, actor, settings), "new_source": source, "new_bearer": bearer},
        status_code=201,
    )


@pages.post("/alert-sources/{source_id}/deactivate")
def alert_source_deactivate_submit(
    request: Request, session: SessionDep, actor: ActorDep, source_id: uuid.UUID
) -> Response:
    alert_sources.deactivate_source(session, actor, alert_sources.get_source(session, actor, source_id))
    return redirect(request, "/intake/sources", flash="Alert source switched off.")


# -- API: signals -----------------------------------------------------------------------------------------------


def _detail(session: SessionDep, actor: ActorDep, signal: Signal) -> SignalDetailOut:
    base = SignalOut.model_validate(signal).model_dump()
    extra = {
        k: getattr(signal, k)
        for k in (
            "text",
            "raw_payload",
            "raw_content_type",
            "attribution",
            "severity_reasons",
            "dismiss_reason",
            "reporter_name",
            "reporter_contact",
            "anonymous",
            "similarity",
        )
    }
    return SignalDetailOut(
        **base,
        **extra,
        decisions=[DecisionOut.model_validate(d) for d in service.decisions_for(session, actor, signal)],
        additions=[AdditionOut.model_validate(a) for a in service.additions_of(session, signal)],
    )


@api.get("/signals")
def api_signals(
    session: SessionDep,
    actor: ActorDep,
    response: Response,
    state: Annotated[str | None, Query(max_length=30, description="new (default), all, or a state")] = None,
    source: Annotated[str | None, Query(max_length=30)] = None,
    severity: Annotated[str | None, Query(max_length=10)] = None,
    assignee: Annotated[str | None, Query(max_length=20)] = None,
    relevant: bool = False,
    q: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[str, Query(max_length=20)] = "severity",
    collapse: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    clustering: Annotated[str | None, Query(max_length=10, description="pending or placed")] = None,
) -> list[SignalOut]:
    """The triage queue. `collapse=true` gives one row per cluster (its most pressing signal);
    `clustering=pending` only signals the worker has not clustered yet."""
    rows, total = service.queue(
        session,
        actor,
        _filters(actor, state, source, severity, assignee, relevant, q, sort, collapse, clustering),
        page=page,
        page_size=page_size,
    )
    response.headers["X-Total-Count"] = str(total)
    return [SignalOut.model_validate(r.signal) for r in rows]


@api.post("/signals", response_model=SignalDetailOut, status_code=201)
def api_create_signal(body: ManualSignalIn, session: SessionDep, actor: ActorDep) -> SignalDetailOut:
    return _detail(session, actor, service.create_manual(session, actor, body))


@api.get("/signals/{signal_id}", response_model=SignalDetailOut)
def api_signal(signal_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> SignalDetailOut:
    return _detail(session, actor, service.get_signal(session, actor, signal_id))


@api.get("/signals/{signal_id}/messages", response_model=list[ThreadMessageOut])
def api_messages(signal_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> list[ThreadMessageOut]:
    """The conversation with the reporter, internal notes included (the reporter never sees those)."""
    signal = service.get_signal(session, actor, signal_id)
    return [ThreadMessageOut.model_validate(m) for m in thread.lab_messages(session, signal)]


@api.post("/signals/{signal_id}/messages", response_model=ThreadMessageOut, status_code=201)
def api_post_message(
    signal_id: uuid.UUID,
    body: AnswerIn,
    session: SessionDep,
    actor: ActorDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Answer the reporter (shown on their status page, e-mailed when they left an address) or, with
    `internal`, write a note for the team."""
    signal = service.get_signal(session, actor, signal_id)

    def create() -> tuple[int, dict[str, Any]]:
        message = thread.post(session, actor, signal, body.body, internal=body.internal)
        return 201, ThreadMessageOut.model_validate(message).model_dump(mode="json")

    status, payload, _ = run_idempotent(
        session,
        scope=f"user:{actor.user_id}:intake.thread.post",
        key=idempotency_key,
        payload={"signal": str(signal.id), **body.model_dump(mode="json")},
        create=create,
    )
    return JSONResponse(payload, status_code=status)


@api.post("/signals/{signal_id}/assign", response_model=SignalOut)
def api_assign(signal_id: uuid.UUID, body: AssignIn, session: SessionDep, actor: ActorDep) -> SignalOut:
    signal = service.assign(session, actor, service.get_signal(session, actor, signal_id), body.assignee_id)
    return SignalOut.model_validate(signal)


@api.post("/signals/{signal_id}/dismiss", response_model=list[SignalOut])
def api_dismiss(signal_id: uuid.UUID, body: DismissIn, session: SessionDep, actor: ActorDep) -> list[SignalOut]:
    done = service.dismiss(session, actor, service.get_signal(session, actor, signal_id), body)
    return [SignalOut.model_validate(s) for s in done]


@api.post("/signals/{signal_id}/duplicate", response_model=SignalOut)
def api_duplicate(signal_id: uuid.UUID, body: DuplicateIn, session: SessionDep, actor: ActorDep) -> SignalOut:
    signal = service.mark_duplicate(session, actor, service.get_signal(session, actor, signal_id), body.duplicate_of)
    return SignalOut.model_validate(signal)


@api.post("/signals/{signal_id}/reopen", response_model=SignalOut)
def api_reopen(signal_id: uuid.UUID, body: ReopenIn, session: SessionDep, actor: ActorDep) -> SignalOut:
    signal = service.reopen(session, actor, service.get_signal(session, actor, signal_id), body.reason)
    return SignalOut.model_validate(signal)


@api.post("/signals/{signal_id}/promote-incident", response_model=PromotionOut)
def api_promote_incident(
    signal_id: uuid.UUID, body: PromoteIncidentIn, session: SessionDep, actor: ActorDep
) -> PromotionOut:
    """Open an incident from the signal, or bring it into an existing one (`incident_id`); the signal
    is added to the incident's timeline with source "intake:signal:<id>"."""
    done = service.promote_to_incident(session, actor, service.get_signal(session, actor, signal_id), body)
    return PromotionOut(
        signal=SignalOut.model_validate(done.signals[0]),
        incident_id=done.incident_id,
        incident_reference=done.incident_reference,
    )


@api.post("/signals/{signal_id}/promote-exchange", response_model=PromotionOut)
def api_promote_exchange(
    signal_id: uuid.UUID, body: PromoteExchangeIn, session: SessionDep, actor: ActorDep
) -> PromotionOut:
    done = service.promote_to_exchange(session, actor, service.get_signal(session, actor, signal_id), body)
    return PromotionOut(signal=SignalOut.model_validate(done.signals[0]), exchange_item_id=done.exchange_item_id)


# -- API: clusters and reviews ------------------------------------------------------------------------------------


@api.get("/clusters/{cluster_id}", response_model=ClusterDetailOut)
def api_cluster(cluster_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> ClusterDetailOut:
    cluster = service.get_cluster(session, actor, cluster_id)
    return ClusterDetailOut(
        **ClusterOut.model_validate(cluster).model_dump(),
        signals=[SignalOut.model_validate(s) for s in service.cluster_signals(session, actor, cluster)],
    )


@api.post("/clusters/merge", response_model=ClusterOut)
def api_merge(body: MergeIn, session: SessionDep, actor: ActorDep) -> ClusterOut:
    return ClusterOut.model_validate(service.merge_clusters(session, actor, body))


@api.post("/clusters/{cluster_id}/split", response_model=ClusterOut, status_code=201)
def api_split(cluster_id: uuid.UUID, body: SplitIn, session: SessionDep, actor: ActorDep) -> ClusterOut:
    new = service.split_cluster(session, actor, service.get_cluster(session, actor, cluster_id), body)
    return ClusterOut.model_validate(new)


@api.get("/reviews", response_model=list[DecisionOut])
def api_reviews(session: SessionDep, actor: ActorDep) -> list[DecisionOut]:
    """Automatic decisions sampled for a person to confirm or undo."""
    return [DecisionOut.model_validate(d) for d in service.review_queue(session, actor, limit=200)]


@api.post("/decisions/{decision_id}/review", response_model=DecisionOut)
def api_review(decision_id: uuid.UUID, body: ReviewIn, session: SessionDep, actor: ActorDep) -> DecisionOut:
    return DecisionOut.model_validate(service.review(session, actor, decision_id, body))


def _match_out(m: MatchSuggestion) -> MatchOut:
    return MatchOut(
        signal_id=m.signal_id,
        answer="known" if m.known else "new",
        cluster_id=m.cluster_id,
        matched_signal_id=m.matched_signal_id,
        incident_id=m.incident_id,
        score=m.score,
        reason=m.reason,
        verdict=m.verdict.value,
        decided_at=m.decided_at,
    )


@api.get("/signals/{signal_id}/match", response_model=MatchOut)
def api_match(signal_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> MatchOut:
    """Known or new: the cluster this signal most likely belongs to, with its score and reason."""
    signal = service.get_signal(session, actor, signal_id)
    match = calibration.suggestion_for(session, actor, signal)
    if match is None:
        return MatchOut(
            signal_id=signal.id,
            answer="new",
            cluster_id=None,
            matched_signal_id=None,
            incident_id=None,
            score=0.0,
            reason="No stored signal shares its rarer words or URL.",
            verdict="pending",
            decided_at=None,
        )
    return _match_out(match)


@api.post("/signals/{signal_id}/match/accept", response_model=MatchOut)
def api_match_accept(signal_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> MatchOut:
    return _match_out(calibration.decide(session, actor, signal_id, accept=True))


@api.post("/signals/{signal_id}/match/reject", response_model=MatchOut)
def api_match_reject(signal_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> MatchOut:
    return _match_out(calibration.decide(session, actor, signal_id, accept=False))


def _calibration_out(report: calibration.CalibrationReport) -> CalibrationOut:
    def point(p: calibration.Point | None) -> CalibrationPointOut | None:
        return None if p is None else CalibrationPointOut.model_validate(p, from_attributes=True)

    return CalibrationOut(
        cluster_threshold=report.cluster_threshold,
        known_threshold=report.known_threshold,
        embedded=report.embedded,
        decided=report.decided,
        accepted=report.accepted,
        rejected=report.rejected,
        at_threshold=point(report.at_threshold),
        best=point(report.best),
        grid=[CalibrationPointOut.model_validate(p, from_attributes=True) for p in report.grid],
    )


@api.get("/calibration", response_model=CalibrationOut)
def api_calibration(session: SessionDep, actor: ActorDep) -> CalibrationOut:
    """The org's thresholds and how "known" at each would have fared against its accepted/rejected suggestions."""
    return _calibration_out(calibration.calibration(session, actor))


@api.put("/thresholds", response_model=CalibrationOut)
def api_thresholds(body: ThresholdsIn, session: SessionDep, actor: ActorDep) -> CalibrationOut:
    calibration.set_thresholds(
        session, actor, cluster=body.cluster_threshold, known=body.known_threshold, reset=body.reset
    )
    return _calibration_out(calibration.calibration(session, actor))


# -- API: sources -----------------------------------------------------------------------------------------------


def _settings_out(session: SessionDep, actor: ActorDep, settings: Settings) -> IntakeSettingsOut:
    row = sources.settings_for(session, actor.org_id)
    return IntakeSettingsOut(
        public_form_enabled=row.public_form_enabled,
        intro=row.intro,
        allow_anonymous=row.allow_anonymous,
        min_fill_seconds=row.min_fill_seconds,
        model_names=row.model_names,
        public_form_url=f"{settings.public_base_url.rstrip('/')}/report/{queries.own_org(session, actor).slug}",
    )


@api.get("/settings", response_model=IntakeSettingsOut)
def api_settings(session: SessionDep, actor: ActorDep, settings: SettingsDep) -> IntakeSettingsOut:
    if not actor.can(Permission.intake_signal_read):
        raise NotFound()
    return _settings_out(session, actor, settings)


@api.patch("/settings", response_model=IntakeSettingsOut)
def api_update_settings(
    body: IntakeSettingsIn, session: SessionDep, actor: ActorDep, settings: SettingsDep
) -> IntakeSettingsOut:
    sources.update_settings(session, actor, body)
    return _settings_out(session, actor, settings)


@api.get("/feeds", response_model=list[FeedOut])
def api_feeds(session: SessionDep, actor: ActorDep) -> list[FeedOut]:
    return [FeedOut.model_validate(f) for f in queries.feeds(session, actor)]


@api.post("/feeds", response_model=FeedOut, status_code=201)
def api_add_feed(body: FeedIn, session: SessionDep, actor: ActorDep) -> FeedOut:
    return FeedOut.model_validate(sources.add_feed(session, actor, body))


@api.patch("/feeds/{feed_id}", response_model=FeedOut)
def api_feed_active(feed_id: uuid.UUID, body: FeedActiveIn, session: SessionDep, actor: ActorDep) -> FeedOut:
    feed = sources.set_feed_active(session, actor, sources.get_feed(session, actor, feed_id), body.active)
    return FeedOut.model_validate(feed)


@api.post("/feeds/{feed_id}/poll", status_code=202)
def api_poll_feed(feed_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> dict[str, str]:
    sources.poll_now(session, actor, sources.get_feed(session, actor, feed_id))
    return {"status": "queued"}


def _source_out(source: AlertSource, settings: Settings) -> dict[str, Any]:
    return {
        "id": source.id,
        "name": source.name,
        "format": source.format,
        "active": source.active,
        "created_at": source.created_at,
        "last_received_at": source.last_received_at,
        "received_count": source.received_count,
        "webhook_url": f"{settings.public_base_url.rstrip('/')}/api/v1/intake/alerts/{source.id}",
    }


@api.get("/alert-sources", response_model=list[AlertSourceOut])
def api_alert_sources(session: SessionDep, actor: ActorDep, settings: SettingsDep) -> list[AlertSourceOut]:
    rows = queries.alert_sources(session, actor)
    return [AlertSourceOut(**_source_out(s, settings)) for s in rows]


@api.post("/alert-sources", response_model=AlertSourceCreatedOut, status_code=201)
def api_add_alert_source(
    body: AlertSourceIn, session: SessionDep, actor: ActorDep, settings: SettingsDep
) -> AlertSourceCreatedOut:
    """Create a source. The HMAC secret and the bearer secret are returned once."""
    source, bearer = alert_sources.create_source(session, actor, name=body.name, format=body.format)
    return AlertSourceCreatedOut(**_source_out(source, settings), hmac_secret=source.hmac_secret, bearer_secret=bearer)


@api.delete("/alert-sources/{source_id}", status_code=204)
def api_deactivate_alert_source(source_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    alert_sources.deactivate_source(session, actor, alert_sources.get_source(session, actor, source_id))
    return Response(status_code=204)


routers = [*public_routers, api, pages]  # the public endpoints take the volume (see web.app.ROUTE_MODULES)

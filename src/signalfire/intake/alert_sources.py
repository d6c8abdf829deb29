"""Monitoring alerts: alert sources, their credentials, and turning a webhook delivery into a signal.

One signal per alert *group*: Alertmanager re-sends a group on every group/repeat interval with the
same ``groupKey``, and a generic sender re-sends a condition with the same ``dedup_key``; each
re-send updates that signal (payload, per-alert status, counters) instead of adding another. When
every alert of the group is resolved the signal says so; if a dismissed group fires again, the
signal goes back to the queue, with an automatic decision saying why.

Authentication is per source: an HMAC signature (``X-Signalfire-Signature: t=..,v1=..``, replays
refused by remembering accepted signatures for the tolerance window) for every source, and for
Alertmanager sources, which cannot sign, a bearer secret (``http_config.authorization``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.intake import readable_alert_sources
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import (
    AppError,
    Conflict,
    FieldError,
    NotFound,
    Unauthorized,
    ValidationFailed,
    loc_to_field,
)
from signalfire.intake.alerts import (
    DEFAULT_TOLERANCE,
    AlertmanagerWebhook,
    AlertSignatureError,
    GenericAlert,
    verify_signature,
)
from signalfire.intake.ingest import Incoming, find_by_dedupe_key
from signalfire.intake.ingest import receive as receive_signal
from signalfire.intake.models import (
    AlertFormat,
    AlertSource,
    Decision,
    DecisionKind,
    Signal,
    SourceKind,
    TriageState,
)
from signalfire.intake.scoring import likely_severity

MAX_ALERTS_IN_TEXT = 50


# -- sources ------------------------------------------------------------------------------------------


def create_source(session: Session, actor: Actor, *, name: str, format: AlertFormat) -> tuple[AlertSource, str]:
    """A new source and its bearer secret (shown once; only its hash is kept)."""
    require(actor, Permission.intake_source_manage)
    bearer = "sfa_" + secrets.token_urlsafe(32)
    source = AlertSource(
        id=uuid.uuid4(),
        org_id=actor.org_id,
        name=name.strip(),
        format=format,
        hmac_secret=secrets.token_urlsafe(32),
        bearer_digest=_digest(bearer),
        active=True,
        created_at=utcnow(),
    )
    session.add(source)
    session.flush()
    record(
        session,
        action="intake.alert_source.create",
        target_type="intake_alert_source",
        target_id=source.id,
        actor=actor,
        summary={"name": source.name, "format": format},
    )
    return source, bearer


def get_source(session: Session, actor: Actor, source_id: uuid.UUID) -> AlertSource:
    return first_or_404(
        session, readable_alert_sources(actor).where(AlertSource.id == source_id), "No such alert source."
    )


def deactivate_source(session: Session, actor: Actor, source: AlertSource) -> None:
    require(actor, Permission.intake_source_manage)
    source.active = False
    record(
        session,
        action="intake.alert_source.deactivate",
        target_type="intake_alert_source",
        target_id=source.id,
        actor=actor,
        summary={"name": source.name},
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# -- receiving ----------------------------------------------------------------------------------------


def authenticate(
    session: Session,
    source_id: uuid.UUID,
    *,
    body: bytes,
    authorization: str | None,
    signature: str | None,
    timestamp: str | None,
    now: datetime,
) -> AlertSource:
    """The active source the request is for, or a 401/404/409 saying what is wrong."""
    source = session.get(AlertSource, source_id)
    if source is None or not source.active:
        raise NotFound("No such alert source.")
    if signature:
        try:
            ts = verify_signature(source.hmac_secret, body, signature, timestamp, now=now, tolerance=DEFAULT_TOLERANCE)
        except AlertSignatureError as exc:
            raise Unauthorized(f"Signature refused ({exc.reason.value}): {exc.detail}.") from None
        _remember(session, source, hashlib.sha256(f"{ts}.{signature}".encode()).hexdigest(), now)
        return source
    if source.format is AlertFormat.alertmanager and authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(_digest(value.strip()), source.bearer_digest):
            return source
        raise Unauthorized("Wrong bearer secret for this alert source.")
    if source.format is AlertFormat.alertmanager:
        raise Unauthorized("Send the source's bearer secret (Authorization: Bearer ...) or an X-Signalfire-Signature.")
    raise Unauthorized("This source needs an X-Signalfire-Signature header (HMAC-SHA256, t=<unix>,v1=<hex>).")


def _remember(session: Session, source: AlertSource, mac: str, now: datetime) -> None:
    from signalfire.intake.models import WebhookDelivery

    try:
        with session.begin_nested():
            session.add(WebhookDelivery(source_id=source.id, mac=mac, received_at=now))
    except IntegrityError:
        raise Conflict(
            "This signed delivery was already received (replay refused). Sign each delivery anew.",
            slug="webhook-replayed",
        ) from None


def prune_deliveries(session: Session, now: datetime) -> int:
    from signalfire.intake.models import WebhookDelivery

    cutoff = now - 2 * DEFAULT_TOLERANCE
    result = session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.received_at < cutoff).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def parse_body(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise AppError(
            detail="The body is not UTF-8 text.", status=400, title="Malformed body", slug="malformed-body"
        ) from None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise AppError(
            detail="The request body is not valid JSON.", status=400, title="Malformed JSON", slug="malformed-json"
        ) from None


def _invalid(exc: ValidationError) -> ValidationFailed:
    errors = [
        FieldError(loc_to_field(tuple(e.get("loc", ()))), str(e.get("msg", "invalid"))) for e in exc.errors()[:20]
    ]
    return ValidationFailed(errors, detail=f"Malformed alert payload: {', '.join(e.field for e in errors)}.")


def receive(session: Session, source: AlertSource, payload: Any, *, now: datetime) -> tuple[Signal, bool]:
    """Create or update the signal for this alert group. Returns (signal, created)."""
    if not isinstance(payload, dict):
        raise ValidationFailed.single("body", "expected a JSON object")
    try:
        if source.format is AlertFormat.alertmanager:
            group = _from_alertmanager(AlertmanagerWebhook.model_validate(payload))
        else:
            group = _from_generic(GenericAlert.model_validate(payload))
    except ValidationError as exc:
        raise _invalid(exc) from None
    source.last_received_at = now
    source.received_count += 1
    key = f"alert:{source.id}:{hashlib.sha256(group['key'].encode()).hexdigest()[:40]}"
    signal = find_by_dedupe_key(session, source.org_id, key)
    if signal is None:
        try:
            with session.begin_nested():
                signal = _create(session, source, key, group, payload, now)
            return signal, True
        except IntegrityError:  # the same group arrived twice at once; the other delivery created it
            signal = find_by_dedupe_key(session, source.org_id, key)
            if signal is None:
                raise
    _update(session, signal, group, payload, now)
    return signal, False


def _from_alertmanager(webhook: AlertmanagerWebhook) -> dict[str, Any]:
    alerts = {
        a.stable_key: {
            "status": a.status,
            "summary": a.summary,
            "labels": dict(a.labels),
            "starts_at": a.starts_at.isoformat(),
            "ends_at": a.ends_at.isoformat() if a.ends_at else None,
        }
        for a in webhook.alerts
    }
    name = webhook.common_labels.get("alertname") or webhook.group_labels.get("alertname") or webhook.receiver
    summary = webhook.common_annotations.get("summary") or (webhook.alerts[0].summary if webhook.alerts else "")
    title = summary or name or "Alertmanager alert group"
    labels = {**webhook.group_labels, **webhook.common_labels}
    return {
        "key": webhook.group_key,
        "title": title,
        "status": webhook.status,
        "alerts": alerts,
        "labels": labels,
        "description": webhook.common_annotations.get("description", ""),
        "url": webhook.external_url or None,
    }


def _from_generic(alert: GenericAlert) -> dict[str, Any]:
    alerts: dict[str, dict[str, Any]] = {
        alert.dedup_key: {
            "status": alert.status,
            "summary": alert.title,
            "labels": {},
            "starts_at": alert.occurred_at.isoformat(),
            "ends_at": None,
        }
    }
    detail_text = alert.details.get("description") if isinstance(alert.details.get("description"), str) else ""
    return {
        "key": f"{alert.source}:{alert.dedup_key}",
        "title": alert.title,
        "status": alert.status,
        "alerts": alerts,
        "labels": {"severity": alert.severity, "source": alert.source},
        "description": detail_text or "",
        "url": None,
    }


def _text(group: dict[str, Any], alerts: dict[str, dict[str, Any]]) -> str:
    lines = [group["description"]] if group["description"] else []
    labels = ", ".join(f"{k}={v}" for k, v in sorted(group["labels"].items()))
    if labels:
        lines.append(f"Labels: {labels}")
    for key, a in list(alerts.items())[:MAX_ALERTS_IN_TEXT]:
        lines.append(f"[{a['status']}] {a['summary']} (since {a['starts_at']}; {key[:16]})")
    if len(alerts) > MAX_ALERTS_IN_TEXT:
        lines.append(f"... and {len(alerts) - MAX_ALERTS_IN_TEXT} more alerts")
    return "\n".join(lines)


def _group_status(alerts: dict[str, dict[str, Any]]) -> str:
    return "firing" if any(a["status"] == "firing" for a in alerts.values()) else "resolved"


def _create(
    session: Session, source: AlertSource, key: str, group: dict[str, Any], payload: Any, now: datetime
) -> Signal:
    alerts = group["alerts"]
    # Acknowledged after one insert; an alert storm is clustered by the worker in batches.
    return receive_signal(
        session,
        Incoming(
            org_id=source.org_id,
            source_kind=SourceKind.monitoring_alert,
            title=group["title"],
            text=_text(group, alerts),
            url=group["url"],
            dedupe_key=key,
            alert_source_id=source.id,
            raw_payload={"last": payload, "alerts": alerts, "source": source.name},
            raw_content_type="application/json",
            alert_labels=group["labels"],
            alert_status=_group_status(alerts),
            received_at=now,
            dedup_text="\n".join([group["description"], *(a["summary"] for a in alerts.values())]),
        ),
        actor_label=f"alert source {source.name}",
    )


def _update(session: Session, signal: Signal, group: dict[str, Any], payload: Any, now: datetime) -> None:
    known: dict[str, dict[str, Any]] = dict(signal.raw_payload.get("alerts") or {})
    known.update(group["alerts"])  # a resolved notification closes exactly the alerts it names
    before = signal.alert_status
    status = _group_status(known)
    signal.raw_payload = {**signal.raw_payload, "last": payload, "alerts": known}
    signal.text = _text(group, known)[:100_000]
    signal.alert_status = status
    signal.update_count += 1
    signal.updated_at = now
    guess = likely_severity(f"{signal.title}\n{signal.text}", alert_labels=group["labels"])
    if guess.severity.rank < signal.likely_severity.rank:
        signal.likely_severity, signal.severity_reasons = guess.severity, guess.reasons
    if before == status:
        return  # a plain re-send: counted, not a decision
    reason = f"Alert group {status}."
    if status == "firing" and signal.state in (TriageState.dismissed, TriageState.duplicate):
        signal.state = TriageState.new
        signal.dismiss_reason = None
        signal.duplicate_of_id = None
        signal.decided_at = None
        reason = "Alert group fired again after it was resolved; back in the queue."
    session.add(
        Decision(
            org_id=signal.org_id,
            signal_id=signal.id,
            cluster_id=signal.cluster_id,
            kind=DecisionKind.reopened if "queue" in reason else DecisionKind.alert_updated,
            automatic=True,
            actor_label="Signalfire intake",
            reason=reason,
            at=now,
            data={"from": before, "to": status},
        )
    )
    record(
        session,
        action="intake.alert.status",
        target_type="intake_signal",
        target_id=signal.id,
        org_id=signal.org_id,
        actor_label="Signalfire intake",
        summary={"reference": signal.reference, "from": before, "to": status},
    )

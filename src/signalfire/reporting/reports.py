"""Reports: a draft per obligation, prefilled from the incident, edited by the reporter, checked against
the regime's required fields for its stage, and frozen on submission.

Submission stores the exact content sent as a version with its sha256, writes the audit entry, delivers
it to the authority orgs bound to the regime's recipients, and closes the obligation. Editing a
submitted report starts an amendment; submitting it again adds a version that names the hash it amends.

Incomplete is normal in initial reports (Code of Practice M9.2, AI Act Art. 73(5), CAC Art. 7(2)):
there a field may be marked preliminary, and a preliminary field may even be left empty to say "not yet
known", unless the regime lists it among the minimum fields. Later reports may not be preliminary.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, Role
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.reporting import readable_report_versions, readable_reports
from signalfire.audit.chain import jsonable, record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from signalfire.notify.outbox import enqueue_email, publish_event
from signalfire.reporting.bindings import bindings_for
from signalfire.reporting.events import CLOCK_SKEW
from signalfire.reporting.facts import get_incident, incident_facts
from signalfire.reporting.models import (
    Delivery,
    Obligation,
    ObligationStatus,
    Report,
    ReportStatus,
    ReportVersion,
)
from signalfire.reporting.obligations import get_obligation, mark_submitted, recipients_of, sync_incident
from signalfire.reporting.prefill import PrefillContext, prefill
from signalfire.reporting.rules import catalog
from signalfire.reporting.rules.regime_schema import Regime
from signalfire.response.models import Incident

# Every report may carry this optional free text after the regime's own fields.
NOTES_FIELD = "additional_information"
NOTES_LABEL = "Additional information"
MAX_FIELD = 20_000
CONTENT_SCHEMA = "signalfire.reporting.report/1"


@dataclass(frozen=True)
class FieldValue:
    value: str
    preliminary: bool = False


def get_report(session: Session, actor: Actor, report_id: uuid.UUID) -> Report:
    return first_or_404(session, readable_reports(actor).where(Report.id == report_id), "No such report.")


def report_for(session: Session, obligation_id: uuid.UUID) -> Report | None:
    return session.execute(select(Report).where(Report.obligation_id == obligation_id)).scalars().first()


def field_label(regime: Regime, field_id: str) -> str:
    if field_id == NOTES_FIELD:
        return NOTES_LABEL
    try:
        return regime.field(field_id).label
    except KeyError:
        return field_id


def start_report(session: Session, actor: Actor, obligation_id: uuid.UUID) -> Report:
    """The obligation's report: the existing one, or a new draft prefilled from the incident."""
    obligation = get_obligation(session, actor, obligation_id)
    require(actor, Permission.reporting_report_write)
    existing = report_for(session, obligation.id)
    if existing is not None:
        return existing
    if obligation.status in (ObligationStatus.waived, ObligationStatus.superseded):
        raise Conflict(
            f"This obligation is {obligation.status.value}; no report is owed for it.", slug="obligation-closed"
        )
    incident = get_incident(session, actor, obligation.incident_id)
    regime = catalog.get(obligation.regime_id, obligation.regime_version)
    org = session.get(Organization, actor.org_id)
    assert org is not None
    values = prefill(
        regime,
        list(obligation.required_fields),
        incident_facts(session, actor, incident),
        PrefillContext(org.name, f"{actor.display_name} <{actor.email}>"),
    )
    fields = {fid: {"value": v, "preliminary": False} for fid, v in values.items()}
    fields[NOTES_FIELD] = {"value": "", "preliminary": False}
    report = Report(
        org_id=obligation.org_id,
        incident_id=obligation.incident_id,
        obligation_id=obligation.id,
        regime_id=obligation.regime_id,
        regime_version=obligation.regime_version,
        class_id=obligation.class_id,
        stage=obligation.stage,
        status=ReportStatus.draft,
        fields=fields,
        created_by=actor.user_id,
        updated_by_label=actor.display_name,
    )
    session.add(report)
    session.flush()
    obligation.report_id = report.id
    record(
        session,
        action="reporting.report.draft",
        target_type="reporting_report",
        target_id=report.id,
        actor=actor,
        summary={
            "reference": incident.reference,
            "regime": report.regime_id,
            "stage": report.stage,
            "class": report.class_id,
            "prefilled": sorted(k for k, v in values.items() if v),
        },
    )
    return report


def save_draft(session: Session, actor: Actor, report_id: uuid.UUID, values: Mapping[str, FieldValue]) -> Report:
    """Change draft fields. Editing a submitted report starts an amendment."""
    report = get_report(session, actor, report_id)
    require(actor, Permission.reporting_report_write)
    regime = catalog.get(report.regime_id, report.regime_version)
    initial_kind = catalog.is_initial_kind(regime, report.stage)
    errors: list[FieldError] = []
    for fid, fv in values.items():
        if fid not in report.fields:
            errors.append(FieldError(f"fields.{fid}", "not a field of this report"))
        elif len(fv.value) > MAX_FIELD:
            errors.append(FieldError(f"fields.{fid}", f"at most {MAX_FIELD} characters"))
        elif fv.preliminary and not initial_kind:
            errors.append(FieldError(f"fields.{fid}.preliminary", "only initial reports may mark fields preliminary"))
    if errors:
        raise ValidationFailed(errors)
    fields = {k: dict(v) for k, v in report.fields.items()}
    changed = []
    for fid, fv in values.items():
        new = {"value": fv.value.strip(), "preliminary": bool(fv.preliminary and fid != NOTES_FIELD)}
        if fields[fid] != new:
            fields[fid] = new
            changed.append(fid)
    amending = report.status is ReportStatus.submitted
    if not changed and not amending:
        return report
    report.fields = fields
    report.status = ReportStatus.draft
    report.updated_at = utcnow()
    report.updated_by_label = actor.display_name
    record(
        session,
        action="reporting.report.amend" if amending else "reporting.report.edit",
        target_type="reporting_report",
        target_id=report.id,
        actor=actor,
        summary={"fields": changed},
    )
    return report


def missing_fields(regime: Regime, report: Report, obligation: Obligation) -> list[FieldError]:
    """Each required field that stops submission, named."""
    initial_kind = catalog.is_initial_kind(regime, report.stage)
    incomplete_ok = initial_kind and regime.reports.initial.incomplete_allowed
    minimum = set(regime.reports.initial.minimum_fields) if report.stage == "initial" else set()
    errors = []
    for fid in obligation.required_fields:
        entry = report.fields.get(fid) or {}
        value = str(entry.get("value") or "").strip()
        if value:
            continue
        if incomplete_ok and entry.get("preliminary") and fid not in minimum:
            continue  # "not yet known", said openly
        hint = " (or mark it preliminary: not yet known)" if incomplete_ok and fid not in minimum else ""
        errors.append(
            FieldError(
                f"fields.{fid}",
                f"{field_label(regime, fid)} is required for the {report.stage} report under {regime.id}{hint}",
            )
        )
    return errors


def content_hash(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def build_content(
    *,
    regime: Regime,
    report: Report,
    obligation: Obligation,
    incident: Incident,
    org: Organization,
    actor: Actor,
    recipients: list[dict[str, Any]],
    number: int,
    amends: str | None,
    now: datetime,
    outside: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What is sent, in the regime's structure: its fields for this stage, in the file's order."""
    cls_label, cls_source = obligation.class_id, regime.source
    try:
        cls = regime.incident_class(obligation.class_id)
        cls_label, cls_source = cls.label, cls.source
    except KeyError:
        pass
    fields = []
    for fid in [*obligation.required_fields, NOTES_FIELD]:
        entry = report.fields.get(fid) or {}
        source = regime.field(fid).source if fid != NOTES_FIELD else ""
        fields.append(
            {
                "id": fid,
                "label": field_label(regime, fid),
                "source": source,
                "required": fid != NOTES_FIELD,
                "value": str(entry.get("value") or ""),
                "preliminary": bool(entry.get("preliminary")),
            }
        )
    return jsonable(
        {
            "schema": CONTENT_SCHEMA,
            "regime": {"id": regime.id, "version": regime.version, "title": regime.title, "source": regime.source},
            "stage": {
                "id": report.stage,
                "label": catalog.stage_label(regime, report.stage),
                "source": catalog.stage_rule_source(regime, report.stage),
            },
            "class": {"id": obligation.class_id, "label": cls_label, "source": cls_source},
            "incident": {"reference": incident.reference, "title": incident.title},
            "submitter": {"org": org.name, "person": actor.display_name, "email": actor.email},
            "recipients": recipients,
            "deadline": {
                "start_event": obligation.start_event,
                "start_at": obligation.start_at,
                "due_at": obligation.due_at,
                "due_reading": obligation.due_reading,
                "alt_due_at": obligation.alt_due_at,
                "legal_due_at": obligation.legal_due_at,
                "target_at": obligation.target_at,
                "target_basis": obligation.target_basis,
                "basis": obligation.basis,
            },
            "fields": fields,
            "version": number,
            "amends": amends,
            "submitted_at": now,
            **({"filed_outside": outside} if outside else {}),
        }
    )


CHANNELS = ("signalfire", "email", "portal", "post", "other")
MAX_EVIDENCE = 5000


@dataclass(frozen=True)
class OutsideFiling:
    """A filing made outside Signalfire (by e-mail, an authority's portal ...): when it was really made,
    how, and what shows it. Recorded here with that time; nothing is delivered again."""

    at: datetime
    channel: str
    authority_reference: str = ""
    evidence: str = ""


def _check_outside(filing: OutsideFiling, incident: Incident, now: datetime) -> OutsideFiling:
    errors: list[FieldError] = []
    if filing.channel not in CHANNELS or filing.channel == "signalfire":
        errors.append(FieldError("channel", f"How it was filed: one of {', '.join(CHANNELS[1:])}."))
    if filing.at.tzinfo is None or filing.at.utcoffset() is None:
        errors.append(FieldError("filed_at", "The time must include a time zone (UTC)."))
    elif filing.at > now + CLOCK_SKEW:
        errors.append(FieldError("filed_at", "The filing time is in the future."))
    elif filing.at < incident.aware_at - CLOCK_SKEW:
        errors.append(
            FieldError(
                "filed_at",
                f"The filing cannot come before the org knew of the incident ({incident.aware_at:%Y-%m-%d %H:%M} UTC).",
            )
        )
    reference, evidence = filing.authority_reference.strip(), filing.evidence.strip()
    if not reference and not evidence:
        errors.append(
            FieldError("evidence", "Give the authority's reference or what shows the filing (the e-mail, a receipt).")
        )
    if len(reference) > 300:
        errors.append(FieldError("authority_reference", "At most 300 characters."))
    if len(evidence) > MAX_EVIDENCE:
        errors.append(FieldError("evidence", f"At most {MAX_EVIDENCE} characters."))
    if errors:
        raise ValidationFailed(errors)
    return OutsideFiling(filing.at.astimezone(UTC), filing.channel, reference, evidence)


def submit(
    session: Session,
    actor: Actor,
    report_id: uuid.UUID,
    *,
    now: datetime | None = None,
    outside: OutsideFiling | None = None,
) -> ReportVersion:
    """Freeze and send the report. With ``outside``, record a filing already made by other means at its
    real time (the obligation is judged against that time; nothing is delivered through Signalfire)."""
    report = get_report(session, actor, report_id)
    require(actor, Permission.reporting_report_submit)
    if report.status is ReportStatus.submitted:
        raise Conflict("This version is already submitted; edit the report to amend it.", slug="already-submitted")
    obligation = session.get(Obligation, report.obligation_id)
    assert obligation is not None
    if obligation.status in (ObligationStatus.waived, ObligationStatus.superseded):
        raise Conflict(
            f"The obligation was {obligation.status.value}: {obligation.closed_reason}", slug="obligation-closed"
        )
    regime = catalog.get(report.regime_id, report.regime_version)
    errors = missing_fields(regime, report, obligation)
    if errors:
        raise ValidationFailed(
            errors,
            detail="Required fields are missing: " + ", ".join(e.field.removeprefix("fields.") for e in errors) + ".",
        )
    now = now or utcnow()
    incident = get_incident(session, actor, report.incident_id)
    if outside is not None:
        outside = _check_outside(outside, incident, now)
    filed_at = outside.at if outside is not None else now
    org = session.get(Organization, actor.org_id)
    assert org is not None
    bound = bindings_for(session, regime.id)
    authority_names = {
        o.id: o.name
        for o in session.execute(select(Organization).where(Organization.id.in_(set(bound.values())))).scalars()
    }
    recipients = [
        {
            "id": r,
            "name": catalog.recipient_name(regime, r),
            # A filing made elsewhere went by its own channel: nothing is delivered here.
            "delivered_to": authority_names.get(bound[r]) if r in bound and outside is None else None,
        }
        for r in obligation.recipients
    ]
    previous = session.execute(
        select(ReportVersion.content_hash)
        .where(ReportVersion.report_id == report.id)
        .order_by(ReportVersion.number.desc())
        .limit(1)
    ).scalar_one_or_none()
    number = report.version_count + 1
    content = build_content(
        regime=regime,
        report=report,
        obligation=obligation,
        incident=incident,
        org=org,
        actor=actor,
        recipients=recipients,
        number=number,
        amends=previous,
        now=filed_at,
        outside=(
            {
                "channel": outside.channel,
                "authority_reference": outside.authority_reference,
                "evidence": outside.evidence,
                "recorded_at": now,
            }
            if outside is not None
            else None
        ),
    )
    version = ReportVersion(
        report_id=report.id,
        org_id=report.org_id,
        incident_id=report.incident_id,
        number=number,
        content=content,
        content_hash=content_hash(content),
        submitted_at=filed_at,
        recorded_at=now,
        channel=outside.channel if outside is not None else "signalfire",
        authority_reference=outside.authority_reference if outside is not None else "",
        evidence=outside.evidence if outside is not None else "",
        submitted_by=actor.user_id,
        submitted_by_label=actor.display_name,
    )
    session.add(version)
    report.version_count = number
    report.status = ReportStatus.submitted
    if obligation.is_open:
        mark_submitted(obligation, at=filed_at, report_id=report.id)
    session.flush()
    # A filing made elsewhere already reached the authority: it is not delivered a second time.
    deliveries = [] if outside is not None else _deliver(session, report, version, obligation, bound, now)
    record(
        session,
        action="reporting.report.submit",
        target_type="reporting_report_version",
        target_id=version.id,
        actor=actor,
        summary={
            "reference": incident.reference,
            "regime": regime.id,
            "stage": report.stage,
            "class": report.class_id,
            "version": number,
            "sha256": version.content_hash,
            "amends": previous,
            "due_at": obligation.due_at,
            "target_at": obligation.target_at,
            "filed_at": filed_at,
            "recorded_at": now,
            "channel": version.channel,
            "authority_reference": version.authority_reference,
            "late": obligation.submitted_late,
            "delivered_to": [str(d.authority_org_id) for d in deliveries],
            "preliminary": [f["id"] for f in content["fields"] if f["preliminary"]],
        },
    )
    publish_event(
        session,
        org_id=report.org_id,
        event="reporting.report.submitted",
        data={
            "report_id": report.id,
            "version": number,
            "sha256": version.content_hash,
            "regime": regime.id,
            "stage": report.stage,
            "reference": incident.reference,
        },
    )
    sync_incident(session, incident, actor=actor, now=now)
    return version


def _deliver(
    session: Session,
    report: Report,
    version: ReportVersion,
    obligation: Obligation,
    bound: Mapping[str, uuid.UUID],
    now: datetime,
) -> list[Delivery]:
    by_org: dict[uuid.UUID, list[str]] = {}
    for rid in obligation.recipients:
        if rid in bound:
            by_org.setdefault(bound[rid], []).append(rid)
    out = []
    for org_id, rids in by_org.items():
        d = Delivery(
            report_version_id=version.id,
            report_id=report.id,
            org_id=report.org_id,
            authority_org_id=org_id,
            recipient_ids=rids,
            delivered_at=now,
        )
        session.add(d)
        out.append(d)
        session.flush()
        title = version.content["stage"]["label"]
        sender = version.content["submitter"]["org"]
        to = recipients_of(session, org_id, tuple(Role))
        if to:
            enqueue_email(
                session,
                to=to,
                topic="reporting.report.received",
                org_id=org_id,
                subject=f"{title} from {sender} under {report.regime_id} (v{version.number})",
                body=f"A report was delivered to your inbox: /reporting/inbox/{d.id}\nsha256 {version.content_hash}",
                dedupe_key=f"reporting.delivery:{d.id}",
            )
        publish_event(
            session,
            org_id=org_id,
            event="reporting.report.received",
            data={
                "delivery_id": d.id,
                "regime": report.regime_id,
                "stage": report.stage,
                "version": version.number,
                "sha256": version.content_hash,
                "from": sender,
            },
            dedupe_key=f"reporting.delivery:{d.id}",
        )
    return out


def versions(session: Session, actor: Actor, report_id: uuid.UUID) -> list[ReportVersion]:
    return list(
        session.execute(
            readable_report_versions(actor).where(ReportVersion.report_id == report_id).order_by(ReportVersion.number)
        ).scalars()
    )


def get_version(session: Session, actor: Actor, report_id: uuid.UUID, number: int) -> ReportVersion:
    version = (
        session.execute(
            readable_report_versions(actor).where(ReportVersion.report_id == report_id, ReportVersion.number == number)
        )
        .scalars()
        .first()
    )
    if version is None:
        raise NotFound("No such report version.")
    return version


def export_version(session: Session, actor: Actor, version: ReportVersion, fmt: str) -> dict[str, Any]:
    """The frozen content with its hash, for export; the export is an audited read."""
    record(
        session,
        action="reporting.report.export",
        target_type="reporting_report_version",
        target_id=version.id,
        actor=actor,
        summary={"format": fmt, "version": version.number},
    )
    return {"content": version.content, "sha256": version.content_hash}

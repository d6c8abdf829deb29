"""`signalfire reporting ...` for the report workflow: questionnaires, assessments, obligations, drafts,
submission, exports and the authority inbox.

Each command acts as a member (``--as EMAIL --org SLUG``) and calls the service functions the JSON API
calls, so the reporting policy decides what is visible (another org's records are "not found") and every
change is audited as it is through the API. The commands register on ``reporting_app``; ``cli`` imports
this module at its end.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.markup import escape
from rich.table import Column, Table
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.core.clock import utcnow
from signalfire.core.db.session import unit_of_work
from signalfire.core.errors import AppError, NotFound
from signalfire.reporting import (
    assessments,
    events,
    inbox,
    obligations,
    org_profile,
    org_settings,
    reports,
    service,
    views,
)
from signalfire.reporting.cli import _factory, _user_actor, console, err, reporting_app
from signalfire.reporting.facts import get_incident
from signalfire.reporting.models import Assessment, Message, Obligation, Report
from signalfire.reporting.obligations import SyncResult
from signalfire.reporting.reports import FieldValue
from signalfire.reporting.rules import catalog
from signalfire.reporting.schemas import ExportOut

AsOpt = Annotated[str, typer.Option("--as", help="Email of the member acting.")]
OrgOpt = Annotated[str, typer.Option("--org", help="Slug of the organisation the member acts for.")]
Output = list[RenderableType]

# How a refusal reads: the API's status, in words.
REFUSALS = {403: "forbidden", 404: "not found", 409: "conflict", 422: "invalid"}


class ExportFormat(StrEnum):
    json = "json"
    html = "html"


# -- plumbing --------------------------------------------------------------------------------------------


def _refused(exc: AppError) -> typer.Exit:
    """The service's refusal, as the API words it, without a traceback."""
    err.print(f"[red]{REFUSALS.get(exc.status, 'error')}:[/red] {escape(exc.detail)}")
    for e in exc.errors:
        if e.message not in exc.detail:  # a single-field error already says it in the detail
            err.print(f"  {escape(e.field)}: {escape(e.message)}")
    return typer.Exit(1)


def _bad_input(message: str) -> typer.Exit:
    err.print(f"[red]invalid input:[/red] {escape(message)}")
    return typer.Exit(2)


@contextmanager
def _acting(email: str, org: str) -> Iterator[tuple[Session, Actor]]:
    """One unit of work as EMAIL in ORG: committed when the command succeeds, rolled back on a refusal."""
    try:
        with unit_of_work(_factory()) as s:
            yield s, _user_actor(s, email, org)
    except AppError as exc:
        raise _refused(exc) from None


def _show(out: Output) -> None:
    # Printed after the commit, so nothing is reported done that was rolled back.
    for item in out:
        console.print(item)


def _at(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


def _due(o: Obligation, zone: str = "") -> str:
    return _at(o.due_at) + zone if o.due_at else f"waiting for {o.waiting_for}"


def _id_column(name: str) -> Column:
    return Column(name, no_wrap=True, min_width=36)  # ids are copied into the next command whole


def _pairs(items: Sequence[str], option: str, *, lower: bool = True) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise _bad_input(f"{option} takes ID=VALUE, not {item!r}")
        out[key.strip()] = value.strip().lower() if lower else value.strip()
    return out


def _parse_at(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _bad_input(f"not an ISO date and time: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _obligations_table(rows: Sequence[Obligation]) -> Table:
    """Both instants of each obligation: the target (urgency) and the legal due (lateness)."""
    table = Table(
        _id_column("obligation"),
        "regime",
        "class",
        "stage",
        "status",
        "target (UTC)",
        "due (UTC)",
        "other reading",
        "legal reading",
    )
    for o in rows:
        stage = o.stage + (" (projected)" if o.projected else "")
        other = f"{_at(o.alt_due_at)} ({o.alt_due_reading})" if o.alt_due_at else "-"
        due = _due(o) + (f" ({o.due_reading})" if o.due_at and o.due_reading else "")
        table.add_row(
            str(o.id),
            o.regime_id,
            o.class_id,
            stage,
            o.status.value,
            _at(o.target_at),
            due,
            other,
            _at(o.legal_due_at),
        )
    return table


def _sync_line(sync: SyncResult) -> str:
    return (
        f"obligations: {len(sync.created)} created, {len(sync.updated)} updated, "
        f"{len(sync.closed)} closed, {len(sync.reopened)} reopened"
    )


# -- questionnaire, events and assessments ---------------------------------------------------------------


@reporting_app.command("questions")
def questions_cmd(
    regime_id: str,
    version: Annotated[str | None, typer.Option(help="A version of the regime (default: the latest).")] = None,
) -> None:
    """A regime's questionnaire: the questions `assess --answer` takes, and the facts `--fact` takes."""
    try:
        regime = catalog.get(regime_id, version) if version else catalog.latest(regime_id)
    except AppError as exc:
        raise _refused(exc) from None
    console.print(f"[bold]{escape(regime.title)}[/bold] ({regime.id} {regime.version})")
    questions = Table(Column("question", no_wrap=True), "text", title="Questions (yes, no or unknown)")
    for q in regime.questions:
        questions.add_row(q.id, escape(q.text) + (f"\n[dim]{escape(q.help)}[/dim]" if q.help else ""))
    console.print(questions)
    facts = Table(Column("fact", no_wrap=True), "text", title="Applicability facts (yes, no or unknown)")
    for f in regime.applicability.facts:
        facts.add_row(f.id, escape(f.text))
    console.print(facts)
    recordable = {e.value for e in events.RECORDABLE}
    clocks = sorted(e for e in regime.referenced_events() if e in recordable)
    if clocks:
        console.print("Clock events to record with `reporting event`:")
        for e in clocks:
            console.print(f"  {e}: {escape(events.describe(e))}")


@reporting_app.command("event")
def event_cmd(
    reference: str,
    event: str,
    as_: AsOpt,
    org: OrgOpt,
    evidence: Annotated[str, typer.Option(help="What shows the time: a log line, a ticket, a message.")],
    at: Annotated[str | None, typer.Option(help="ISO date and time; without a zone it is UTC. Default: now.")] = None,
    reason: Annotated[
        str, typer.Option(help="Why, when this overrides a time the response record already carries.")
    ] = "",
) -> None:
    """Record a clock event on incident REFERENCE (when it happened: --at) and recompute its obligations."""
    when = _parse_at(at) if at else utcnow()
    with _acting(as_, org) as (s, actor):
        incident = service.incident_by_reference(s, actor, reference)
        row, sync = service.record_event(s, actor, incident, event=event, at=when, evidence=evidence, reason=reason)
        out: Output = [f"{incident.reference}: {row.event} at {_at(row.at)} UTC recorded", _sync_line(sync)]
    _show(out)


def _assessment_lines(a: Assessment, reference: str) -> Output:
    lines: Output = [
        f"{reference} under {a.regime_id} ({a.regime_version}): assessment v{a.version}",
        f"outcome: [bold]{a.outcome.value}[/bold]",
        f"classes: {', '.join(a.classes) or '-'}",
    ]
    if a.possible_classes:
        lines.append(f"possible classes: {', '.join(a.possible_classes)}")
    if a.concurrent_reports or a.possible_concurrent_reports:
        both = [*a.concurrent_reports, *(f"{r} (possible)" for r in a.possible_concurrent_reports)]
        lines.append(f"reports beside it: {', '.join(both)}")
    lines.append(f"missing answers or facts: {', '.join(a.missing) or '-'}")
    lines += [f"  - {escape(r)}" for r in a.engine_rationale]
    return lines


@reporting_app.command("assess")
def assess_cmd(
    reference: str,
    as_: AsOpt,
    org: OrgOpt,
    regime: Annotated[str, typer.Option(help="Regime id (see `reporting regimes` and `reporting questions`).")],
    answer: Annotated[list[str] | None, typer.Option(help="QUESTION=yes|no|unknown; repeatable.")] = None,
    fact: Annotated[
        list[str] | None,
        typer.Option(help="FACT=yes|no|unknown; repeatable. Facts not given keep the last answers, as in the form."),
    ] = None,
    rationale: Annotated[
        str, typer.Option(help="Your reasons; required for 'not reportable' and for closing obligations.")
    ] = "",
    event_time: Annotated[
        list[str] | None,
        typer.Option(
            help="EVENT=ISO time of a clock event the answers imply (e.g. "
            "aware_of_model_involvement=2026-09-01T10:00Z); repeatable. "
            "Left out: the incident's awareness time is used (the earliest plausible)."
        ),
    ] = None,
    made_at: Annotated[
        str | None, typer.Option(help="When the assessment was actually made (ISO time), if earlier than now.")
    ] = None,
) -> None:
    """Record a new assessment of incident REFERENCE under a regime; prints the result and its obligations."""
    answers = _pairs(answer or [], "--answer")
    given = _pairs(fact or [], "--fact")
    times = {k: _parse_at(v) for k, v in _pairs(event_time or [], "--event-time", lower=False).items()}
    effective = _parse_at(made_at) if made_at else None
    with _acting(as_, org) as (s, actor):
        incident = service.incident_by_reference(s, actor, reference)
        facts = {**assessments.questionnaire(s, incident, regime).facts, **given}
        done = assessments.assess_incident(
            s,
            actor,
            incident,
            regime_id=regime,
            answers=answers,
            facts=facts,
            rationale=rationale,
            event_times=times,
            effective_at=effective,
        )
        a = done.assessment
        rows = [o for o in obligations.incident_obligations(s, actor, incident.id) if o.regime_id == a.regime_id]
        out = _assessment_lines(a, incident.reference)
        used = ", ".join(f"{k}={v}" for k, v in sorted(facts.items()))
        out += [f"facts: {escape(used) or '-'}", _sync_line(done.sync)]
        out.append(_obligations_table(rows))
    _show(out)


@reporting_app.command("assessments")
def assessments_cmd(reference: str, as_: AsOpt, org: OrgOpt) -> None:
    """Every assessment version of incident REFERENCE, newest first per regime."""
    with _acting(as_, org) as (s, actor):
        incident = service.incident_by_reference(s, actor, reference)
        table = Table("regime", "v", "current", "outcome", "classes", "assessed (UTC)", "by", "rationale")
        for a in assessments.history(s, actor, incident.id):
            table.add_row(
                a.regime_id,
                str(a.version),
                "yes" if a.is_current else "",
                a.outcome.value,
                ", ".join(a.classes) or "-",
                _at(a.assessed_at),
                escape(a.assessed_by_label),
                escape(a.rationale[:200]),
            )
        out: Output = [table]
    _show(out)


# -- the org profile and settings -------------------------------------------------------------------------


def _profile_lines(s: Session, actor: Actor) -> Output:
    now = org_profile.current(s, actor)
    lines: Output = [
        f"jurisdictions: {', '.join(now.jurisdictions or []) or '-'}",
        f"roles: {', '.join(now.roles) if now.roles is not None else 'not declared'}",
    ]
    lines += [f"{name}: {now.sizes[name]:.3g}" for name in org_profile.SIZES if name in now.sizes]
    table = Table("attribute", "value", "effective from (UTC)", "recorded (UTC)", "by", "reason")
    for a in org_profile.history(s, actor):
        table.add_row(
            a.name,
            escape(json.dumps(a.value)),
            _at(a.effective_from),
            _at(a.recorded_at),
            escape(a.recorded_by_label),
            escape(a.reason[:120]),
        )
    lines.append(table)
    return lines


@reporting_app.command("profile")
def profile_cmd(
    as_: AsOpt,
    org: OrgOpt,
    jurisdiction: Annotated[
        list[str] | None, typer.Option(help="Where the org operates (EU, US-CA ...); repeatable.")
    ] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(help=f"A legal role the regimes read; repeatable. One of: {', '.join(org_profile.ROLES)}."),
    ] = None,
    no_roles: Annotated[bool, typer.Option("--no-roles", help="Declare that the org holds none of the roles.")] = False,
    training_compute: Annotated[float | None, typer.Option(help="Largest training run, in operations (FLOP).")] = None,
    revenue: Annotated[float | None, typer.Option(help="Annual gross revenue in USD.")] = None,
    effective_from: Annotated[str | None, typer.Option(help="ISO time the values hold from (default now).")] = None,
    reason: Annotated[str, typer.Option(help="Why (kept with the record).")] = "",
) -> None:
    """Show the org profile the regimes read; with options, record new values (audited, with history)."""
    values: dict[str, object] = {}
    if jurisdiction:
        values["jurisdictions"] = jurisdiction
    if role or no_roles:
        values["roles"] = [] if no_roles else list(role or [])
    if training_compute is not None:
        values["training_compute_flop"] = training_compute
    if revenue is not None:
        values["annual_revenue_usd"] = revenue
    since = _parse_at(effective_from) if effective_from else None
    with _acting(as_, org) as (s, actor):
        out: Output = []
        if values:
            rows = org_profile.set_attributes(s, actor, values, effective_from=since, reason=reason)
            out.append(f"recorded {', '.join(r.name for r in rows)} from {_at(rows[0].effective_from)} UTC")
            obligations.resync_org(s, actor)
        elif not actor.can(Permission.reporting_obligation_read):
            raise NotFound("No such profile.")
        out += _profile_lines(s, actor)
    _show(out)


@reporting_app.command("settings")
def settings_cmd(
    as_: AsOpt,
    org: OrgOpt,
    sla_minutes: Annotated[
        int | None, typer.Option(help="The org's SLA for 'immediately' / 'without undue delay'.")
    ] = None,
    clear_sla: Annotated[bool, typer.Option("--clear-sla", help="No SLA: such deadlines mean at once.")] = False,
    prompt_minutes: Annotated[
        int | None, typer.Option(help="Remind to assess an unassessed SEV1/SEV2 after this many minutes.")
    ] = None,
) -> None:
    """Show the org's reporting settings; with options, change them (open obligations are recomputed)."""
    with _acting(as_, org) as (s, actor):
        current = org_settings.get_settings(s, actor.org_id)
        if sla_minutes is not None or clear_sla or prompt_minutes is not None:
            sla = None if clear_sla else (sla_minutes if sla_minutes is not None else _minutes_of(current.org_sla))
            current = service.update_settings(
                s, actor, org_sla_minutes=sla, leads=None, assessment_prompt_minutes=prompt_minutes
            ).settings
        elif not actor.can(Permission.reporting_obligation_read):
            raise NotFound("No such settings.")
        out: Output = [
            f"org SLA: {_minutes_of(current.org_sla) if current.org_sla is not None else 'none (at once)'} minutes",
            f"reminder leads (minutes before the target): {', '.join(map(str, current.leads))}",
            f"assessment prompt after: {current.assessment_prompt_minutes} minutes",
        ]
    _show(out)


def _minutes_of(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds() // 60)


# -- obligations and reports -----------------------------------------------------------------------------


@reporting_app.command("obligations")
def obligations_cmd(reference: str, as_: AsOpt, org: OrgOpt) -> None:
    """The obligations of incident REFERENCE, open and closed."""
    with _acting(as_, org) as (s, actor):
        incident = service.incident_by_reference(s, actor, reference)
        out: Output = [_obligations_table(obligations.incident_obligations(s, actor, incident.id))]
    _show(out)


@reporting_app.command("waive")
def waive_cmd(
    obligation_id: uuid.UUID,
    as_: AsOpt,
    org: OrgOpt,
    reason: Annotated[str, typer.Option(help="Why no report is owed; kept with the record.")],
) -> None:
    """Close an open obligation without a report."""
    with _acting(as_, org) as (s, actor):
        o = obligations.waive(s, actor, obligation_id, reason)
        out: Output = [f"obligation {o.id} ({o.stage}, {o.regime_id}) waived"]
    _show(out)


def _message_table(messages: Sequence[Message]) -> Table:
    table = Table(_id_column("message"), "kind", "from", "at (UTC)", "text", title="Thread")
    for m in messages:
        table.add_row(str(m.id), m.kind.value, escape(m.author_label), _at(m.created_at), escape(m.body))
    return table


def _report_lines(s: Session, actor: Actor, report: Report) -> Output:
    view = views.report_view(s, actor, report, get_incident(s, actor, report.incident_id))
    o = view.obligation
    out: Output = [
        f"report {report.id} ({report.status.value}): {catalog.stage_label(view.regime, report.stage)} "
        f"under {report.regime_id} ({report.regime_version}), class {report.class_id}",
        f"incident {view.incident.reference}; obligation {o.id}: {o.status.value}, due {_due(o, ' UTC')}",
    ]
    table = Table(Column("field", no_wrap=True), "label", "", "value")
    for f in view.fields:
        flags = ", ".join(x for x, on in (("required", f.required), ("preliminary", f.preliminary)) if on)
        table.add_row(f.id, escape(f.label), flags, escape(f.value) or "[dim](empty)[/dim]")
    out.append(table)
    out += [f"version {v.number}: sha256 {v.content_hash}, {_at(v.submitted_at)} UTC" for v in view.versions]
    messages = [m for thread in view.threads.values() for m in thread]
    if messages:
        out.append(_message_table(messages))
    return out


@reporting_app.command("draft")
def draft_cmd(obligation_id: uuid.UUID, as_: AsOpt, org: OrgOpt) -> None:
    """Open the obligation's report: the existing one, or a new draft prefilled from the incident."""
    with _acting(as_, org) as (s, actor):
        out = _report_lines(s, actor, reports.start_report(s, actor, obligation_id))
    _show(out)


@reporting_app.command("report")
def report_cmd(report_id: uuid.UUID, as_: AsOpt, org: OrgOpt) -> None:
    """A report: its fields, submitted versions and the authorities' threads."""
    with _acting(as_, org) as (s, actor):
        out = _report_lines(s, actor, reports.get_report(s, actor, report_id))
    _show(out)


def _field_text(value: str | None, file: Path | None) -> str:
    if (value is None) == (file is None):
        raise _bad_input("give the value, or --file to read it from a file (one of them)")
    if file is None:
        assert value is not None
        return value
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad_input(f"cannot read {file}: {exc}") from None


@reporting_app.command("set-field")
def set_field_cmd(
    report_id: uuid.UUID,
    field: str,
    as_: AsOpt,
    org: OrgOpt,
    value: Annotated[str | None, typer.Argument(help="The text (or use --file).")] = None,
    file: Annotated[Path | None, typer.Option(help="Read the value from this UTF-8 file.", dir_okay=False)] = None,
    preliminary: Annotated[
        bool, typer.Option(help="Initial reports: the value is preliminary (empty: not yet known).")
    ] = False,
) -> None:
    """Set one field of a report draft; editing a submitted report starts an amendment."""
    text = _field_text(value, file)
    with _acting(as_, org) as (s, actor):
        report = reports.save_draft(s, actor, report_id, {field: FieldValue(text, preliminary)})
        entry = report.fields[field]
        size = len(str(entry.get("value") or ""))
        saved = f"{field} saved" + (" (preliminary)" if entry.get("preliminary") else "")
        saved += f": {size} characters" if size else ": empty"
        if report.version_count:
            saved += f"; amending version {report.version_count} (submit to send the amendment)"
        out: Output = [saved]
    _show(out)


@reporting_app.command("submit")
def submit_cmd(
    report_id: uuid.UUID,
    as_: AsOpt,
    org: OrgOpt,
    filed_at: Annotated[
        str | None,
        typer.Option(help="A filing already made outside Signalfire: when (ISO time). Needs --channel and evidence."),
    ] = None,
    channel: Annotated[str, typer.Option(help="How it was filed outside: email, portal, post or other.")] = "",
    authority_reference: Annotated[str, typer.Option(help="The authority's reference for the filing.")] = "",
    evidence: Annotated[str, typer.Option(help="What shows the filing (the e-mail's id, a receipt).")] = "",
) -> None:
    """Submit a report: frozen as a version with its sha256, delivered to the bound authorities; or, with
    --filed-at, record a filing made outside Signalfire at its real time (nothing is delivered again)."""
    outside = None
    if filed_at or channel:
        outside = reports.OutsideFiling(
            at=_parse_at(filed_at) if filed_at else utcnow(),
            channel=channel or "other",
            authority_reference=authority_reference,
            evidence=evidence,
        )
    with _acting(as_, org) as (s, actor):
        version = reports.submit(s, actor, report_id, outside=outside)
        out: Output = [f"submitted version {version.number}, sha256 {version.content_hash}"]
        if outside is not None:
            out.append(f"  filed outside Signalfire ({version.channel}) at {_at(version.submitted_at)} UTC")
        for r in version.content["recipients"]:
            to = f"delivered to {r['delivered_to']}" if r["delivered_to"] else "send it through their own channel"
            out.append(f"  {escape(r['name'])}: {escape(to)}")
    _show(out)


def _html(content: dict[str, object], sha256: str) -> str:
    from signalfire.core.web.templating import env  # the web stack only when a document is asked for

    return env.get_template("reporting/document_file.html").render(c=content, sha256=sha256, standalone=True)


@reporting_app.command("export")
def export_cmd(
    report_id: uuid.UUID,
    as_: AsOpt,
    org: OrgOpt,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="JSON as the API gives it, or the document.")] = (
        ExportFormat.json
    ),
    version: Annotated[int | None, typer.Option(min=1, help="Version number (default: the latest).")] = None,
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.", dir_okay=False)] = None,
) -> None:
    """Export a submitted version exactly as it was sent (an audited read)."""
    with _acting(as_, org) as (s, actor):
        if version is None:
            sent = reports.versions(s, actor, report_id)
            if not sent:
                raise NotFound("No submitted version of this report.")
            version = sent[-1].number
        v = reports.get_version(s, actor, report_id, version)
        exported = ExportOut.model_validate(reports.export_version(s, actor, v, fmt.value))
        if fmt is ExportFormat.json:
            text = json.dumps(exported.model_dump(mode="json"), indent=2, ensure_ascii=False)
        else:
            text = _html(exported.content, exported.sha256)
        if output is not None:
            try:
                output.write_text(text + "\n", encoding="utf-8")
            except OSError as exc:  # rolls back the audit entry: nothing was exported
                err.print(f"[red]error:[/red] cannot write {escape(str(output))}: {escape(exc.strerror or '')}")
                raise typer.Exit(1) from None
    if output is None:
        typer.echo(text)  # raw: no markup or wrapping in what is piped on
    else:
        console.print(f"wrote {escape(str(output))} (version {version}, sha256 {exported.sha256})")


# -- the authority inbox and the thread ------------------------------------------------------------------


@reporting_app.command("inbox")
def inbox_cmd(as_: AsOpt, org: OrgOpt) -> None:
    """The reports delivered to an authority org, newest first."""
    with _acting(as_, org) as (s, actor):
        received = inbox.inbox(s, actor)
        table = Table(_id_column("delivery"), "from", "regime", "stage", "v", "delivered (UTC)", "ack", "questions")
        for r in received:
            table.add_row(
                str(r.delivery.id),
                escape(r.sender),
                r.version.content["regime"]["id"],
                r.version.content["stage"]["id"],
                str(r.version.number),
                _at(r.delivery.delivered_at),
                _at(r.delivery.acknowledged_at),
                str(r.open_questions),
            )
        out: Output = [table if received else f"nothing delivered to {escape(actor.org_name)}"]
    _show(out)


@reporting_app.command("delivery")
def delivery_cmd(delivery_id: uuid.UUID, as_: AsOpt, org: OrgOpt) -> None:
    """Read a delivered report and its thread (an authority's read is audited)."""
    with _acting(as_, org) as (s, actor):
        d = inbox.get_delivery(s, actor, delivery_id)
        v = inbox.delivery_version(s, d)
        c = v.content
        out: Output = [
            f"report {d.report_id} version {v.number} from {escape(c['submitter']['org'])}: "
            f"{escape(c['stage']['label'])} under {c['regime']['id']}, class {escape(c['class']['label'])}",
            f"incident {escape(c['incident']['reference'])}: {escape(c['incident']['title'])}",
            f"sha256 {v.content_hash}; delivered {_at(d.delivered_at)} UTC; acknowledged {_at(d.acknowledged_at)}",
        ]
        table = Table("field", "value")
        for f in (f for f in c["fields"] if f["required"] or f["value"]):  # as the document shows them
            marks = " [dim](preliminary)[/dim]" if f["preliminary"] else ""
            table.add_row(escape(f["label"]) + marks, escape(f["value"]) or "[dim]not yet known[/dim]")
        out.append(table)
        messages = inbox.thread(s, actor, d.report_id, d.authority_org_id)
        if messages:
            out.append(_message_table(messages))
    _show(out)


@reporting_app.command("ack")
def ack_cmd(delivery_id: uuid.UUID, as_: AsOpt, org: OrgOpt) -> None:
    """Acknowledge receipt of a delivered report."""
    with _acting(as_, org) as (s, actor):
        d = inbox.acknowledge(s, actor, delivery_id)
        out: Output = [f"delivery {d.id} acknowledged at {_at(d.acknowledged_at)} UTC"]
    _show(out)


@reporting_app.command("ask")
def ask_cmd(delivery_id: uuid.UUID, text: str, as_: AsOpt, org: OrgOpt) -> None:
    """Ask the reporting org a follow-up question on a delivered report."""
    with _acting(as_, org) as (s, actor):
        m = inbox.ask(s, actor, delivery_id, text)
        out: Output = [f"question {m.id} sent"]
    _show(out)


@reporting_app.command("answer")
def answer_cmd(report_id: uuid.UUID, question_id: uuid.UUID, text: str, as_: AsOpt, org: OrgOpt) -> None:
    """Answer an authority's question on one of your org's reports (question ids: `reporting report`)."""
    with _acting(as_, org) as (s, actor):
        m = inbox.answer(s, actor, report_id, question_id, text)
        out: Output = [f"answer {m.id} sent"]
    _show(out)

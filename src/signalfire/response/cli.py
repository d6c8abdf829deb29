"""`signalfire response ...`: incidents, coverage, escalations and metrics from the command line.

Every command acts as a member (``--as EMAIL --org SLUG``) through the same services as the UI and API.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from signalfire.core.clock import utcnow
from signalfire.core.errors import AppError
from signalfire.core.progress import progress_bar

response_app = typer.Typer(
    help="Incident response: incidents, on-call coverage, escalations, metrics.", no_args_is_help=True
)
commands = [("response", response_app)]
console = Console()
err = Console(stderr=True)

AsOpt = Annotated[str, typer.Option("--as", help="Email of the member acting.")]
OrgOpt = Annotated[str, typer.Option("--org", help="Organisation slug.")]


def _fail(exc: AppError) -> typer.Exit:
    detail = exc.detail + ("".join(f"\n  {e.field}: {e.message}" for e in exc.errors) if exc.errors else "")
    err.print(f"[red]error ({exc.status}):[/red] {detail}")
    return typer.Exit(1)


@response_app.command("list")
def list_cmd(as_: AsOpt, org: OrgOpt, status: str = "open", drills: bool = True) -> None:
    """List incidents (status: open, closed, a status name, or '' for all)."""
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.response import service

    with unit_of_work(_factory()) as s:
        actor = _actor_for(s, as_, org)
        try:
            rows = service.list_incidents(s, actor, status=status or None, drills=None if drills else False)
        except AppError as exc:
            raise _fail(exc) from None
        table = Table("reference", "severity", "status", "domain", "aware (UTC)", "title")
        for i in rows:
            table.add_row(
                i.reference,
                i.severity.value.upper(),
                i.status.value,
                i.risk_domain.value,
                f"{i.aware_at:%Y-%m-%d %H:%M}",
                ("[DRILL] " if i.is_drill else "") + i.title,
            )
        console.print(table)


@response_app.command("open")
def open_cmd(
    as_: AsOpt,
    org: OrgOpt,
    title: str,
    severity: str,
    domain: str,
    aware_at: Annotated[str | None, typer.Option(help="ISO time with zone; default now.")] = None,
    model: Annotated[list[str] | None, typer.Option(help='"<name> <version>", repeatable.')] = None,
    drill: bool = False,
    summary: str = "",
) -> None:
    """Open an incident; prints its reference."""
    from pydantic import ValidationError

    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.response import service
    from signalfire.response.schemas import IncidentCreate

    try:
        data = IncidentCreate.model_validate(
            {
                "title": title,
                "severity": severity,
                "risk_domain": domain,
                "summary": summary,
                "is_drill": drill,
                "aware_at": aware_at or utcnow().isoformat(),
                "affected_models": model or [],
            }
        )
    except ValidationError as exc:
        err.print(f"[red]invalid input:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        with unit_of_work(_factory()) as s:
            incident = service.create_incident(s, _actor_for(s, as_, org), data)
            console.print(f"{incident.reference} {incident.id}")
    except AppError as exc:
        raise _fail(exc) from None


@response_app.command("status")
def status_cmd(
    as_: AsOpt,
    org: OrgOpt,
    reference: str,
    to: str,
    reason: str | None = None,
    at: Annotated[str | None, typer.Option(help="ISO time with zone; default now.")] = None,
) -> None:
    """Move incident REFERENCE to status TO."""
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.response import service
    from signalfire.response.schemas import TransitionIn

    try:
        with unit_of_work(_factory()) as s:
            actor = _actor_for(s, as_, org)
            incident = service.get_incident_by_reference(s, actor, reference)
            data = TransitionIn.model_validate(
                {"status": to, "reason": reason, "at": datetime.fromisoformat(at) if at else None}
            )
            service.change_status(s, actor, incident, data)
            console.print(f"{incident.reference} is now {incident.status.value}")
    except AppError as exc:
        raise _fail(exc) from None
    except ValueError as exc:
        err.print(f"[red]invalid input:[/red] {exc}")
        raise typer.Exit(2) from None


@response_app.command("coverage")
def coverage_cmd(as_: AsOpt, org: OrgOpt, days: int = 7) -> None:
    """Every roster's coverage this week (from Monday 00:00 local) and each gap."""
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.response import oncall

    with unit_of_work(_factory()) as s:
        actor = _actor_for(s, as_, org)
        for roster in oncall.list_rosters(s, actor):
            start = oncall.week_start(utcnow(), roster.time_zone)
            report = oncall.coverage_report(s, roster, start, start + timedelta(days=days))
            console.print(
                f"[bold]{roster.team}[/bold] ({roster.id}): {report.ratio:.1%} covered, {len(report.gaps)} gap(s)"
            )
            for gap in report.gaps:
                console.print(f"  gap {gap.start:%a %Y-%m-%d %H:%M} to {gap.end:%a %Y-%m-%d %H:%M} UTC")


@response_app.command("escalate")
def escalate_cmd() -> None:
    """Run the escalation sweep once (the worker also runs it every minute)."""
    from signalfire.cli import _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.response import paging

    with unit_of_work(_factory()) as s:
        console.print(f"sent {paging.run_escalations(s, utcnow())} notification(s)")


@response_app.command("ack")
def ack_cmd(as_: AsOpt, org: OrgOpt, page_id: uuid.UUID) -> None:
    """Acknowledge a page."""
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.response import paging

    try:
        with unit_of_work(_factory()) as s:
            paging.acknowledge_as(s, _actor_for(s, as_, org), page_id)
            console.print("acknowledged")
    except AppError as exc:
        raise _fail(exc) from None


@response_app.command("metrics")
def metrics_cmd(as_: AsOpt, org: OrgOpt, days: int = 365) -> None:
    """Time to acknowledge, contain, mitigate and resolve (drills excluded), as JSON."""
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.response import stats

    with unit_of_work(_factory()) as s:
        start, end = stats.default_window(utcnow(), days)
        r = stats.response_metrics(s, _actor_for(s, as_, org), start, end)
        out = {
            "overall": {m.value: stats.summary_seconds(v) for m, v in r.overall.items()},
            "by_severity": {
                k.value: {m.value: stats.summary_seconds(v) for m, v in d.items()} for k, d in r.by_severity.items()
            },
            "by_domain": {
                k.value: {m.value: stats.summary_seconds(v) for m, v in d.items()} for k, d in r.by_domain.items()
            },
            "drills_excluded": r.drills_excluded,
            "inconsistent": r.inconsistent,
            "approximate": r.approximate,
        }
        console.print_json(json.dumps(out))


# No bar below this many incidents: reading one is cheap, a smaller rebuild should take seconds (an estimate).
METRICS_PROGRESS_FROM = 50_000


@response_app.command("metrics-rebuild")
def metrics_rebuild(org: Annotated[str | None, typer.Option(help="Only this org (slug).")] = None) -> None:
    """Recompute the response-time sketches from the incidents (after a bulk load or a restore)."""
    from signalfire.access.models import Organization
    from signalfire.cli import _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.response import rollup

    with unit_of_work(_factory()) as s:
        org_id = None
        if org:
            # lint: allow-raw-query operator command for the deployment, no actor to apply a policy to
            found = s.execute(select(Organization).where(Organization.slug == org)).scalar_one_or_none()
            if found is None:
                console.print(f"[red]No organisation {org!r}.[/red]")
                raise typer.Exit(1)
            org_id = found.id
        with progress_bar(err, "reading incidents", show_from=METRICS_PROGRESS_FROM) as progress:
            n = rollup.rebuild(s, org_id, progress=progress)
        console.print(f"Rebuilt the response-time sketches from {n:,} incident(s).")

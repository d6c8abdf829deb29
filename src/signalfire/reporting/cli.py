"""`signalfire reporting ...` and `signalfire retention ...`."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.access.cli_actor import CliActorError, cli_actor
from signalfire.access.models import Organization
from signalfire.core.clock import utcnow
from signalfire.core.db.session import engine_for, session_factory, unit_of_work
from signalfire.core.errors import AppError
from signalfire.core.progress import progress_bar
from signalfire.core.settings import get_settings
from signalfire.reporting import queries, reminders, retention, service
from signalfire.reporting.rules import catalog
from signalfire.reporting.rules.regime_loader import RegimeFileError, load_all

reporting_app = typer.Typer(
    help="Incident reporting: regimes, assessments, obligations, reports, the authority inbox.", no_args_is_help=True
)
retention_app = typer.Typer(help="Retention of reporting records and legal holds.", no_args_is_help=True)
commands = [("reporting", reporting_app), ("retention", retention_app)]
console = Console()
err = Console(stderr=True)


def _factory() -> sessionmaker[Session]:
    return session_factory(engine_for(get_settings().database_url))


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


def _org(s: Session, slug: str) -> Organization:
    org = queries.operator_org(s, slug)
    if org is None:
        raise _fail(f"no organisation {slug!r}")
    return org


# -- regimes ---------------------------------------------------------------------------------------------


@reporting_app.command("regimes")
def regimes_list() -> None:
    """List the packaged regime files."""
    table = Table("id", "version", "kind", "effective", "enabled")
    for versions in catalog.regimes().values():
        for r in versions:
            table.add_row(
                r.id,
                r.version,
                r.kind,
                f"{r.effective_from or '-'} to {r.effective_to or '-'}",
                "yes" if r.enabled else "no",
            )
    console.print(table)


@reporting_app.command("validate")
def regimes_validate(folder: Annotated[Path | None, typer.Argument(help="Folder of regime files.")] = None) -> None:
    """Load and validate regime files; print FILE:LINE: message for each problem."""
    try:
        found = load_all(folder)
    except RegimeFileError as exc:
        for line, message in exc.issues:
            err.print(f"{exc.path}:{line}: {message}")
        raise typer.Exit(1) from exc
    console.print(f"{sum(len(v) for v in found.values())} regime file(s) valid")


# -- recipients ------------------------------------------------------------------------------------------


@reporting_app.command("bindings")
def bindings_list() -> None:
    """Which authority org receives what each regime addresses to a recipient."""
    with unit_of_work(_factory()) as s:
        table = Table("regime", "recipient", "authority org", "id")
        for b, o in queries.operator_bindings(s):
            table.add_row(b.regime_id, b.recipient_id, o.slug, str(b.id))
        console.print(table)


@reporting_app.command("bind")
def bind(regime_id: str, recipient_id: str, authority_org: str) -> None:
    """Bind REGIME_ID's RECIPIENT_ID to the authority org with slug AUTHORITY_ORG."""
    try:
        with unit_of_work(_factory()) as s:
            service.bind_to_slug(s, regime_id=regime_id, recipient_id=recipient_id, authority_slug=authority_org)
        console.print(f"{regime_id} / {recipient_id} -> {authority_org}")
    except AppError as exc:
        raise _fail(exc.detail) from exc


@reporting_app.command("unbind")
def unbind(regime_id: str, recipient_id: str) -> None:
    try:
        with unit_of_work(_factory()) as s:
            service.unbind_target(s, regime_id=regime_id, recipient_id=recipient_id)
    except AppError as exc:
        raise _fail(exc.detail) from exc
    console.print("removed")


# -- obligations -----------------------------------------------------------------------------------------


@reporting_app.command("sweep")
def sweep() -> None:
    """Run the deadline sweep once now (the worker runs it every minute)."""
    with unit_of_work(_factory()) as s:
        found = reminders.sweep(s, utcnow())
        console.print(f"{len(found)} reminder(s) due")


# No bar below this many incidents: each is a few statements, fewer should take seconds (an estimate).
RECOMPUTE_PROGRESS_FROM = 1_000


@reporting_app.command("recompute")
def recompute(org: Annotated[str | None, typer.Option(help="Only this org (slug).")] = None) -> None:
    """Recompute the obligations of every assessed incident."""
    with (
        unit_of_work(_factory()) as s,
        progress_bar(err, "recomputing incidents", show_from=RECOMPUTE_PROGRESS_FROM) as progress,
    ):
        done = service.recompute_assessed(s, org_id=_org(s, org).id if org else None, progress=progress)
    console.print(f"{done.incidents} incident(s) recomputed, {done.changed} changed")


@reporting_app.command("board")
def board(org: str) -> None:
    """The org's open obligations, soonest first."""
    with unit_of_work(_factory()) as s:
        o = _org(s, org)
        table = Table("incident", "regime", "class", "stage", "status", "due (UTC)", "legal")
        for ob, ref in queries.operator_open_obligations(s, o.id):
            table.add_row(
                ref,
                ob.regime_id,
                ob.class_id,
                ob.stage,
                ob.status.value,
                f"{ob.due_at:%Y-%m-%d %H:%M}" if ob.due_at else f"waiting for {ob.waiting_for}",
                f"{ob.legal_due_at:%Y-%m-%d %H:%M}" if ob.legal_due_at else "-",
            )
        console.print(table)


# -- retention -------------------------------------------------------------------------------------------


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go.")] = False,
    org: Annotated[str | None, typer.Option(help="Only this org (slug).")] = None,
) -> None:
    """Purge reporting records past retention and not on legal hold; each purge is audited."""
    with unit_of_work(_factory()) as s:
        org_id = _org(s, org).id if org else None
        done = retention.run(s, org_id=org_id, dry_run=dry_run)
        for p in done:
            verb = "would purge" if dry_run else "purged"
            console.print(f"{verb} incident {p.incident_id} (retain until {p.retain_until:%Y-%m-%d}) {p.counts or ''}")
        console.print(f"{len(done)} case(s) {'due for purge' if dry_run else 'purged'}")


@retention_app.command("status")
def retention_status(org: str) -> None:
    """Retention dates and holds of an org's reporting records."""
    with unit_of_work(_factory()) as s:
        o = _org(s, org)
        table = Table("incident", "retain until", "on hold", "purged")
        for case, ref in queries.operator_cases(s, o.id):
            held = bool(retention.active_holds(s, case.incident_id))
            table.add_row(
                ref,
                f"{case.retain_until:%Y-%m-%d}" if case.retain_until else "-",
                "yes" if held else "no",
                f"{case.purged_at:%Y-%m-%d}" if case.purged_at else "-",
            )
        console.print(table)


@retention_app.command("holds")
def holds(org: str) -> None:
    with unit_of_work(_factory()) as s:
        o = _org(s, org)
        table = Table("id", "incident", "placed", "reason", "released")
        for h, ref in queries.operator_holds(s, o.id):
            table.add_row(
                str(h.id),
                ref,
                f"{h.placed_at:%Y-%m-%d}",
                h.reason,
                f"{h.released_at:%Y-%m-%d}" if h.released_at else "-",
            )
        console.print(table)


def _user_actor(s: Session, email: str, org: str) -> Actor:
    try:
        return cli_actor(s, email, org)
    except CliActorError as exc:
        raise _fail(str(exc)) from None


@retention_app.command("hold")
def hold(reference: str, org: str, email: str, reason: str) -> None:
    """Place a legal hold on incident REFERENCE of ORG, as EMAIL (an admin of ORG)."""
    try:
        with unit_of_work(_factory()) as s:
            actor = _user_actor(s, email, org)
            h = service.place_hold_by_reference(s, actor, reference, reason)
        console.print(f"hold {h.id} placed")
    except AppError as exc:
        raise _fail(exc.detail) from exc


@retention_app.command("release")
def release(hold_id: uuid.UUID, org: str, email: str, reason: str) -> None:
    try:
        with unit_of_work(_factory()) as s:
            actor = _user_actor(s, email, org)
            retention.release_hold(s, actor, hold_id, reason)
            console.print("released")
    except AppError as exc:
        raise _fail(exc.detail) from exc


# The report workflow's commands live in their own module and register on `reporting_app` when imported.
from signalfire.reporting import cli_reports as _cli_reports  # noqa: E402, F401

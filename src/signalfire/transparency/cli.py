"""`signalfire transparency ...`: transparency reports from the command line, as a member
(``--as EMAIL --org SLUG``), through the same services and access policy as the UI and API."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.core.errors import AppError

transparency_app = typer.Typer(
    help="Transparency reports: define, sign off (four eyes), publish editions.", no_args_is_help=True
)
commands = [("transparency", transparency_app)]
console = Console()
err = Console(stderr=True)
T = TypeVar("T")

AsOpt = Annotated[str, typer.Option("--as", help="Email of the member acting.")]
OrgOpt = Annotated[str, typer.Option("--org", help="Organisation slug.")]
ReportArg = Annotated[uuid.UUID, typer.Argument(help="The report's id.")]


def _run(fn: Callable[[Session, Actor | None], T], email: str | None = None, org: str | None = None) -> T:
    """One unit of work as the member (or anonymously for public reads); refusals print as errors."""
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work

    try:
        with unit_of_work(_factory()) as s:
            actor = _actor_for(s, email, org or "") if email else None
            return fn(s, actor)
    except AppError as exc:
        extra = "".join(f"\n  {e.field}: {e.message}" for e in exc.errors)
        err.print(f"[red]error ({exc.status}):[/red] {exc.detail}{extra}")
        raise typer.Exit(1) from None


def _member(actor: Actor | None) -> Actor:
    assert actor is not None
    return actor


@transparency_app.command("metrics")
def metrics_cmd() -> None:
    """The metric kinds a report may use, with what each counts."""
    from signalfire.transparency.metrics import METRICS

    table = Table("kind", "counts", "dated by")
    for m in METRICS.values():
        table.add_row(m.kind.value, m.description, m.effective_time)
    console.print(table)


@transparency_app.command("create")
def create_cmd(
    as_: AsOpt,
    org: OrgOpt,
    title: Annotated[str | None, typer.Option(help="The report's title.")] = None,
    quarter: Annotated[str | None, typer.Option(help="A calendar quarter, e.g. 2026-Q3.")] = None,
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), instead of --quarter.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), inclusive.")] = None,
    threshold: Annotated[int, typer.Option(help='Counts below it are published as "< threshold".')] = 10,
    section: Annotated[
        list[str] | None, typer.Option(help="'Heading=kind,kind' (repeatable); see `transparency metrics`.")
    ] = None,
    definition: Annotated[Path | None, typer.Option(help="A JSON file with the whole definition (as the API).")] = None,
) -> None:
    """Create a draft report."""
    from signalfire.transparency import service
    from signalfire.transparency.schemas import ReportIn

    data: dict[str, Any]
    if definition is not None:
        data = json.loads(definition.read_text(encoding="utf-8"))
    else:
        data = {"title": title, "threshold": threshold, "sections": []}
        try:
            if quarter:
                q_start, q_end = service.quarter(quarter)
                data["period_start"], data["period_end"] = q_start.isoformat(), q_end.isoformat()
        except ValueError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
        data.setdefault("period_start", start)
        data.setdefault("period_end", end)
        for text in section or []:
            heading, _, kinds = text.partition("=")
            data["sections"].append({"heading": heading, "metrics": [k.strip() for k in kinds.split(",") if k.strip()]})
    try:
        body = ReportIn.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            err.print(f"[red]error:[/red] {'.'.join(str(p) for p in e['loc'])}: {e['msg']}")
        raise typer.Exit(1) from None
    report_id, slug = _run(
        lambda s, a: (lambda r: (r.id, r.slug))(service.create_report(s, _member(a), body)), as_, org
    )
    console.print(f"draft {report_id} ({slug})")


@transparency_app.command("list")
def list_cmd(as_: AsOpt, org: OrgOpt) -> None:
    """The org's reports with their status and editions."""
    from signalfire.transparency import service

    def rows(s: Session, a: Actor | None) -> list[tuple[str, ...]]:
        return [
            (str(r.id), r.slug, r.title, f"{r.period_start} to {r.period_end}", r.status.label, str(r.edition_count))
            for r in service.list_reports(s, _member(a))
        ]

    table = Table("id", "slug", "title", "period", "status", "editions")
    for row in _run(rows, as_, org):
        table.add_row(*row)
    console.print(table)


@transparency_app.command("show")
def show_cmd(report_id: ReportArg, as_: AsOpt, org: OrgOpt) -> None:
    """A report's figures as they would be published now (exact count, then the published form)."""
    from signalfire.transparency import service
    from signalfire.transparency.metrics import MetricKind

    def figures(s: Session, a: Actor | None) -> tuple[str, dict[str, Any] | None]:
        actor = _member(a)
        r = service.get_report(s, actor, report_id)
        if not service.period_ended(r):
            return f"{r.title}: the period ends {r.period_end}; no figures yet", None
        exact = service.exact_figures(s, actor, r)
        return f"{r.title} ({r.status.label})", {
            k: service.published_figure(MetricKind(k), v, r.threshold) for k, v in exact.items()
        }

    head, shown = _run(figures, as_, org)
    console.print(head)
    for fig in (shown or {}).values():
        table = Table("cell", "published", title=fig["label"])
        for c in fig["cells"]:
            table.add_row(c["label"], c["display"])
        if fig["total"]:
            table.add_row("Total", fig["total"]["display"])
        console.print(table)


@transparency_app.command("signoff")
def signoff_cmd(
    report_id: ReportArg, as_: AsOpt, org: OrgOpt, note: Annotated[str, typer.Option(help="A note.")] = ""
) -> None:
    """Sign a report off (a second person: not its author nor its last editor)."""
    from signalfire.transparency import service
    from signalfire.transparency.schemas import SignOffIn

    approved = _run(
        lambda s, a: service.sign_off(s, _member(a), report_id, SignOffIn(note=note)).signed_off_hash, as_, org
    )
    console.print(f"signed off; approved sha256 {approved}")


@transparency_app.command("publish")
def publish_cmd(report_id: ReportArg, as_: AsOpt, org: OrgOpt) -> None:
    """Publish the signed-off report as a new edition; prints its address and SHA-256."""
    from signalfire.transparency import service

    def go(s: Session, a: Actor | None) -> tuple[int, str, str]:
        actor = _member(a)
        e = service.publish(s, actor, report_id)
        r = service.get_report(s, actor, report_id)
        return e.number, f"{service.PUBLIC}/{service.org_slug(s, actor)}/{r.slug}/editions/{e.number}", e.sha256

    number, path, digest = _run(go, as_, org)
    console.print(f"edition {number} published at {path}\nsha256 {digest}")


@transparency_app.command("edition")
def edition_cmd(
    org_slug: str, slug: str, number: Annotated[int | None, typer.Option(help="Default: the latest.")] = None
) -> None:
    """Print a published edition's canonical JSON (public; no sign-in)."""
    from signalfire.transparency import service

    text = _run(lambda s, a: service.public_edition(s, org_slug, slug, number).edition.canonical)
    typer.echo(text)

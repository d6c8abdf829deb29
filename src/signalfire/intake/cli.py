"""`signalfire intake ...`: import public incident databases and manage feeds from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.models import Organization
from signalfire.core.db.session import engine_for, session_factory, unit_of_work
from signalfire.core.errors import AppError
from signalfire.core.settings import get_settings
from signalfire.intake.aiid import (
    AiidFormatError,
    AiidIncident,
    AiidRowError,
    count_rows,
    iter_aiid_incidents,
    open_incidents_csv,
)
from signalfire.intake.models import Feed, FeedKind
from signalfire.intake.polling import ImportResult, due_feeds, import_aiid, poll_feed
from signalfire.intake.schemas import FeedIn
from signalfire.intake.sources import create_feed

app = typer.Typer(
    help="Intake: signals from feeds, public incident databases, alerts and reports.", no_args_is_help=True
)
import_app = typer.Typer(help="Import public incident databases.", no_args_is_help=True)
feeds_app = typer.Typer(
    help="RSS/Atom feeds and incident-database snapshots polled by the scheduler.", no_args_is_help=True
)
app.add_typer(import_app, name="import")
app.add_typer(feeds_app, name="feeds")
console = Console()
err = Console(stderr=True)
CLI_LABEL = "signalfire CLI"
BATCH = 500


def _factory() -> sessionmaker[Session]:
    return session_factory(engine_for(get_settings().database_url))


def _org(factory: sessionmaker[Session], slug: str) -> Organization:
    with unit_of_work(factory) as s:
        # lint: allow-raw-query operator command for the deployment, no actor to apply a policy to
        org = s.execute(select(Organization).where(Organization.slug == slug)).scalar_one_or_none()
        if org is None:
            err.print(f"[red]error:[/red] no organisation {slug!r}")
            raise typer.Exit(1)
        return org


def _batches(items: Iterator[AiidIncident], size: int) -> Iterator[list[AiidIncident]]:
    batch: list[AiidIncident] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@import_app.command("aiid")
def import_aiid_cmd(
    snapshot: Annotated[
        Path,
        typer.Argument(
            help="An AIID snapshot: incidents.csv, or the snapshot archive.", exists=True, dir_okay=False, readable=True
        ),
    ],
    org: Annotated[str, typer.Option(help="Slug of the organisation whose queue receives the signals.")],
) -> None:
    """Import an AI Incident Database snapshot (idempotent on incident_id; safe to run again).

    Records keep their attribution: AI Incident Database, Responsible AI Collaborative (CC BY-SA 4.0).
    """
    factory = _factory()
    organization = _org(factory, org)
    try:
        with open_incidents_csv(snapshot) as stream:
            total = count_rows(stream)
        errors: list[AiidRowError] = []
        result = ImportResult()
        with (
            Progress(
                TextColumn("[bold]AIID import[/bold]"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as progress,
            open_incidents_csv(snapshot) as stream,
        ):
            bar = progress.add_task("import", total=total)
            # One transaction per batch: an interrupted import keeps what it stored and resumes cleanly.
            for batch in _batches(iter_aiid_incidents(stream, errors=errors), BATCH):
                with unit_of_work(factory) as s:
                    part = import_aiid(s, organization.id, batch)
                result.created += part.created
                result.updated += part.updated
                result.skipped += part.skipped
                progress.update(
                    bar, completed=min(total, result.created + result.updated + result.skipped + len(errors))
                )
            progress.update(bar, completed=total)
    except AiidFormatError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    with unit_of_work(factory) as s:
        from signalfire.audit.chain import record

        record(
            s,
            action="intake.import.aiid",
            target_type="organization",
            target_id=organization.id,
            org_id=organization.id,
            actor_label=CLI_LABEL,
            summary={
                "file": snapshot.name,
                "created": result.created,
                "updated": result.updated,
                "skipped": result.skipped,
                "errors": len(errors),
            },
        )
    console.print(
        f"created {result.created}, updated {result.updated}, unchanged {result.skipped}, rows refused {len(errors)}"
    )
    for e in errors[:20]:
        err.print(f"  row {e.row_number}: {e.message}")


@feeds_app.command("add")
def feeds_add(
    url: str,
    org: Annotated[str, typer.Option(help="Organisation slug.")],
    kind: Annotated[FeedKind, typer.Option(help="rss_atom or aiid_snapshot.")] = FeedKind.rss_atom,
    title: str = "",
    interval: Annotated[int, typer.Option(help="Seconds between polls.")] = 900,
) -> None:
    """Add a feed; the scheduler polls it (conditional requests) from the next minute on."""
    factory = _factory()
    organization = _org(factory, org)
    try:
        with unit_of_work(factory) as s:
            feed = create_feed(
                s,
                organization.id,
                FeedIn(url=url, kind=kind, title=title, poll_interval_seconds=interval),
                actor_label=CLI_LABEL,
            )
            console.print(f"added {feed.url} ({feed.id})")
    except (AppError, ValueError) as exc:
        err.print(f"[red]error:[/red] {getattr(exc, 'detail', None) or exc}")
        raise typer.Exit(1) from exc


@feeds_app.command("list")
def feeds_list(org: Annotated[str, typer.Option(help="Organisation slug.")]) -> None:
    factory = _factory()
    organization = _org(factory, org)
    with unit_of_work(factory) as s:
        table = Table("url", "kind", "active", "last poll", "status", "items", "error")
        # lint: allow-raw-query operator command for the deployment, no actor to apply a policy to
        for f in s.execute(select(Feed).where(Feed.org_id == organization.id).order_by(Feed.created_at)).scalars():
            table.add_row(
                f.url,
                f.kind.value,
                "yes" if f.active else "no",
                str(f.last_polled_at or "-"),
                str(f.last_status or "-"),
                str(f.items_total),
                (f.last_error or "")[:60],
            )
        console.print(table)


@feeds_app.command("poll")
def feeds_poll(
    all_feeds: Annotated[bool, typer.Option("--all", help="Poll every active feed, due or not.")] = False,
) -> None:
    """Poll due feeds now, each in its own transaction (what the scheduler does, in the foreground)."""
    from signalfire.core.clock import utcnow

    factory = _factory()
    with unit_of_work(factory) as s:
        now = utcnow()
        ids = [
            f.id
            for f in (
                # lint: allow-raw-query operator command for the deployment, no actor to apply a policy to
                s.execute(select(Feed).where(Feed.active.is_(True))).scalars() if all_feeds else due_feeds(s, now)
            )
        ]
    for feed_id in ids:
        with unit_of_work(factory) as s:
            result = poll_feed(s, feed_id)
        console.print(
            f"{feed_id}: {result.status}, {result.created} new" + (f" ({result.error})" if result.error else "")
        )


commands = [("intake", app)]

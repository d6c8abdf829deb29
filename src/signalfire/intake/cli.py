"""`signalfire intake ...`: import public incident databases and manage feeds from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.models import Organization
from signalfire.core.db.session import engine_for, session_factory, unit_of_work
from signalfire.core.errors import AppError
from signalfire.core.progress import progress_bar
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
from signalfire.intake.polling import ImportResult, due_feeds, import_aiid, poll_feed_in_steps
from signalfire.intake.reports_import import BATCH_SIZE as REPORTS_BATCH_SIZE
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


# No bar for a snapshot that fits in one batch (BATCH rows, one transaction each): the bar moves once per batch,
# so below that it could only jump from 0 to done.
AIID_PROGRESS_FROM = BATCH + 1


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
            progress_bar(err, "importing AIID incidents", show_from=AIID_PROGRESS_FROM) as progress,
            open_incidents_csv(snapshot) as stream,
        ):
            progress(0, total)
            # One transaction per batch: an interrupted import keeps what it stored and resumes cleanly.
            for batch in _batches(iter_aiid_incidents(stream, errors=errors), BATCH):
                with unit_of_work(factory) as s:
                    part = import_aiid(s, organization.id, batch)
                result.created += part.created
                result.updated += part.updated
                result.skipped += part.skipped
                progress(min(total, result.created + result.updated + result.skipped + len(errors)), total)
            progress(total, total)
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


# No bar for an import that fits in one batch of `reports_import` (2,000 records, a few seconds without the
# embedder, docs/benchmarks.md): the bar moves once per batch, so below that it could only jump from 0 to done.
AIID_REPORTS_PROGRESS_FROM = REPORTS_BATCH_SIZE + 1


@import_app.command("aiid-reports")
def import_aiid_reports_cmd(
    incidents: Annotated[
        Path, typer.Argument(help="AIID incidents.csv (or the snapshot archive).", exists=True, dir_okay=False)
    ],
    reports: Annotated[Path, typer.Argument(help="AIID reports.csv.", exists=True, dir_okay=False)],
    org: Annotated[str, typer.Option(help="Slug of the organisation whose queue receives the signals.")],
) -> None:
    """Import AIID at report level: one signal per news report (title, URL, authors) in its incident's
    cluster, next to the incident's own record. Idempotent; safe to run again."""
    from signalfire.audit.chain import record
    from signalfire.intake.aiid_reports import import_aiid_reports, iter_aiid_reports

    factory = _factory()
    organization = _org(factory, org)
    errors: list[AiidRowError] = []
    try:
        with open_incidents_csv(incidents) as stream:
            listed = list(iter_aiid_incidents(stream, errors=errors))
        with reports.open("rb") as fh, unit_of_work(factory) as s:
            with progress_bar(err, "importing AIID reports", show_from=AIID_REPORTS_PROGRESS_FROM) as progress:
                result = import_aiid_reports(
                    s, organization.id, listed, iter_aiid_reports(fh, errors=errors), progress=progress
                )
            record(
                s,
                action="intake.import.aiid_reports",
                target_type="organization",
                target_id=organization.id,
                org_id=organization.id,
                actor_label=CLI_LABEL,
                summary={"created": result.created, "skipped": result.skipped, "errors": len(errors)},
            )
    except AiidFormatError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"created {result.created}, unchanged {result.skipped}, rows refused {len(errors)}")
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
        result = poll_feed_in_steps(factory, feed_id)
        console.print(
            f"{feed_id}: {result.status}, {result.created} new" + (f" ({result.error})" if result.error else "")
        )


# No bar below this many signals: a smaller org should be reindexed in seconds (an estimate).
REINDEX_PROGRESS_FROM = 10_000


@app.command("reindex")
def reindex_cmd(org: Annotated[str, typer.Option(help="Organisation slug.")]) -> None:
    """Rebuild an org's clustering index (lookup keys and term statistics) from its stored signals,
    e.g. after upgrading from MinHash bands. Clusters are left as they are."""
    from signalfire.intake.matching import reindex

    factory = _factory()
    organization = _org(factory, org)
    with unit_of_work(factory) as s:
        with progress_bar(err, "indexing signals", show_from=REINDEX_PROGRESS_FROM) as progress:
            count = reindex(s, organization.id, progress=progress)
        from signalfire.audit.chain import record

        record(
            s,
            action="intake.index.rebuild",
            target_type="organization",
            target_id=organization.id,
            org_id=organization.id,
            actor_label=CLI_LABEL,
            summary={"signals": count},
        )
    console.print(f"indexed {count} signals")


AsOpt = Annotated[str, typer.Option("--as", help="Email of the member acting.")]
OrgOpt = Annotated[str, typer.Option("--org", help="Organisation slug.")]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


@app.command("thresholds")
def thresholds_cmd(
    as_: AsOpt,
    org: OrgOpt,
    cluster: Annotated[float | None, typer.Option(min=0.01, max=1.0, help="Cluster threshold.")] = None,
    known: Annotated[float | None, typer.Option(min=0.01, max=1.0, help="Known-incident threshold.")] = None,
    reset: Annotated[bool, typer.Option(help="Back to the defaults.")] = False,
) -> None:
    """Show the org's clustering thresholds and their calibration; set them with --cluster/--known."""
    from signalfire.cli import _actor_for
    from signalfire.intake import calibration

    with unit_of_work(_factory()) as s:
        actor = _actor_for(s, as_, org)
        try:
            if cluster is not None or known is not None or reset:
                calibration.set_thresholds(s, actor, cluster=cluster, known=known, reset=reset)
            report = calibration.calibration(s, actor)
        except AppError as exc:
            err.print(f"[red]error ({exc.status}):[/red] {exc.detail}")
            raise typer.Exit(1) from None
    mode = "wording and meaning" if report.embedded else "wording only"
    console.print(f"cluster {report.cluster_threshold:.3f}, known {report.known_threshold:.3f} ({mode})")
    if not report.decided:
        console.print("no suggestion accepted or rejected yet")
        return
    console.print(f"{report.decided} decided: {report.accepted} accepted, {report.rejected} rejected")
    table = Table("threshold", "answered known", "precision", "recall", "F1")
    for p in report.grid:
        table.add_row(f"{p.threshold:.2f}", str(p.predicted_known), _fmt(p.precision), _fmt(p.recall), _fmt(p.f1))
    console.print(table)


@app.command("match")
def match_cmd(
    as_: AsOpt,
    org: OrgOpt,
    reference: Annotated[str, typer.Argument(help="Signal reference (SF-R-...).")],
    verdict: Annotated[str | None, typer.Argument(help="accept or reject; omit to show the suggestion.")] = None,
) -> None:
    """Known or new for one signal; accept or reject its suggested cluster."""
    from signalfire.access.policy.intake import readable_signals
    from signalfire.cli import _actor_for
    from signalfire.intake import calibration
    from signalfire.intake.models import Signal

    if verdict not in (None, "accept", "reject"):
        err.print("[red]error:[/red] the verdict is accept or reject")
        raise typer.Exit(2)
    with unit_of_work(_factory()) as s:
        actor = _actor_for(s, as_, org)
        signal = s.execute(readable_signals(actor).where(Signal.reference == reference.strip().upper())).scalar()
        if signal is None:
            err.print("[red]error (404):[/red] No such signal.")
            raise typer.Exit(1)
        try:
            if verdict is not None:
                calibration.decide(s, actor, signal.id, accept=verdict == "accept")
            match = calibration.suggestion_for(s, actor, signal)
        except AppError as exc:
            err.print(f"[red]error ({exc.status}):[/red] {exc.detail}")
            raise typer.Exit(1) from None
        if match is None:
            console.print(f"{signal.reference}: new (no stored signal is close)")
            return
        answer = "known" if match.known else "new"
        console.print(
            f"{signal.reference}: {answer}, score {match.score:.2f}, cluster {match.cluster_id}, "
            f"{match.verdict.value}\n  {match.reason}"
        )


@app.command("answer")
def answer_cmd(
    reference: str,
    as_: Annotated[str, typer.Option("--as", help="Email of the member answering.")],
    org: Annotated[str, typer.Option("--org", help="Organisation slug.")],
    body: Annotated[str, typer.Option(help="The message.")],
    internal: Annotated[bool, typer.Option(help="An internal note the reporter never sees.")] = False,
) -> None:
    """Answer the reporter of signal REFERENCE (status page, and e-mail when they left an address)."""
    from signalfire.cli import _actor_for
    from signalfire.intake import queries, thread

    with unit_of_work(_factory()) as s:
        actor = _actor_for(s, as_, org)
        signal = queries.signal_by_reference(s, actor, reference.strip().upper())
        if signal is None:
            err.print(f"[red]error:[/red] no signal {reference} in {org}")
            raise typer.Exit(1)
        try:
            message = thread.post(s, actor, signal, body, internal=internal)
        except AppError as exc:
            err.print(f"[red]error ({exc.status}):[/red] {exc.detail}")
            raise typer.Exit(1) from None
        what = "note saved" if internal else ("answer sent and e-mailed" if message.emailed else "answer sent")
        console.print(f"{signal.reference}: {what}")


commands = [("intake", app)]

"""`signalfire exchange export` and `signalfire exchange import`: STIX 2.1 bundles out of and into the exchange.

Both run as one person through the same policy, services and audit as the JSON API: ``--as`` names the
person (``--org`` the org they act for; :func:`signalfire.access.cli_actor.cli_actor`, as every command group).

``export`` is ``GET /api/v1/exchange/export.stix``: ``--purpose`` is the covered use, and each exported item
of another org is recorded as a read.

``import`` is ``POST /api/v1/exchange/import``: it needs the import permission (exchange:item:write) and saves
each report of the bundle (a file, or ``-`` for standard input) as a *draft* of the org. ``--dry-run`` prints
the plan the web dry run shows (``bundles.plan_import``: created, updated, unchanged, refused and why) and
stores nothing. A real import goes through the import job's steps (``bundles.import_part``,
in committed batches of ``stix.jobs.BATCH_SIZE`` objects, with a progress bar on stderr), so a failure midway
leaves whole batches, and says how many objects were committed; importing the bundle again finishes the rest
and leaves those unchanged. The last batch records ``exchange.stix.imported`` as the API does; a failure
records ``exchange.stix.import_failed``. ``--json`` prints the API's answer (``ImportOutcome.as_json``) on
stdout. Whole-bundle faults (not JSON, not a bundle, too large, ...) exit with 2 and store nothing; a person
who may not import exits with 1.

Register the commands on the exchange command group with :func:`register`, or run this module's ``app``.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.access.cli_actor import CliActorError, cli_actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.audit.chain import record
from signalfire.core.db.session import engine_for, session_factory, unit_of_work
from signalfire.core.errors import AppError
from signalfire.core.settings import get_settings
from signalfire.exchange.stix import jobs
from signalfire.exchange.stix.bundles import (
    MAX_IMPORT_BYTES,
    AudienceChecks,
    ImportAction,
    ImportAudience,
    ImportOutcome,
    PlannedObject,
    export_items,
    import_part,
    plan_import,
    read_bundle,
    refusals,
)
from signalfire.exchange.stix.convert import ImportedItem
from signalfire.exchange.tags import tag_filter
from signalfire.exchange.vocab import CoveredUse

app = typer.Typer(help="STIX 2.1 bundles of exchange items.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@app.callback()
def _group() -> None:
    """STIX 2.1 bundles of exchange items."""


class _Fail(Exception):
    pass


def _actor(session: Session, email: str, org_slug: str | None) -> Actor:
    try:
        return cli_actor(session, email, org_slug)
    except CliActorError as exc:
        raise _Fail(str(exc)) from None


def export(
    as_: Annotated[str, typer.Option("--as", help="E-mail of the person whose view is exported.")],
    purpose: Annotated[CoveredUse, typer.Option(help="The covered use you will apply the items to.")],
    org: Annotated[str | None, typer.Option("--org", help="Slug of the org they act for.")] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="Only items published after this UTC time.",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"],
        ),
    ] = None,
    item: Annotated[list[uuid.UUID] | None, typer.Option(help="Export only this item (repeatable).")] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(
            help="Only items carrying this free tag or citing this catalogue id, e.g. jailbreak or AML.T0051 "
            "(repeatable; an item matching any of them is exported)."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the bundle here instead of standard output.")] = None,
) -> None:
    """Export the latest published version of readable items as one STIX 2.1 bundle."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # the option says UTC
    try:
        with unit_of_work(session_factory(engine_for(get_settings().database_url))) as session:
            actor = _actor(session, as_, org)
            exported = export_items(
                session, actor, purpose, item_ids=item or [], since=since, tags=tag_filter(tag or [])
            )
    except (AppError, _Fail) as exc:
        err.print(f"[red]error:[/red] {exc.detail if isinstance(exc, AppError) else exc}")
        raise typer.Exit(1) from None
    if exported is None:
        err.print(
            "nothing to export: no readable published item matches (items that do not permit the purpose are left out)"
        )
        raise typer.Exit(1)
    text = json.dumps(exported.bundle, ensure_ascii=False, indent=1)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {len(exported.item_ids)} item(s) to {out}")
    if exported.next_since is not None:
        err.print(f"more items match: run again with --since {exported.next_since.isoformat()}")


app.command("export")(export)


# --- import -----------------------------------------------------------------------------------------

# Whole-bundle faults (read_bundle: 413 too large, 422 not JSON / not a bundle / ...) are bad input: exit 2,
# as every command group exits for input it cannot take. Refusals of the person (403 ...) exit 1.
_BAD_INPUT = frozenset({413, 422})


class _BadInput(Exception):
    pass


def _read_input(file: str) -> bytes:
    """The bundle's bytes: at most one byte over the import limit, which read_bundle then refuses as too large."""
    limit = MAX_IMPORT_BYTES + 1
    if file == "-":
        return typer.get_binary_stream("stdin").read(limit)
    try:
        with Path(file).open("rb") as fh:
            return fh.read(limit)
    except OSError as exc:
        raise _BadInput(f"cannot read {file}: {exc.strerror or exc}") from None


def _plan_table(objects: Sequence[PlannedObject], title: str) -> Table:
    table = Table("action", "type", "title", "TLP", "reason", title=title)
    for o in objects:
        # Text, not markup: titles and reasons come from the bundle.
        table.add_row(o.action.value, o.stix_type, Text(o.title), o.tlp, Text(o.reason))
    return table


def _summary(outcome: ImportOutcome) -> str:
    c = outcome.counts
    if outcome.dry_run:
        return (
            f"dry run, nothing stored: {c['create']} to create, {c['update']} to update, {c['unchanged']} unchanged, "
            f"{c['refuse']} refused, {c['ignored']} ignored ({c['objects']} objects)"
        )
    return (
        f"{c['create']} created, {c['update']} updated, {c['unchanged']} unchanged, {c['refuse']} refused, "
        f"{c['ignored']} ignored ({c['objects']} objects)"
    )


@contextlib.contextmanager
def _progress(total: int, show: bool) -> Iterator[Callable[[int], None]]:
    """A bar on stderr advanced by each committed batch (nothing when the import is a single batch)."""
    if not show:
        yield lambda n: None
        return
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("import", total=total)
        yield lambda n: bar.advance(task, n)


def _record_failure(
    factory: sessionmaker[Session], actor: Actor, error: str, committed: ImportOutcome, total: int
) -> None:
    """The audit entry of an import stopped midway (the job's ``import_failed``), if the database still takes it."""
    # A database that went away is often the failure itself: then the message on stderr is all there is.
    with contextlib.suppress(SQLAlchemyError), unit_of_work(factory) as session:
        record(
            session,
            action="exchange.stix.import_failed",
            target_type="exchange_item",
            actor=actor,
            summary={
                "error": error[:2000],
                "done": len(committed.objects),
                "total": total,
                **committed.audit_summary(),
            },
        )


def _apply_in_batches(
    factory: sessionmaker[Session],
    as_: str,
    org: str | None,
    units: Sequence[PlannedObject | ImportedItem],
    outcome: ImportOutcome,
    *,
    default_uses: Sequence[CoveredUse],
    audience: ImportAudience,
    advance: Callable[[int], None],
) -> None:
    """The import job's steps (``stix.jobs.run_import``), one committed batch of BATCH_SIZE objects at a time.

    ``outcome`` gets each batch's objects once the batch is committed, so on an exception it holds exactly
    what is stored. Each batch plans against the drafts as they are then, as the job does, and checks again
    that the person may import. The last batch records the import (``exchange.stix.imported``, as the API)."""
    size = jobs.BATCH_SIZE
    parts = [units[i : i + size] for i in range(0, len(units), size)] or [[]]
    checked: AudienceChecks = {}
    for number, part in enumerate(parts, start=1):
        with unit_of_work(factory) as session:
            actor = _actor(session, as_, org)
            require(actor, Permission.exchange_item_write)
            done = import_part(session, actor, part, default_uses=default_uses, audience=audience, checked=checked)
            if number == len(parts):
                whole = ImportOutcome(objects=[*outcome.objects, *done], ignored=outcome.ignored)
                record(
                    session,
                    action="exchange.stix.imported",
                    target_type="exchange_item",
                    actor=actor,
                    summary=whole.audit_summary(),
                )
        outcome.objects.extend(done)
        advance(len(part))


def import_(
    file: Annotated[str, typer.Argument(metavar="FILE", help="The STIX 2.1 bundle (JSON); - reads standard input.")],
    as_: Annotated[str, typer.Option("--as", help="E-mail of the person who imports (they need the import right).")],
    org: Annotated[
        str | None, typer.Option("--org", help="Slug of the org they act for (default: their first).")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print what would be created, updated, unchanged or refused; store nothing."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON on stdout (the API's answer); summary on stderr.")
    ] = False,
    permitted_use: Annotated[
        list[CoveredUse] | None,
        typer.Option(help="Permitted use for reports whose bundle states none (repeatable), as on the web import."),
    ] = None,
    audience: Annotated[
        ImportAudience, typer.Option(help="Who the drafts are addressed to until someone reviews them.")
    ] = ImportAudience.ONLY_ME,
) -> None:
    """Import a STIX 2.1 bundle as drafts of the org, for review before publishing (the web and API import)."""
    uses = list(permitted_use or [])
    try:
        raw = _read_input(file)
    except _BadInput as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    factory = session_factory(engine_for(get_settings().database_url))
    # The person, their right to import and the bundle as a whole, before anything is stored.
    try:
        with unit_of_work(factory) as session:
            actor = _actor(session, as_, org)
            if dry_run:
                outcome = plan_import(session, actor, raw, default_uses=uses, audience=audience)
            else:
                require(actor, Permission.exchange_item_write)
                result = read_bundle(raw)
                units: list[PlannedObject | ImportedItem] = [*refusals(raw, result), *result.items]
                outcome = ImportOutcome(ignored=list(result.ignored))
    except _Fail as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    except AppError as exc:
        bad_input = exc.status in _BAD_INPUT
        message = f"{exc.title}: {exc.detail}" if bad_input else exc.detail
        if exc.status == 403:
            message += f" (importing needs the {Permission.exchange_item_write.value} permission)"
        err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
        raise typer.Exit(2 if bad_input else 1) from None
    if dry_run:
        _print(outcome, as_json, _plan_table(outcome.objects, "Import plan (dry run)"))
        return

    failure: str | None = None
    interrupted = False
    with _progress(len(units), show=len(units) > jobs.BATCH_SIZE) as advance:
        try:
            _apply_in_batches(factory, as_, org, units, outcome, default_uses=uses, audience=audience, advance=advance)
        except KeyboardInterrupt:
            failure, interrupted = "interrupted", True
        except _Fail as exc:
            failure = str(exc)
        except AppError as exc:
            failure = exc.detail
        except Exception as exc:  # the database or a bug: say what is stored rather than only a traceback
            failure = f"{type(exc).__name__}: {exc}".splitlines()[0]
    if failure is not None:
        _record_failure(factory, actor, failure, outcome, len(units))
        c = outcome.counts
        err.print(
            f"[red]error:[/red] {escape(failure)}; {c['objects']} of {len(units)} objects were committed before it "
            f"({c['create']} created, {c['update']} updated, {c['unchanged']} unchanged, {c['refuse']} refused). "
            "Import the bundle again to finish: what is already imported is left unchanged.",
            soft_wrap=True,
        )
        if as_json:
            typer.echo(json.dumps({**outcome.as_json(), "error": failure, "total": len(units)}, indent=1))
        raise typer.Exit(130 if interrupted else 1)
    refused = outcome.of(ImportAction.REFUSE)
    _print(outcome, as_json, _plan_table(refused, "Refused") if refused else None, into=actor.org_name)


def _print(outcome: ImportOutcome, as_json: bool, table: Table | None, into: str | None = None) -> None:
    summary = _summary(outcome)
    if into is not None:
        summary = f"imported into {into}: {summary}; new drafts are shared only once someone reviews and publishes them"
    if as_json:
        typer.echo(json.dumps(outcome.as_json(), ensure_ascii=False, indent=1))
        err.print(summary, markup=False, highlight=False, soft_wrap=True)
        return
    if table is not None:
        out.print(table)
    out.print(summary, markup=False, highlight=False, soft_wrap=True)


app.command("import")(import_)


def register(parent: typer.Typer) -> None:
    """Add ``export`` and ``import`` to an existing command group (the ``exchange`` group)."""
    parent.command("export")(export)
    parent.command("import")(import_)

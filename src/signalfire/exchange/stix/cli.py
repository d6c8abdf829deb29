"""`signalfire exchange export`: a STIX 2.1 bundle of what one person may read, for a declared purpose.

The export runs through the same policy and logging as ``GET /api/v1/exchange/export.stix``: ``--as``
names the person (``--org`` the org they act for), ``--purpose`` the covered use, and each exported
item of another org is recorded as a read. Register it on the exchange command group with
:func:`register`, or run this module's ``app`` on its own.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.cli_actor import CliActorError, cli_actor
from signalfire.core.db.session import engine_for, session_factory, unit_of_work
from signalfire.core.errors import AppError
from signalfire.core.settings import get_settings
from signalfire.exchange.stix.bundles import export_items
from signalfire.exchange.tags import tag_filter
from signalfire.exchange.vocab import CoveredUse

app = typer.Typer(help="STIX 2.1 bundles of exchange items.", no_args_is_help=True)
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


def register(parent: typer.Typer) -> None:
    """Add ``export`` to an existing command group (the ``exchange`` group)."""
    parent.command("export")(export)

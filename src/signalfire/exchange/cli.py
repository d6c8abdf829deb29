"""`signalfire exchange ...`: list items as a given person, manage routing designations, see coverage.

Reads go through the same access policy as the UI: ``--as`` names the person (and ``--org`` the org
they act for) whose view is printed. The STIX commands (``export``, ``import``) are registered by
``signalfire.exchange.stix.cli``, hub moderation (``moderation``, ``members``) by
``signalfire.exchange.moderation.cli``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.cli_actor import CliActorError, cli_actor
from signalfire.access.models import User
from signalfire.core.db.session import engine_for, session_factory, unit_of_work
from signalfire.core.errors import AppError
from signalfire.core.progress import progress_bar
from signalfire.core.settings import get_settings
from signalfire.exchange import routing, service
from signalfire.exchange.tags import parse_tag_filter
from signalfire.exchange.vocab import Category, Tlp

app = typer.Typer(help="The information-sharing exchange.", no_args_is_help=True)
items_app = typer.Typer(help="Shared items.", no_args_is_help=True)
designations_app = typer.Typer(help="Routing: who receives new items of each category.", no_args_is_help=True)
app.add_typer(items_app, name="items")
app.add_typer(designations_app, name="designations")
console = Console()
err = Console(stderr=True)

AsOpt = Annotated[str, typer.Option("--as", help="E-mail of the person whose view or action this is.")]
OrgOpt = Annotated[str | None, typer.Option("--org", help="Slug of the org they act for (default: their first).")]


@contextmanager
def _work() -> Iterator[Session]:
    """One unit of work; a refused action prints its reason instead of a traceback."""
    try:
        with unit_of_work(session_factory(engine_for(get_settings().database_url))) as session:
            yield session
    except AppError as exc:
        err.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(1) from None


def _actor(session: Session, email: str, org_slug: str | None) -> Actor:
    try:
        return cli_actor(session, email, org_slug)
    except CliActorError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


@items_app.command("list")
def items_list(
    as_: AsOpt,
    org: OrgOpt = None,
    category: Annotated[Category | None, typer.Option(help="Only this category.")] = None,
    tlp: Annotated[str | None, typer.Option(help="Only this TLP (e.g. AMBER+STRICT).")] = None,
    mine: Annotated[bool, typer.Option(help="Only items shared by the org.")] = False,
    tag: Annotated[
        list[str] | None,
        typer.Option(help="Only items carrying this free tag or citing this catalogue id (repeatable; any of them)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=service.LIST_LIMIT_MAX)] = 50,
) -> None:
    """Items the person may see, newest first (the same policy as the UI and the API)."""
    try:
        tags = parse_tag_filter(tag or [])
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    with _work() as session:
        actor = _actor(session, as_, org)
        filters = service.ItemFilters(category=category, tlp=Tlp.parse(tlp) if tlp else None, mine=mine, tags=tags)
        page = service.list_items(session, actor, filters, limit=limit)
        table = Table(
            "id",
            "published",
            "tlp",
            "category",
            "severity",
            "contributor",
            "title",
            title=f"Exchange items visible to {actor.label}",
        )
        for item in page.items:
            table.add_row(
                str(item.id),
                item.published_at.strftime("%Y-%m-%d %H:%M") if item.published_at else "",
                item.tlp.value,
                item.category.value,
                item.severity.value,
                page.contributors[item.id].name,
                item.title,
            )
        console.print(table)


@designations_app.command("list")
def designations_list(as_: AsOpt, org: OrgOpt = None) -> None:
    """The org's designated recipients per category; categories with nobody are flagged."""
    with _work() as session:
        actor = _actor(session, as_, org)
        rows = routing.list_designations(session, actor)
        table = Table("category", "person", "email", "since", title=f"Routing of {actor.org_name}")
        for category in Category:
            here = [(d, u) for d, u in rows if d.category == category]
            if not here:
                table.add_row(category.value, "[yellow]nobody designated[/yellow]", "", "")
            for d, u in here:
                table.add_row(category.value, u.display_name, u.email, d.created_at.strftime("%Y-%m-%d"))
        console.print(table)


@designations_app.command("add")
def designations_add(as_: AsOpt, category: Category, email: str, org: OrgOpt = None) -> None:
    """Designate a member of the org (by e-mail) for a category."""
    with _work() as session:
        actor = _actor(session, as_, org)
        # lint: allow-raw-query the designee by e-mail; routing.designate checks membership of the actor's org
        user = session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()
        if user is None:
            err.print(f"[red]error:[/red] no user {email}")
            raise typer.Exit(1)
        routing.designate(session, actor, category, user.id)
        console.print(f"{user.display_name} now receives new {category.value} items for {actor.org_name}")


@designations_app.command("remove")
def designations_remove(as_: AsOpt, category: Category, email: str, org: OrgOpt = None) -> None:
    with _work() as session:
        actor = _actor(session, as_, org)
        match = [
            d
            for d, u in routing.list_designations(session, actor)
            if d.category == category and u.email == email.strip().lower()
        ]
        if not match:
            err.print(f"[red]error:[/red] {email} is not designated for {category.value}")
            raise typer.Exit(1)
        routing.remove_designation(session, actor, match[0].id)
        console.print("removed")


@designations_app.command("coverage")
def designations_coverage(as_: AsOpt, org: OrgOpt = None) -> None:
    """Hub operator: every member org x category, with the gaps nobody listens to."""
    with _work() as session:
        actor = _actor(session, as_, org)
        cells = routing.coverage(session, actor)
        table = Table("organisation", *[c.value for c in Category], title="Routing coverage")
        for org_id in dict.fromkeys(c.org_id for c in cells):
            row = [c for c in cells if c.org_id == org_id]
            table.add_row(row[0].org_name, *[str(c.designated) if c.designated else "[red]0[/red]" for c in row])
        console.print(table)


# No bar below this many published items: a smaller rebuild should be over in seconds (an estimate).
CORRELATIONS_PROGRESS_FROM = 10_000


@app.command("reindex-correlations")
def reindex_correlations() -> None:
    """Rebuild the correlation index from every published item (after an upgrade, or if in doubt)."""
    from signalfire.exchange.correlation import service as correlation

    with (
        _work() as session,
        progress_bar(err, "indexing items", show_from=CORRELATIONS_PROGRESS_FROM) as progress,
    ):
        indexed = correlation.rebuild(session, progress=progress)
    console.print(f"{indexed} values indexed")


def _register_extensions() -> None:
    from signalfire.exchange.moderation import cli as moderation_cli
    from signalfire.exchange.stix import cli as stix_cli

    stix_cli.register(app)
    moderation_cli.register(app)


_register_extensions()
commands = [("exchange", app)]

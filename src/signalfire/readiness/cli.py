"""`signalfire readiness ...`: an org's scorecard from the command line, as a member (``--as EMAIL --org SLUG``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from signalfire.core.errors import AppError

readiness_app = typer.Typer(
    help="Readiness: the scorecard computed from an organisation's records.", no_args_is_help=True
)
commands = [("readiness", readiness_app)]
console = Console()
err = Console(stderr=True)

AsOpt = Annotated[str, typer.Option("--as", help="Email of the member acting.")]
OrgOpt = Annotated[str, typer.Option("--org", help="Organisation slug.")]


@readiness_app.command("scorecard")
def scorecard_cmd(
    as_: AsOpt,
    org: OrgOpt,
    at: Annotated[str | None, typer.Option(help="A past date (YYYY-MM-DD) or ISO datetime.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON export.")] = False,
) -> None:
    """Show the scorecard: each item's state, the date it was true, and its summary."""
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.readiness import service
    from signalfire.readiness.export import scorecard_out

    with unit_of_work(_factory()) as s:
        actor = _actor_for(s, as_, org)
        try:
            card = service.scorecard_for(s, actor, service.parse_at(at))
        except AppError as exc:
            err.print(f"[red]error ({exc.status}):[/red] {exc.detail}")
            raise typer.Exit(1) from None
        out = scorecard_out(card, actor)
    if as_json:
        console.print_json(json.dumps(out.model_dump(mode="json")))
        return
    table = Table(
        "item", "state", "true as of", "summary", title=f"{out.org.name}, as of {out.as_of:%Y-%m-%d %H:%M} UTC"
    )
    for item in out.items:
        table.add_row(item.label, item.state.label, f"{item.as_of:%Y-%m-%d}" if item.as_of else "-", item.summary)
    console.print(table)
    console.print(f"{out.counts['ok']} ok, {out.counts['gap']} gaps, {out.counts['missing']} without evidence")

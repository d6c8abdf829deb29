"""`signalfire notices ...`: capability-threshold notices from the command line, as a member
(``--as EMAIL --org SLUG``): list them, record an evaluation result, approve and send a notice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from signalfire.core.errors import AppError

notices_app = typer.Typer(
    help="Capability-threshold notices to government bodies (kept apart from incident reports).",
    no_args_is_help=True,
)
commands = [("notices", notices_app)]
console = Console()
err = Console(stderr=True)

AsOpt = Annotated[str, typer.Option("--as", help="Email of the member acting.")]
OrgOpt = Annotated[str, typer.Option("--org", help="Organisation slug.")]


def _fail(exc: AppError) -> typer.Exit:
    err.print(f"[red]error ({exc.status}):[/red] {exc.detail}")
    return typer.Exit(1)


@notices_app.command("list")
def list_cmd(as_: AsOpt, org: OrgOpt) -> None:
    """The org's notices with their clocks, then its declared thresholds."""
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.clock import utcnow
    from signalfire.core.db.session import unit_of_work
    from signalfire.notices import clock, queries

    with unit_of_work(_factory()) as s:
        actor = _actor_for(s, as_, org)
        now = utcnow()
        table = Table("notice", "threshold", "status", "clock", "due (UTC)", title="Notices")
        for n in queries.list_notices(s, actor):
            st = clock.standing(n.due_at, n.sent_at, now)
            table.add_row(n.reference, n.threshold.name, n.status.label, st.state.label, f"{n.due_at:%Y-%m-%d %H:%M}")
        console.print(table)
        thresholds = Table("threshold", "evaluation", "cutoff", "tell within", title="Thresholds")
        for t in queries.list_thresholds(s, actor):
            thresholds.add_row(t.name, t.evaluation, f"{t.cutoff:g}", f"{t.notify_within_minutes // 60} h")
        console.print(thresholds)


@notices_app.command("evaluate")
def evaluate_cmd(
    as_: AsOpt,
    org: OrgOpt,
    model: Annotated[str, typer.Option(help='A version of the inventory: "<name> <version>".')],
    evaluation: Annotated[str, typer.Option(help="The evaluation's name.")],
    score: Annotated[float, typer.Option(help="The result.")],
    at: Annotated[str | None, typer.Option(help="When the result was known (ISO, with zone); default now.")] = None,
) -> None:
    """Record an evaluation result; print the notices it opened."""
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.notices import service
    from signalfire.notices.schemas import EvaluationIn

    try:
        known = datetime.fromisoformat(at) if at else None
        data = EvaluationIn(model=model, evaluation=evaluation, score=score, completed_at=known)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    with unit_of_work(_factory()) as s:
        actor = _actor_for(s, as_, org)
        try:
            crossing = service.record_evaluation(s, actor, data)
        except AppError as exc:
            raise _fail(exc) from None
        for n in crossing.opened:
            console.print(f"opened {n.reference}: due {n.due_at:%Y-%m-%d %H:%M} UTC")
        for n in crossing.already_open:
            console.print(f"already open: {n.reference}")
        if not crossing.opened and not crossing.already_open:
            console.print("recorded; no threshold crossed")


@notices_app.command("approve")
def approve_cmd(reference: str, as_: AsOpt, org: OrgOpt) -> None:
    """Approve notice REFERENCE's text."""
    _step(reference, as_, org, "approve")


@notices_app.command("send")
def send_cmd(reference: str, as_: AsOpt, org: OrgOpt) -> None:
    """Send the approved notice REFERENCE to its contacts (e-mail through the outbox)."""
    _step(reference, as_, org, "send")


def _step(reference: str, as_: str, org: str, step: str) -> None:
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.notices import queries, service

    with unit_of_work(_factory()) as s:
        actor = _actor_for(s, as_, org)
        try:
            notice = queries.get_notice_by_reference(s, actor, reference)
            notice = service.approve(s, actor, notice) if step == "approve" else service.send(s, actor, notice)
        except AppError as exc:
            raise _fail(exc) from None
        console.print(f"{notice.reference}: {notice.status.label.lower()}")

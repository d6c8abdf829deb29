"""`signalfire exchange moderation ...` and `signalfire exchange members ...`: hub moderation from the shell.

Every command acts as the person named by ``--as`` (``--org`` the org they act for) and calls the same
services as the moderation API (``moderation.service``, ``moderation.membership``), so the permission
checks, the moderation log, the audit entries in both orgs and the e-mails to the contributor are the
same whichever door a moderator uses. A refusal (a missing item or organisation, someone who is not a
hub moderator, a decision the item's or org's state does not allow, a missing reason) prints one line
and exits with code 2.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.cli_actor import CliActorError, cli_actor
from signalfire.access.models import Organization
from signalfire.access.policy.moderation import can_moderate
from signalfire.core.db.session import engine_for, session_factory, unit_of_work
from signalfire.core.errors import AppError
from signalfire.core.settings import get_settings
from signalfire.exchange.models import ItemStatus
from signalfire.exchange.moderation import membership, queries, service, views
from signalfire.exchange.moderation.membership import MemberDecision
from signalfire.exchange.moderation.models import MemberStatus, ReviewMode
from signalfire.exchange.moderation.service import ItemDecision

moderation_app = typer.Typer(help="Hub moderation of exchange items (hub moderators).", no_args_is_help=True)
members_app = typer.Typer(help="Membership of the exchange community (hub moderators).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

REFUSED = 2  # the exit code of every refusal, so scripts can tell it from a crash

AsOpt = Annotated[str, typer.Option("--as", help="E-mail of the moderator acting (an admin of the hub operator).")]
OrgOpt = Annotated[str | None, typer.Option("--org", help="Slug of the org they act for (default: their first).")]
ReasonOpt = Annotated[str, typer.Option(help="The reason the contributor or the organisation is told.")]
ItemArg = Annotated[uuid.UUID, typer.Argument(help="The item's id.")]
OrgArg = Annotated[str, typer.Argument(help="The organisation's slug.")]


def _refuse(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(REFUSED)


@contextmanager
def _work() -> Iterator[Session]:
    """One unit of work: committed when the command succeeds, rolled back on a refusal (nothing half-done)."""
    try:
        with unit_of_work(session_factory(engine_for(get_settings().database_url))) as session:
            yield session
    except AppError as exc:
        raise _refuse(exc.detail) from None


def _actor(session: Session, email: str, org_slug: str | None) -> Actor:
    try:
        return cli_actor(session, email, org_slug)
    except CliActorError as exc:
        raise _refuse(str(exc)) from None


def _moderator(session: Session, email: str, org_slug: str | None) -> Actor:
    """The acting person, if the policy lets them moderate. The API answers anyone else with a 404 so as not
    to confirm an item exists; the person at the shell learns only about their own role, which is no leak."""
    actor = _actor(session, email, org_slug)
    if not can_moderate(actor):
        raise _refuse(f"{actor.label} is not a hub moderator (an admin of the hub operator's organisation)")
    return actor


# -- items -----------------------------------------------------------------------------------------------


@moderation_app.command("queue")
def queue(
    as_: AsOpt,
    org: OrgOpt = None,
    status: Annotated[
        ItemStatus, typer.Option(help="Items in this state (pending_review: the review queue; hidden).")
    ] = ItemStatus.PENDING_REVIEW,
    flagged: Annotated[bool, typer.Option(help="List the items flagged out of scope instead.")] = False,
) -> None:
    """Items in the moderation scope waiting for review (or in another state), oldest first."""
    with _work() as session:
        actor = _moderator(session, as_, org)
        if flagged:
            rows = views.items_out(session, actor, [(i, f) for i, f in queries.flagged_items(session, actor)])
        else:
            rows = views.items_out(session, actor, queries.moderation_items(session, actor, (status,)))
        what = "flagged out of scope" if flagged else status.value.replace("_", " ")
        table = Table("id", "updated", "status", "tlp", "category", "contributor", "title", "out of scope", title=what)
        for row in rows:
            table.add_row(
                str(row.id),
                row.updated_at.strftime("%Y-%m-%d %H:%M"),
                row.status.value,
                row.tlp.value,
                row.category.value,
                escape(row.contributor),
                escape(row.title),
                escape(row.out_of_scope or ""),
            )
        console.print(table if rows else f"no items {what}")


def _decide(as_: str, org: str | None, item_id: uuid.UUID, decision: ItemDecision, reason: str) -> None:
    with _work() as session:
        actor = _moderator(session, as_, org)
        item = service.decide(session, actor, item_id, decision, reason)
        console.print(
            f"{decision.value}: {escape(item.title)} ({item.id}) is now {item.status.value.replace('_', ' ')}"
        )


@moderation_app.command("approve")
def approve(item_id: ItemArg, as_: AsOpt, org: OrgOpt = None, reason: ReasonOpt = "") -> None:
    """Publish an item held for review (as version 1, the contributor's)."""
    _decide(as_, org, item_id, ItemDecision.APPROVE, reason)


@moderation_app.command("reject")
def reject(item_id: ItemArg, reason: ReasonOpt, as_: AsOpt, org: OrgOpt = None) -> None:
    """Return an item held for review to its contributor's drafts, with the reason."""
    _decide(as_, org, item_id, ItemDecision.RETURN, reason)


@moderation_app.command("hide")
def hide(item_id: ItemArg, reason: ReasonOpt, as_: AsOpt, org: OrgOpt = None) -> None:
    """Hide a published item from members (its contributor still sees it, with the reason)."""
    _decide(as_, org, item_id, ItemDecision.HIDE, reason)


@moderation_app.command("unhide")
def unhide(item_id: ItemArg, as_: AsOpt, org: OrgOpt = None, reason: ReasonOpt = "") -> None:
    """Show a hidden item again."""
    _decide(as_, org, item_id, ItemDecision.UNHIDE, reason)


@moderation_app.command("withdraw")
def withdraw(item_id: ItemArg, reason: ReasonOpt, as_: AsOpt, org: OrgOpt = None) -> None:
    """Withdraw a published or hidden item (a revoked version goes out to exports and feeds)."""
    _decide(as_, org, item_id, ItemDecision.WITHDRAW, reason)


@moderation_app.command("flag")
def flag(item_id: ItemArg, reason: ReasonOpt, as_: AsOpt, org: OrgOpt = None) -> None:
    """Flag an item out of the community's scope (it stays readable; readers see the flag and reason)."""
    _decide(as_, org, item_id, ItemDecision.FLAG, reason)


@moderation_app.command("unflag")
def unflag(item_id: ItemArg, as_: AsOpt, org: OrgOpt = None, reason: ReasonOpt = "") -> None:
    """Clear an item's out-of-scope flag."""
    _decide(as_, org, item_id, ItemDecision.UNFLAG, reason)


@moderation_app.command("log")
def log(
    as_: Annotated[str, typer.Option("--as", help="E-mail of the person whose view of the log is printed.")],
    org: OrgOpt = None,
    item: Annotated[uuid.UUID | None, typer.Option(help="Only the lines about this item.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=queries.LOG_LIMIT_MAX)] = 50,
) -> None:
    """The moderation log, newest first: all of it for a moderator, an org's own lines for its members."""
    with _work() as session:
        actor = _actor(session, as_, org)
        entries = views.log_out(session, actor, item_id=item, limit=limit)
        table = Table("at", "action", "concerns", "item", "by", "reason", title="Moderation log")
        for e in entries:
            table.add_row(
                e.at.strftime("%Y-%m-%d %H:%M"),
                e.action.value,
                escape(e.concerns),
                escape(f"{e.item_title} ({e.item_id})") if e.item_id else "",
                escape(e.by),
                escape(e.reason),
            )
        console.print(table if entries else "the moderation log has no lines you may read")


@moderation_app.command("review-mode")
def review_mode(
    as_: AsOpt,
    mode: Annotated[ReviewMode | None, typer.Argument(help="off, new_members or all; omit to show it.")] = None,
    org: OrgOpt = None,
) -> None:
    """Show or set whose first publications to all members wait for a moderator's review."""
    with _work() as session:
        actor = _moderator(session, as_, org)
        if mode is not None:
            service.set_review_mode(session, actor, mode)
        console.print(f"pre-publication review: {views.settings_out(session).review_mode_label}")


# -- members ---------------------------------------------------------------------------------------------


@members_app.command("list")
def members_list(
    as_: AsOpt,
    org: OrgOpt = None,
    status: Annotated[MemberStatus | None, typer.Option(help="Only this standing (applied: the applications).")] = None,
) -> None:
    """Every org that applied or is (or was) a member, applications first, with its designated contacts."""
    with _work() as session:
        actor = _moderator(session, as_, org)
        table = Table("org", "kind", "standing", "applied", "statement", "contacts", "hub's reason", title="Members")
        shown = 0
        for standing in membership.standings(session, actor):
            if status is not None and standing.status != status:
                continue
            out = views.membership_out(
                standing, queries.contact_names(session, standing.org.id, views.contact_ids(standing))
            )
            contacts = "; ".join(f"{c}: {', '.join(p.name for p in people)}" for c, people in out.contacts.items())
            table.add_row(
                standing.org.slug,
                out.kind,
                out.status_label,
                out.applied_at.strftime("%Y-%m-%d") if out.applied_at else "",
                escape(out.statement),
                escape(contacts),
                escape(out.decision_reason or ""),
            )
            shown += 1
        console.print(table if shown else "no organisations in that standing")


def _member_decision(as_: str, org: str | None, slug: str, decision: MemberDecision, reason: str) -> None:
    with _work() as session:
        actor = _moderator(session, as_, org)
        wanted = slug.strip().lower()
        # lint: allow-raw-query the org named on the command line; membership.decide checks the moderator and kind
        org_id = session.execute(select(Organization.id).where(func.lower(Organization.slug) == wanted)).scalar()
        if org_id is None:
            raise _refuse(f"no organisation with the slug {wanted!r}")
        row = membership.decide(session, actor, org_id, decision, reason)
        console.print(f"{decision.value}: {wanted} is now {row.status.label.lower()}")
        if decision == MemberDecision.ADMIT and row.contacts:
            names = queries.contact_names(session, org_id, {uuid.UUID(i) for ids in row.contacts.values() for i in ids})
            for category, ids in row.contacts.items():
                people = ", ".join(names.get(uuid.UUID(i), "a former member") for i in ids)
                console.print(f"  designated for {category}: {escape(people)}")


@members_app.command("admit")
def admit(slug: OrgArg, as_: AsOpt, org: OrgOpt = None, reason: ReasonOpt = "") -> None:
    """Admit an applicant; the contacts its application named become its routing designations."""
    _member_decision(as_, org, slug, MemberDecision.ADMIT, reason)


@members_app.command("refuse")
def refuse(slug: OrgArg, reason: ReasonOpt, as_: AsOpt, org: OrgOpt = None) -> None:
    """Refuse an application, with the reason the organisation is told."""
    _member_decision(as_, org, slug, MemberDecision.REFUSE, reason)


@members_app.command("suspend")
def suspend(slug: OrgArg, reason: ReasonOpt, as_: AsOpt, org: OrgOpt = None) -> None:
    """Suspend a member: it stops publishing and no longer sees other orgs' items."""
    _member_decision(as_, org, slug, MemberDecision.SUSPEND, reason)


@members_app.command("reinstate")
def reinstate(slug: OrgArg, reason: ReasonOpt, as_: AsOpt, org: OrgOpt = None) -> None:
    """Reinstate a suspended member."""
    _member_decision(as_, org, slug, MemberDecision.REINSTATE, reason)


def register(parent: typer.Typer) -> None:
    """Add the ``moderation`` and ``members`` groups to the ``exchange`` command group."""
    parent.add_typer(moderation_app, name="moderation")
    parent.add_typer(members_app, name="members")

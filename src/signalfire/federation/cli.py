"""`signalfire federation ...`: peers from the command line, as an org admin (``--as EMAIL --org SLUG``).

    signalfire federation add-peer --as admin@lab.example --org lab-a --name hub \\
        --discovery-url http://127.0.0.1:8101/taxii2/ --api-root-url http://127.0.0.1:8101/taxii2/exchange/ \\
        --secret sf_... [--username x] [--remote-org-id UUID | --remote-identity identity--...] [--not-signalfire]
    signalfire federation set-collection --as ... --org ... --peer hub --remote-id <id> --direction push \\
        --push-audience all_members
    signalfire federation test --as ... --org ... --peer hub
    signalfire federation sync --as ... --org ... --peer hub        (synchronous: push queue, then pull)
    signalfire federation list --as ... --org ...
    signalfire federation health --as ... --org ...
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import typer
from rich.console import Console

from signalfire.core.errors import AppError
from signalfire.core.progress import progress_bar

federation_app = typer.Typer(help="Peers: other Signalfire instances and TAXII 2.1 servers.", no_args_is_help=True)
commands = [("federation", federation_app)]
console = Console()
err = Console(stderr=True)

AsOpt = Annotated[str, typer.Option("--as", help="Email of the admin acting.")]
OrgOpt = Annotated[str, typer.Option("--org", help="Organisation slug.")]
PeerOpt = Annotated[str, typer.Option("--peer", help="The peer's name (or id).")]


def _fail(exc: AppError) -> typer.Exit:
    err.print(f"[red]error ({exc.status}):[/red] {exc.detail}")
    return typer.Exit(1)


def _print(data: object) -> None:
    console.print_json(json.dumps(data, default=str))


def _peer_id(session: object, actor: object, peer: str) -> uuid.UUID:
    from sqlalchemy.orm import Session

    from signalfire.access.actor import Actor
    from signalfire.core.errors import NotFound
    from signalfire.federation import queries

    assert isinstance(session, Session) and isinstance(actor, Actor)
    for p in queries.list_peers(session, actor):
        if p.name == peer or str(p.id) == peer:
            return p.id
    raise NotFound(f"No peer named {peer!r}.")


@federation_app.command("add-peer")
def add_peer(
    as_: AsOpt,
    org: OrgOpt,
    name: Annotated[str, typer.Option()],
    discovery_url: Annotated[str, typer.Option()],
    api_root_url: Annotated[str, typer.Option()],
    secret: Annotated[str, typer.Option(help="Password or API token (stored encrypted).")],
    username: Annotated[str | None, typer.Option()] = None,
    remote_identity: Annotated[str | None, typer.Option()] = None,
    remote_org_id: Annotated[str | None, typer.Option()] = None,
    remote_name: Annotated[str, typer.Option()] = "",
    purpose: Annotated[str, typer.Option(help="Covered use declared on reads.")] = "threat_detection",
    not_signalfire: Annotated[bool, typer.Option("--not-signalfire", help="A plain TAXII server.")] = False,
) -> None:
    """Register a peer; prints it as JSON (with its id)."""
    from pydantic import ValidationError

    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.federation import service
    from signalfire.federation.schemas import PeerIn, PeerOut

    try:
        data = PeerIn.model_validate(
            {
                "name": name,
                "discovery_url": discovery_url,
                "api_root_url": api_root_url,
                "secret": secret,
                "username": username,
                "remote_identity": remote_identity,
                "remote_org_id": remote_org_id,
                "remote_name": remote_name,
                "purpose": purpose,
                "signalfire": not not_signalfire,
            }
        )
    except ValidationError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        with unit_of_work(_factory()) as s:
            peer = service.create_peer(s, _actor_for(s, as_, org), data)
            _print(PeerOut.model_validate(peer).model_dump(mode="json"))
    except AppError as exc:
        raise _fail(exc) from None


@federation_app.command("set-collection")
def set_collection(
    as_: AsOpt,
    org: OrgOpt,
    peer: PeerOpt,
    remote_id: Annotated[str, typer.Option()],
    direction: Annotated[str, typer.Option(help="push, pull or both")],
    title: Annotated[str, typer.Option()] = "",
    push_audience: Annotated[str | None, typer.Option()] = None,
    push_org: Annotated[list[str] | None, typer.Option(help="Repeatable: org ids of a named_orgs push.")] = None,
    pull_audience: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add a remote collection to a peer, or change its direction and audiences."""
    from pydantic import ValidationError

    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.federation import service
    from signalfire.federation.schemas import CollectionIn, CollectionOut

    try:
        data = CollectionIn.model_validate(
            {
                "remote_id": remote_id,
                "title": title,
                "direction": direction,
                "push_audience": push_audience,
                "push_org_ids": push_org or [],
                "pull_audience": pull_audience,
            }
        )
    except ValidationError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        with unit_of_work(_factory()) as s:
            actor = _actor_for(s, as_, org)
            c = service.set_collection(s, actor, _peer_id(s, actor, peer), data)
            _print(CollectionOut.model_validate(c).model_dump(mode="json"))
    except AppError as exc:
        raise _fail(exc) from None


@federation_app.command("test")
def test(as_: AsOpt, org: OrgOpt, peer: PeerOpt) -> None:
    """Discovery, API root and collections of the peer (recorded on the peer)."""
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.federation import service

    factory = _factory()
    try:
        with unit_of_work(factory) as s:
            actor = _actor_for(s, as_, org)
            peer_id = _peer_id(s, actor, peer)
        result = service.test_connection(factory, actor, peer_id)
    except AppError as exc:
        raise _fail(exc) from None
    _print(result.model_dump(mode="json"))
    if not result.ok:
        raise typer.Exit(1)


# Each push is a request to the peer: a few dozen go by quickly, a backlog after an outage does not.
SYNC_PROGRESS_FROM = 50


@federation_app.command("sync")
def sync(
    as_: AsOpt,
    org: OrgOpt,
    peer: PeerOpt,
    push_only: Annotated[bool, typer.Option("--push-only")] = False,
    pull_only: Annotated[bool, typer.Option("--pull-only")] = False,
) -> None:
    """Send the peer's queued pushes and pull its pull collections now (synchronously); prints counts."""
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.federation.sync import sync_peer

    factory = _factory()
    try:
        with unit_of_work(factory) as s:
            actor = _actor_for(s, as_, org)
            peer_id = _peer_id(s, actor, peer)
        with progress_bar(err, "syncing", show_from=SYNC_PROGRESS_FROM) as progress:
            out = sync_peer(factory, actor, peer_id, push_only=push_only, pull_only=pull_only, progress=progress)
    except AppError as exc:
        raise _fail(exc) from None
    _print(out.model_dump(mode="json"))


@federation_app.command("list")
def list_cmd(as_: AsOpt, org: OrgOpt) -> None:
    """The org's peers with their collections."""
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.federation import queries
    from signalfire.federation.schemas import CollectionOut, PeerOut

    with unit_of_work(_factory()) as s:
        actor = _actor_for(s, as_, org)
        _print(
            [
                PeerOut.model_validate(p).model_dump(mode="json")
                | {
                    "collections": [
                        CollectionOut.model_validate(c).model_dump(mode="json")
                        for c in queries.collections_of(s, actor, p.id)
                    ]
                }
                for p in queries.list_peers(s, actor)
            ]
        )


@federation_app.command("health")
def health_cmd(as_: AsOpt, org: OrgOpt) -> None:
    """Per peer: last success, lag, counts pushed/pulled/refused with reasons, pending and dead pushes."""
    from signalfire.cli import _actor_for, _factory
    from signalfire.core.db.session import unit_of_work
    from signalfire.federation.health import health

    with unit_of_work(_factory()) as s:
        _print([h.model_dump(mode="json") for h in health(s, _actor_for(s, as_, org))])

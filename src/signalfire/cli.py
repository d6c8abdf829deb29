"""The `signalfire` command line. Commands call services inside a unit of work, never raw SQL."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.core.db.session import engine_for, session_factory, unit_of_work
from signalfire.core.modules import import_listed
from signalfire.core.settings import get_settings

app = typer.Typer(
    help="Signalfire: information sharing, incident reporting and incident response, kept apart.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
orgs_app = typer.Typer(help="Organisations.", no_args_is_help=True)
users_app = typer.Typer(help="Users and memberships.", no_args_is_help=True)
tokens_app = typer.Typer(help="Personal API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(orgs_app, name="orgs")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
console = Console()
err = Console(stderr=True)

# Domain command groups, each a module exposing `commands: list[tuple[str, typer.Typer]]`.
DOMAIN_CLI = (
    "signalfire.audit.cli",
    "signalfire.response.cli",
    "signalfire.reporting.cli",
    "signalfire.exchange.cli",
    "signalfire.intake.cli",
    "signalfire.readiness.cli",
    "signalfire.transparency.cli",
    "signalfire.notices.cli",
    "signalfire.federation.cli",
)


def _factory() -> sessionmaker[Session]:
    return session_factory(engine_for(get_settings().database_url))


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def _schema_refusal() -> str | None:
    """Why commands cannot run on the configured database (not reachable, or not at this version's schema),
    as one line for the operator; None when they can."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from signalfire.core.db import migrate

    url = get_settings().database_url
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        problem = migrate.schema_problem(engine_for(url))
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        return f"cannot reach the database {shown}: {reason}"
    if problem is None:
        return None
    return f"{problem} ({shown}); run `signalfire db upgrade` first"


def _require_schema() -> None:
    """A server or worker on a database without the current schema would fail on every request or job."""
    refusal = _schema_refusal()
    if refusal is not None:
        err.print(f"[red]error:[/red] {escape(refusal)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


# -- server and worker ---------------------------------------------------------------------------------


def _default_public_url(host: str, port: int) -> None:
    """Links shown to people (webhook and form URLs, e-mails) name the address actually served, unless
    SIGNALFIRE_PUBLIC_BASE_URL says otherwise (behind a proxy, say)."""
    if not os.environ.get("SIGNALFIRE_PUBLIC_BASE_URL"):
        shown = f"[{host}]" if ":" in host else host
        os.environ["SIGNALFIRE_PUBLIC_BASE_URL"] = f"http://{shown}:{port}"


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    worker: Annotated[bool, typer.Option(help="Run the outbox worker in this process.")] = True,
) -> None:
    """Serve the web UI, the JSON API and TAXII."""
    import uvicorn

    from signalfire.web.app import create_app

    _default_public_url(host, port)
    _require_schema()
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings, run_worker=worker), host=host, port=port, log_level="info")


@app.command("worker")
def worker_cmd(once: Annotated[bool, typer.Option(help="Process what is due now, then exit.")] = False) -> None:
    """Deliver outbox jobs (email, webhooks, tasks) and run periodic jobs."""
    from signalfire.notify.runtime import build_worker

    _require_schema()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from signalfire.audit.sequencer import Sequencer, start_thread

    settings = get_settings()
    w = build_worker(_factory(), settings)
    if once:
        console.print(f"processed {w.drain()} job(s)")
        console.print(f"integrated {Sequencer(_factory(), settings).drain()} audit entries")
        return
    stop = threading.Event()
    seq_stop, seq_thread = start_thread(_factory(), settings)
    try:
        w.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        seq_stop.set()
        seq_thread.join(timeout=10)


@app.command()
def demo(
    port: int = 8000,
    host: str = "127.0.0.1",
    reset: Annotated[bool, typer.Option(help="Start from an empty demo database.")] = False,
    serve_it: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after seeding.")] = True,
    federated: Annotated[
        bool, typer.Option("--federated", help="A hub and two lab instances, each its own process and database.")
    ] = False,
) -> None:
    """Create (or reuse) the demo database by the real migrations, seed it, and serve it."""
    from signalfire import demo as demo_mod

    settings = get_settings()
    if federated:
        from signalfire.demo_federated import run_demo

        run_demo((settings.instance_dir / "federated").resolve(), host=host, port=port, echo=console.print)
        return
    _default_public_url(host, port)
    url = demo_mod.prepare(settings, reset=reset)
    console.print(f"[bold]Signalfire demo[/bold] on [link]http://{host}:{port}/[/link]  (database {url})")
    table = Table("email", "password", "organisation", "role", title="Demo logins")
    for login in demo_mod.LOGINS:
        table.add_row(login.email, demo_mod.PASSWORD, login.org, login.role)
    console.print(table)
    console.print(
        f"New here? Sign in as alice@aurora.example and start with the guided tour: http://{host}:{port}/tour"
    )
    if serve_it:
        import uvicorn

        from signalfire.web.app import create_app

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        uvicorn.run(create_app(settings.model_copy(update={"database_url": url})), host=host, port=port)


# -- db ------------------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations."""
    from signalfire.core.db import migrate

    migrate.upgrade(engine_for(get_settings().database_url), revision)
    console.print("database is up to date")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    from signalfire.core.db import migrate

    migrate.downgrade(engine_for(get_settings().database_url), revision)


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    from signalfire.core.db import migrate

    diff = migrate.check(engine_for(get_settings().database_url))
    if diff:
        raise _fail(f"models and migrations differ: {diff}")
    console.print("models and migrations agree")


# -- orgs, users, tokens -------------------------------------------------------------------------------


@orgs_app.command("create")
def orgs_create(slug: str, name: str, kind: str = "frontier_developer", exchange_member: bool = False) -> None:
    from signalfire.access.models import OrgKind
    from signalfire.access.service import create_org
    from signalfire.core.errors import AppError

    try:
        with unit_of_work(_factory()) as s:
            org = create_org(s, slug=slug, name=name, kind=OrgKind(kind), exchange_member=exchange_member)
            console.print(f"created {org.slug} ({org.id})")
    except (AppError, ValueError) as exc:
        raise _fail(str(exc)) from exc


@orgs_app.command("list")
def orgs_list() -> None:
    from signalfire.access.models import Organization

    with unit_of_work(_factory()) as s:
        table = Table("slug", "name", "kind", "id")
        # lint: allow-raw-query operator command for the deployment, no actor to apply a policy to
        for o in s.execute(select(Organization).order_by(Organization.slug)).scalars():
            table.add_row(o.slug, o.name, o.kind.value, str(o.id))
        console.print(table)


# The roles of access.models.Role (docs/access.md); counsel is the only role that signs off antitrust findings.
ROLE_HELP = "viewer, analyst, reporter, responder, counsel or admin."


@users_app.command("create")
def users_create(
    email: str,
    name: str = "",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
    org: Annotated[str | None, typer.Option(help="Org slug to join.")] = None,
    role: Annotated[str, typer.Option(help=ROLE_HELP)] = "viewer",
) -> None:
    from signalfire.access.models import Organization, Role
    from signalfire.access.service import add_member, create_user
    from signalfire.core.errors import AppError

    try:
        with unit_of_work(_factory()) as s:
            user = create_user(s, email=email, display_name=name or email, password=password)
            if org:
                # lint: allow-raw-query operator command for the deployment, no actor to apply a policy to
                o = s.execute(select(Organization).where(Organization.slug == org)).scalar_one_or_none()
                if o is None:
                    raise _fail(f"no organisation {org!r}")
                add_member(s, org=o, user=user, role=Role(role))
            console.print(f"created {user.email}")
    except (AppError, ValueError) as exc:
        raise _fail(str(exc)) from exc


@users_app.command("add-member")
def users_add_member(email: str, org: str, role: Annotated[str, typer.Option(help=ROLE_HELP)] = "viewer") -> None:
    from signalfire.access.models import Organization, Role, User
    from signalfire.access.service import add_member
    from signalfire.core.errors import AppError

    try:
        with unit_of_work(_factory()) as s:
            # lint: allow-raw-query operator command for the deployment, no actor to apply a policy to
            u = s.execute(select(User).where(User.email == email.lower())).scalar_one_or_none()
            # lint: allow-raw-query operator command for the deployment, no actor to apply a policy to
            o = s.execute(select(Organization).where(Organization.slug == org)).scalar_one_or_none()
            if u is None or o is None:
                raise _fail("no such user or organisation")
            add_member(s, org=o, user=u, role=Role(role))
            console.print(f"{email} is now {role} in {org}")
    except (AppError, ValueError) as exc:
        raise _fail(str(exc)) from exc


@users_app.command("list")
def users_list() -> None:
    from signalfire.access.models import Membership, Organization, User

    with unit_of_work(_factory()) as s:
        table = Table("email", "name", "org", "role")
        rows = s.execute(
            # lint: allow-raw-query operator command for the deployment, no actor to apply a policy to
            select(User, Membership, Organization)
            .join(Membership, Membership.user_id == User.id, isouter=True)
            .join(Organization, Organization.id == Membership.org_id, isouter=True)
            .order_by(User.email)
        ).all()
        for u, m, o in rows:
            table.add_row(u.email, u.display_name, o.slug if o else "-", m.role.value if m else "-")
        console.print(table)


def _actor_for(s: Session, email: str, org_slug: str) -> Actor:
    from signalfire.access.cli_actor import CliActorError, cli_actor

    try:
        return cli_actor(s, email, org_slug)
    except CliActorError as exc:
        raise _fail(str(exc)) from None


@tokens_app.command("create")
def tokens_create(
    email: str,
    org: str,
    name: str = "cli",
    scope: Annotated[list[str] | None, typer.Option(help="Repeatable; default '*'.")] = None,
    days: int = 90,
) -> None:
    """Create a personal API token for USER in ORG (printed once)."""
    from signalfire.access.service import create_token
    from signalfire.core.errors import AppError

    try:
        with unit_of_work(_factory()) as s:
            new = create_token(
                s, actor=_actor_for(s, email, org), name=name, scopes=scope or ["*"], expires_in_days=days
            )
            console.print(new.secret)
    except AppError as exc:
        raise _fail(exc.detail) from exc


@tokens_app.command("list")
def tokens_list(email: str, org: str) -> None:
    from signalfire.access.policy import readable_tokens

    with unit_of_work(_factory()) as s:
        table = Table("id", "name", "prefix", "scopes", "expires", "revoked")
        for t in s.execute(readable_tokens(_actor_for(s, email, org))).scalars():
            table.add_row(
                str(t.id), t.name, t.prefix, ",".join(t.scopes), str(t.expires_at or "-"), str(t.revoked_at or "-")
            )
        console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(email: str, org: str, token_id: uuid.UUID) -> None:
    from signalfire.access.service import revoke_token
    from signalfire.core.errors import AppError

    try:
        with unit_of_work(_factory()) as s:
            revoke_token(s, actor=_actor_for(s, email, org), token_id=token_id)
            console.print("revoked")
    except AppError as exc:
        raise _fail(exc.detail) from exc


def _load_domain_commands() -> None:
    known = {g.name for g in app.registered_groups}
    for module in import_listed(DOMAIN_CLI, registry="cli.DOMAIN_CLI"):
        for group, sub in module.commands:
            if group not in known:  # idempotent: tests load them more than once
                app.add_typer(sub, name=group)
                known.add(group)


def main() -> None:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    _load_domain_commands()
    try:
        app(prog_name="signalfire")
    except (OperationalError, ProgrammingError):
        # A command run before `signalfire db upgrade` (no such table) or with the database down: one line
        # that says what to do, not a driver traceback. Any other database error keeps its traceback.
        refusal = _schema_refusal()
        if refusal is None:
            raise
        err.print(f"[red]error:[/red] {escape(refusal)}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None


if __name__ == "__main__":  # pragma: no cover
    main()

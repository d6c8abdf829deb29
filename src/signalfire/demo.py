"""The demo: a database built by the real migrations and a realistic story seeded across channels.

Foundation data (orgs, people) is seeded here; each domain adds its part of the story in its own
`demo.py` (a `seed(session, ctx)` function), in channel order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.models import Organization, OrgKind, Role, User
from signalfire.access.service import add_member, create_org, create_user
from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.core.modules import import_listed
from signalfire.core.settings import Settings

PASSWORD = "signalfire-demo"
DOMAIN_SEEDERS = (
    "signalfire.response.demo",
    "signalfire.intake.demo",
    "signalfire.reporting.demo",
    "signalfire.exchange.demo",
    "signalfire.notices.demo",
    "signalfire.readiness.demo",
    "signalfire.transparency.demo",
)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    name: str
    org: str
    role: str


@dataclass(frozen=True)
class DemoOrg:
    slug: str
    name: str
    kind: OrgKind
    jurisdictions: tuple[str, ...] = ()
    exchange_member: bool = False


ORGS = (
    DemoOrg("aurora", "Aurora Labs", OrgKind.frontier_developer, ("EU", "US-CA", "US-NY"), True),
    DemoOrg("meridian", "Meridian AI", OrgKind.frontier_developer, ("EU", "US-CA"), True),
    DemoOrg("forum", "Frontier Safety Forum", OrgKind.hub_operator, (), True),
    DemoOrg("ai-office", "EU AI Office", OrgKind.authority, ("EU",)),
    DemoOrg("cal-oes", "California Office of Emergency Services", OrgKind.authority, ("US-CA",)),
    DemoOrg("safety-institute", "Open Safety Institute", OrgKind.researcher, (), True),
    DemoOrg("appworks", "Appworks (downstream)", OrgKind.downstream, ("EU",)),
)
LOGINS = (
    DemoLogin("alice@aurora.example", "Alice Okafor", "aurora", "admin"),
    DemoLogin("raj@aurora.example", "Raj Mehta", "aurora", "responder"),
    DemoLogin("rhea@aurora.example", "Rhea Lindqvist", "aurora", "reporter"),
    DemoLogin("ana@aurora.example", "Ana Sousa", "aurora", "analyst"),
    DemoLogin("victor@aurora.example", "Victor Chen", "aurora", "viewer"),
    # Aurora's competition counsel: signs off items that screening flags as commercially sensitive (only
    # the counsel role holds exchange:screening:counsel; Alice, the admin, publishes after the sign-off).
    DemoLogin("cora@aurora.example", "Cora Lindgren", "aurora", "counsel"),
    DemoLogin("mira@meridian.example", "Mira Haddad", "meridian", "admin"),
    DemoLogin("hugo@forum.example", "Hugo Brandt", "forum", "admin"),
    DemoLogin("erin@aioffice.example", "Erin Kowalski", "ai-office", "admin"),
    DemoLogin("omar@caloes.example", "Omar Reyes", "cal-oes", "admin"),
    DemoLogin("sam@institute.example", "Sam Rivera", "safety-institute", "admin"),
    DemoLogin("dev@appworks.example", "Dana Ivers", "appworks", "admin"),
)
# Alice also helps run the forum, to show the org switcher.
EXTRA_MEMBERSHIPS = (("alice@aurora.example", "forum", Role.analyst),)


@dataclass
class DemoContext:
    orgs: dict[str, Organization] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    extra: dict[str, uuid.UUID] = field(default_factory=dict)


def seed_foundation(session: Session) -> DemoContext:
    ctx = DemoContext()
    for o in ORGS:
        ctx.orgs[o.slug] = create_org(
            session,
            slug=o.slug,
            name=o.name,
            kind=o.kind,
            jurisdictions=list(o.jurisdictions),
            exchange_member=o.exchange_member,
        )
    for login in LOGINS:
        user = create_user(session, email=login.email, display_name=login.name, password=PASSWORD)
        ctx.users[login.email] = user
        add_member(session, org=ctx.orgs[login.org], user=user, role=Role(login.role))
    for email, slug, role in EXTRA_MEMBERSHIPS:
        add_member(session, org=ctx.orgs[slug], user=ctx.users[email], role=role)
    return ctx


def seed(session: Session) -> DemoContext:
    ctx = seed_foundation(session)
    for module in import_listed(DOMAIN_SEEDERS, registry="demo.DOMAIN_SEEDERS"):
        module.seed(session, ctx)
    return ctx


def prepare(settings: Settings, *, reset: bool = False) -> str:
    """Migrate the demo database and seed it once. Returns its URL."""
    path = (settings.instance_dir / "demo.db").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    if reset:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with unit_of_work(session_factory(engine)) as session:
        if session.execute(select(Organization.id).limit(1)).first() is None:
            seed(session)
    engine.dispose()
    return url

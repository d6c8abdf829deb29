"""Test data builders. Plain functions over the real services, so tests exercise the same rules."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy.orm import Session

from signalfire.access import service
from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Organization, OrgKind, Role, User, WebSession

__all__ = ["Organization", "actor", "actor_for", "member", "membership", "org", "token_for", "user", "web_session_for"]
from signalfire.access.secrets import digest
from signalfire.core.clock import utcnow


def org(
    db: Session,
    kind: OrgKind = OrgKind.frontier_developer,
    *,
    name: str | None = None,
    exchange_member: bool = True,
    jurisdictions: list[str] | None = None,
) -> Organization:
    slug = f"org-{uuid.uuid4().hex[:10]}"
    return service.create_org(
        db,
        slug=slug,
        name=name or slug,
        kind=kind,
        exchange_member=exchange_member,
        jurisdictions=jurisdictions or ["EU"],
    )


def user(db: Session, *, name: str | None = None, password: str | None = None) -> User:
    email = f"u-{uuid.uuid4().hex[:10]}@example.test"
    return service.create_user(db, email=email, display_name=name or email.split("@")[0], password=password)


def member(db: Session, organization: Organization, role: Role = Role.admin, *, person: User | None = None) -> User:
    person = person or user(db)
    service.add_member(db, org=organization, user=person, role=role)
    return person


def actor_for(db: Session, person: User, organization: Organization) -> Actor:
    a = service.build_actor(db, person, organization.id, via="session", csrf_token="test-csrf")
    assert a is not None and a.org_id == organization.id
    return a


def actor(
    db: Session,
    *,
    kind: OrgKind = OrgKind.frontier_developer,
    role: Role = Role.admin,
    organization: Organization | None = None,
    name: str | None = None,
) -> Actor:
    organization = organization or org(db, kind)
    person = member(db, organization, role, person=user(db, name=name))
    return actor_for(db, person, organization)


def token_for(db: Session, a: Actor, scopes: list[str] | None = None) -> str:
    new = service.create_token(db, actor=a, name="test", scopes=scopes or ["*"], expires_in_days=30)
    db.commit()
    return new.secret


def web_session_for(db: Session, a: Actor) -> tuple[str, str]:
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(16)
    now = utcnow()
    db.add(
        WebSession(
            user_id=a.user_id,
            token_hash=digest(cookie),
            csrf_token=csrf,
            active_org_id=a.org_id,
            created_at=now,
            expires_at=now + timedelta(hours=1),
        )
    )
    db.commit()
    return cookie, csrf


def membership(db: Session, a: Actor) -> Membership:
    m = db.query(Membership).filter_by(user_id=a.user_id, org_id=a.org_id).one()
    return m

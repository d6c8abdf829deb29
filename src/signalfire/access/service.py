"""Business rules for organisations, users, memberships, sessions and API tokens."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor, OrgChoice
from signalfire.access.models import ApiToken, Membership, Organization, OrgKind, Role, User, WebSession
from signalfire.access.passwords import hash_password, needs_rehash, verify_password
from signalfire.access.permissions import Permission, effective_permissions, valid_scope
from signalfire.access.policy import first_or_404, readable_members, readable_tokens, require
from signalfire.access.secrets import TOKEN_PREFIX, digest, new_secret
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, FieldError, ValidationFailed

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,58}[a-z0-9]$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


def create_org(
    session: Session,
    *,
    slug: str,
    name: str,
    kind: OrgKind,
    actor: Actor | None = None,
    jurisdictions: list[str] | None = None,
    exchange_member: bool = False,
    org_id: uuid.UUID | None = None,
) -> Organization:
    """`org_id` is for records of an org that exists at another instance too (federation): the same id
    gives the same derived STIX identity on both sides."""
    if not SLUG_RE.match(slug):
        raise ValidationFailed.single("slug", "use 3-60 lowercase letters, digits and hyphens")
    if session.execute(select(Organization.id).where(Organization.slug == slug)).first():
        raise Conflict(f"An organisation with slug {slug!r} already exists.")
    org = Organization(
        slug=slug, name=name.strip(), kind=kind, jurisdictions=jurisdictions or [], exchange_member=exchange_member
    )
    if org_id is not None:
        org.id = org_id
    session.add(org)
    session.flush()  # the audit entry needs the id
    record(
        session,
        action="org.create",
        target_type="organization",
        target_id=org.id,
        actor=actor,
        org_id=org.id,
        summary={"slug": slug, "name": name, "kind": kind},
    )
    return org


def create_user(
    session: Session, *, email: str, display_name: str, password: str | None, actor: Actor | None = None
) -> User:
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise ValidationFailed.single("email", "not a valid email address")
    if password is not None and len(password) < MIN_PASSWORD:
        raise ValidationFailed.single("password", f"must be at least {MIN_PASSWORD} characters")
    if session.execute(select(User.id).where(User.email == email)).first():
        raise Conflict("A user with this email already exists.")
    user = User(
        email=email,
        display_name=display_name.strip() or email,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    record(session, action="user.create", target_type="user", target_id=user.id, actor=actor, summary={"email": email})
    return user


def add_member(
    session: Session, *, org: Organization, user: User, role: Role, actor: Actor | None = None
) -> Membership:
    if actor is not None:
        require(actor, Permission.org_member_manage)
        if actor.org_id != org.id:
            raise ValidationFailed.single("org", "you can only manage your active organisation")
    exists = session.execute(
        select(Membership.id).where(Membership.org_id == org.id, Membership.user_id == user.id)
    ).first()
    if exists:
        raise Conflict(f"{user.email} is already a member of {org.name}.")
    m = Membership(org_id=org.id, user_id=user.id, role=role)
    session.add(m)
    session.flush()
    record(
        session,
        action="membership.add",
        target_type="membership",
        target_id=m.id,
        actor=actor,
        org_id=org.id,
        summary={"user": user.email, "role": role},
    )
    return m


def _admins_left(session: Session, org_id: uuid.UUID, excluding: uuid.UUID) -> int:
    return session.execute(
        select(func.count())
        .select_from(Membership)
        .where(Membership.org_id == org_id, Membership.role == Role.admin, Membership.id != excluding)
    ).scalar_one()


def change_role(session: Session, *, actor: Actor, membership_id: uuid.UUID, role: Role) -> Membership:
    require(actor, Permission.org_member_manage)
    m = first_or_404(session, readable_members(actor).where(Membership.id == membership_id), "No such member.")
    if m.role == Role.admin and role != Role.admin and _admins_left(session, m.org_id, m.id) == 0:
        raise Conflict("An organisation must keep at least one admin.", slug="last-admin")
    before = m.role
    m.role = role
    record(
        session,
        action="membership.role",
        target_type="membership",
        target_id=m.id,
        actor=actor,
        summary={"before": before, "after": role},
    )
    return m


def remove_member(session: Session, *, actor: Actor, membership_id: uuid.UUID) -> None:
    require(actor, Permission.org_member_manage)
    m = first_or_404(session, readable_members(actor).where(Membership.id == membership_id), "No such member.")
    if m.role == Role.admin and _admins_left(session, m.org_id, m.id) == 0:
        raise Conflict("An organisation must keep at least one admin.", slug="last-admin")
    # Their tokens for this org stop working with the membership.
    for tok in session.execute(
        select(ApiToken).where(
            ApiToken.org_id == m.org_id, ApiToken.user_id == m.user_id, ApiToken.revoked_at.is_(None)
        )
    ).scalars():
        tok.revoked_at = utcnow()
    record(
        session,
        action="membership.remove",
        target_type="membership",
        target_id=m.id,
        actor=actor,
        summary={"user_id": m.user_id, "role": m.role},
    )
    session.delete(m)


# -- actors --------------------------------------------------------------------------------------------


def _memberships(session: Session, user_id: uuid.UUID) -> list[tuple[Membership, Organization]]:
    rows = session.execute(
        select(Membership, Organization)
        .join(Organization, Organization.id == Membership.org_id)
        .where(Membership.user_id == user_id)
        .order_by(Organization.name)
    ).all()
    return [(m, o) for m, o in rows]


def build_actor(
    session: Session,
    user: User,
    org_id: uuid.UUID | None,
    *,
    via: str,
    session_id: uuid.UUID | None = None,
    token: ApiToken | None = None,
    csrf_token: str | None = None,
) -> Actor | None:
    rows = _memberships(session, user.id)
    if not rows:
        return None
    chosen = next(((m, o) for m, o in rows if o.id == org_id), rows[0])
    if token is not None and chosen[1].id != token.org_id:
        return None
    m, o = chosen
    perms = effective_permissions(m.role, o.kind, token.scopes if token else None)
    return Actor(
        user_id=user.id,
        display_name=user.display_name,
        email=user.email,
        org_id=o.id,
        org_name=o.name,
        org_kind=o.kind,
        role=m.role,
        permissions=perms,
        via=via,
        session_id=session_id,
        token_id=token.id if token else None,
        csrf_token=csrf_token,
        orgs=tuple(OrgChoice(org.id, org.name, org.kind, mem.role) for mem, org in rows),
    )


def actor_for_job(
    session: Session, user_id: uuid.UUID, org_id: uuid.UUID, token_id: uuid.UUID | None = None
) -> Actor | None:
    """The person a background job acts for, as they are now: None when they are no longer an active member
    of ``org_id``, or when the API token they asked with has since been revoked or has expired (the job then
    has the token's scopes, never more)."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    token = None
    if token_id is not None:
        token = session.get(ApiToken, token_id)
        if token is None or token.revoked_at is not None or token_expired(token, utcnow()):
            return None
    actor = build_actor(session, user, org_id, via="job", token=token)
    if actor is None or actor.org_id != org_id:
        return None
    return actor


@dataclass(frozen=True)
class NewSession:
    cookie_value: str
    web_session: WebSession


def login(session: Session, *, email: str, password: str, max_age: timedelta) -> NewSession | None:
    """None on failure, without raising, so the caller commits the failed-attempt audit entry."""
    user = session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        record(
            session,
            action="auth.login_failed",
            target_type="user",
            target_id=user.id if user else None,
            actor_label=f"anonymous ({email.strip().lower()[:100]})",
            summary={},
        )
        return None
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    rows = _memberships(session, user.id)
    now = utcnow()
    cookie = new_secret()
    ws = WebSession(
        user_id=user.id,
        token_hash=digest(cookie),
        csrf_token=secrets.token_urlsafe(32),
        active_org_id=rows[0][1].id if rows else None,
        created_at=now,
        expires_at=now + max_age,
    )
    session.add(ws)
    session.flush()
    record(
        session,
        action="auth.login",
        target_type="user",
        target_id=user.id,
        actor_label=user.email,
        org_id=ws.active_org_id,
        summary={"session": str(ws.id)},
    )
    return NewSession(cookie, ws)


def resolve_session(session: Session, cookie_value: str) -> Actor | None:
    now = utcnow()
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(
            WebSession.token_hash == digest(cookie_value),
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > now,
            User.is_active.is_(True),
        )
    ).first()
    if row is None:
        return None
    ws, user = row
    return build_actor(session, user, ws.active_org_id, via="session", session_id=ws.id, csrf_token=ws.csrf_token)


def logout(session: Session, actor: Actor) -> None:
    if actor.session_id is None:
        return
    ws = session.get(WebSession, actor.session_id)
    if ws is not None and ws.revoked_at is None:
        ws.revoked_at = utcnow()
        record(session, action="auth.logout", target_type="user", target_id=actor.user_id, actor=actor, summary={})


def switch_org(session: Session, actor: Actor, org_id: uuid.UUID) -> None:
    if actor.session_id is None:
        raise ValidationFailed.single("org_id", "API tokens are bound to one organisation")
    if org_id not in {o.org_id for o in actor.orgs}:
        raise ValidationFailed.single("org_id", "you are not a member of that organisation")
    ws = session.get(WebSession, actor.session_id)
    assert ws is not None
    ws.active_org_id = org_id
    record(
        session,
        action="auth.switch_org",
        target_type="organization",
        target_id=org_id,
        actor=actor,
        org_id=org_id,
        summary={"from": actor.org_id},
    )


# -- API tokens ----------------------------------------------------------------------------------------

MAX_TOKEN_DAYS = 366


@dataclass(frozen=True)
class NewToken:
    secret: str
    token: ApiToken


def create_token(
    session: Session, *, actor: Actor, name: str, scopes: list[str], expires_in_days: int | None
) -> NewToken:
    require(actor, Permission.org_token_manage)
    errors = []
    name = name.strip()
    if not 1 <= len(name) <= 100:
        errors.append(("name", "give the token a name of 1-100 characters"))
    bad = [s for s in scopes if not valid_scope(s)]
    if not scopes:
        errors.append(("scopes", "choose at least one scope"))
    elif bad:
        errors.append(("scopes", f"unknown scope(s): {', '.join(bad)}"))
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        errors.append(("expires_in_days", f"must be between 1 and {MAX_TOKEN_DAYS}"))
    if errors:
        raise ValidationFailed([FieldError(f, m) for f, m in errors])
    now = utcnow()
    secret = new_secret(TOKEN_PREFIX)
    tok = ApiToken(
        user_id=actor.user_id,
        org_id=actor.org_id,
        name=name,
        prefix=secret[:10],
        token_hash=digest(secret),
        scopes=sorted(set(scopes)),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(tok)
    session.flush()
    record(
        session,
        action="token.create",
        target_type="api_token",
        target_id=tok.id,
        actor=actor,
        summary={"name": name, "scopes": tok.scopes, "expires_at": tok.expires_at},
    )
    return NewToken(secret, tok)


def list_tokens(session: Session, *, actor: Actor) -> list[ApiToken]:
    """The tokens the actor may manage, newest first; asking needs the token permission."""
    require(actor, Permission.org_token_manage)
    return list(session.execute(readable_tokens(actor).order_by(ApiToken.created_at.desc())).scalars())


def revoke_token(session: Session, *, actor: Actor, token_id: uuid.UUID) -> ApiToken:
    tok = first_or_404(session, readable_tokens(actor).where(ApiToken.id == token_id), "No such token.")
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
        record(
            session,
            action="token.revoke",
            target_type="api_token",
            target_id=tok.id,
            actor=actor,
            summary={"name": tok.name},
        )
    return tok


def resolve_token(session: Session, secret: str) -> Actor | None:
    now = utcnow()
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest(secret), ApiToken.revoked_at.is_(None), User.is_active.is_(True))
    ).first()
    if row is None:
        return None
    tok, user = row
    if tok.expires_at is not None and tok.expires_at <= now:
        return None
    # Coarse last-used stamp: at most one write a minute per token keeps reads cheap.
    if tok.last_used_at is None or now - tok.last_used_at > timedelta(minutes=1):
        tok.last_used_at = now
    return build_actor(session, user, tok.org_id, via="token", token=tok)


def token_expired(tok: ApiToken, now: datetime) -> bool:
    return tok.expires_at is not None and tok.expires_at <= now


@dataclass(frozen=True)
class AddedMember:
    membership: Membership
    user: User
    temporary_password: str | None


def add_member_by_email(session: Session, *, actor: Actor, email: str, display_name: str, role: Role) -> AddedMember:
    """Add a person to the actor's org; a new user gets a one-time password for the admin to pass on."""
    from signalfire.notify.outbox import enqueue_email

    require(actor, Permission.org_member_manage)
    org = session.get(Organization, actor.org_id)
    assert org is not None
    user = session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()
    temp = None
    if user is None:
        temp = secrets.token_urlsafe(12)
        user = create_user(session, email=email, display_name=display_name or email, password=temp, actor=actor)
    m = add_member(session, org=org, user=user, role=role, actor=actor)
    enqueue_email(
        session,
        to=[user.email],
        subject=f"You were added to {org.name} on Signalfire",
        body=f"{actor.display_name} added you to {org.name} as {role}.",
        topic="access.member_added",
        org_id=org.id,
    )
    return AddedMember(m, user, temp)

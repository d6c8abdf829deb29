"""The access policy: what an actor may read, as SQL, and what an actor may do.

Every read of a protected row starts from a readable statement built here (or in this package's
per-domain modules) so that lists, details, exports and feeds share one predicate. A detail read is
the readable statement plus ``.where(Model.id == ...)``; a row that exists but is not readable is a 404.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import ApiToken, Membership, Organization, User
from signalfire.access.permissions import Permission
from signalfire.core.errors import Forbidden, NotFound

T = TypeVar("T")


def require(actor: Actor, permission: Permission) -> None:
    """For actions inside the actor's own org, where the object's existence is no secret."""
    if not actor.can(permission):
        raise Forbidden(f"Your role ({actor.role}) in {actor.org_name} does not allow this.")


S = TypeVar("S", bound=Select[Any] | Select[Any, Any])


def nothing(stmt: S) -> S:
    """The same statement, matching no rows: 'you may see none of these' without a special case."""
    # where() keeps the statement's type; mypy cannot see that through the union bound.
    return stmt.where(false())  # type: ignore[return-value]


def first_or_404(session: Session, stmt: Select[T], what: str = "Not found.") -> T:
    row = session.execute(stmt.limit(1)).scalars().first()
    if row is None:
        raise NotFound(what)
    return row


def readable_members(actor: Actor) -> Select[Membership]:
    stmt = select(Membership).where(Membership.org_id == actor.org_id)
    return stmt if actor.can(Permission.org_member_read) else nothing(stmt)


def readable_member_users(actor: Actor) -> Select[Membership, User]:
    stmt = select(Membership, User).join(User, User.id == Membership.user_id).where(Membership.org_id == actor.org_id)
    return stmt if actor.can(Permission.org_member_read) else nothing(stmt)


def readable_tokens(actor: Actor) -> Select[ApiToken]:
    """Your own tokens in this org; an org admin (member:manage) also sees everyone's, to revoke them.

    Only with the token permission: a token scoped to other work must not reveal its owner's other tokens.
    """
    stmt = select(ApiToken).where(ApiToken.org_id == actor.org_id)
    if not actor.can(Permission.org_token_manage):
        return stmt.where(false())
    if actor.can(Permission.org_member_manage):
        return stmt
    return stmt.where(ApiToken.user_id == actor.user_id)


def readable_orgs(actor: Actor) -> Select[Organization]:
    """Org directory: every org's name and kind is public to signed-in users (needed to address audiences
    and authorities); nothing else about another org is exposed through this statement."""
    return select(Organization)


def member_org_ids(actor: Actor) -> list[uuid.UUID]:
    return [o.org_id for o in actor.orgs]


def readable_audit_events(actor: Actor) -> Select[Any]:
    """An org's admins (audit:log:read) see the entries recorded in their org."""
    from signalfire.audit.models import AuditEvent

    stmt = select(AuditEvent).where(AuditEvent.org_id == actor.org_id)
    return stmt if actor.can(Permission.audit_log_read) else nothing(stmt)

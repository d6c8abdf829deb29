"""`--as EMAIL --org SLUG` into an Actor: the one lookup every command group uses.

E-mail is matched case-insensitively and without surrounding spaces (addresses are stored lower-case; the
comparison lowers the column too, so a row written before that rule still matches). Without `--org`, the
person's first membership is used, as at sign-in. Each failure says which part was wrong.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, User
from signalfire.access.service import build_actor


class CliActorError(LookupError):
    """The person, the org or the membership named on the command line does not exist."""


def cli_actor(session: Session, email: str, org_slug: str | None) -> Actor:
    wanted = email.strip().lower()
    if not wanted:
        raise CliActorError("--as needs the e-mail address of a person")
    user = session.execute(select(User).where(func.lower(User.email) == wanted)).scalar_one_or_none()
    if user is None:
        raise CliActorError(f"no user with the e-mail address {wanted}")
    org_id = None
    if org_slug is not None:
        slug = org_slug.strip().lower()
        org_id = session.execute(select(Organization.id).where(Organization.slug == slug)).scalar_one_or_none()
        if org_id is None:
            raise CliActorError(f"no organisation with the slug {slug!r}")
    actor = build_actor(session, user, org_id, via="cli")
    if actor is None or (org_id is not None and actor.org_id != org_id):
        where = f"the organisation {org_slug.strip().lower()!r}" if org_slug is not None else "any organisation"
        raise CliActorError(f"{wanted} is not an active member of {where}")
    return actor

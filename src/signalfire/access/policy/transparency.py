"""Who may read what in the transparency channel, as SQL.

* A report definition (a draft, its sign-off, its live figures) belongs to its org: members with
  ``transparency:report:read`` see it; nobody else does, not even after publication.
* An edition's public document is public: anyone, signed in or not, reads it (``public_editions``). The
  exact figures stored beside it, and the records behind them, are for the org's members only
  (``readable_editions``, and each figure's records through the owning channel's own readable statement).
"""

from __future__ import annotations

from sqlalchemy import Select, select

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.access.permissions import Permission
from signalfire.access.policy import nothing
from signalfire.transparency.models import TransparencyEdition, TransparencyReport


def readable_reports(actor: Actor) -> Select[TransparencyReport]:
    stmt = select(TransparencyReport).where(TransparencyReport.org_id == actor.org_id)
    return stmt if actor.can(Permission.transparency_report_read) else nothing(stmt)


def readable_editions(actor: Actor) -> Select[TransparencyEdition]:
    """Editions with their exact figures: the publishing org's members."""
    stmt = select(TransparencyEdition).where(TransparencyEdition.org_id == actor.org_id)
    return stmt if actor.can(Permission.transparency_report_read) else nothing(stmt)


def public_editions() -> Select[TransparencyEdition, Organization, str]:
    """Every published edition with its org and report slug: what publication made public."""
    return (
        select(TransparencyEdition, Organization, TransparencyReport.slug)
        .join(Organization, Organization.id == TransparencyEdition.org_id)
        .join(TransparencyReport, TransparencyReport.id == TransparencyEdition.report_id)
    )

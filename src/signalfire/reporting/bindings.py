"""Recipient bindings: which authority org on this deployment receives what a regime file addresses to
one of its recipient ids (e.g. the Code of Practice's "eu_ai_office" -> the EU AI Office org).

A recipient without a binding still gets its report: the printable document and the JSON export go
through the authority's own channel, and Signalfire says so.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, OrgKind
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.reporting import readable_bindings
from signalfire.audit.chain import record
from signalfire.core.errors import Conflict, NotFound, ValidationFailed
from signalfire.reporting.models import RecipientBinding
from signalfire.reporting.rules import catalog


def bindings_for(session: Session, regime_id: str) -> dict[str, uuid.UUID]:
    rows = session.execute(
        select(RecipientBinding.recipient_id, RecipientBinding.authority_org_id).where(
            RecipientBinding.regime_id == regime_id
        )
    ).all()
    return {r: o for r, o in rows}


def list_bindings(session: Session, actor: Actor) -> list[tuple[RecipientBinding, Organization]]:
    rows = session.execute(
        readable_bindings(actor)
        .add_columns(Organization)
        .join(Organization, Organization.id == RecipientBinding.authority_org_id)
        .order_by(RecipientBinding.regime_id, RecipientBinding.recipient_id)
    ).all()
    return [(b, o) for b, o in rows]


def _check_target(session: Session, regime_id: str, recipient_id: str, authority_org_id: uuid.UUID) -> None:
    try:
        regime = catalog.latest(regime_id)
    except NotFound:
        raise ValidationFailed.single("regime_id", f"No regime {regime_id!r}.") from None
    if recipient_id not in {r.id for r in regime.recipients}:
        raise ValidationFailed.single(
            "recipient_id",
            f"{regime_id} has no recipient {recipient_id!r}; it has {', '.join(r.id for r in regime.recipients)}.",
        )
    org = session.get(Organization, authority_org_id)
    if org is None or org.kind is not OrgKind.authority:
        raise ValidationFailed.single("authority_org_id", "Reports can only be bound to an authority org.")


def bind(
    session: Session, actor: Actor | None, *, regime_id: str, recipient_id: str, authority_org_id: uuid.UUID
) -> RecipientBinding:
    """Bind (or rebind) a regime's recipient to an authority org. ``actor`` None: the CLI or the demo."""
    if actor is not None:
        require(actor, Permission.reporting_binding_manage)
    _check_target(session, regime_id, recipient_id, authority_org_id)
    row = session.execute(
        select(RecipientBinding).where(
            RecipientBinding.regime_id == regime_id, RecipientBinding.recipient_id == recipient_id
        )
    ).scalar_one_or_none()
    before = row.authority_org_id if row else None
    if row is None:
        row = RecipientBinding(
            regime_id=regime_id,
            recipient_id=recipient_id,
            authority_org_id=authority_org_id,
            created_by_label=actor.display_name if actor else "system",
        )
        session.add(row)
    else:
        row.authority_org_id = authority_org_id
    session.flush()
    record(
        session,
        action="reporting.binding.set",
        target_type="reporting_recipient_binding",
        target_id=row.id,
        actor=actor,
        summary={
            "regime": regime_id,
            "recipient": recipient_id,
            "before": before,
            "authority_org_id": authority_org_id,
        },
    )
    return row


def unbind(session: Session, actor: Actor | None, binding_id: uuid.UUID) -> None:
    if actor is not None:
        require(actor, Permission.reporting_binding_manage)
        row = first_or_404(
            session, readable_bindings(actor).where(RecipientBinding.id == binding_id), "No such binding."
        )
    else:
        found = session.get(RecipientBinding, binding_id)
        if found is None:
            raise Conflict("No such binding.")
        row = found
    record(
        session,
        action="reporting.binding.remove",
        target_type="reporting_recipient_binding",
        target_id=row.id,
        actor=actor,
        summary={"regime": row.regime_id, "recipient": row.recipient_id, "authority_org_id": row.authority_org_id},
    )
    session.delete(row)

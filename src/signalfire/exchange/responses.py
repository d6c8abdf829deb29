"""Responses to items: sightings, mitigated, not applicable, comments, and proposed corrections.

A response is visible to whoever may read the item (the item's own marking governs it). A proposed
correction goes to the contributor only: it is seen by the contributor org and the proposing org,
and the contributor accepts or declines it (accepting does not change the item; the contributor
publishes a revision if it agrees).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization, User
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.exchange import is_contributor, readable_responses
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, Forbidden, ValidationFailed
from signalfire.exchange.models import (
    Attribution,
    CorrectionStatus,
    ExchangeItem,
    ItemResponse,
    ItemStatus,
    Pseudonym,
    ResponseKind,
)
from signalfire.exchange.pseudonyms import ensure_pseudonym
from signalfire.exchange.service import acknowledge, get_item
from signalfire.notify.outbox import publish_event

_NEEDS_BODY = frozenset({ResponseKind.COMMENT, ResponseKind.CORRECTION})


def respond(
    session: Session,
    actor: Actor,
    item_id: uuid.UUID,
    kind: ResponseKind,
    body: str = "",
    *,
    pseudonymous: bool = False,
) -> ItemResponse:
    require(actor, Permission.exchange_item_respond)
    item = get_item(session, actor, item_id)
    if item.status != ItemStatus.PUBLISHED:
        raise Conflict("Responses are for published items.", slug="not-published")
    body = body.strip()
    if kind in _NEEDS_BODY and not body:
        raise ValidationFailed.single("body", f"a {kind.label.lower()} needs some text")
    own = is_contributor(actor, item)
    if own and kind in {ResponseKind.SIGHTING, ResponseKind.CORRECTION}:
        raise ValidationFailed.single(
            "kind", "the contributor cannot sight or propose corrections to its own item; publish a revision instead"
        )
    if own and item.attribution == Attribution.PSEUDONYMOUS:
        pseudonymous = True  # a named reply would unmask the contributor of a pseudonymous item
    response = ItemResponse(
        id=uuid.uuid4(),
        item_id=item.id,
        item_version=item.version,
        kind=kind,
        body=body,
        org_id=actor.org_id,
        user_id=actor.user_id,
        created_at=utcnow(),
        attribution=Attribution.PSEUDONYMOUS if pseudonymous else Attribution.NAMED,
    )
    if pseudonymous:
        response.pseudonym_id = ensure_pseudonym(session, actor.org_id).id
    if kind == ResponseKind.CORRECTION:
        response.correction_status = CorrectionStatus.OPEN
    session.add(response)
    record(
        session,
        action=f"exchange.item.response.{kind.value}",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"response_id": response.id, "pseudonymous": pseudonymous},
    )
    if not own:
        acknowledge(session, item, actor.org_id)
    publish_event(
        session,
        org_id=item.org_id,
        event=f"exchange.item.{kind.value}",
        data={"item_id": item.id, "response_id": response.id, "kind": kind.value},
    )
    return response


def decide_correction(
    session: Session, actor: Actor, response_id: uuid.UUID, *, accept: bool, note: str = ""
) -> ItemResponse:
    """The contributor org accepts or declines a proposed correction."""
    require(actor, Permission.exchange_item_write)
    response = first_or_404(
        session, readable_responses(actor).where(ItemResponse.id == response_id), "No such response."
    )
    item = session.get_one(ExchangeItem, response.item_id)
    if not is_contributor(actor, item):
        raise Forbidden("Only the contributor decides on a proposed correction to its item.")
    if response.kind != ResponseKind.CORRECTION:
        raise Conflict("Only a proposed correction is accepted or declined.", slug="not-a-correction")
    if response.correction_status != CorrectionStatus.OPEN:
        raise Conflict("This correction has already been decided.", slug="already-decided")
    response.correction_status = CorrectionStatus.ACCEPTED if accept else CorrectionStatus.DECLINED
    response.decided_at = utcnow()
    response.decided_by_id = actor.user_id
    response.decision_note = note.strip() or None
    record(
        session,
        action="exchange.item.correction_decided",
        target_type="exchange_item",
        target_id=item.id,
        actor=actor,
        summary={"response_id": response.id, "accepted": accept},
    )
    return response


@dataclass(frozen=True)
class ShownResponse:
    response: ItemResponse
    author: str


def responses_for(session: Session, actor: Actor, item: ExchangeItem) -> list[ShownResponse]:
    """Responses on ``item`` the actor may see, each with the author as the actor may know it."""
    rows = session.execute(
        readable_responses(actor)
        .where(ItemResponse.item_id == item.id)
        .add_columns(User.display_name, Organization.name, Pseudonym.label)
        .join(User, User.id == ItemResponse.user_id)
        .join(Organization, Organization.id == ItemResponse.org_id)
        .outerjoin(Pseudonym, Pseudonym.id == ItemResponse.pseudonym_id)
        .order_by(ItemResponse.created_at, ItemResponse.id)
    ).all()
    shown = []
    for response, person, org, pseudonym in rows:
        if response.attribution == Attribution.PSEUDONYMOUS and response.org_id != actor.org_id:
            author = pseudonym or "a pseudonymous member"
        else:
            author = f"{person} ({org})"
        shown.append(ShownResponse(response, author))
    return shown

"""Shaping moderation and membership rows for pages and the API (no queries of protected rows here: the
rows come from ``moderation.queries``, ``membership`` and ``exchange.service``)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.policy.exchange import is_contributor
from signalfire.access.policy.moderation import can_moderate, in_moderation_scope
from signalfire.exchange import service as exchange_service
from signalfire.exchange.models import Attribution, ExchangeItem, ItemStatus
from signalfire.exchange.moderation import gate, queries
from signalfire.exchange.moderation.membership import Standing
from signalfire.exchange.moderation.models import ItemFlag, ModerationAction
from signalfire.exchange.moderation.schemas import (
    ContactOut,
    EntryOut,
    ItemModerationOut,
    MembershipOut,
    ModeratedItemOut,
    SettingsOut,
)


def settings_out(session: Session) -> SettingsOut:
    community = gate.community(session)
    return SettingsOut(
        community=community.name, review_mode=community.review_mode, review_mode_label=community.review_mode.label
    )


def items_out(
    session: Session, actor: Actor, rows: list[tuple[ExchangeItem, ItemFlag | None]]
) -> list[ModeratedItemOut]:
    contributors = exchange_service.contributors_for(session, [i for i, _ in rows], actor)
    return [
        ModeratedItemOut(
            id=i.id,
            title=i.title,
            summary=i.summary,
            category=i.category,
            tlp=i.tlp,
            status=i.status,
            contributor=contributors[i.id].name,
            updated_at=i.updated_at,
            out_of_scope=f.reason if f is not None else None,
        )
        for i, f in rows
    ]


def log_out(session: Session, actor: Actor, item_id: uuid.UUID | None = None, limit: int = 200) -> list[EntryOut]:
    rows = queries.log(session, actor, item_id=item_id, limit=limit)
    items = [i for _e, i, _o, _w in rows if i is not None]
    contributors = exchange_service.contributors_for(session, list({i.id: i for i in items}.values()), actor)
    out = []
    for entry, item, org, who in rows:
        concerns, by = org.name, who
        if item is not None and item.attribution == Attribution.PSEUDONYMOUS and item.org_id != actor.org_id:
            # A moderator learns who is behind a pseudonym only by resolving it (audited, and announced).
            concerns = contributors[item.id].name
            if entry.actor_org_id == item.org_id:
                by = concerns
        out.append(
            EntryOut(
                id=entry.id,
                at=entry.at,
                action=entry.action,
                action_label=entry.action.label,
                item_id=entry.item_id,
                item_title=item.title if item is not None else None,
                concerns=concerns,
                reason=entry.reason,
                by=by,
            )
        )
    return out


_NOTICES = {
    ItemStatus.PENDING_REVIEW: "Waiting for the hub's review: members will see it once a moderator approves it.",
    ItemStatus.HIDDEN: "Hidden by the hub: members do not see it.",
}
_REASONED = {
    ModerationAction.RETURNED: "The hub returned this item to draft",
    ModerationAction.HIDDEN: "The hub hid this item",
    ModerationAction.WITHDRAWN: "The hub withdrew this item",
}


def item_moderation(session: Session, actor: Actor, item: ExchangeItem) -> ItemModerationOut | None:
    """An item's moderation as the viewer may see it (the item was read through the policy).

    The contributor and moderators get the state, the latest moderator's reason and the history; other
    readers only see an out-of-scope flag. None when there is nothing to show.
    """
    flag = queries.flag_of(session, item)
    moderator = can_moderate(actor) and in_moderation_scope(item)
    if not (is_contributor(actor, item) or moderator):
        if flag is None:
            return None
        return ItemModerationOut(item_id=item.id, status=item.status, notice=None, out_of_scope=flag.reason, history=[])
    history = log_out(session, actor, item.id, limit=50)
    notice = _NOTICES.get(item.status)
    latest = next((e for e in history if e.action in _REASONED), None)
    if latest is not None and (
        (latest.action == ModerationAction.RETURNED and item.status == ItemStatus.DRAFT)
        or (latest.action == ModerationAction.HIDDEN and item.status == ItemStatus.HIDDEN)
        or (latest.action == ModerationAction.WITHDRAWN and item.status == ItemStatus.WITHDRAWN)
    ):
        notice = f"{_REASONED[latest.action]} on {latest.at:%Y-%m-%d %H:%M} UTC. Reason: {latest.reason}"
    if notice is None and flag is None and not history and not moderator:
        return None
    return ItemModerationOut(
        item_id=item.id,
        status=item.status,
        notice=notice,
        out_of_scope=flag.reason if flag is not None else None,
        history=history,
        can_moderate=moderator,
    )


def membership_out(standing: Standing, names: dict[uuid.UUID, str]) -> MembershipOut:
    row = standing.record
    status = standing.status
    contacts: dict[str, list[ContactOut]] = {}
    if row is not None:
        for category, ids in row.contacts.items():
            people = [uuid.UUID(i) for i in ids]
            contacts[category] = [ContactOut(user_id=p, name=names.get(p, "A former member")) for p in people]
    label = status.label if status is not None else "Not a member"
    if row is None and status is not None:
        label = "Member (founding)"
    return MembershipOut(
        org_id=standing.org.id,
        org=standing.org.name,
        kind=standing.org.kind.value,
        status=status,
        status_label=label,
        statement=row.statement if row is not None else "",
        contacts=contacts,
        applied_at=row.applied_at if row is not None else None,
        decided_at=row.decided_at if row is not None else None,
        decision_reason=row.decision_reason if row is not None else None,
    )


def contact_ids(standing: Standing) -> set[uuid.UUID]:
    if standing.record is None:
        return set()
    return {uuid.UUID(i) for ids in standing.record.contacts.values() for i in ids}

"""What may leave this instance, and to which peer collection: one pure function, tested by a table.

- TLP:RED and TLP:AMBER+STRICT never leave the instance.
- TLP:AMBER goes only to a peer collection limited to named orgs, all of which the item names.
- TLP:GREEN and TLP:CLEAR go to a collection whose audience the item is addressed to (for a named-orgs
  collection: every org it is limited to is named by the item).
- Items addressed to named people only never leave (person inboxes are local).
- An item that came from a peer is never pushed back to that peer (no loops, one hop).
"""

from __future__ import annotations

from collections.abc import Collection

from signalfire.exchange.vocab import AudienceKind, Tlp

NEVER_LEAVE = frozenset({Tlp.RED, Tlp.AMBER_STRICT})


def push_refusal(
    tlp: Tlp,
    item_kinds: Collection[AudienceKind],
    item_org_ids: Collection[str],
    collection_audience: AudienceKind | None,
    collection_org_ids: Collection[str],
    *,
    from_this_peer: bool = False,
) -> str | None:
    """Why the item may not go to the collection, or None when it may."""
    if tlp in NEVER_LEAVE:
        return f"TLP:{tlp.value} never leaves this instance"
    if from_this_peer:
        return "the item came from this peer; it is not sent back"
    if collection_audience is None:
        return "the collection is not a push collection"
    if collection_audience is AudienceKind.NAMED_PEOPLE:
        return "items for named people never leave this instance"
    named = collection_audience is AudienceKind.NAMED_ORGS
    if named:
        wanted = set(collection_org_ids)
        if not wanted:
            return "the named-orgs collection lists no orgs"
        if AudienceKind.NAMED_ORGS not in item_kinds or not wanted <= set(item_org_ids):
            return "the item does not name every org the collection is limited to"
    elif collection_audience not in item_kinds:
        return f"the item is not addressed to {collection_audience.value}"
    if tlp is Tlp.AMBER and not named:
        return "TLP:AMBER goes only to a collection limited to the named orgs"
    return None

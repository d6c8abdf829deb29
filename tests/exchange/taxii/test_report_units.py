"""A TAXII add makes one exchange item per posted report; new versions revise it; a revocation withdraws it.

Written from what a hub operator and a federated lab expect, not from the code: 500 reports pushed in one
envelope are 500 items a moderator can act on one by one, each titled as its report; a report's second
version is version 2 of the same item; a revoked report withdraws its item, and the revocation (only it)
stays readable over TAXII to the item's audience under a purpose the item permits, so that a copy pulled
elsewhere can follow it. Nobody outside that audience, and no other purpose, reads it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind
from signalfire.exchange.models import ExchangeItem, ItemRevision, ItemStatus
from signalfire.exchange.service import org_identity_id
from signalfire.exchange.stix.convert import TLP2_MARKING_IDS
from signalfire.exchange.taxii import ingest as taxii_ingest
from signalfire.exchange.taxii import store as taxii_store
from signalfire.exchange.taxii.collections import MEMBERS_ID, TaxiiCollection, collections_for
from signalfire.exchange.taxii.protocol import Query, VersionFilter
from signalfire.exchange.vocab import CoveredUse, Tlp
from tests import factories
from tests.exchange.taxii.helpers import EPOCH, indicator, marking, ts

USES = [CoveredUse.THREAT_DETECTION]


def _report(author: str, name: str, refs: list[str], *, days: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "type": "report",
        "spec_version": "2.1",
        "id": extra.pop("stix_id", f"report--{uuid.uuid4()}"),
        "created": ts(EPOCH),
        "modified": ts(EPOCH + timedelta(days=days)),
        "name": name,
        "description": f"What {name} is about.",
        "published": ts(EPOCH),
        "object_refs": refs,
        "created_by_ref": author,
        "object_marking_refs": [TLP2_MARKING_IDS[Tlp.GREEN]],
        **extra,
    }


def _members(db: Session, actor: Actor) -> TaxiiCollection:
    return next(c for c in collections_for(db, actor) if c.id == MEMBERS_ID)


def _add(db: Session, actor: Actor, objects: list[dict[str, Any]]) -> taxii_ingest.AddResult:
    return taxii_ingest.add_objects(
        db, actor, _members(db, actor), [marking(), *objects], permitted_uses=USES, override_reason=None
    )


def _read(
    db: Session, actor: Actor, purpose: CoveredUse = CoveredUse.THREAT_DETECTION, **query: Any
) -> list[tuple[str, str]]:
    """(id, version) of every object the actor reads in the members' collection (if it may read it)."""
    taxii_store.sync(db)
    collection = next((c for c in collections_for(db, actor) if c.id == MEMBERS_ID), None)
    if collection is None or not collection.can_read:
        return []
    reader = taxii_store.Reader(actor, collection, purpose, b"test")
    page = taxii_store.read_page(db, reader, Query(limit=1000, **query))
    return [(row.stix_id, row.body or "") for row in page.rows]


def test_each_report_is_its_own_item_titled_by_its_name_and_loose_objects_share_one(db: Session) -> None:
    writer = factories.actor(db)
    author = org_identity_id(writer.org_id)
    first, second, loose = (indicator(n, created_by_ref=author) for n in range(3))
    reports = [
        _report(author, "Prompt-injection family A", [first["id"]]),
        _report(author, "Poisoned adapter B", [second["id"]]),
    ]
    result = _add(db, writer, [first, second, loose, *reports])

    assert result.status.failure_count == 0
    assert len(result.items) == 3
    titles = sorted(item.title for item in result.items)
    assert titles[:2] == ["Poisoned adapter B", "Prompt-injection family A"]
    assert titles[2].startswith("TAXII submission: 1 STIX objects")
    by_title = {item.title: item for item in result.items}
    a = by_title["Prompt-injection family A"]
    assert a.summary == "What Prompt-injection family A is about."
    # Each report holds the indicator it refers to; the loose indicator is in the third item.
    assert result.item_of[reports[0]["id"]] == result.item_of[first["id"]] == a.id
    assert result.item_of[reports[1]["id"]] == result.item_of[second["id"]] == by_title["Poisoned adapter B"].id
    assert result.item_of[loose["id"]] not in {a.id, by_title["Poisoned adapter B"].id}

    # A reader gets the posted reports, and no second report of the exchange's own for those two items.
    reader = factories.actor(db)
    report_ids = {stix_id for stix_id, _ in _read(db, reader, types=("report",))}
    assert {reports[0]["id"], reports[1]["id"]} <= report_ids
    assert f"report--{a.id}" not in report_ids
    assert f"report--{by_title['Poisoned adapter B'].id}" not in report_ids


def test_a_new_version_of_a_report_is_the_next_version_of_its_item(db: Session) -> None:
    writer = factories.actor(db)
    author = org_identity_id(writer.org_id)
    obj = indicator(1, created_by_ref=author)
    v1 = _report(author, "Tool-use jailbreak", [obj["id"]])
    (item,) = _add(db, writer, [obj, v1]).items
    obj2 = {**obj, "modified": ts(EPOCH + timedelta(days=2))}
    v2 = {**v1, "modified": ts(EPOCH + timedelta(days=2)), "name": "Tool-use jailbreak (second sample)"}
    result = _add(db, writer, [obj2, v2])

    assert [i.id for i in result.items] == [item.id]
    db.refresh(item)
    assert item.version == 2 and item.status == ItemStatus.PUBLISHED
    assert item.title == "Tool-use jailbreak (second sample)"
    versions = db.execute(select(ItemRevision.version).where(ItemRevision.item_id == item.id)).scalars().all()
    assert sorted(versions) == [1, 2]
    reader = factories.actor(db)
    both = _read(db, reader, ids=(v1["id"],), version=VersionFilter(all=True))
    assert len(both) == 2  # the report's two versions, both in the one item
    only_one_item = db.execute(select(ExchangeItem.id).where(ExchangeItem.org_id == writer.org_id)).scalars().all()
    assert only_one_item == [item.id]


def test_a_revoked_report_withdraws_its_item_and_only_its_audience_reads_the_revocation(db: Session) -> None:
    writer = factories.actor(db)
    author = org_identity_id(writer.org_id)
    obj = indicator(1, created_by_ref=author)
    v1 = _report(author, "Model-weights exfiltration lure", [obj["id"]])
    (item,) = _add(db, writer, [obj, v1]).items
    revoked = {**v1, "modified": ts(EPOCH + timedelta(days=3)), "revoked": True}
    obj_revoked = {**obj, "modified": ts(EPOCH + timedelta(days=3)), "revoked": True}
    result = _add(db, writer, [obj_revoked, revoked])

    assert [i.id for i in result.items] == [item.id]
    db.refresh(item)
    assert item.status == ItemStatus.WITHDRAWN and item.withdrawn_reason == "revoked at the source"

    member = factories.actor(db)
    seen = _read(db, member, version=VersionFilter(all=True))
    # Only the revoked versions: the first version's content is not served again.
    assert sorted(stix_id for stix_id, _ in seen if stix_id in (v1["id"], obj["id"])) == sorted([v1["id"], obj["id"]])
    assert all('"revoked":true' in body for stix_id, body in seen if stix_id in (v1["id"], obj["id"]))
    # Another purpose than the item permits, an org outside the audience: nothing of it.
    other_purpose = _read(db, member, CoveredUse.MODEL_EVALUATIONS, version=VersionFilter(all=True))
    assert not [s for s, _ in other_purpose if s in (v1["id"], obj["id"])]
    authority = factories.actor(db, kind=OrgKind.authority)
    assert not [s for s, _ in _read(db, authority, version=VersionFilter(all=True)) if s in (v1["id"], obj["id"])]


def test_a_moderator_hidden_or_contributor_withdrawn_item_serves_nothing_to_others(db: Session) -> None:
    """The revocation rule is narrow: an item withdrawn for another reason serves nothing, revoked or not."""
    from signalfire.exchange import authoring

    writer = factories.actor(db)
    author = org_identity_id(writer.org_id)
    obj = indicator(1, created_by_ref=author)
    report = _report(author, "Withdrawn by hand", [obj["id"]])
    (item,) = _add(db, writer, [obj, report]).items
    authoring.withdraw(db, writer, item.id, "posted to the wrong community")
    member = factories.actor(db)
    seen = _read(db, member, version=VersionFilter(all=True))
    assert not [s for s, _ in seen if s in (report["id"], obj["id"])]


def test_a_new_version_under_another_attribution_is_refused_alone(db: Session) -> None:
    """A report first shared under the org's pseudonym cannot come back under its name: that would link the
    two. Its objects are refused with the reason; the rest of the request is still published."""
    from signalfire.exchange.models import Pseudonym
    from tests.exchange import factories as xf

    writer = factories.actor(db)
    xf.published(db, writer, attribution="pseudonymous")  # the org gets its pseudonym
    pseudonym = db.execute(select(Pseudonym.stix_identity_id).where(Pseudonym.org_id == writer.org_id)).scalar_one()
    v1 = _report(pseudonym, "Shared under a pseudonym", [pseudonym])
    (item,) = _add(db, writer, [v1]).items
    named = org_identity_id(writer.org_id)
    v2 = {**v1, "modified": ts(EPOCH + timedelta(days=1)), "created_by_ref": named}
    other = _report(named, "Another finding, under the name", [named])
    result = _add(db, writer, [v2, other])

    refused = {f["id"]: f["message"] for f in result.status.failures}
    assert v2["id"] in refused and refused[v2["id"]].startswith("not published")
    assert [i.title for i in result.items] == ["Another finding, under the name"]
    db.refresh(item)
    assert item.version == 1 and item.title == "Shared under a pseudonym"


def test_a_withdrawn_item_serves_its_revocation_to_its_audience_and_a_hidden_one_nothing(db: Session) -> None:
    """An item written here and withdrawn (by its contributor): readers it was addressed to get the revoked
    version over TAXII, and only it; a purpose it does not permit, or an org outside its audience, gets nothing.
    An item the hub hides is not withdrawn: it serves nothing at all."""
    from signalfire.exchange import authoring
    from tests.exchange import factories as xf

    writer = factories.actor(db)
    member = factories.actor(db)
    shown = xf.published(db, writer, title="Withdrawn by its contributor")
    hidden = xf.published(db, writer, title="Hidden by the hub")
    report = f"report--{shown.id}"
    assert [s for s, _ in _read(db, member) if s == report] == [report]
    authoring.withdraw(db, writer, shown.id, "a false positive")
    hidden.status = ItemStatus.HIDDEN
    db.flush()

    every = _read(db, member, version=VersionFilter(all=True))
    served = [body for stix_id, body in every if stix_id == report]
    assert len(served) == 1 and '"revoked":true' in served[0]  # the revocation, not the earlier version
    assert not [s for s, _ in every if s == f"report--{hidden.id}"]
    assert not [s for s, _ in _read(db, member, CoveredUse.MODEL_EVALUATIONS) if s == report]
    authority = factories.actor(db, kind=OrgKind.authority)
    assert not [s for s, _ in _read(db, authority) if s == report]


def test_a_posted_report_held_for_review_is_served_as_posted_once_approved(db: Session) -> None:
    """With pre-publication review, a pushed report waits for the hub's moderator; once approved, readers get
    the posted report, not a second report of the hub's own for the same item (which a lab pulling the hub
    would turn into a second item)."""
    from signalfire.exchange.moderation import service as moderation
    from signalfire.exchange.moderation.models import ReviewMode
    from signalfire.exchange.moderation.service import ItemDecision

    hub = factories.actor(db, kind=OrgKind.hub_operator)
    moderation.set_review_mode(db, hub, ReviewMode.ALL)
    writer = factories.actor(db)
    author = org_identity_id(writer.org_id)
    obj = indicator(1, created_by_ref=author)
    report = _report(author, "Held for review", [obj["id"]])
    (item,) = _add(db, writer, [obj, report]).items
    assert item.status == ItemStatus.PENDING_REVIEW
    member = factories.actor(db)
    assert not [s for s, _ in _read(db, member) if s in (report["id"], obj["id"])]

    moderation.decide(db, hub, item.id, ItemDecision.APPROVE, "")
    db.flush()
    served = {s for s, _ in _read(db, member, types=("report",))}
    assert report["id"] in served and f"report--{item.id}" not in served


def test_new_versions_of_a_report_waiting_for_review_update_it_and_a_revocation_takes_it_out_unseen(
    db: Session,
) -> None:
    """The moderator reviews one item per report, at its latest version; a report revoked before approval
    leaves the queue as withdrawn, and nobody else ever reads anything of it, not even its revocation."""
    from signalfire.exchange.moderation import service as moderation
    from signalfire.exchange.moderation.models import ReviewMode
    from signalfire.exchange.moderation.service import ItemDecision

    hub = factories.actor(db, kind=OrgKind.hub_operator)
    moderation.set_review_mode(db, hub, ReviewMode.ALL)
    writer = factories.actor(db)
    author = org_identity_id(writer.org_id)
    kept = _report(author, "Waiting, first wording", [author])
    dropped = _report(author, "Waiting, then revoked", [author])
    first, second = _add(db, writer, [kept, dropped]).items
    v2 = {**kept, "modified": ts(EPOCH + timedelta(days=1)), "name": "Waiting, second wording"}
    gone = {**dropped, "modified": ts(EPOCH + timedelta(days=1)), "revoked": True}
    result = _add(db, writer, [v2, gone])

    assert {i.id for i in result.items} == {first.id, second.id}
    db.refresh(first)
    db.refresh(second)
    assert first.status == ItemStatus.PENDING_REVIEW and first.title == "Waiting, second wording"
    assert second.status == ItemStatus.WITHDRAWN
    mine = db.execute(select(ExchangeItem.id).where(ExchangeItem.org_id == writer.org_id)).scalars().all()
    assert sorted(mine) == sorted([first.id, second.id])

    moderation.decide(db, hub, first.id, ItemDecision.APPROVE, "")
    db.flush()
    member = factories.actor(db)
    served = {s: body for s, body in _read(db, member, version=VersionFilter(all=True))}
    assert "Waiting, second wording" in served[kept["id"]]
    assert dropped["id"] not in served  # never published: not even its revocation is read

"""Pseudonymous items travel with the pseudonym only. A lab's pseudonymous item reaches the hub carrying the
pseudonym the lab's instance issued; the hub publishes it under the poster's pseudonym *at the hub* (which
only the hub can resolve), and never stores the foreign identity. The org's named identity never travels."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.exchange.models import Attribution, ItemRevision, Pseudonym
from signalfire.exchange.service import hub_identity, org_identity_id
from signalfire.exchange.taxii import ingest
from signalfire.exchange.taxii.collections import MEMBERS_ID, collections_for
from signalfire.exchange.taxii.models import TaxiiObject
from signalfire.exchange.taxii.store import revision_rows
from signalfire.exchange.vocab import CoveredUse
from tests.exchange import factories as xf


def _as_sent_by_another_instance(db: Session, lab: Any) -> tuple[list[dict[str, Any]], str]:
    """The objects a lab instance pushes for a pseudonymous item, with ids that instance would have."""
    item = xf.published(db, lab, attribution=Attribution.PSEUDONYMOUS)
    revision = db.execute(select(ItemRevision).where(ItemRevision.item_id == item.id)).scalar_one()
    rows = revision_rows(db, revision, item.org_id, hub_identity(db))
    text = json.dumps([json.loads(r.body) for r in rows])
    local = db.execute(select(Pseudonym).where(Pseudonym.org_id == lab.org_id)).scalar_one().stix_identity_id
    foreign = f"identity--{uuid.uuid4()}"
    text = text.replace(local, foreign).replace(str(item.id), str(uuid.uuid4()))
    assert org_identity_id(lab.org_id) not in text  # the named identity never travels with it
    return json.loads(text), foreign


def test_a_foreign_pseudonym_is_published_under_the_posters_pseudonym_here(db: Session, make_actor: Any) -> None:
    lab = make_actor()
    objects, foreign = _as_sent_by_another_instance(db, lab)
    hub_record_of_lab = make_actor()  # the lab's account at the hub
    target = next(c for c in collections_for(db, hub_record_of_lab) if c.id == MEMBERS_ID)
    result = ingest.add_objects(
        db, hub_record_of_lab, target, objects, permitted_uses=[CoveredUse.THREAT_DETECTION], override_reason=None
    )
    assert len(result.items) == 1
    item = result.items[0]
    here = db.execute(select(Pseudonym).where(Pseudonym.org_id == hub_record_of_lab.org_id)).scalar_one()
    assert item.attribution == Attribution.PSEUDONYMOUS and item.pseudonym_id == here.id
    bodies = [
        json.loads(b) for b in db.execute(select(TaxiiObject.body).where(TaxiiObject.item_id == item.id)).scalars()
    ]
    authors = {b.get("created_by_ref") for b in bodies} - {None}
    assert authors == {here.stix_identity_id}
    assert not db.execute(select(TaxiiObject.id).where(TaxiiObject.stix_id == foreign)).first()
    assert any("issued elsewhere" in f["message"] for f in result.status.failures)


def test_a_pseudonym_issued_here_is_not_adopted_by_someone_else(db: Session, make_actor: Any) -> None:
    owner = make_actor()
    objects, _ = _as_sent_by_another_instance(db, owner)
    theirs = db.execute(select(Pseudonym).where(Pseudonym.org_id == owner.org_id)).scalar_one().stix_identity_id
    text = json.dumps(objects)
    foreign = next(o["id"] for o in objects if o.get("type") == "identity" and o.get("identity_class") == "unknown")
    objects = json.loads(text.replace(foreign, theirs))  # someone else claims the owner's pseudonym here
    other = make_actor()
    target = next(c for c in collections_for(db, other) if c.id == MEMBERS_ID)
    result = ingest.add_objects(
        db, other, target, objects, permitted_uses=[CoveredUse.THREAT_DETECTION], override_reason=None
    )
    assert result.items == []
    assert any("created_by_ref" in f["message"] for f in result.status.failures)

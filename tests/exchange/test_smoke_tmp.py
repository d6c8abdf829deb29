from sqlalchemy import select
from signalfire.access.models import OrgKind, Role
from signalfire.access.policy.exchange import readable_items
from signalfire.exchange.models import ExchangeItem
from signalfire.exchange import service
from signalfire.exchange.vocab import CoveredUse
from tests.exchange import factories as xf


def test_smoke(db, make_actor):
    a = make_actor(OrgKind.frontier_developer, Role.admin)
    b = make_actor(OrgKind.frontier_developer, Role.viewer)
    gov = make_actor(OrgKind.authority, Role.admin)
    item = xf.published(db, a, attribution="pseudonymous")
    assert db.execute(readable_items(b).where(ExchangeItem.id == item.id)).first() is not None
    assert db.execute(readable_items(gov).where(ExchangeItem.id == item.id)).first() is None
    snap = service.snapshot_of(db, item, b)
    assert snap.contributor.kind == "pseudonym"
    opened = service.open_details(db, b, item.id, CoveredUse.THREAT_DETECTION)
    assert opened.read is not None
    page = service.list_items(db, b)
    assert item.id in [i.id for i in page.items]

"""An item's own access log must show the hub's resolutions of the pseudonym the item is shared under.

The bug (issue 16): the hub resolved a pseudonym from its pseudonyms page, without naming an item; the
org-wide log listed it, but each item's log said "Nobody has resolved your pseudonym".
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind
from signalfire.exchange import pseudonyms
from signalfire.exchange.models import Pseudonym
from tests.exchange import factories as xf

Client = Callable[[Actor | None], TestClient]
REASON = "Court order about the contributor of these items."


def test_item_log_shows_a_resolution_made_without_naming_the_item(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client
) -> None:
    owner = make_actor()
    hub = make_actor(OrgKind.hub_operator)
    first = xf.published(db, owner, attribution="pseudonymous")
    second = xf.published(db, owner, attribution="pseudonymous")
    named = xf.published(db, owner)
    pseudonym = db.execute(select(Pseudonym).where(Pseudonym.org_id == owner.org_id)).scalar_one()
    pseudonyms.resolve(db, hub, pseudonym.id, REASON)  # from the pseudonyms page: no item named
    db.commit()

    client = browser_client(owner)
    for item in (first, second):
        page = client.get(f"/exchange/items/{item.id}/access-log")
        assert page.status_code == 200
        assert REASON in page.text, "the item's own log must list the resolution of its pseudonym"
        assert "Nobody has resolved your pseudonym" not in page.text
    # An item shared under the org's name was never behind the pseudonym: nothing to list there.
    named_page = client.get(f"/exchange/items/{named.id}/access-log")
    assert REASON not in named_page.text
    # The org-wide log still lists it once.
    assert client.get("/exchange/access-log").text.count(REASON) == 1


def test_item_log_shows_a_resolution_that_named_another_item_of_the_same_pseudonym(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client
) -> None:
    owner = make_actor()
    hub = make_actor(OrgKind.hub_operator)
    first = xf.published(db, owner, attribution="pseudonymous")
    second = xf.published(db, owner, attribution="pseudonymous")
    assert first.pseudonym_id is not None
    pseudonyms.resolve(db, hub, first.pseudonym_id, REASON, item_id=first.id)
    db.commit()
    # Resolving the pseudonym for one item unmasks every item shared under it.
    assert REASON in browser_client(owner).get(f"/exchange/items/{second.id}/access-log").text


def test_another_org_still_cannot_open_the_item_log(
    db: Session, make_actor: Callable[..., Actor], browser_client: Client
) -> None:
    owner = make_actor()
    hub = make_actor(OrgKind.hub_operator)
    item = xf.published(db, owner, attribution="pseudonymous")
    assert item.pseudonym_id is not None
    pseudonyms.resolve(db, hub, item.pseudonym_id, REASON)
    db.commit()
    reader = make_actor()
    db.commit()
    assert browser_client(reader).get(f"/exchange/items/{item.id}/access-log").status_code == 404

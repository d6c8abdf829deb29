"""Helpers of the live federation tests: reading instances from outside, as their users or their databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from signalfire.demo_federated import (
    HUB,
    Cluster,
    Instance,
    item_body,
    lab_admin_email,
    peer_id,
    publish,
    wait_for,
)
from signalfire.exchange.taxii.collections import MEMBERS_ID

TAXII = "application/taxii+json;version=2.1"
PURPOSE = "threat_detection"


def taxii_objects(
    instance: Instance, email: str, *, purpose: str = PURPOSE, collection: str = str(MEMBERS_ID), **match: str
) -> list[dict[str, Any]]:
    """Every object of the collection `email` may read at `instance` (all pages), as a TAXII client would."""
    out: list[dict[str, Any]] = []
    params: dict[str, str] = {"limit": "1000", **{f"match[{k}]": v for k, v in match.items()}}
    # timeout named, so mypy does not take the header dict for it
    with instance.client(email, timeout=60.0, Accept=TAXII, **{"X-Signalfire-Purpose": purpose}) as http:
        while True:
            answer = http.get(f"/taxii2/exchange/collections/{collection}/objects/", params=params)
            assert answer.status_code == 200, answer.text
            envelope = answer.json()
            out += envelope.get("objects", [])
            if not envelope.get("more"):
                return out
            params["next"] = envelope["next"]


def reports_named(instance: Instance, email: str, title_part: str) -> list[dict[str, Any]]:
    """The STIX report objects (one per readable item version served) whose name contains `title_part`."""
    return [o for o in taxii_objects(instance, email, type="report") if title_part in str(o.get("name", ""))]


def items_titled(instance: Instance, email: str, title_part: str, status: str = "published") -> list[dict[str, Any]]:
    """Exchange items `email` may list at `instance` whose title contains `title_part` (JSON API)."""
    with instance.client(email) as http:
        answer = http.get("/api/v1/exchange/items", params={"limit": 200, "q": title_part[:100], "status": status})
    assert answer.status_code == 200, answer.text
    return [i for i in answer.json() if title_part in i["title"]]


def ledger(cluster: Cluster, lab: str, state: str | None = None) -> list[dict[str, Any]]:
    pid = peer_id(cluster, lab, HUB)
    with cluster.instances[lab].client(lab_admin_email(lab)) as http:
        answer = http.get(f"/api/v1/federation/peers/{pid}/ledger", params={"state": state} if state else {})
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


def ledger_of_item(cluster: Cluster, lab: str, item_id: str) -> list[dict[str, Any]]:
    return [r for r in ledger(cluster, lab) if r["item_id"] == item_id]


def wait_sent(cluster: Cluster, lab: str, item_id: str, versions: int = 1, seconds: float = 60.0) -> list[Any]:
    """Until the lab's worker has sent `versions` versions of the item to the hub."""
    result: list[Any] = wait_for(
        lambda: (
            rows
            if len(rows := [r for r in ledger_of_item(cluster, lab, item_id) if r["state"] == "sent"]) >= versions
            else None
        ),
        seconds=seconds,
        what=f"{versions} sent version(s) of {item_id} at {lab}",
    )
    return result


def publish_at(cluster: Cluster, lab: str, title: str, **kw: Any) -> dict[str, Any]:
    with cluster.instances[lab].client(lab_admin_email(lab)) as http:
        return publish(http, item_body(title, **kw))


def db_rows(instance: Instance, statement: Any) -> list[Any]:
    """Run a read-only statement on the instance's own database (from outside the process)."""
    from signalfire.core.db.session import make_engine

    engine = make_engine(instance.database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(statement).all())
    finally:
        engine.dispose()


def pulled_rows(instance: Instance) -> list[Any]:
    from signalfire.federation.models import PulledObject

    return db_rows(instance, select(PulledObject))


def pulled_items(instance: Instance, email: str, stix_id: str) -> list[dict[str, Any]]:
    """The local items that the pulled object `stix_id` became (found through provenance), as `email` sees them."""
    ids = {str(r.item_id) for r in pulled_rows(instance) if r.stix_id == stix_id and r.item_id is not None}
    out = []
    with instance.client(email) as http:
        for item_id in sorted(ids):
            answer = http.get(f"/api/v1/exchange/items/{item_id}")
            if answer.status_code == 200:
                out.append(answer.json())
    return out

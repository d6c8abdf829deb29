"""Pull: read each pull collection of a peer page by page (``added_after`` and ``next``) and import it.

Every page is one transaction: its objects go through the same validation, screening and policy as a
local TAXII add (``exchange.taxii.ingest.add_objects``), published under the local record of the
remote org (its attribution is kept: ``created_by_ref`` stays the remote identity), with provenance rows
(object id, version, peer, fetched_at), and the cursor moves in the same commit. So a run killed at any
point resumes from the last committed page, without loss and without importing anything twice.

A peer that answers garbage, repeats a ``next`` it already gave, sends objects that fail validation or
claims an identity other than its own: the page (or the objects) are refused with reasons recorded on
that peer; other peers are pulled by their own jobs and are unaffected.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Organization, OrgKind, Role, User
from signalfire.access.permissions import Permission
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.db.session import unit_of_work
from signalfire.exchange.taxii import ingest as taxii_ingest
from signalfire.exchange.taxii.collections import TaxiiCollection, collections_for
from signalfire.exchange.taxii.protocol import TaxiiError
from signalfire.exchange.vocab import AudienceKind, CoveredUse
from signalfire.federation import client as taxii_client
from signalfire.federation import crypto
from signalfire.federation.health import note_failure, note_success
from signalfire.federation.models import EventKind, Peer, PeerCollection, PeerEvent, PulledObject

MAX_PAGES_PER_RUN = 200
IMPORT_PERMISSIONS = frozenset(
    {Permission.exchange_item_read, Permission.exchange_item_write, Permission.exchange_item_publish}
)


@dataclass
class PullResult:
    pages: int = 0
    pulled: int = 0
    refused: int = 0
    errors: list[str] = field(default_factory=list)


def import_actor(session: Session, peer: Peer) -> Actor:
    """The local record pulled objects are published under: the remote org (its own id when the peer is a
    Signalfire instance, so the identity its objects carry is the one this instance derives) and a service
    account that cannot sign in."""
    org = session.get(Organization, peer.import_org_id) if peer.import_org_id else None
    if org is None and peer.remote_org_id is not None:
        org = session.get(Organization, peer.remote_org_id)
    if org is None:
        org = Organization(
            id=peer.remote_org_id or uuid.uuid4(),
            slug=f"peer-{peer.id.hex[:12]}",
            name=(peer.remote_name or peer.name)[:200],
            kind=OrgKind.frontier_developer,
            jurisdictions=[],
            exchange_member=False,
        )
        session.add(org)
        session.flush()
    user = session.get(User, peer.import_user_id) if peer.import_user_id else None
    if user is None:
        user = User(
            email=f"peer-{peer.id.hex}@federation.invalid",
            display_name=f"{peer.name} (federation import)",
            password_hash=None,
            is_active=True,
        )
        session.add(user)
        session.flush()
        session.add(Membership(user_id=user.id, org_id=org.id, role=Role.analyst))
    peer.import_org_id, peer.import_user_id = org.id, user.id
    session.flush()
    return Actor(
        user_id=user.id,
        display_name=user.display_name,
        email=user.email,
        org_id=org.id,
        org_name=org.name,
        org_kind=org.kind,
        role=Role.analyst,
        permissions=IMPORT_PERMISSIONS,
        via="federation",
    )


def _target(session: Session, actor: Actor, collection: PeerCollection) -> TaxiiCollection:
    audience = collection.pull_audience or AudienceKind.ALL_MEMBERS
    for candidate in collections_for(session, actor):
        if candidate.can_write and candidate.audience == audience:
            return candidate
    raise TaxiiError(403, "No local collection", f"pulled objects cannot be published to {audience.value} here")


def _uses(obj: dict[str, Any], default: CoveredUse) -> list[CoveredUse]:
    """The covered uses the remote contributor permitted (Signalfire's extension), else the peer's purpose."""
    found: list[CoveredUse] = []
    extensions = obj.get("extensions")
    if isinstance(extensions, dict):
        for ext in extensions.values():
            if isinstance(ext, dict) and isinstance(ext.get("permitted_uses"), list):
                for use in ext["permitted_uses"]:
                    if use in CoveredUse.__members__.values():
                        found.append(CoveredUse(use))
    return list(dict.fromkeys(found)) or [default]


def _version(obj: dict[str, Any]) -> str:
    value = obj.get("modified") or obj.get("created") or ""
    return str(value)[:40]


def _identity_refusal(obj: dict[str, Any], allowed: set[str] | None) -> str | None:
    author = obj.get("created_by_ref")
    if allowed is None or author is None or author in allowed:
        return None
    return f"claims identity {str(author)[:100]}, which is not the peer's ({', '.join(sorted(allowed))})"


def import_page(
    session: Session, peer: Peer, collection: PeerCollection, objects: list[Any]
) -> tuple[int, dict[str, int], list[dict[str, str]]]:
    """Import one page in the caller's transaction: (objects imported, refusals by reason, refused details)."""
    actor = import_actor(session, peer)
    target = _target(session, actor, collection)
    allowed = {peer.remote_identity} if peer.remote_identity else None
    refused: list[dict[str, str]] = []
    fresh: list[dict[str, Any]] = []
    keys: list[tuple[str, str]] = []
    for obj in objects:
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            refused.append({"id": "", "message": "not a STIX object"})
            continue
        why = _identity_refusal(obj, allowed)
        if why is not None:
            refused.append({"id": obj["id"][:300], "message": why})
            continue
        fresh.append(obj)
        keys.append((obj["id"][:300], _version(obj)))
    if keys:
        known = set(
            session.execute(
                select(PulledObject.stix_id, PulledObject.version).where(
                    PulledObject.peer_id == peer.id, PulledObject.stix_id.in_({k[0] for k in keys})
                )
            ).all()
        )
        pairs = [(o, k) for o, k in zip(fresh, keys, strict=True) if k not in known]
    else:
        pairs = []
    imported = 0
    if pairs:
        groups: dict[tuple[CoveredUse, ...], list[tuple[dict[str, Any], tuple[str, str]]]] = {}
        for obj, key in pairs:
            groups.setdefault(tuple(_uses(obj, peer.purpose)), []).append((obj, key))
        now = utcnow()
        for uses, group in groups.items():
            result = taxii_ingest.add_objects(
                session, actor, target, [o for o, _ in group], permitted_uses=list(uses), override_reason=None
            )
            failed = {(f.get("id"), f.get("version")) for f in result.status.failures}
            for failure in result.status.failures:
                refused.append({"id": str(failure.get("id", ""))[:300], "message": str(failure.get("message", ""))})
            item_by_tlp = {item.tlp: item.id for item in result.items}
            only_item = next(iter(item_by_tlp.values())) if len(item_by_tlp) == 1 else None
            for obj, (stix_id, version) in group:
                if (stix_id, version) in failed or (stix_id, obj.get("modified") or obj.get("created")) in failed:
                    continue
                session.add(
                    PulledObject(
                        peer_id=peer.id,
                        collection_id=collection.id,
                        stix_id=stix_id,
                        version=version,
                        created_by_ref=str(obj.get("created_by_ref"))[:300] if obj.get("created_by_ref") else None,
                        item_id=only_item,
                        fetched_at=now,
                    )
                )
                imported += 1
    reasons: dict[str, int] = {}
    for r in refused:
        why = r["message"].split(";")[0][:200]
        reasons[why] = reasons.get(why, 0) + 1
    return imported, reasons, refused


def _record_refusal(session: Session, peer: Peer, reason: str, detail: dict[str, Any], count: int) -> None:
    peer.refused_count += count
    session.add(PeerEvent(peer_id=peer.id, kind=EventKind.PULL_REFUSED, reason=reason[:2000], detail=detail))


def pull_collection(
    factory: sessionmaker[Session],
    collection_id: uuid.UUID,
    *,
    reader: str | None = None,
    max_pages: int = MAX_PAGES_PER_RUN,
) -> PullResult:
    """Pull one collection until the peer has no more (or ``max_pages``); each page commits on its own."""
    result = PullResult()
    seen_tokens: set[str] = set()
    for _ in range(max_pages):
        with unit_of_work(factory) as session:
            collection = session.get(PeerCollection, collection_id)
            if collection is None or not collection.direction.pulls:
                return result
            peer = session.get_one(Peer, collection.peer_id)
            if not peer.active:
                return result
            try:
                conn = taxii_client.Connection(
                    discovery_url=peer.discovery_url,
                    api_root_url=peer.api_root_url,
                    username=peer.username,
                    secret=crypto.decrypt(peer.secret_encrypted),
                    signalfire=peer.signalfire,
                    purpose=peer.purpose.value,
                    reader=reader or f"federation-worker ({peer.name})",
                )
            except crypto.CredentialUnreadable as exc:
                note_failure(session, peer, EventKind.PULL_FAILED, str(exc))
                result.errors.append(str(exc))
                return result
            remote_id, added_after, next_token = collection.remote_id, collection.added_after, collection.next_token
            peer_id = peer.id
        if next_token:
            seen_tokens.add(next_token)
        try:
            with taxii_client.TaxiiClient(conn) as c:
                page = c.get_objects(remote_id, added_after=added_after, next_token=next_token)
        except taxii_client.PeerError as exc:
            with unit_of_work(factory) as session:
                peer = session.get_one(Peer, peer_id)
                if next_token and exc.status in (400, 404):
                    # A `next` the peer no longer knows (expired or forged): start again from added_after.
                    session.get_one(PeerCollection, collection_id).next_token = None
                note_failure(session, peer, EventKind.PULL_FAILED, exc.reason, {"collection": remote_id})
            result.errors.append(exc.reason)
            return result
        looping = page.more and page.next is not None and page.next in seen_tokens
        if page.more and page.next is None:
            looping = True  # "more" with no way to get it: treat as a broken pager, keep what we have
        with unit_of_work(factory) as session:
            peer = session.get_one(Peer, peer_id)
            collection = session.get_one(PeerCollection, collection_id)
            try:
                with session.begin_nested():
                    imported, reasons, refused = import_page(session, peer, collection, page.objects)
            except (TaxiiError, ValueError) as exc:
                # The whole page is refused (e.g. screening findings, or not an envelope): nothing of it is
                # kept, the reason is recorded, and the cursor moves on so one bad page cannot stall the peer.
                description = exc.description if isinstance(exc, TaxiiError) else str(exc)
                imported, reasons = 0, {f"page refused: {description[:180]}": len(page.objects)}
                refused = [{"id": "", "message": description[:500]}]
            if refused:
                _record_refusal(
                    session,
                    peer,
                    f"{len(refused)} object(s) of a page from collection {remote_id} not imported",
                    {"reasons": reasons, "objects": refused[:50]},
                    len(refused),
                )
                result.refused += len(refused)
            peer.pulled_count += imported
            result.pulled += imported
            result.pages += 1
            if page.date_added_last:
                collection.added_after = page.date_added_last[:64]
            collection.next_token = page.next if (page.more and not looping) else None
            collection.last_pulled_at = utcnow()
            if looping:
                reason = (
                    f"collection {remote_id}: the peer returned a 'next' it had already given (a paging loop); "
                    "stopped, and the next run starts again from added_after"
                    if page.next is not None
                    else f"collection {remote_id}: 'more' is true but no 'next' was given; stopped"
                )
                note_failure(session, peer, EventKind.PULL_FAILED, reason, {"collection": remote_id})
                result.errors.append(reason)
            else:
                note_success(session, peer)
            if imported or refused:
                record(
                    session,
                    action="federation.pull.page",
                    target_type="federation_peer_collection",
                    target_id=collection.id,
                    org_id=peer.org_id,
                    actor_label=f"federation worker (peer {peer.name})",
                    summary={"peer": peer.name, "imported": imported, "refused": len(refused), "reasons": reasons},
                )
        if looping or not page.more or page.next is None:
            return result
    return result


def pull_collections_of(session: Session, peer_id: uuid.UUID) -> list[uuid.UUID]:
    return [
        c.id
        for c in session.execute(select(PeerCollection).where(PeerCollection.peer_id == peer_id)).scalars()
        if c.direction.pulls
    ]

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

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Organization, OrgKind, Role, User
from signalfire.access.permissions import Permission
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.db.session import unit_of_work
from signalfire.exchange.models import REVOKED_AT_SOURCE, ExchangeItem, Pseudonym
from signalfire.exchange.service import hub_identity, org_identity_id
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
    more: bool = False  # stopped at max_pages with more to read


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


# Shared reference objects: a Signalfire peer serves its identities, the TLP markings and its extension
# definitions beside every item. They are not contributions: identities are never imported (this instance
# builds its own), markings and extension definitions go along, and none of them counts as a refusal.
REFERENCE_PREFIXES = ("identity--", "marking-definition--", "extension-definition--")
PLACEHOLDER_SLUG = "peer-ps-"
# Local records of named contributors a Signalfire peer relays and this instance has no org for: the slug
# is derived from the STIX identity id, so the same contributor maps to the same record on every pull.
REMOTE_ORG_SLUG = "peer-org-"
_Entry = tuple[dict[str, Any], tuple[str, str]]
_NAMED_CLASSES = ("organization", "group", "class", "system")


def _service_actor(session: Session, peer: Peer, org: Organization) -> Actor:
    """The peer's service account acting for ``org`` (the remote contributor's local record)."""
    base = import_actor(session, peer)
    return Actor(
        user_id=base.user_id,
        display_name=base.display_name,
        email=base.email,
        org_id=org.id,
        org_name=org.name,
        org_kind=org.kind,
        role=Role.analyst,
        permissions=IMPORT_PERMISSIONS,
        via="federation",
    )


def _remote_pseudonym(session: Session, peer: Peer, author: str, identity: dict[str, Any]) -> Organization:
    """A pseudonym issued by another instance: a local placeholder org holding only that pseudonym, so the
    item is published under it and nothing here links it to any org (only the issuer can resolve it)."""
    org = _placeholder_org(
        session, f"{PLACEHOLDER_SLUG}{uuid.uuid4().hex[:12]}", f"Pseudonymous contributor via {peer.name}"
    )
    label = str(identity.get("name") or "Pseudonymous contributor")[:60]
    if session.execute(select(Pseudonym.id).where(Pseudonym.label == label)).first() is not None:
        label = f"{label[:50]} ({uuid.uuid4().hex[:6]})"
    session.add(Pseudonym(org_id=org.id, label=label, stix_identity_id=author))
    session.flush()
    return org


def remote_org_slug(identity_id: str) -> str:
    return REMOTE_ORG_SLUG + hashlib.sha256(identity_id.encode()).hexdigest()[:40]


def _remote_org(session: Session, peer: Peer, author: str, identity: dict[str, Any]) -> Organization:
    """The local record of a named contributor a Signalfire peer relays (a member of the peer's forum that
    this instance has no org for): found by its identity, else made, never an exchange member here and never
    merged with a local org. Its objects keep their ``created_by_ref``; the peer vouches for it."""
    slug = remote_org_slug(author)
    org = session.execute(select(Organization).where(Organization.slug == slug)).scalar_one_or_none()
    if org is None:
        name = str(identity.get("name") or "Remote contributor").strip()[:120] or "Remote contributor"
        org = _placeholder_org(session, slug, f"{name} (via {peer.name})")
    return org


def _placeholder_org(session: Session, slug: str, name: str) -> Organization:
    """A local record for a contributor from another instance: never an exchange member here."""
    org = Organization(
        slug=slug, name=name[:200], kind=OrgKind.frontier_developer, jurisdictions=[], exchange_member=False
    )
    session.add(org)
    session.flush()
    return org


class _Authors:
    """Who each ``created_by_ref`` of a pulled page is published as here, or why it is refused."""

    def __init__(self, session: Session, peer: Peer, identities: dict[str, dict[str, Any]]) -> None:
        self.session = session
        self.peer = peer
        self.identities = identities
        self.cache: dict[str | None, Actor | str] = {}
        self._org_ids: dict[str, uuid.UUID] | None = None
        # Identities the peer vouches for, by the local org their objects are published under.
        self.vouched: dict[uuid.UUID, set[str]] = {}

    def _local_orgs(self) -> dict[str, uuid.UUID]:
        if self._org_ids is None:
            ids = self.session.execute(select(Organization.id)).scalars()
            self._org_ids = {org_identity_id(i): i for i in ids}
        return self._org_ids

    def actor_for(self, author: str | None) -> Actor | str:
        if author not in self.cache:
            self.cache[author] = self._resolve(author)
        return self.cache[author]

    def _resolve(self, author: str | None) -> Actor | str:
        peer, session = self.peer, self.session
        if author is None or author == peer.remote_identity:
            return import_actor(session, peer)
        if not peer.signalfire:
            allowed = peer.remote_identity or "none declared"
            return f"claims identity {author[:100]}, which is not the peer's ({allowed})"
        if author in (org_identity_id(peer.org_id), hub_identity(session).stix_identity_id):
            return f"claims identity {author[:100]}, which is this instance's own"
        pseudonym = session.execute(select(Pseudonym).where(Pseudonym.stix_identity_id == author)).scalar_one_or_none()
        if pseudonym is not None:
            org = session.get_one(Organization, pseudonym.org_id)
            if not org.slug.startswith(PLACEHOLDER_SLUG):
                return f"claims identity {author[:100]}, a pseudonym this instance issued"
            return _service_actor(session, peer, org)
        org_id = self._local_orgs().get(author)
        if org_id is not None:
            return _service_actor(session, peer, session.get_one(Organization, org_id))
        identity = self.identities.get(author)
        if identity is not None and identity.get("identity_class") == "unknown":
            return _service_actor(session, peer, _remote_pseudonym(session, peer, author, identity))
        known = session.execute(
            select(Organization).where(Organization.slug == remote_org_slug(author))
        ).scalar_one_or_none()
        if known is None and identity is not None and identity.get("identity_class") in _NAMED_CLASSES:
            known = _remote_org(session, peer, author, identity)
        if known is not None:
            self.vouched.setdefault(known.id, set()).add(author)
            return _service_actor(session, peer, known)
        return f"claims identity {author[:100]}, which has no local record here (unknown contributor)"


def _supersede(
    session: Session, actor: Actor, peer: Peer, imported: list[dict[str, Any]], new_items: list[uuid.UUID]
) -> None:
    """Updates and revocations follow. A new version of a report, or of objects one item holds, revises that
    item (``taxii.ingest``); objects whose earlier versions are spread over several items land in a new
    item, and this withdraws the earlier ones ("superseded"); a revoked version withdraws them and its own
    carrier."""
    from signalfire.core.errors import AppError
    from signalfire.exchange import authoring
    from signalfire.exchange.models import ItemStatus

    for obj in imported:
        earlier: set[uuid.UUID] = {
            i
            for i in session.execute(
                select(PulledObject.item_id).where(
                    PulledObject.peer_id == peer.id,
                    PulledObject.stix_id == obj["id"],
                    PulledObject.item_id.is_not(None),
                    PulledObject.item_id.not_in(new_items or [uuid.uuid4()]),
                )
            ).scalars()
            if i is not None
        }
        revoked = obj.get("revoked") is True
        targets = earlier | (set(new_items) if revoked else set())
        why = REVOKED_AT_SOURCE if revoked else f"superseded by version {_version(obj)} from {peer.name}"
        for item_id in targets:
            item = session.get(ExchangeItem, item_id)
            if item is None or item.status != ItemStatus.PUBLISHED or item.org_id != actor.org_id:
                continue
            try:
                authoring.withdraw(session, actor, item_id, why)
            except AppError:
                continue


def import_page(
    session: Session,
    peer: Peer,
    collection: PeerCollection,
    objects: list[Any],
    seen_identities: dict[str, dict[str, Any]] | None = None,
) -> tuple[int, dict[str, int], list[dict[str, str]]]:
    """Import one page in the caller's transaction: (objects imported, refusals by reason, refused details).

    ``seen_identities``: identities met on the run's earlier pages (updated with this page's), since an
    author's identity may end one page and the objects it wrote begin the next.
    """
    identities = dict(seen_identities or {})
    identities.update(
        (o["id"], o)
        for o in objects
        if isinstance(o, dict) and o.get("type") == "identity" and isinstance(o.get("id"), str)
    )
    if seen_identities is not None:
        seen_identities.update(identities)
    authors = _Authors(session, peer, identities)
    refused: list[dict[str, str]] = []
    groups: dict[
        tuple[uuid.UUID, tuple[CoveredUse, ...]], tuple[Actor, list[tuple[dict[str, Any], tuple[str, str]]]]
    ] = {}
    references: list[dict[str, Any]] = []
    candidates: list[_Entry] = []
    for obj in objects:
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            refused.append({"id": "", "message": "not a STIX object"})
            continue
        if obj["id"].startswith("identity--"):
            continue
        if obj["id"].startswith(REFERENCE_PREFIXES):
            references.append(obj)
            continue
        candidates.append((obj, (obj["id"][:300], _version(obj))))
    if candidates:
        known = set(
            session.execute(
                select(PulledObject.stix_id, PulledObject.version).where(
                    PulledObject.peer_id == peer.id, PulledObject.stix_id.in_({k[0] for _, k in candidates})
                )
            ).all()
        )
        candidates = [(o, k) for o, k in candidates if k not in known]
    for obj, key in candidates:
        author = obj.get("created_by_ref")
        actor = authors.actor_for(author if isinstance(author, str) else None)
        if isinstance(actor, str):
            refused.append({"id": key[0], "message": actor})
            continue
        uses = tuple(_uses(obj, peer.purpose))
        groups.setdefault((actor.org_id, uses), (actor, []))[1].append((obj, key))
    imported = 0
    now = utcnow()
    for (_org, uses), (actor, group) in groups.items():
        target = _target(session, actor, collection)
        # Objects by the peer's declared identity keep it: this instance vouches for it on the peer's record.
        vouched = frozenset(authors.vouched.get(actor.org_id, set())) | (
            frozenset({peer.remote_identity})
            if peer.remote_identity and actor.org_id == peer.import_org_id
            else frozenset()
        )
        result = taxii_ingest.add_objects(
            session,
            actor,
            target,
            [*references, *(o for o, _ in group)],
            permitted_uses=list(uses),
            override_reason=None,
            vouched_identities=vouched,
        )
        failed = {(f.get("id"), f.get("version")) for f in result.status.failures}
        for failure in result.status.failures:
            if str(failure.get("id", "")).startswith(REFERENCE_PREFIXES):
                continue
            refused.append({"id": str(failure.get("id", ""))[:300], "message": str(failure.get("message", ""))})
        item_ids = [item.id for item in result.items]
        _supersede(session, actor, peer, [o for o, k in group if k not in failed], item_ids)
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
                    item_id=result.item_of.get(stix_id),
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


def _store_page(
    factory: sessionmaker[Session],
    peer_id: uuid.UUID,
    collection_id: uuid.UUID,
    remote_id: str,
    page: taxii_client.ObjectsPage,
    looping: bool,
    result: PullResult,
    seen_identities: dict[str, dict[str, Any]] | None = None,
) -> bool:
    """Import one fetched page and move the cursor, in one transaction; True when the run should stop."""
    with unit_of_work(factory) as session:
        peer = session.get_one(Peer, peer_id)
        collection = session.get_one(PeerCollection, collection_id)
        try:
            with session.begin_nested():
                imported, reasons, refused = import_page(session, peer, collection, page.objects, seen_identities)
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
        paging = page.more and not looping and page.next is not None
        # While paging, the request keeps the added_after it started with: a `next` is bound to the query
        # it came from (a Signalfire hub refuses it with another added_after, so a moved cursor would cost
        # a failed request and a restart per page). The cursor moves when the run reaches the end; a
        # restart before that reads the run's pages again, and their objects are skipped as known.
        if page.date_added_last and not paging:
            collection.added_after = page.date_added_last[:64]
        collection.next_token = page.next if paging else None
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
    return looping or not page.more or page.next is None


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
    seen_identities: dict[str, dict[str, Any]] = {}
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
        try:
            done = _store_page(factory, peer_id, collection_id, remote_id, page, looping, result, seen_identities)
        except IntegrityError:
            # Another run (the worker, or a sync started by an admin) imported this page at the same time;
            # the unique keys kept it once. Stop here: the next run starts from the committed cursor.
            result.errors.append(f"collection {remote_id}: a concurrent run imported this page; stopped")
            return result
        if done:
            return result
    result.more = True
    return result


def pull_collections_of(session: Session, peer_id: uuid.UUID) -> list[uuid.UUID]:
    return [
        c.id
        for c in session.execute(select(PeerCollection).where(PeerCollection.peer_id == peer_id)).scalars()
        if c.direction.pulls
    ]

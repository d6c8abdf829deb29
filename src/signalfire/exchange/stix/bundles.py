"""STIX 2.1 bundles in and out of the exchange, over the JSON API and the CLI.

Export (:func:`export_items`, ``GET /api/v1/exchange/export.stix``): the latest published version of
items the reader may see (``readable_items``), as one bundle built by ``exchange.stix.convert.item_to_bundle``
(TLP 2.0 markings, the Signalfire extension carrying permitted uses, pseudonyms never resolved).
Like any read of details it needs a declared covered use: items of other orgs that do not permit it
are left out of a listing export, and refused (403) when asked for by id. Each exported item of
another org is logged as a read (channel ``export``) for its contributor.

Import (:func:`import_bundle`, ``POST /api/v1/exchange/import``): reads a bundle from anywhere with
``exchange.stix.convert.bundle_to_items`` and saves each report (and each lone vulnerability) as a *draft* of
the importer's org. Nothing is shared until a person reviews and publishes it. What a foreign bundle
leaves unsaid gets the safest default: audience = only the importing person (valid for every TLP),
severity medium, and the permitted uses given with the request. Whole-bundle faults (size, depth,
object count, STIX version, duplicate ids, unknown TLP markings) refuse the import with nothing stored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.deps import ActorDep
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.access.policy.exchange import permits_use, readable_items
from signalfire.audit.chain import record
from signalfire.core.errors import AppError, Conflict, NotFound, ValidationFailed
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.exchange import authoring
from signalfire.exchange.errors import PurposeNotPermitted
from signalfire.exchange.models import ExchangeItem, ItemRevision, ItemStatus, ReadChannel
from signalfire.exchange.schemas import ItemIn, PersonRef
from signalfire.exchange.service import hub_identity, narrow_for_sparse_viewer, record_read, with_current_identities
from signalfire.exchange.snapshot import ItemSnapshot
from signalfire.exchange.stix.convert import (
    BundleRejected,
    ImportedItem,
    ImportResult,
    RejectCode,
    bundle_to_items,
    item_to_bundle,
)
from signalfire.exchange.stix.queries import own_items
from signalfire.exchange.tags import TAG_FILTER_MAX, TagFilter, tag_filter, tagged
from signalfire.exchange.vocab import AudienceKind, Category, Confidence, CoveredUse, Priority, Severity, Tlp

STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
MAX_EXPORT_ITEMS = 500
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_OBJECTS = 20_000
MAX_IMPORT_ITEMS = 1_000


class PurposeRequired(AppError):
    def __init__(self) -> None:
        uses = ", ".join(u.value for u in CoveredUse)
        super().__init__(
            detail=f"Exports carry item details: declare a covered use (query 'purpose' or header "
            f"X-Signalfire-Purpose), one of {uses}.",
            status=403,
            title="Declared purpose required",
            slug="purpose-not-permitted",
        )


# --- export -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    bundle: dict[str, Any]
    item_ids: list[uuid.UUID]
    # Set when more items matched than one export carries: export again with since=<this>.
    next_since: datetime | None = None


def exportable_items(
    session: Session,
    actor: Actor,
    purpose: CoveredUse | None,
    *,
    item_ids: Sequence[uuid.UUID] = (),
    since: datetime | None = None,
    tags: TagFilter = TagFilter(),
    limit: int = MAX_EXPORT_ITEMS,
) -> tuple[list[ExchangeItem], datetime | None]:
    """Which items an export carries (the policy part of :func:`export_items`), and where to continue.

    With ``item_ids`` every id must be readable (else 404) and permit ``purpose`` (else 403); without,
    all readable published items (newer than ``since``, carrying one of ``tags`` when given) that permit
    it, oldest first, at most ``limit``.
    """
    if purpose is None:
        raise PurposeRequired()
    require(actor, Permission.exchange_item_read)
    if item_ids and tags:
        raise ValidationFailed.single("tag", "name items or filter by tag, not both")
    own = ExchangeItem.org_id == actor.org_id
    stmt = readable_items(actor).where(ExchangeItem.version >= 1)
    if item_ids:
        wanted = list(dict.fromkeys(item_ids))[:limit]
        items = list(session.execute(stmt.where(ExchangeItem.id.in_(wanted))).scalars())
        found = {item.id for item in items}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise NotFound(f"No published item {missing[0]} that you may read.")
        for item in items:
            if item.org_id != actor.org_id and not item.permits(purpose):
                raise PurposeNotPermitted(purpose, item.permitted_uses)
        return items, None
    stmt = narrow_for_sparse_viewer(session, actor, stmt.where(or_(own, permits_use(purpose))))
    if since is not None:
        stmt = stmt.where(ExchangeItem.published_at > since)
    if tags:
        stmt = stmt.where(tagged(session, tags))
    items = list(session.execute(stmt.order_by(ExchangeItem.published_at, ExchangeItem.id).limit(limit + 1)).scalars())
    if len(items) > limit:
        return items[:limit], items[limit - 1].published_at
    return items, None


def export_items(
    session: Session,
    actor: Actor,
    purpose: CoveredUse | None,
    *,
    item_ids: Sequence[uuid.UUID] = (),
    since: datetime | None = None,
    tags: TagFilter = TagFilter(),
    limit: int = MAX_EXPORT_ITEMS,
) -> Export | None:
    """A bundle of the latest published version of the items :func:`exportable_items` picks; None if none."""
    items, next_since = exportable_items(
        session, actor, purpose, item_ids=item_ids, since=since, tags=tags, limit=limit
    )
    if not items:
        return None
    assert purpose is not None
    revisions = {
        r.item_id: r
        for r in session.execute(
            select(ItemRevision).where(
                or_(*[and_(ItemRevision.item_id == item.id, ItemRevision.version == item.version) for item in items])
            )
        ).scalars()
    }
    # One hub per bundle and one identity per contributor: stored revisions are re-signed with today's
    # hub identity (a revision may predate the hub org) and today's contributor rows.
    snapshots = with_current_identities(
        session,
        [(ItemSnapshot.model_validate(revisions[item.id].snapshot), item.org_id) for item in items],
        hub_identity(session),
    )
    bundle = item_to_bundle(snapshots)
    for item in items:
        if item.org_id != actor.org_id:
            record_read(session, actor, item, purpose, ReadChannel.EXPORT)
    record(
        session,
        action="exchange.stix.exported",
        target_type="exchange_item",
        actor=actor,
        summary={"purpose": purpose.value, "items": [str(i.id) for i in items], "bundle": bundle["id"]},
    )
    return Export(bundle=bundle, item_ids=[item.id for item in items], next_since=next_since)


# --- import -----------------------------------------------------------------------------------------

# Items an import creates get a name-based id from (importing org, STIX id): importing the same bundle
# again finds them, so a repeated import changes nothing and a newer version of a report updates its draft.
_IMPORT_NAMESPACE = uuid.UUID("6b0f3f2e-2d6c-4d8a-9f57-1c9e4a3b7d21")


class ImportAction(StrEnum):
    CREATE = "create"  # a new draft
    UPDATE = "update"  # a new version of a report imported before: its draft gets the new content
    UNCHANGED = "unchanged"  # imported before with the same content: nothing to do
    REFUSE = "refuse"  # not imported; ``reason`` says why


class ImportAudience(StrEnum):
    """Who an imported draft is addressed to until a person reviews it (any choice is only a draft)."""

    ONLY_ME = "only_me"
    ALL_MEMBERS = "all_members"

    @property
    def label(self) -> str:
        return "Only me (until I review it)" if self is ImportAudience.ONLY_ME else "All member labs"


@dataclass
class PlannedObject:
    """What the import does (or, in a dry run, would do) with one object of the bundle."""

    stix_id: str
    stix_type: str
    action: ImportAction
    reason: str = ""
    title: str = ""
    tlp: str = ""
    item_id: uuid.UUID | None = None
    defaults: list[str] = field(default_factory=list)
    data: ItemIn | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "stix_id": self.stix_id,
            "type": self.stix_type,
            "action": self.action.value,
            "reason": self.reason,
            "title": self.title,
            "tlp": self.tlp,
            "item_id": str(self.item_id) if self.item_id else None,
            "defaults": self.defaults,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlannedObject:
        """The object as :meth:`as_json` wrote it (what an import job stores), without the draft's data."""
        return cls(
            stix_id=data["stix_id"],
            stix_type=data["type"],
            action=ImportAction(data["action"]),
            reason=data["reason"],
            title=data["title"],
            tlp=data["tlp"],
            item_id=uuid.UUID(data["item_id"]) if data.get("item_id") else None,
            defaults=list(data["defaults"]),
        )


@dataclass
class ImportOutcome:
    dry_run: bool = False
    objects: list[PlannedObject] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def of(self, action: ImportAction) -> list[PlannedObject]:
        return [o for o in self.objects if o.action is action]

    @property
    def counts(self) -> dict[str, int]:
        return {
            **{a.value: len(self.of(a)) for a in ImportAction},
            "ignored": len(self.ignored),
            "objects": len(self.objects),
        }

    @property
    def created(self) -> list[dict[str, Any]]:
        return [
            {"item_id": str(o.item_id), "stix_id": o.stix_id, "title": o.title, "tlp": o.tlp, "defaults": o.defaults}
            for o in self.of(ImportAction.CREATE)
        ]

    @property
    def skipped(self) -> list[dict[str, str]]:
        return [{"object_id": o.stix_id, "reason": o.reason} for o in self.of(ImportAction.REFUSE)]

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "counts": self.counts,
            "objects": [o.as_json() for o in self.objects],
            # The earlier shape, kept for existing clients: what was created, refused, and ignored.
            "created": self.created,
            "skipped": self.skipped,
            "ignored": len(self.ignored),
        }

    def stored(self) -> dict[str, Any]:
        """What an import job keeps of it (:meth:`from_stored` reads it back)."""
        return {"objects": [o.as_json() for o in self.objects], "ignored": list(self.ignored)}

    @classmethod
    def from_stored(cls, data: dict[str, Any], *, dry_run: bool = False) -> ImportOutcome:
        return cls(
            dry_run=dry_run,
            objects=[PlannedObject.from_json(o) for o in data.get("objects", [])],
            ignored=list(data.get("ignored", [])),
        )

    def audit_summary(self) -> dict[str, Any]:
        return {
            "created": [str(o.item_id) for o in self.of(ImportAction.CREATE)],
            "updated": [str(o.item_id) for o in self.of(ImportAction.UPDATE)],
            "unchanged": len(self.of(ImportAction.UNCHANGED)),
            "skipped": len(self.of(ImportAction.REFUSE)),
            "ignored": len(self.ignored),
        }


def _item_in(
    imported: ImportedItem,
    actor: Actor,
    default_uses: Sequence[CoveredUse],
    audience: ImportAudience = ImportAudience.ONLY_ME,
) -> tuple[ItemIn, list[str]]:
    defaults = []
    if imported.category is None:
        defaults.append("category")
    if imported.severity is None:
        defaults.append("severity")
    if not imported.permitted_uses:
        if not default_uses:
            raise ValueError("the bundle states no permitted uses for it; choose the permitted uses for the import")
        defaults.append("permitted_uses")
    if audience is ImportAudience.ALL_MEMBERS:
        addressed: dict[str, Any] = {"audience": [AudienceKind.ALL_MEMBERS]}
    else:
        # The narrowest audience every TLP level admits: the importer alone, until they choose on review.
        addressed = {
            "audience": [AudienceKind.NAMED_PEOPLE],
            "audience_people": [PersonRef(user_id=actor.user_id, org_id=actor.org_id)],
        }
    data = ItemIn(
        category=imported.category or Category.THREAT,
        title=imported.title or f"Imported {imported.stix_id}",
        summary=imported.summary,
        details=imported.details,
        severity=imported.severity or Severity.MEDIUM,
        priority=imported.priority or Priority.ROUTINE,
        confidence=imported.confidence or Confidence.MODERATE,
        model_families=imported.model_families,
        modalities=imported.modalities,
        technique_refs=imported.technique_refs,
        tags=imported.tags,
        mitigations=imported.mitigations,
        valid_until=imported.valid_until,
        tlp=imported.tlp,
        permitted_uses=list(imported.permitted_uses or default_uses),
        **addressed,
    )
    return data, defaults


def import_item_id(org_id: uuid.UUID, stix_id: str) -> uuid.UUID:
    """The id of the draft an import makes of ``stix_id`` for ``org_id`` (the same on every import)."""
    return uuid.uuid5(_IMPORT_NAMESPACE, f"{org_id}/{stix_id}")


def _same_content(item: ExchangeItem, data: ItemIn) -> bool:
    return (
        item.category == data.category
        and item.title == data.title.strip()
        and item.summary == data.summary
        and item.details == data.details
        and item.severity == data.severity
        and item.priority == data.priority
        and item.confidence == data.confidence
        and list(item.model_families) == list(data.model_families)
        and list(item.modalities) == [m.value for m in data.modalities]
        and list(item.technique_refs) == list(data.technique_refs)
        and list(item.mitigations) == list(data.mitigations)
        and item.valid_until == data.valid_until
        and item.tlp == data.tlp
        and set(item.permitted_uses) == set(data.permitted_uses)
    )


def read_bundle(raw: bytes, max_items: int = MAX_IMPORT_ITEMS) -> ImportResult:
    """The bundle read whole, or AppError (413, 422) for a whole-bundle fault: nothing may be imported."""
    try:
        result = bundle_to_items(raw, max_bytes=MAX_IMPORT_BYTES, max_objects=MAX_IMPORT_OBJECTS)
    except BundleRejected as exc:
        too_big = exc.code in (RejectCode.TOO_LARGE, RejectCode.TOO_MANY_OBJECTS)
        raise AppError(
            detail=exc.reason,
            status=413 if too_big else 422,
            title="STIX bundle refused",
            slug=f"stix-{exc.code.value.replace('_', '-')}",
        ) from None
    if len(result.items) > max_items:
        raise AppError(
            detail=f"The bundle holds {len(result.items)} reports; import at most {max_items} at a time.",
            status=413,
            title="STIX bundle refused",
            slug="stix-too-many-items",
        )
    return result


def _plan_one(
    session: Session,
    actor: Actor,
    imported: ImportedItem,
    default_uses: Sequence[CoveredUse],
    audience: ImportAudience,
    existing: dict[uuid.UUID, ExchangeItem],
    audience_checked: dict[tuple[Tlp, ImportAudience], ValidationFailed | None],
) -> PlannedObject:
    planned = PlannedObject(
        stix_id=imported.stix_id,
        stix_type=imported.stix_id.split("--", 1)[0],
        action=ImportAction.REFUSE,
        title=imported.title or f"Imported {imported.stix_id}",
        tlp=imported.tlp.value,
    )
    item = existing.get(import_item_id(actor.org_id, imported.stix_id))
    try:
        data, defaults = _item_in(imported, actor, default_uses, audience)
        # Every draft of one import has the same audience, so the check depends on the TLP alone.
        key = (data.tlp, audience)
        if key not in audience_checked:
            try:
                authoring.check_audience(session, data, actor)
                audience_checked[key] = None
            except ValidationFailed as refused:
                audience_checked[key] = refused
        refused_audience = audience_checked[key]
        if refused_audience is not None:
            raise refused_audience
    except ValidationError as exc:
        planned.reason = "invalid " + ", ".join(sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()}))
        return planned
    except ValidationFailed as exc:
        planned.reason = "; ".join(e.message for e in exc.errors) or exc.detail
        return planned
    except ValueError as exc:
        planned.reason = str(exc)
        return planned
    planned.data, planned.defaults = data, defaults
    if imported.revoked:
        planned.reason = "the object is revoked; a revoked report is not imported"
        return planned
    planned.item_id = item.id if item is not None else import_item_id(actor.org_id, imported.stix_id)
    if item is None:
        planned.action = ImportAction.CREATE
    elif _same_content(item, data):
        planned.action = ImportAction.UNCHANGED
        planned.reason = "already imported with this content"
    elif item.status != ItemStatus.DRAFT:
        planned.reason = (
            f"imported before and since {item.status.value}; the newer version was not applied: "
            "revise the item on its page"
        )
    else:
        planned.action = ImportAction.UPDATE
        planned.reason = "imported before; its draft gets this version's content"
    return planned


def _names_of(raw: bytes, ids: set[str]) -> dict[str, str]:
    """The ``name`` of the refused objects, for the report (the bundle was already checked whole)."""
    objects = json.loads(raw).get("objects", [])
    return {
        obj["id"]: str(obj.get("name", ""))[:300] for obj in objects if isinstance(obj, dict) and obj.get("id") in ids
    }


def refusals(raw: bytes, result: ImportResult) -> list[PlannedObject]:
    """The objects :func:`bundle_to_items` refused on their own, as planned (refused) objects, in bundle order."""
    names = _names_of(raw, {e.object_id for e in result.errors}) if result.errors else {}
    return [
        PlannedObject(
            stix_id=error.object_id,
            stix_type=error.object_id.split("--", 1)[0],
            action=ImportAction.REFUSE,
            reason=error.reason.removeprefix(f"{error.object_id} was skipped: ").rstrip("."),
            title=names.get(error.object_id, ""),
        )
        for error in result.errors
    ]


AudienceChecks = dict[tuple[Tlp, ImportAudience], ValidationFailed | None]


def plan_items(
    session: Session,
    actor: Actor,
    items: Sequence[ImportedItem],
    *,
    default_uses: Sequence[CoveredUse] = (),
    audience: ImportAudience = ImportAudience.ONLY_ME,
    checked: AudienceChecks | None = None,
) -> list[PlannedObject]:
    """What importing ``items`` does, each against the org's drafts as they are now; reads only.

    ``checked`` carries the audience checks (one per TLP) from one part of an import to the next.
    """
    ids = [import_item_id(actor.org_id, i.stix_id) for i in items]
    existing = {item.id: item for item in own_items(session, actor, ids)}
    checked = {} if checked is None else checked
    return [_plan_one(session, actor, imported, default_uses, audience, existing, checked) for imported in items]


def plan_import(
    session: Session,
    actor: Actor,
    raw: bytes,
    *,
    default_uses: Sequence[CoveredUse] = (),
    audience: ImportAudience = ImportAudience.ONLY_ME,
    max_items: int = MAX_IMPORT_ITEMS,
) -> ImportOutcome:
    """What importing ``raw`` would do, object by object; reads only (this is the dry run)."""
    require(actor, Permission.exchange_item_write)
    result = read_bundle(raw, max_items)
    outcome = ImportOutcome(dry_run=True, ignored=list(result.ignored))
    outcome.objects.extend(refusals(raw, result))
    outcome.objects.extend(plan_items(session, actor, result.items, default_uses=default_uses, audience=audience))
    return outcome


def apply_plan(session: Session, actor: Actor, planned: Sequence[PlannedObject]) -> None:
    """Create or update the drafts ``planned`` says to; an object the authoring rules refuse becomes refused."""
    for one in planned:
        if one.action not in (ImportAction.CREATE, ImportAction.UPDATE) or one.data is None:
            continue
        try:
            with session.begin_nested():
                if one.action is ImportAction.CREATE:
                    authoring.create_draft(session, actor, one.data, item_id=one.item_id)
                else:
                    assert one.item_id is not None
                    authoring.update_draft(session, actor, one.item_id, one.data)
        except (ValidationFailed, Conflict) as exc:
            one.action, one.reason = ImportAction.REFUSE, exc.detail


def import_part(
    session: Session,
    actor: Actor,
    part: Sequence[PlannedObject | ImportedItem],
    *,
    default_uses: Sequence[CoveredUse],
    audience: ImportAudience,
    checked: AudienceChecks,
) -> list[PlannedObject]:
    """One committed batch of a large import (the job's and the CLI's): the bundle's refusals as they are,
    its items planned against the org's drafts as they are now, then applied; the batch's outcome."""
    refused = [u for u in part if isinstance(u, PlannedObject)]
    planned = plan_items(
        session,
        actor,
        [u for u in part if isinstance(u, ImportedItem)],
        default_uses=default_uses,
        audience=audience,
        checked=checked,
    )
    apply_plan(session, actor, planned)
    return [*refused, *planned]


def import_bundle(
    session: Session,
    actor: Actor,
    raw: bytes,
    *,
    default_uses: Sequence[CoveredUse] = (),
    audience: ImportAudience = ImportAudience.ONLY_ME,
    dry_run: bool = False,
    max_items: int = MAX_IMPORT_ITEMS,
) -> ImportOutcome:
    """Save the bundle's reports as drafts of the actor's org; see the module docstring for the rules.

    The plan is the dry run's (:func:`plan_import`); with ``dry_run`` nothing is written, not even audit.
    In one transaction: the pages and ``POST /imports`` run the same steps in parts, as a job (``stix.jobs``).
    """
    outcome = plan_import(session, actor, raw, default_uses=default_uses, audience=audience, max_items=max_items)
    if dry_run:
        return outcome
    outcome.dry_run = False
    apply_plan(session, actor, outcome.objects)
    record(
        session,
        action="exchange.stix.imported",
        target_type="exchange_item",
        actor=actor,
        summary=outcome.audit_summary(),
    )
    return outcome


# --- routes -----------------------------------------------------------------------------------------

router = protected_router(prefix="/api/v1/exchange", tags=["exchange"])


def _declared(
    purpose: CoveredUse | None = None, x_signalfire_purpose: Annotated[CoveredUse | None, Header()] = None
) -> CoveredUse | None:
    return purpose or x_signalfire_purpose


@router.get(
    "/export.stix",
    response_class=Response,
    responses={200: {"content": {STIX_MEDIA_TYPE: {}}, "description": "A STIX 2.1 bundle"}},
)
def export_route(
    session: SessionDep,
    actor: ActorDep,
    purpose: Annotated[CoveredUse | None, Depends(_declared)],
    item: Annotated[list[uuid.UUID], Query(max_length=MAX_EXPORT_ITEMS)] = [],  # noqa: B006
    since: datetime | None = None,
    tag: Annotated[list[str], Query(max_length=TAG_FILTER_MAX)] = [],  # noqa: B006
) -> Response:
    """The latest published version of readable items as one STIX 2.1 bundle (declared purpose required).

    Name items with ``item=<id>`` (repeatable), or export everything readable published after ``since``
    (at most 500 per call; when there are more, ``X-Signalfire-Next-Since`` says where to continue).
    ``tag`` (repeatable, or comma-separated) keeps the items that carry any of the given free tags or cite
    any of the given catalogue ids (``AML.T0051``, ``LLM01:2025``, ``CVE-...``, ``CWE-...``).
    """
    if since is not None and since.tzinfo is None:
        raise ValidationFailed.single("since", "give a time zone, e.g. 2026-01-31T00:00:00Z")
    exported = export_items(session, actor, purpose, item_ids=item, since=since, tags=tag_filter(tag))
    if exported is None:
        raise NotFound("No readable published item matches (items that do not permit the declared use are left out).")
    headers = {"Content-Disposition": 'attachment; filename="signalfire-export.stix.json"'}
    if exported.next_since is not None:
        headers["X-Signalfire-Next-Since"] = exported.next_since.isoformat()
    body = json.dumps(exported.bundle, ensure_ascii=False, indent=1).encode()
    return Response(content=body, media_type=STIX_MEDIA_TYPE, headers=headers)


async def _raw_body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/import",
    status_code=201,
    responses={
        200: {"description": "Dry run: what the import would do, per object; nothing was stored"},
        201: {"description": "Imported: per object, created, updated, unchanged or refused (with the reason)"},
        413: {"description": "The bundle is too large (bytes, objects or reports)"},
        422: {"description": "Not JSON, not a STIX 2.1 bundle, or a bundle-wide fault; nothing was stored"},
    },
)
def import_route(
    session: SessionDep,
    actor: ActorDep,
    body: Annotated[bytes, Depends(_raw_body)],
    permitted_uses: Annotated[list[CoveredUse], Query(max_length=9)] = [],  # noqa: B006
    audience: ImportAudience = ImportAudience.ONLY_ME,
    dry_run: bool = False,
) -> JSONResponse:
    """Import a STIX 2.1 bundle (the request body) as drafts of your organisation, for review before publishing.

    ``permitted_uses`` (repeatable) applies to reports whose bundle does not state them; ``audience`` is who
    the drafts are addressed to (``only_me``, the default, or ``all_members``). With ``dry_run=true`` the
    answer (200) says, per object, what would be created, updated (a newer version of a report imported
    before), left unchanged or refused and why, and nothing is stored. Importing the same bundle twice
    changes nothing the second time.
    """
    outcome = import_bundle(session, actor, body, default_uses=permitted_uses, audience=audience, dry_run=dry_run)
    return JSONResponse(outcome.as_json(), status_code=200 if dry_run else 201)

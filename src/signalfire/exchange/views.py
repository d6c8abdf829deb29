"""Turning exchange rows into what pages and the API show, and item forms into ItemIn data.

Everything here receives rows already read through the access policy (the reads are in queries.py and
the services); it never queries and never widens what is shown.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.policy.exchange import is_contributor
from signalfire.exchange import queries
from signalfire.exchange.authoring import attachments_of, audience_of
from signalfire.exchange.models import ExchangeItem
from signalfire.exchange.responses import responses_for
from signalfire.exchange.schemas import (
    AttachmentOut,
    ContributorOut,
    ItemDetailOut,
    ItemSummaryOut,
    ReadOut,
    ResolutionOut,
    ResponseOut,
    RevisionOut,
)
from signalfire.exchange.service import OpenedItem
from signalfire.exchange.snapshot import Contributor
from signalfire.exchange.vocab import handling_note

LIST_FIELDS = ("modalities", "permitted_uses", "audience", "audience_org_ids")


def contributor_out(contributor: Contributor) -> ContributorOut:
    return ContributorOut(kind=contributor.kind, name=contributor.name, stix_identity_id=contributor.stix_identity_id)


def summary_out(item: ExchangeItem, contributor: Contributor, actor: Actor) -> ItemSummaryOut:
    return ItemSummaryOut(
        id=item.id,
        version=item.version,
        status=item.status,
        category=item.category,
        title=item.title,
        summary=item.summary,
        severity=item.severity,
        priority=item.priority,
        confidence=item.confidence,
        tlp=item.tlp,
        handling=handling_note(item.tlp, item.audience_kinds),
        permitted_uses=item.permitted_uses,
        model_families=list(item.model_families),
        modalities=list(item.modalities),
        technique_refs=list(item.technique_refs),
        valid_until=item.valid_until,
        published_at=item.published_at,
        first_published_at=item.first_published_at,
        contributor=contributor_out(contributor),
        is_contributor=is_contributor(actor, item),
    )


def detail_out(session: Session, actor: Actor, opened: OpenedItem) -> ItemDetailOut:
    item = opened.item
    base = summary_out(item, opened.snapshot.contributor, actor)
    responses = [
        ResponseOut(
            id=r.response.id,
            kind=r.response.kind,
            body=r.response.body,
            item_version=r.response.item_version,
            author=r.author,
            created_at=r.response.created_at,
            correction_status=r.response.correction_status,
            decision_note=r.response.decision_note,
        )
        for r in responses_for(session, actor, item)
    ]
    return ItemDetailOut(
        **base.model_dump(),
        details=item.details,
        indicators=item.indicators,
        mitigations=list(item.mitigations),
        attachments=[AttachmentOut.model_validate(a) for a in attachments_of(session, item)],
        responses=responses,
        read_id=opened.read.id if opened.read else None,
        declared_purpose=opened.read.purpose if opened.read else None,
        audience=audience_of(session, item) if is_contributor(actor, item) else None,
    )


def revisions_out(session: Session, item: ExchangeItem) -> list[RevisionOut]:
    return [
        RevisionOut(version=r.version, modified=r.modified, tlp=r.tlp, revoked=r.revoked, change_note=r.change_note)
        for r in queries.revisions(session, item)
    ]


def reads_out(session: Session, actor: Actor, item_id: uuid.UUID | None = None, limit: int = 500) -> list[ReadOut]:
    """The contributor's access log: who read its items, from which org, and why. A read by a federated
    instance names its account here and, after it, the person at that instance who asked."""
    from signalfire.federation.reads import remote_readers

    rows = queries.read_log(session, actor, item_id, limit)
    remote = remote_readers(session, [r.id for r, _, _ in rows])
    return [
        ReadOut(
            id=r.id,
            item_id=r.item_id,
            item_version=r.item_version,
            reader=f"{person} for {remote[r.id]}" if r.id in remote else person,
            org=org,
            purpose=r.purpose,
            channel=r.channel,
            read_at=r.read_at,
        )
        for r, person, org in rows
    ]


def resolutions_out(session: Session, actor: Actor, item_id: uuid.UUID | None = None) -> list[ResolutionOut]:
    return [
        ResolutionOut(
            id=r.id,
            pseudonym=label,
            item_id=r.item_id,
            resolved_by=f"{person} ({org})",
            reason=r.reason,
            resolved_at=r.resolved_at,
        )
        for r, label, person, org in queries.resolutions(session, actor, item_id)
    ]


# -- the item form -------------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]


def _refs(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").split("\n") if part.strip()]


async def item_form(request: Request) -> dict[str, Any]:
    """The item form as ItemIn-shaped data (lists from multi-value fields and one-per-line textareas)."""
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    def many(name: str) -> list[str]:
        return [v for v in form.getlist(name) if isinstance(v, str) and v]

    data: dict[str, Any] = {
        "category": many("category") if len(many("category")) > 1 else (text("category") or None),
        "title": text("title"),
        "summary": text("summary"),
        "details": text("details"),
        "indicators": text("indicators"),
        "severity": text("severity") or None,
        "priority": text("priority") or "routine",
        "confidence": text("confidence") or "moderate",
        "model_families": _lines(text("model_families")),
        "modalities": many("modalities"),
        "technique_refs": _refs(text("technique_refs")),
        "mitigations": _lines(text("mitigations")),
        "tlp": text("tlp") or None,
        "permitted_uses": many("permitted_uses"),
        "audience": many("audience"),
        "audience_org_ids": many("audience_org_ids"),
        "audience_people": [
            dict(zip(("user_id", "org_id"), v.split(":", 1), strict=False)) for v in many("audience_people")
        ],
        "attribution": text("attribution") or "named",
    }
    if text("valid_until"):
        try:
            day = date.fromisoformat(text("valid_until"))
            data["valid_until"] = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
        except ValueError:
            data["valid_until"] = text("valid_until")
    extras = {"change_note": text("change_note"), "screening_override_reason": text("screening_override_reason")}
    return {"item": data, **extras}


def form_values(item: ExchangeItem, session: Session) -> dict[str, Any]:
    """An existing item as form data, to pre-fill the edit form."""
    audience = audience_of(session, item)
    return {
        "category": item.category.value,
        "title": item.title,
        "summary": item.summary,
        "details": item.details,
        "indicators": item.indicators,
        "severity": item.severity.value,
        "priority": item.priority.value,
        "confidence": item.confidence.value,
        "model_families": "\n".join(item.model_families),
        "modalities": list(item.modalities),
        "technique_refs": "\n".join(item.technique_refs),
        "mitigations": "\n".join(item.mitigations),
        "valid_until": item.valid_until.strftime("%Y-%m-%d") if item.valid_until else "",
        "tlp": item.tlp.value,
        "permitted_uses": [u.value for u in item.permitted_uses],
        "audience": audience["kinds"],
        "audience_org_ids": audience["org_ids"],
        "audience_people": [f"{p['user_id']}:{p['org_id']}" for p in audience["people"]],
        "attribution": item.attribution.value,
    }


def raw_form_values(data: dict[str, Any]) -> dict[str, Any]:
    """Submitted data back into form shape, so a refused form keeps what the person typed."""
    item = data["item"]
    return {
        **{
            k: v
            for k, v in item.items()
            if k not in ("model_families", "technique_refs", "mitigations", "audience_people", "valid_until")
        },
        "model_families": "\n".join(item.get("model_families", [])),
        "technique_refs": "\n".join(item.get("technique_refs", [])),
        "mitigations": "\n".join(item.get("mitigations", [])),
        "audience_people": [f"{p.get('user_id')}:{p.get('org_id')}" for p in item.get("audience_people", [])],
        "valid_until": item["valid_until"].strftime("%Y-%m-%d")
        if isinstance(item.get("valid_until"), datetime)
        else (item.get("valid_until") or ""),
        "category": item.get("category") if isinstance(item.get("category"), str) else "",
        "change_note": data.get("change_note", ""),
    }

"""The correlation engine: keep the index of values current, find related items, search by value.

The index (``CorrelationValue``) is rewritten in the transaction that publishes or revises an item and
emptied when the item is withdrawn (``authoring`` calls :func:`reindex` wherever it writes a revision),
so the related-items query is one indexed self-join. Every read of the index goes through
``access.policy.exchange.readable_correlation_values``: items the viewer cannot read are not in the
rows at all, so neither they nor any count of them can appear in an answer.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, false, func, insert, or_, select
from sqlalchemy.orm import Session, aliased, defer

from signalfire.access.actor import Actor
from signalfire.access.policy.exchange import (
    is_contributor,
    permits_use,
    readable_correlation_values,
    readable_items,
)
from signalfire.audit.chain import record
from signalfire.core.errors import ValidationFailed
from signalfire.exchange import service
from signalfire.exchange.correlation.models import CorrelationValue
from signalfire.exchange.correlation.values import (
    VALUES_PER_ITEM_MAX,
    Kind,
    Value,
    display,
    fit,
    indicator_values,
    item_values,
    normalise_url,
    stix_object_values,
)
from signalfire.exchange.models import ExchangeItem, ItemStatus
from signalfire.exchange.snapshot import Contributor
from signalfire.exchange.tags import family_key, normalise_tag
from signalfire.exchange.taxii.models import ObjectOrigin, TaxiiObject
from signalfire.exchange.vocab import CoveredUse, normalise_reference, reference_scheme

RELATED_LIMIT_MAX = 50
# Related items: how many of the item's values are walked, and how many readable items per value.
SOURCE_VALUES_MAX = 30
PER_VALUE_CANDIDATES = 200
SEARCH_LIMIT_MAX = 100
SEARCH_VALUE_MAX = 2_000


# -- the index -----------------------------------------------------------------------------------------


def values_of(item: ExchangeItem) -> list[Value]:
    return item_values(
        indicators=item.indicators,
        technique_refs=list(item.technique_refs),
        summary=item.summary,
        details=item.details,
        model_families=list(item.model_families),
        tags=list(item.tags or []),
    )


def _posted_values(session: Session, item_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Value]]:
    """Values of the STIX objects members posted over TAXII into these items (their indicators live there)."""
    found: dict[uuid.UUID, list[Value]] = {}
    if not item_ids:
        return found
    rows = session.execute(
        select(TaxiiObject.item_id, TaxiiObject.body).where(
            TaxiiObject.item_id.in_(item_ids), TaxiiObject.origin == ObjectOrigin.POSTED, TaxiiObject.is_latest
        )
    )
    for item_id, body in rows:
        if item_id is not None:
            found.setdefault(item_id, []).extend(stix_object_values(json.loads(body)))
    return found


def _rows(item: ExchangeItem, values: Iterable[Value]) -> list[dict[str, object]]:
    unique = list(dict.fromkeys(values))[:VALUES_PER_ITEM_MAX]
    at = item.published_at or item.updated_at
    return [{"item_id": item.id, "kind": v.kind.value, "value": v.value, "published_at": at} for v in unique]


def reindex(session: Session, item: ExchangeItem) -> int:
    """Make the index match the item's current state: its values while published, nothing otherwise."""
    session.execute(delete(CorrelationValue).where(CorrelationValue.item_id == item.id))
    if item.status != ItemStatus.PUBLISHED:
        return 0
    posted = _posted_values(session, [item.id]).get(item.id, [])
    rows = _rows(item, [*values_of(item), *posted])
    if rows:
        session.execute(insert(CorrelationValue), rows)
    return len(rows)


def index_posted_objects(session: Session, item: ExchangeItem, objects: Iterable[Mapping[str, Any]]) -> int:
    """Add the values of STIX objects just posted over TAXII into ``item`` (called once per item and
    envelope, after the objects are stored; one multi-row insert)."""
    if item.status != ItemStatus.PUBLISHED:
        return 0
    present = {
        Value(Kind(k), v)
        for k, v in session.execute(
            select(CorrelationValue.kind, CorrelationValue.value).where(CorrelationValue.item_id == item.id)
        )
    }
    room = VALUES_PER_ITEM_MAX - len(present)
    new = [v for v in dict.fromkeys(v for obj in objects for v in stix_object_values(obj)) if v not in present]
    rows = _rows(item, new[: max(0, room)])
    if rows:
        session.execute(insert(CorrelationValue), rows)
    return len(rows)


def rebuild(session: Session, batch: int = 500, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the whole index from the published items (after an upgrade, or if it is ever in doubt);
    returns the values indexed.

    ``progress(done, total)``, if given, is told how many published items are indexed: once before the first
    batch and after each batch of ``batch`` items."""
    session.execute(delete(CorrelationValue))
    published = ExchangeItem.status == ItemStatus.PUBLISHED
    items_total = 0
    if progress is not None:
        items_total = session.execute(select(func.count()).select_from(ExchangeItem).where(published)).scalar_one()
        progress(0, items_total)
    total = items_done = 0
    last: uuid.UUID | None = None
    while True:
        stmt = select(ExchangeItem).where(published).order_by(ExchangeItem.id)
        if last is not None:
            stmt = stmt.where(ExchangeItem.id > last)
        items = list(session.execute(stmt.limit(batch)).scalars())
        if not items:
            return total
        posted = _posted_values(session, [i.id for i in items])
        rows = [row for i in items for row in _rows(i, [*values_of(i), *posted.get(i.id, [])])]
        if rows:
            session.execute(insert(CorrelationValue), rows)
        total += len(rows)
        last = items[-1].id
        items_done += len(items)
        if progress is not None:
            progress(items_done, max(items_total, items_done))


# -- related items -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    kind: Kind
    text: str  # "ATLAS technique AML.T0051 LLM Prompt Injection"; an indicator is named only to its contributor


@dataclass(frozen=True)
class RelatedItem:
    item: ExchangeItem
    contributor: Contributor
    score: int
    reasons: list[Reason]

    @property
    def explanation(self) -> str:
        return "Shares " + ", ".join(r.text for r in self.reasons)


def _chunks(ids: list[uuid.UUID], size: int) -> Iterable[list[uuid.UUID]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _reason(value: Value, may_name_indicator: bool) -> Reason:
    if value.kind is Kind.INDICATOR and not may_name_indicator:
        return Reason(value.kind, "an indicator value")
    return Reason(value.kind, f"the {value.kind.label} {display(value)}")


def related_items(session: Session, actor: Actor, item_id: uuid.UUID, limit: int = 20) -> list[RelatedItem]:
    """Items the actor may read that share values with ``item_id`` (itself visible to them, else 404),
    strongest first, each with its score and reasons. Nothing is said about items the actor cannot read.

    Candidates come from walking each of the item's values (strongest kinds first, at most
    SOURCE_VALUES_MAX) from its newest items, keeping the first PER_VALUE_CANDIDATES the actor may read:
    a value shared by a hundred thousand items costs no more than a rare one. The bound depends only on
    items the actor can read, so it reveals nothing about the others. Each candidate is then scored on
    every value it shares with the item.
    """
    item = service.get_item(session, actor, item_id)
    limit = max(1, min(limit, RELATED_LIMIT_MAX))
    own = [
        Value(Kind(k), v)
        for k, v in session.execute(
            select(CorrelationValue.kind, CorrelationValue.value).where(CorrelationValue.item_id == item.id)
        )
    ]
    own.sort(key=lambda v: (-v.kind.weight, v.kind.value, v.value))
    # One small query per value rather than one UNION of them all: PostgreSQL's estimate for the union
    # crosses its JIT threshold and compiling it cost two seconds (bench/exchange_correlation.py).
    found: set[uuid.UUID] = set()
    for value in own[:SOURCE_VALUES_MAX]:
        newest = (
            readable_correlation_values(actor)
            .with_only_columns(CorrelationValue.item_id)
            .where(
                CorrelationValue.kind == value.kind.value,
                CorrelationValue.value == value.value,
                CorrelationValue.item_id != item.id,
            )
            .order_by(CorrelationValue.published_at.desc(), CorrelationValue.item_id.desc())
            .limit(PER_VALUE_CANDIDATES)
        )
        found.update(session.execute(newest).scalars())
    if not found:
        return []
    candidates = list(found)
    source = aliased(CorrelationValue)
    shared = (
        (source.item_id == item.id) & (source.kind == CorrelationValue.kind) & (source.value == CorrelationValue.value)
    )
    by_item: dict[uuid.UUID, list[Value]] = {}
    stamps: dict[uuid.UUID, datetime] = {}
    for chunk in _chunks(candidates, 2_000):
        pairs = (
            readable_correlation_values(actor)
            .with_only_columns(
                CorrelationValue.item_id, CorrelationValue.kind, CorrelationValue.value, CorrelationValue.published_at
            )
            .join(source, shared)
            .where(CorrelationValue.item_id.in_(chunk))
        )
        for related_id, kind, text, at in session.execute(pairs):
            by_item.setdefault(related_id, []).append(Value(Kind(kind), text))
            stamps[related_id] = at
    scored = sorted(
        ((sum(v.kind.weight for v in values), related_id) for related_id, values in by_item.items()),
        key=lambda pair: (-pair[0], -stamps[pair[1]].timestamp(), str(pair[1])),
    )[:limit]
    scores = {related_id: score for score, related_id in scored}
    items = {
        i.id: i
        for i in session.execute(
            readable_items(actor)
            .options(defer(ExchangeItem.details), defer(ExchangeItem.indicators))
            .where(ExchangeItem.id.in_(list(scores)))
        ).scalars()
    }
    contributors = service.contributors_for(session, list(items.values()), actor)
    own_source = is_contributor(actor, item)
    result = []
    for related_id, value_score in scores.items():
        related = items.get(related_id)
        if related is None:  # withdrawn between the two queries: not shown
            continue
        may_name = own_source or is_contributor(actor, related)
        values = sorted(by_item.get(related_id, []), key=lambda v: (-v.kind.weight, v.kind.value, v.value))
        result.append(
            RelatedItem(
                item=related,
                contributor=contributors[related_id],
                score=value_score,
                reasons=[_reason(v, may_name) for v in values],
            )
        )
    result.sort(key=lambda r: (-r.score, -(r.item.published_at or r.item.created_at).timestamp(), str(r.item.id)))
    return result


# -- search by tag or value ----------------------------------------------------------------------------


def search_values(kind: Kind | None, text: str) -> list[Value]:
    """What a search for ``text`` (of ``kind``, or guessed) looks up in the index; 422 for a bad id."""
    text = text.strip()
    if not text or len(text) > SEARCH_VALUE_MAX:
        raise ValidationFailed.single("value", f"give a value of 1 to {SEARCH_VALUE_MAX} characters")
    ref = normalise_reference(text)
    if kind in (Kind.ATLAS, Kind.CVE, Kind.CWE, Kind.OWASP) or (kind is None and reference_scheme(ref)):
        scheme = reference_scheme(ref)
        if scheme is None:
            raise ValidationFailed.single(
                "value", f"{text!r} is not an ATLAS technique, CVE, CWE or OWASP LLM id in the accepted format"
            )
        found = {"mitre-atlas": Kind.ATLAS, "cve": Kind.CVE, "cwe": Kind.CWE, "owasp-llm-top-10": Kind.OWASP}
        actual = found[scheme.value]
        if kind is not None and kind is not actual:
            raise ValidationFailed.single("value", f"{text!r} is a {actual.label}, not a {kind.label}")
        return [Value(actual, ref)]
    if kind is Kind.URL or (kind is None and text.lower().startswith(("http://", "https://"))):
        url = normalise_url(text)
        if url is None:
            raise ValidationFailed.single("value", "is not an http(s) URL")
        as_reference = [Value(Kind.URL, fit(url))]
        return as_reference if kind is not None else [*as_reference, Value(Kind.INDICATOR, fit(url))]
    if kind is Kind.INDICATOR:
        return [Value(Kind.INDICATOR, fit(v)) for v in indicator_values(text)[:20]]
    if kind is Kind.TAG:
        return [Value(Kind.TAG, fit(normalise_tag(text)))]
    if kind is Kind.FAMILY:
        return [Value(Kind.FAMILY, fit(family_key(text)))]
    guesses = [Value(Kind.TAG, fit(normalise_tag(text))), Value(Kind.FAMILY, fit(family_key(text)))]
    return guesses + [Value(Kind.INDICATOR, fit(v)) for v in indicator_values(text)[:20]]


@dataclass(frozen=True)
class SearchHit:
    item: ExchangeItem
    contributor: Contributor
    matched: list[Reason]


def search(
    session: Session,
    actor: Actor,
    kind: Kind | None,
    text: str,
    *,
    purpose: CoveredUse | None = None,
    limit: int = 50,
) -> list[SearchHit]:
    """Items the actor may read that carry the tag or value, newest first.

    Indicator values are part of an item's details, which other orgs read only for a declared covered
    use. So an indicator matches another org's item only when ``purpose`` is given and the item permits
    it; without a purpose, only the actor's own items match on indicators. Each search is audited (the
    value itself only as a hash: it may be an indicator).
    """
    limit = max(1, min(limit, SEARCH_LIMIT_MAX))
    wanted = search_values(kind, text)
    matches = []
    for value in wanted:
        condition = (CorrelationValue.kind == value.kind.value) & (CorrelationValue.value == value.value)
        if value.kind is Kind.INDICATOR:
            allowed = ExchangeItem.org_id == actor.org_id
            if purpose is not None:
                allowed = allowed | permits_use(purpose)
            condition = condition & exists(
                select(ExchangeItem.id).where(ExchangeItem.id == CorrelationValue.item_id, allowed)
            )
        matches.append(condition)
    stmt = readable_correlation_values(actor).with_only_columns(
        CorrelationValue.item_id, CorrelationValue.kind, CorrelationValue.value
    )
    newest = stmt.where(or_(false(), *matches))
    newest = newest.order_by(CorrelationValue.published_at.desc(), CorrelationValue.item_id.desc())
    rows = session.execute(newest.limit(limit * max(1, len(wanted)))).all() if matches else []
    found: dict[uuid.UUID, list[Value]] = {}
    for item_id, k, v in rows:
        found.setdefault(item_id, []).append(Value(Kind(k), v))
    record(
        session,
        action="exchange.correlation.searched",
        target_type="exchange_correlation",
        actor=actor,
        summary={
            "kind": kind.value if kind else None,
            "value_sha256": hashlib.sha256(text.strip().encode("utf-8")).hexdigest(),
            "purpose": purpose.value if purpose else None,
            "results": len(found),
        },
    )
    if not found:
        return []
    items = list(
        session.execute(
            readable_items(actor)
            .options(defer(ExchangeItem.details), defer(ExchangeItem.indicators))
            .where(ExchangeItem.id.in_(list(found)))
            .order_by(ExchangeItem.published_at.desc(), ExchangeItem.id.desc())
            .limit(limit)
        ).scalars()
    )
    contributors = service.contributors_for(session, items, actor)
    return [
        SearchHit(item=i, contributor=contributors[i.id], matched=[_reason(v, True) for v in found[i.id]])
        for i in items
    ]

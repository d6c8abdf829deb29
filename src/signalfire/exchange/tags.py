"""Tags of exchange items: the controlled vocabularies and free tags.

An item carries, beside its category (the FMF categories of ``exchange.vocab``):

* **references** (``technique_refs``): MITRE ATLAS techniques, OWASP LLM Top 10 entries, CVE and CWE
  ids, validated by format in ``exchange.vocab``. ATLAS techniques and a curated subset of CWE
  weaknesses have names here (``correlation/data/*.json``, each with its source); an id in a valid
  format that is not in the list is accepted and shown without a name, since both catalogues grow;
* **model families**: a shared base list plus entries each org adds (:class:`ModelFamily`), offered
  to authors; a family outside both is still accepted (items describe families in their own words),
  and correlation compares families case-insensitively;
* **free tags**: short lower-case labels (``jailbreak``, ``rag``, ``tool-use``) exported as STIX labels.

Everything here is a pure function except the model-family service at the end.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import ColumnElement, Text, exists, func, literal, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, array
from sqlalchemy.orm import InstrumentedAttribute, Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.audit.chain import record
from signalfire.core.errors import Conflict, ValidationFailed
from signalfire.exchange.correlation.models import ModelFamily
from signalfire.exchange.models import ExchangeItem
from signalfire.exchange.vocab import RefScheme, normalise_reference, reference_scheme

TAGS_MAX = 20
TAG_MAX_CHARS = 50
FAMILY_NAME_MAX = 100
_TAG_RE = re.compile(r"[a-z0-9](?:[a-z0-9 ._+/-]{0,48}[a-z0-9+])?")


def _data(name: str) -> dict[str, Any]:
    text = resources.files("signalfire.exchange.correlation").joinpath("data", name).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def atlas_techniques() -> dict[str, str]:
    """ATLAS technique id -> name, for the techniques we list."""
    return dict(_data("atlas_techniques.json")["techniques"])


@cache
def cwe_names() -> dict[str, str]:
    """CWE id -> short name, for the curated subset."""
    return dict(_data("cwe_names.json")["weaknesses"])


@cache
def base_model_families() -> tuple[str, ...]:
    return tuple(_data("model_families.json")["families"])


def source_notes() -> dict[str, str]:
    return {
        "mitre-atlas": str(_data("atlas_techniques.json")["source"]),
        "cwe": str(_data("cwe_names.json")["source"]),
        "model-families": str(_data("model_families.json")["source"]),
    }


def reference_name(ref: str) -> str | None:
    """The catalogue name of a normalised reference, when we list it (ATLAS, CWE); else None."""
    scheme = reference_scheme(ref)
    if scheme is RefScheme.ATLAS:
        return atlas_techniques().get(ref)
    if scheme is RefScheme.CWE:
        return cwe_names().get(ref)
    return None


def reference_label(ref: str) -> str:
    """``AML.T0051 LLM Prompt Injection``, or the bare id when we have no name for it."""
    name = reference_name(ref)
    return f"{ref} {name}" if name else ref


def normalise_tag(tag: str) -> str:
    """Lower-case, single spaces, trimmed."""
    return re.sub(r"\s+", " ", tag).strip().lower()


def validate_tag(tag: str) -> str:
    """A free tag, normalised, or ``ValueError`` saying what a tag may be."""
    normalised = normalise_tag(tag)
    if reference_scheme(normalise_reference(tag)) is not None:
        raise ValueError(f"{tag!r} is a catalogue id: list it under technique and weakness references instead")
    if len(normalised) > TAG_MAX_CHARS or _TAG_RE.fullmatch(normalised) is None:
        raise ValueError(
            f"{tag!r} is not a tag: use 1 to {TAG_MAX_CHARS} lower-case letters, digits, spaces and . _ + / -, "
            "starting and ending with a letter or digit"
        )
    return normalised


def validate_tags(tags: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(validate_tag(t) for t in tags if t.strip()))
    if len(cleaned) > TAGS_MAX:
        raise ValueError(f"at most {TAGS_MAX} tags")
    return cleaned


# -- selecting items by tag -----------------------------------------------------------------------------

TAG_FILTER_MAX = 20


@dataclass(frozen=True)
class TagFilter:
    """A selection by tag, any-of: an item matches when it carries one of ``tags`` (free tags) or cites one
    of ``refs`` (catalogue ids: ATLAS techniques, OWASP LLM entries, CVE and CWE ids). Empty selects all."""

    tags: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tags or self.refs)

    @property
    def terms(self) -> list[str]:
        """The selection as a person writes it back (the form's field, a CLI's ``--tag`` options)."""
        return [*self.refs, *self.tags]


def parse_tag_filter(values: Iterable[str]) -> TagFilter:
    """``--tag``/``tag=`` values (each may hold several, comma-separated) as a :class:`TagFilter`; a catalogue
    id goes to ``refs`` whatever its case, anything else must be a valid free tag (``ValueError`` if not)."""
    tags: dict[str, None] = {}
    refs: dict[str, None] = {}
    for value in values:
        for term in value.split(","):  # neither a tag nor a catalogue id can hold a comma
            if not term.strip():
                continue
            ref = normalise_reference(term)
            if reference_scheme(ref) is not None:
                refs[ref] = None
            else:
                tags[validate_tag(term)] = None
    if len(tags) + len(refs) > TAG_FILTER_MAX:
        raise ValueError(f"at most {TAG_FILTER_MAX} tags at once")
    return TagFilter(tags=tuple(tags), refs=tuple(refs))


def family_key(name: str) -> str:
    """What two family names are compared on: case-folded, whitespace collapsed."""
    return re.sub(r"\s+", " ", name).strip().casefold()


# -- the model-family vocabulary an org extends --------------------------------------------------------


def model_families(session: Session, actor: Actor) -> list[str]:
    """The base list followed by the actor org's own additions (an org never sees another org's list)."""
    own = session.execute(
        select(ModelFamily.name).where(ModelFamily.org_id == actor.org_id).order_by(ModelFamily.name)
    ).scalars()
    return [*base_model_families(), *own]


def add_model_family(session: Session, actor: Actor, name: str) -> ModelFamily:
    """Extend the org's model-family vocabulary (audited)."""
    require(actor, Permission.exchange_item_write)
    cleaned = re.sub(r"\s+", " ", name).strip()
    if not cleaned or len(cleaned) > FAMILY_NAME_MAX:
        raise ValidationFailed.single("name", f"give a name of 1 to {FAMILY_NAME_MAX} characters")
    key = family_key(cleaned)
    if key in {family_key(n) for n in model_families(session, actor)}:
        raise Conflict(f"{cleaned!r} is already in the vocabulary.", slug="duplicate-model-family")
    family = ModelFamily(id=uuid.uuid4(), org_id=actor.org_id, name=cleaned, key=key, created_by_id=actor.user_id)
    session.add(family)
    record(
        session,
        action="exchange.model_family.added",
        target_type="exchange_model_family",
        target_id=family.id,
        actor=actor,
        summary={"name": cleaned},
    )
    return family


def tag_filter(values: Iterable[str]) -> TagFilter:
    """``tag`` parameters as a filter, or a 422 naming what is not a tag."""
    try:
        return parse_tag_filter(values)
    except ValueError as exc:
        raise ValidationFailed.single("tag", str(exc)) from None


def _holds_any(
    session: Session, column: InstrumentedAttribute[list[str]], values: Sequence[str]
) -> ColumnElement[bool]:
    """The item's JSON list ``column`` holds one of ``values``: ``?|`` on PostgreSQL's JSONB, a ``json_each``
    lookup on SQLite (the lists are short: at most a few dozen entries per item)."""
    if session.get_bind().dialect.name == "postgresql":
        held: ColumnElement[bool] = type_coerce(column, JSONB).has_any(
            array(list(values), type_=Text).cast(ARRAY(Text))
        )
        return held
    element = func.json_each(column).table_valued("value")
    return exists(select(literal(1)).select_from(element).where(element.c.value.in_(list(values))))


def tagged(session: Session, wanted: TagFilter) -> ColumnElement[bool]:
    """Items that carry one of the filter's free tags or cite one of its catalogue ids (any-of). Only a
    condition: the caller's statement starts from ``readable_items`` and keeps the policy."""
    found: list[ColumnElement[bool]] = []
    if wanted.tags:
        found.append(_holds_any(session, ExchangeItem.tags, wanted.tags))
    if wanted.refs:
        found.append(_holds_any(session, ExchangeItem.technique_refs, wanted.refs))
    return or_(*found) if found else literal(True)

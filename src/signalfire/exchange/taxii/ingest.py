"""TAXII "Add Objects": objects a member posts to an audience collection are *published* to that audience.

Each accepted object must carry a TLP marking (TLP 2.0, TLP 1.0 or OpenCTI's AMBER+STRICT id). The
accepted objects become exchange items, contributed by the poster's org, addressed to the collection's
audience, with the permitted covered uses the poster declares (header ``X-Signalfire-Permitted-Uses``):

* each posted ``report`` is one item (its name, description and, from another Signalfire, its extension's
  fields), holding the objects of the same TLP it refers to; the other objects become one item per TLP;
* a new version of objects an item already holds (the same ids, posted by the same org) is a new version
  of that item, not another item; a revoked report withdraws its item ("revoked at the source"), and the
  revocation stays readable over TAXII to the item's audience so that copies elsewhere follow it.

Items go through the ordinary authoring path (draft, screening, publish or revise, routing notices,
audit), and their STIX objects are stored tied to them, so every read runs through the exchange policy.
Screening covers the objects' text; findings stop the request unless the poster gives a reason in
``X-Signalfire-Screening-Override``.

Faults of the whole request (not JSON, not an envelope, too many objects, screening findings without
an override, missing or unknown permitted uses) are TAXII errors and store nothing. Faults of single
objects are reported per object in the status; the others are still added. Posting an identical
object again is a success ("already present"): adds are idempotent on (id, version).
"""

from __future__ import annotations

import bisect
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import stix2
from pydantic import ValidationError
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session
from stix2patterns.validator import run_validator

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.audit.chain import Entry, record, record_many
from signalfire.core.clock import utcnow
from signalfire.core.errors import AppError
from signalfire.core.schemas import check_datetime
from signalfire.exchange import authoring
from signalfire.exchange.correlation import service as correlation
from signalfire.exchange.models import (
    REVOKED_AT_SOURCE,
    Attribution,
    ExchangeItem,
    ItemRevision,
    ItemStatus,
    Pseudonym,
    ScreeningOverride,
)
from signalfire.exchange.schemas import ItemIn
from signalfire.exchange.screening import Finding, screen
from signalfire.exchange.service import hub_identity, org_identity_id
from signalfire.exchange.stix.convert import (
    IMPORTABLE_TLP_IDS,
    OPENCTI_AMBER_STRICT_ID,
    SCO_TYPES,
    SIGNALFIRE_PROJECT_IDENTITY_ID,
    TLP2_EXTENSION_ID,
    derived_id,
    read_report,
    signalfire_extension_definition,
    signalfire_project_identity,
    tlp_extension_definition,
    tlp_marking_definition,
)
from signalfire.exchange.taxii.collections import TaxiiCollection, shared_by_id
from signalfire.exchange.taxii.models import ObjectOrigin, TaxiiStatus
from signalfire.exchange.taxii.protocol import (
    TaxiiError,
    bad_request,
    format_date_added,
    format_version,
    parse_timestamp,
)
from signalfire.exchange.taxii.store import (
    NewRow,
    StoredVersion,
    _chunks,
    canonical_digest,
    compact,
    in_collection,
    insert_rows,
    stored_versions,
    sync,
)
from signalfire.exchange.vocab import Category, CoveredUse, Severity, Tlp, audience_allowed, normalise_reference

MAX_OBJECTS = 50_000
MAX_OBJECT_BYTES = 256 * 1024
MAX_OBJECT_DEPTH = 16
MAX_PATTERN_CHARS = 65_536
# Deeper nesting than any real pattern; the grammar parser recurses per level, so it is counted first.
MAX_PATTERN_DEPTH = 32
STATUS_KEEP = timedelta(days=7)
ANALYZE_AFTER_ROWS = 5_000
_SCREEN_CHUNK = 400_000
_OVERRIDE_MIN = 10

_ID_RE = re.compile(
    r"([a-z0-9][a-z0-9-]{0,248}[a-z0-9]|[a-z0-9])--"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
# Keys whose values are identifiers, timestamps or vocabulary, not free text: not screened.
_NOT_TEXT = frozenset(
    {
        "id",
        "type",
        "spec_version",
        "created",
        "modified",
        "valid_from",
        "valid_until",
        "first_seen",
        "last_seen",
        "published",
        "first_observed",
        "last_observed",
        "start_time",
        "stop_time",
        "pattern_type",
        "pattern_version",
        "lang",
        "identity_class",
        "relationship_type",
        "extension_type",
        "definition_type",
        "created_by_ref",
    }
)


# --- the objects the exchange publishes itself ------------------------------------------------------


def _fixed_reference_objects() -> dict[str, dict[str, Any]]:
    """Objects with fixed ids that every Signalfire hub publishes, exactly as it publishes them."""
    objects = [tlp_marking_definition(level) for level in Tlp]
    objects += [stix2.v21.TLP_WHITE, stix2.v21.TLP_GREEN, stix2.v21.TLP_AMBER, stix2.v21.TLP_RED]
    objects += [tlp_extension_definition(), signalfire_extension_definition(), signalfire_project_identity()]
    return {obj.id: json.loads(obj.serialize()) for obj in objects}


_FIXED = _fixed_reference_objects()
_FIXED_DIGESTS = {stix_id: canonical_digest(body) for stix_id, body in _FIXED.items()}


def _claims_tlp(obj: Mapping[str, Any]) -> bool:
    if str(obj.get("definition_type", "")).lower() == "tlp":
        return True
    extensions = obj.get("extensions")
    if isinstance(extensions, dict) and TLP2_EXTENSION_ID in extensions:
        return True
    name = obj.get("name")
    return isinstance(name, str) and name.strip().upper().startswith("TLP")


# --- per-object checks ------------------------------------------------------------------------------


class _Refused(Exception):
    """This object is not added; the message goes into the status."""


@dataclass(slots=True)
class Candidate:
    index: int
    stix_id: str
    stix_type: str
    spec_version: str
    version: datetime | None
    version_text: str
    obj: dict[str, Any]
    body: str
    digest: str
    tlp: Tlp | None = None
    outcome: str | None = None  # success message when nothing needs adding


def _depth(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _timestamp(obj: Mapping[str, Any], name: str) -> datetime | None:
    raw = obj.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _Refused(f"'{name}' is not a STIX timestamp (UTC, ending in Z)")
    parsed = _parse_time(raw)
    if isinstance(parsed, str):
        raise _Refused(parsed.format(name=name))
    return parsed


@lru_cache(maxsize=16_384)
def _parse_time(raw: str) -> datetime | str:
    """The timestamp, or what is wrong with it (with a ``{name}`` slot). Cached: in bulk feeds an
    object's created, modified and valid_from are often one string, and neighbours share them."""
    if _TIME_RE.fullmatch(raw) is None:
        return "'{name}' is not a STIX timestamp (UTC, ending in Z)"
    fraction = raw[20:-1] if "." in raw else ""
    if len(fraction) > 6:
        return "'{name}' has more than microsecond precision, which this server cannot keep exactly"
    try:
        value = parse_timestamp(raw)  # the pattern admits a month 13 or a day 31 of February
        return check_datetime(value)  # and years no deadline arithmetic can reach
    except ValueError as exc:
        return "'{name}' is not a usable date and time: " + str(exc).replace("{", "{{").replace("}", "}}")


# (earlier, later, whether they may be equal): STIX 2.1 orders these pairs of timestamps.
_TIME_PAIRS = (
    ("valid_from", "valid_until", False),
    ("first_seen", "last_seen", True),
    ("first_observed", "last_observed", True),
    ("start_time", "stop_time", False),
)


def _check_bounds(obj: Mapping[str, Any]) -> None:
    """Confidence on the STIX 0-100 scale, ordered time ranges, patterns that parse within the limits."""
    if "confidence" in obj:
        confidence = obj["confidence"]
        if isinstance(confidence, bool) or not isinstance(confidence, int) or not 0 <= confidence <= 100:
            raise _Refused("'confidence' must be a whole number from 0 to 100")
    for earlier, later, may_equal in _TIME_PAIRS:
        start, end = _timestamp(obj, earlier), _timestamp(obj, later)
        if start is not None and end is not None and (end < start or (end == start and not may_equal)):
            raise _Refused(f"'{later}' must be {'' if may_equal else 'strictly '}later than '{earlier}'")
    if "pattern" in obj:
        _check_pattern(obj["pattern"], obj.get("pattern_type", "stix"))


def _pattern_depth(pattern: str) -> int:
    """Deepest nesting of brackets and parentheses outside the pattern's quoted literals."""
    depth = deepest = 0
    quoted = escaped = False
    for char in pattern:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "'":
                quoted = False
        elif char == "'":
            quoted = True
        elif char in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]":
            depth -= 1
    return deepest


def _check_pattern(pattern: Any, pattern_type: Any) -> None:
    if not isinstance(pattern, str) or not pattern.strip():
        raise _Refused("'pattern' must be a non-empty string")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise _Refused(f"'pattern' is longer than {MAX_PATTERN_CHARS} characters")
    if pattern_type != "stix":
        return  # other languages (sigma, yara, snort, ...) are carried as text, not parsed
    if _pattern_depth(pattern) > MAX_PATTERN_DEPTH:
        raise _Refused(f"'pattern' nests brackets and parentheses deeper than {MAX_PATTERN_DEPTH} levels")
    error = _pattern_error(pattern)
    if error:
        raise _Refused(f"'pattern' is not a valid STIX 2.1 pattern: {error[:300]}")


# A strict subset of the STIX 2.1 pattern grammar that bulk feeds are mostly made of: one or more
# observations of equality comparisons on plain property paths against string literals, joined by AND
# or OR. Whatever this matches, the grammar parser accepts (tests/exchange/taxii/test_bulk_ingest.py
# checks that against stix2-patterns on generated near-misses); everything else goes to the parser.
# Identifiers are lower-case and never a keyword (the lexer's keywords are upper-case, plus true and
# false); paths through 'hashes' are left to the parser, which also checks the hash value's format.
_WS = r"[ \t\r\n]"
_IDENT = r"(?!(?:true|false)\b)[a-z_][a-z0-9_]*"
_COMPARISON = (
    rf"(?!(?:true|false):)[a-z_][a-z0-9_-]*:{_IDENT}(?:\.{_IDENT})*"
    rf"{_WS}*!?={_WS}*'(?:[^'\\]|\\['\\])*'"
)
_OBSERVATION = rf"\[{_WS}*{_COMPARISON}(?:{_WS}+(?:AND|OR){_WS}+{_COMPARISON})*{_WS}*\]"
_SIMPLE_PATTERN = re.compile(rf"{_WS}*{_OBSERVATION}(?:{_WS}+(?:AND|OR){_WS}+{_OBSERVATION})*{_WS}*")


def simple_pattern(pattern: str) -> bool:
    """Whether the pattern is in the subset above (so valid without running the grammar parser)."""
    return _SIMPLE_PATTERN.fullmatch(pattern) is not None and "hashes" not in pattern


def _pattern_error(pattern: str) -> str | None:
    """The grammar parser's first complaint, if any; patterns of the simple subset skip the parser."""
    if simple_pattern(pattern):
        return None
    return _parsed_pattern_error(pattern)


@lru_cache(maxsize=4096)
def _parsed_pattern_error(pattern: str) -> str | None:
    """About a millisecond a pattern, so a retried envelope (adds are idempotent, clients retry) is
    not parsed twice."""
    try:
        errors = run_validator(pattern, stix_version="2.1")
    except RecursionError:  # the depth count before it should make this unreachable
        return "it nests too deeply to parse"
    return str(errors[0]) if errors else None


def _check(index: int, obj: Any) -> Candidate:
    if not isinstance(obj, dict):
        raise _Refused("not a JSON object")
    stix_id, stix_type = obj.get("id"), obj.get("type")
    if not isinstance(stix_id, str) or not isinstance(stix_type, str):
        raise _Refused("'type' and 'id' must be strings")
    match = _ID_RE.fullmatch(stix_id)
    if match is None or match.group(1) != stix_type:
        raise _Refused(f"the id must be '{stix_type}--' followed by a lower-case UUID")
    spec = obj.get("spec_version")
    if spec is None and stix_type in SCO_TYPES:
        spec = "2.1"
    if spec != "2.1":
        raise _Refused(f"spec_version is {spec!r}; this server takes STIX 2.1 only")
    if _depth(obj, MAX_OBJECT_DEPTH):
        raise _Refused(f"it nests deeper than {MAX_OBJECT_DEPTH} levels")
    body = compact(obj)
    if len(body.encode()) > MAX_OBJECT_BYTES:
        raise _Refused(f"it is larger than {MAX_OBJECT_BYTES} bytes")
    created, modified = _timestamp(obj, "created"), _timestamp(obj, "modified")
    if stix_type not in SCO_TYPES and created is None:
        raise _Refused("it has no 'created' timestamp")
    if created is not None and modified is not None and modified < created:
        raise _Refused("'modified' is earlier than 'created'")
    _check_bounds(obj)
    version = modified or created
    text = obj.get("modified") or obj.get("created")
    return Candidate(
        index=index,
        stix_id=stix_id,
        stix_type=stix_type,
        spec_version=spec,
        version=version,
        version_text=str(text) if version is not None else "",
        obj=obj,
        body=body,
        digest=canonical_digest(obj),
    )


def _tlp_of(obj: Mapping[str, Any]) -> Tlp:
    refs = [ref for ref in obj.get("object_marking_refs", []) or [] if isinstance(ref, str)]
    for granular in obj.get("granular_markings", []) or []:
        if isinstance(granular, dict) and isinstance(granular.get("marking_ref"), str):
            refs.append(granular["marking_ref"])
    levels = [IMPORTABLE_TLP_IDS[ref] for ref in refs if ref in IMPORTABLE_TLP_IDS]
    if not levels:
        raise _Refused(
            "it has no TLP marking (object_marking_refs to a TLP 2.0 or TLP 1.0 marking definition); "
            "the exchange never guesses one"
        )
    return Tlp.strictest(levels)


# --- the request ------------------------------------------------------------------------------------


@dataclass
class AddResult:
    status: TaxiiStatus
    items: list[ExchangeItem] = field(default_factory=list)
    # The item that now holds each accepted object (by STIX id).
    item_of: dict[str, uuid.UUID] = field(default_factory=dict)


def parse_envelope(raw: bytes) -> list[Any]:
    try:
        data = json.loads(raw)
    except RecursionError:
        raise bad_request("Envelope too deep", "The envelope nests too deeply to read.") from None
    except ValueError as exc:
        raise bad_request("Malformed envelope", f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("objects"), list):
        raise bad_request("Malformed envelope", "Send a TAXII envelope: a JSON object with an 'objects' list.")
    objects: list[Any] = data["objects"]
    if not objects:
        raise bad_request("Empty envelope", "The envelope holds no objects.")
    if len(objects) > MAX_OBJECTS:
        raise TaxiiError(
            413,
            "Too many objects",
            f"The envelope holds {len(objects)} objects; the limit is {MAX_OBJECTS} per request.",
        )
    return objects


def _texts(obj: Any, key: str = "") -> Iterator[str]:
    if isinstance(obj, str):
        if key not in _NOT_TEXT and not key.endswith(("_ref", "_refs")):
            yield obj
    elif isinstance(obj, dict):
        for name, value in obj.items():
            if not (name.endswith(("_ref", "_refs")) or name == "object_marking_refs"):
                yield from _texts(value, name)
    elif isinstance(obj, list):
        for value in obj:
            yield from _texts(value, key)


def screen_objects(candidates: Sequence[Candidate]) -> list[tuple[str, Finding]]:
    """Screen the free text of the objects in chunks; each finding is returned with the object it is in."""
    found: list[tuple[str, Finding]] = []
    chunk: list[str] = []
    owners: list[str] = []
    starts: list[int] = []
    size = 0

    def flush() -> None:
        nonlocal chunk, owners, starts, size
        if chunk:
            for finding in screen({"objects": "\n".join(chunk)}):
                owner = owners[bisect.bisect_right(starts, finding.start) - 1]
                found.append((owner, finding))
        chunk, owners, starts, size = [], [], [], 0

    for candidate in candidates:
        text = "\n".join(_texts(candidate.obj))
        if not text:
            continue
        if size + len(text) + 1 > _SCREEN_CHUNK:
            flush()
        starts.append(size)
        owners.append(candidate.stix_id)
        chunk.append(text)
        size += len(text) + 1
    flush()
    return found


def _reserved_ids(session: Session, candidates: Sequence[Candidate]) -> set[str]:
    """Ids the exchange itself issues (hub, org and pseudonym identities, ATLAS stubs, item reports)."""
    wanted = {c.stix_id for c in candidates}
    reserved = {hub_identity(session).stix_identity_id, SIGNALFIRE_PROJECT_IDENTITY_ID} & wanted
    identities = [i for i in wanted if i.startswith("identity--")]
    if identities:
        orgs = {org_identity_id(org_id) for org_id in session.execute(select(Organization.id)).scalars()}
        reserved |= orgs & set(identities)
        for chunk in _chunks(identities):
            reserved |= set(
                session.execute(
                    select(Pseudonym.stix_identity_id).where(Pseudonym.stix_identity_id.in_(chunk))
                ).scalars()
            )
    for candidate in candidates:
        name = candidate.obj.get("name")
        if (
            candidate.stix_type == "attack-pattern"
            and isinstance(name, str)
            and candidate.stix_id == derived_id("attack-pattern", "mitre-atlas", normalise_reference(name))
        ):
            reserved.add(candidate.stix_id)
    reports = {uuid.UUID(c.stix_id.split("--", 1)[1]): c.stix_id for c in candidates if c.stix_type == "report"}
    for chunk in _chunks(list(reports)):
        reserved |= {
            reports[i] for i in session.execute(select(ExchangeItem.id).where(ExchangeItem.id.in_(chunk))).scalars()
        }
    return reserved


def _summary(
    actor: Actor, collection: TaxiiCollection, group: Sequence[Candidate], *, pseudonymous: bool
) -> tuple[str, str]:
    counts = Counter(c.stix_type for c in group)
    kinds = ", ".join(f"{n} {t}" for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    title = f"TAXII submission: {len(group)} STIX objects ({kinds})"
    names = [str(c.obj["name"]) for c in group if isinstance(c.obj.get("name"), str)][:20]
    by = "" if pseudonymous else f" by {actor.org_name}"  # readers see the pseudonym as the contributor
    summary = f"Added to the '{collection.title}' collection over TAXII{by}: {kinds}."
    if names:
        summary += " Named objects include: " + "; ".join(names) + "."
    return title[:300], summary[:5000]


def add_objects(
    session: Session,
    actor: Actor,
    collection: TaxiiCollection,
    objects: Sequence[Any],
    *,
    permitted_uses: Sequence[CoveredUse],
    override_reason: str | None,
    vouched_identities: frozenset[str] = frozenset(),
) -> AddResult:
    """Validate, screen and publish the posted objects; returns the (complete) status of the request.

    ``vouched_identities``: identities the caller vouches are the poster's besides its own (federation
    publishes a remote peer's objects under the local record of that peer, keeping their ``created_by_ref``);
    they are named, never pseudonymous. A TAXII request never sets them.
    """
    if not collection.can_write or collection.audience is None:
        raise TaxiiError(403, "Collection not writable", "You may not add objects to this collection.")
    if not permitted_uses:
        raise bad_request(
            "Permitted uses required",
            "Declare the covered uses recipients may apply these objects to, in the header "
            "X-Signalfire-Permitted-Uses (comma-separated, e.g. threat_detection,safeguards).",
        )
    reason = (override_reason or "").strip()
    # Versions published elsewhere and not indexed yet go in first, so the admission lookup below sees them.
    sync(session)
    failures: dict[int, dict[str, str]] = {}
    candidates = _well_formed(objects, failures)
    candidates = _adopt_foreign_pseudonyms(session, actor, candidates, failures, vouched_identities)
    fixed, regular = _split_reference(candidates, failures)
    stored: dict[str, list[StoredVersion]] = {}
    accepted = _admit(session, actor, collection, fixed, regular, failures, stored, vouched_identities)

    findings = screen_objects(accepted)
    if findings and len(reason) < _OVERRIDE_MIN:
        shown = "; ".join(f"{owner}: {f.kind} ({f.message.split('.')[0]}: {f.excerpt})" for owner, f in findings[:5])
        raise TaxiiError(
            422,
            "Screening findings need an override",
            f"Screening found {len(findings)} possible problem(s) in the objects, e.g. {shown}. Remove "
            "them, or repeat the request with the header X-Signalfire-Screening-Override giving your "
            f"reason (at least {_OVERRIDE_MIN} characters).",
        )

    pseudonymous = _pseudonymous(session, actor, accepted, vouched_identities)
    units = _units(accepted, stored, actor)
    placed = _publish(
        session, actor, collection, units, permitted_uses, reason or None, findings, pseudonymous, failures
    )
    # Index the new versions first: their reference objects (the contributor's identity above all) then come
    # before the posted objects in date_added order, so a reader paging the collection meets an author's
    # identity no later than the objects it wrote.
    sync(session)
    versions_added = _store(session, actor, collection, fixed, placed, stored)
    items: dict[uuid.UUID, ExchangeItem] = {}
    for unit, item, _version in placed:
        items[item.id] = item
        correlation.index_posted_objects(session, item, (c.obj for c in unit.members))
    return AddResult(
        status=_status(session, actor, collection, objects, candidates, failures, versions_added, list(items.values())),
        items=list(items.values()),
        item_of={c.stix_id: item.id for unit, item, _ in placed for c in unit.members},
    )


def _well_formed(objects: Sequence[Any], failures: dict[int, dict[str, str]]) -> list[Candidate]:
    """Objects that pass the structural checks, each (id, version) once; the rest go to ``failures``."""
    candidates: list[Candidate] = []
    seen: set[tuple[str, str]] = set()
    for index, obj in enumerate(objects):
        try:
            candidate = _check(index, obj)
            key = (candidate.stix_id, candidate.version_text or candidate.digest)
            if key in seen:
                raise _Refused("the same id and version appear more than once in this envelope")
            seen.add(key)
            candidates.append(candidate)
        except _Refused as exc:
            failures[index] = _detail(obj, str(exc))
    return candidates


def _split_reference(
    candidates: Sequence[Candidate], failures: dict[int, dict[str, str]]
) -> tuple[list[Candidate], list[Candidate]]:
    """Copies of the exchange's own fixed objects (TLP markings, extension definitions), and the rest with
    their TLP level; markings that only pretend to be TLP fail."""
    fixed: list[Candidate] = []
    regular: list[Candidate] = []
    for candidate in candidates:
        try:
            if candidate.stix_id in _FIXED:
                if candidate.digest != _FIXED_DIGESTS[candidate.stix_id]:
                    raise _Refused(
                        "this id is a published TLP marking, extension definition or identity, and the "
                        "object differs from the published one"
                    )
                fixed.append(candidate)
            elif candidate.stix_id == OPENCTI_AMBER_STRICT_ID:
                raise _Refused(
                    "OpenCTI's AMBER+STRICT definition is not stored; objects marked with it are read as "
                    "TLP:AMBER+STRICT and served with the OASIS TLP 2.0 marking"
                )
            elif candidate.stix_type == "marking-definition" and _claims_tlp(candidate.obj):
                raise _Refused(
                    "it looks like a TLP marking but is not one the exchange knows; use the OASIS TLP "
                    "2.0 marking definitions"
                )
            else:
                candidate.tlp = _tlp_of(candidate.obj)
                regular.append(candidate)
        except _Refused as exc:
            failures[candidate.index] = _detail(candidate.obj, str(exc))
    return fixed, regular


def _admit(
    session: Session,
    actor: Actor,
    collection: TaxiiCollection,
    fixed: Sequence[Candidate],
    regular: Sequence[Candidate],
    failures: dict[int, dict[str, str]],
    stored: dict[str, list[StoredVersion]],
    vouched: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """The objects to add: not already there, not someone else's id, and allowed in this audience at their TLP."""
    assert collection.audience is not None
    own = _own_identities(session, actor) | vouched
    attributed = []
    for candidate in regular:
        try:
            _check_author(candidate, own)
            attributed.append(candidate)
        except _Refused as exc:
            failures[candidate.index] = _detail(candidate.obj, str(exc))
    # One lookup of every stored version of every posted id serves the revocation, ownership and
    # already-present checks here and the inserts into both collections later.
    stored.update(stored_versions(session, [c.stix_id for c in [*fixed, *attributed]]))
    regular = _check_revocations(attributed, stored, failures)
    reserved = _reserved_ids(session, regular)
    owners = {i: [(v.org_id, v.origin, v.digest) for v in found] for i, found in stored.items()}
    here = in_collection(stored, collection.id)
    for candidate in fixed:
        if any(version == candidate.version for version, _ in here.get(candidate.stix_id, [])):
            candidate.outcome = "already present"
    accepted: list[Candidate] = []
    for candidate in regular:
        owned = owners.get(candidate.stix_id, [])
        foreign = [s for s in owned if s[0] != actor.org_id or s[1] != ObjectOrigin.POSTED]
        versions = here.get(candidate.stix_id, [])
        try:
            if candidate.stix_id in reserved or foreign:
                # Ids the exchange issues itself, or other contributors' ids, cannot be taken over.
                if any(digest == candidate.digest for _, _, digest in owned):
                    candidate.outcome = "already known to the exchange"
                    continue
                raise _Refused(
                    "this id belongs to the exchange or to another contributor; publish your own "
                    "objects under your own ids"
                )
            if candidate.version is None:
                if any(digest == candidate.digest for _, digest in versions):
                    candidate.outcome = "already present"
                    continue
            else:
                same = [digest for version, digest in versions if version == candidate.version]
                if candidate.digest in same:
                    candidate.outcome = "already present"
                    continue
                if same:
                    raise _Refused(
                        "an object with this id and version is already in the collection with other "
                        "content; post a new version (a later 'modified')"
                    )
            assert candidate.tlp is not None
            problems = audience_allowed(candidate.tlp, [collection.audience])
            if problems:
                raise _Refused(problems[0].message)
            accepted.append(candidate)
        except _Refused as exc:
            failures[candidate.index] = _detail(candidate.obj, str(exc))
    return accepted


def _adopt_foreign_pseudonyms(
    session: Session,
    actor: Actor,
    regular: Sequence[Candidate],
    failures: dict[int, dict[str, str]],
    vouched: frozenset[str],
) -> list[Candidate]:
    """Objects naming a pseudonym another instance issued are published here under the poster's own pseudonym.

    A federated lab pushes its pseudonymous items with the pseudonym its own instance issued (an identity
    with ``identity_class`` "unknown", sent in the same envelope, known nowhere here). Only the poster can
    speak under it, so here it stands for the poster's pseudonym on this instance, which this instance
    issues and alone can resolve: ``created_by_ref`` is set to that pseudonym and the foreign identity
    object is not stored. Identities issued here (orgs, pseudonyms, the hub) are never adopted.
    """
    own = _own_identities(session, actor) | vouched
    foreign = {
        c.stix_id
        for c in regular
        if c.stix_type == "identity" and c.obj.get("identity_class") == "unknown" and c.stix_id not in own
    }
    if foreign:
        foreign -= _reserved_ids(session, [c for c in regular if c.stix_id in foreign])
    if not foreign or not any(c.obj.get("created_by_ref") in foreign for c in regular):
        return list(regular)
    from signalfire.exchange.pseudonyms import ensure_pseudonym

    pseudonym = ensure_pseudonym(session, actor.org_id).stix_identity_id
    adopted: list[Candidate] = []
    for c in regular:
        if c.stix_id in foreign:
            failures[c.index] = _detail(
                c.obj, f"not stored: a pseudonym issued elsewhere; your objects name your pseudonym here, {pseudonym}"
            )
            continue
        if c.obj.get("created_by_ref") in foreign:
            obj = {**c.obj, "created_by_ref": pseudonym}
            c = replace(c, obj=obj, body=compact(obj), digest=canonical_digest(obj))
        adopted.append(c)
    return adopted


def _own_identities(session: Session, actor: Actor) -> set[str]:
    """The identities an org may sign objects with: its own and, once it has one, its pseudonym's."""
    pseudonym = session.execute(select(Pseudonym.stix_identity_id).where(Pseudonym.org_id == actor.org_id)).scalar()
    return {org_identity_id(actor.org_id)} | ({pseudonym} if pseudonym else set())


def _check_author(candidate: Candidate, own: set[str]) -> None:
    author = candidate.obj.get("created_by_ref")
    if author is not None and author not in own:
        raise _Refused(
            f"'created_by_ref' is {str(author)[:100]!r}, which is not your organisation's identity or its "
            f"pseudonym's; objects are attributed only to who posts them (yours: {', '.join(sorted(own))})"
        )


def _revoked(candidate: Candidate) -> bool:
    return candidate.obj.get("revoked") is True


def _lifecycle(stored: Mapping[str, Sequence[StoredVersion]]) -> tuple[dict[str, datetime], dict[str, datetime]]:
    """For ids already stored: the earliest revoked version, and the latest version of each."""
    revoked: dict[str, datetime] = {}
    latest: dict[str, datetime] = {}
    for stix_id, versions in stored.items():
        latest[stix_id] = max(v.version for v in versions)
        gone = [v.version for v in versions if v.revoked]
        if gone:
            revoked[stix_id] = min(gone)
    return revoked, latest


def _check_revocations(
    candidates: Sequence[Candidate],
    stored: Mapping[str, Sequence[StoredVersion]],
    failures: dict[int, dict[str, str]],
) -> list[Candidate]:
    """STIX 2.1 makes revocation final: no version after a revoked one, and no revocation before a later version."""
    versioned = [c for c in candidates if c.version is not None]
    revoked, latest = _lifecycle({c.stix_id: stored[c.stix_id] for c in versioned if c.stix_id in stored})
    refused: set[int] = set()
    for c in versioned:
        assert c.version is not None
        if _revoked(c) and c.stix_id in latest and latest[c.stix_id] > c.version:
            failures[c.index] = _detail(
                c.obj, "a later version of this object is already stored, so this version cannot revoke it"
            )
            refused.add(c.index)
        elif _revoked(c) and (c.stix_id not in revoked or c.version < revoked[c.stix_id]):
            revoked[c.stix_id] = c.version
    for c in versioned:
        assert c.version is not None
        if c.index not in refused and c.stix_id in revoked and c.version > revoked[c.stix_id]:
            failures[c.index] = _detail(
                c.obj,
                f"this object was revoked in version {format_version(revoked[c.stix_id])}; STIX 2.1 makes "
                "revocation final, so no later version may be added",
            )
            refused.add(c.index)
    return [c for c in candidates if c.index not in refused]


def _pseudonymous(
    session: Session, actor: Actor, accepted: Sequence[Candidate], vouched: frozenset[str] = frozenset()
) -> bool:
    """Whether the objects are published under the org's pseudonym (some name it as their author).

    Objects naming the org and objects naming its pseudonym cannot go in one request: they would become
    items published together, and anyone could link the pseudonym to the org.
    """
    authors = {c.obj.get("created_by_ref") for c in accepted} - {None}
    if not authors:
        return False
    named = {org_identity_id(actor.org_id)} | vouched
    if authors <= named:
        return False
    if authors & named:
        raise TaxiiError(
            422,
            "Mixed attribution",
            "Some objects name your organisation as their author and some your pseudonym. Post the "
            "pseudonymous objects in a request of their own, so the two cannot be linked.",
        )
    return True


def _detail(obj: Any, message: str) -> dict[str, str]:
    stix_id = obj.get("id") if isinstance(obj, dict) else None
    version = (obj.get("modified") or obj.get("created")) if isinstance(obj, dict) else None
    return {
        "id": stix_id if isinstance(stix_id, str) else "",
        "version": version if isinstance(version, str) else "",
        "message": message,
    }


@dataclass
class _Unit:
    """Accepted objects that become (or revise) one exchange item."""

    tlp: Tlp
    members: list[Candidate]
    report: Candidate | None = None  # the posted report that stands for the item
    earlier: uuid.UUID | None = None  # the item holding earlier versions of these objects, if any


def _earlier_items(stix_id: str, stored: Mapping[str, Sequence[StoredVersion]], org_id: uuid.UUID) -> set[uuid.UUID]:
    return {
        v.item_id
        for v in stored.get(stix_id, [])
        if v.item_id is not None and v.org_id == org_id and v.origin is ObjectOrigin.POSTED
    }


def _units(accepted: Sequence[Candidate], stored: Mapping[str, Sequence[StoredVersion]], actor: Actor) -> list[_Unit]:
    """Each report with the objects of its TLP it refers to (first report first), then the rest per TLP.

    A report revises the item that holds its earlier versions (its own id decides, whatever it refers to).
    Other objects with earlier versions in one item revise that item; the new ones make a new item.
    """
    by_id: dict[str, list[Candidate]] = {}
    for c in accepted:
        by_id.setdefault(c.stix_id, []).append(c)
    claimed: set[int] = set()
    units: list[_Unit] = []
    for report in (c for c in accepted if c.stix_type == "report"):
        assert report.tlp is not None
        claimed.add(report.index)
        members = [report]
        refs = report.obj.get("object_refs")
        for ref in refs if isinstance(refs, list) else []:
            for c in by_id.get(ref, []) if isinstance(ref, str) else []:
                if c.index not in claimed and c.stix_type != "report" and c.tlp is report.tlp:
                    claimed.add(c.index)
                    members.append(c)
        earlier = _earlier_items(report.stix_id, stored, actor.org_id)
        units.append(_Unit(report.tlp, members, report, next(iter(earlier)) if len(earlier) == 1 else None))
    loose: dict[tuple[Tlp, uuid.UUID | None], list[Candidate]] = {}
    for c in accepted:
        if c.index not in claimed:
            assert c.tlp is not None
            earlier = _earlier_items(c.stix_id, stored, actor.org_id)
            loose.setdefault((c.tlp, next(iter(earlier)) if len(earlier) == 1 else None), []).append(c)
    for (tlp, earlier_id), members in sorted(loose.items(), key=lambda kv: (kv[0][0].order, kv[0][1] is None)):
        units.append(_Unit(tlp, members, None, earlier_id))
    return units


def _unit_data(
    actor: Actor,
    collection: TaxiiCollection,
    unit: _Unit,
    uses: Sequence[CoveredUse],
    pseudonymous: bool,
) -> ItemIn:
    """The item's content: what the report states, else a description of the objects."""
    assert collection.audience is not None
    title, summary = _summary(actor, collection, unit.members, pseudonymous=pseudonymous)
    category = Category.VULNERABILITY if any(c.stix_type == "vulnerability" for c in unit.members) else Category.THREAT
    fields: dict[str, Any] = {}
    if unit.report is not None:
        try:
            read = read_report(unit.report.obj, [c.obj for c in unit.members[1:]])
        except ValueError:
            read = None
        if read is not None:
            title = (read.title or title)[:300]
            summary = read.summary[:5000] if read.summary else summary
            category = read.category or category
            fields = {
                "details": read.details,
                "severity": read.severity or Severity.INFORMATIONAL,
                "model_families": read.model_families,
                "modalities": read.modalities,
                "technique_refs": read.technique_refs,
                "tags": read.tags,
                "mitigations": read.mitigations,
                "valid_until": read.valid_until,
                **({"priority": read.priority} if read.priority else {}),
                **({"confidence": read.confidence} if read.confidence else {}),
            }
    base: dict[str, Any] = {
        "category": category,
        "title": title,
        "summary": summary,
        "severity": Severity.INFORMATIONAL,
        "tlp": unit.tlp,
        "permitted_uses": list(uses),
        "audience": [collection.audience],
        "attribution": Attribution.PSEUDONYMOUS if pseudonymous else Attribution.NAMED,
    }
    try:
        return ItemIn(**{**base, **fields})
    except ValidationError:
        return ItemIn(**base)  # a field the report states that the exchange cannot hold: describe it plainly


def _revise_data(item: ExchangeItem, data: ItemIn, unit: _Unit) -> ItemIn:
    """A new version of loose objects keeps what the item says of itself; a report restates it."""
    if unit.report is not None:
        return data
    return data.model_copy(update={"title": item.title, "summary": item.summary, "category": item.category})


def _mark_carried(session: Session, item: ExchangeItem, report_id: str) -> None:
    """The version's STIX objects are the posted ones (see ``ItemSnapshot.carried_by``)."""
    revision = session.execute(
        select(ItemRevision).where(ItemRevision.item_id == item.id, ItemRevision.version == item.version)
    ).scalar_one_or_none()
    if revision is not None:
        revision.snapshot = {**revision.snapshot, "carried_by": report_id}


def _place(
    session: Session,
    actor: Actor,
    unit: _Unit,
    data: ItemIn,
    reason: str | None,
    by_stix: dict[str, uuid.UUID],
) -> ExchangeItem:
    """Publish the unit as a new item, or as the next version of the item holding its earlier versions;
    a revocation withdraws that item."""
    earlier_id = unit.earlier
    if unit.report is not None and unit.report.stix_id in by_stix:
        earlier_id = by_stix[unit.report.stix_id]  # an earlier version of the report in this same request
    earlier = session.get(ExchangeItem, earlier_id) if earlier_id is not None else None
    if earlier is not None and earlier.org_id != actor.org_id:
        earlier = None
    revoked = all(_revoked(c) for c in unit.members) if unit.report is None else _revoked(unit.report)
    if earlier is not None and earlier.status == ItemStatus.PUBLISHED:
        if revoked:
            return authoring.withdraw(session, actor, earlier.id, REVOKED_AT_SOURCE)
        note = f"New version received over TAXII ({len(unit.members)} STIX objects)"
        changed = _revise_data(earlier, data, unit)
        return authoring.revise(session, actor, earlier.id, changed, change_note=note, override_reason=reason)
    if earlier is not None and earlier.status == ItemStatus.PENDING_REVIEW:
        # Still waiting for the hub's moderator: the review covers the latest version (or none, if revoked).
        changed = _revise_data(earlier, data, unit)
        return authoring.update_held(session, actor, earlier.id, None if revoked else changed, reason=REVOKED_AT_SOURCE)
    if earlier is not None and earlier.status == ItemStatus.WITHDRAWN and revoked:
        return earlier  # already withdrawn: the revocation is kept with it
    item = authoring.create_draft(session, actor, data)
    authoring.publish(session, actor, item.id, override_reason=reason, change_note="Added over TAXII")
    if revoked and item.status == ItemStatus.PUBLISHED:
        authoring.withdraw(session, actor, item.id, REVOKED_AT_SOURCE)
    return item


def _publish(
    session: Session,
    actor: Actor,
    collection: TaxiiCollection,
    units: Sequence[_Unit],
    uses: Sequence[CoveredUse],
    reason: str | None,
    findings: Sequence[tuple[str, Finding]],
    pseudonymous: bool,
    failures: dict[int, dict[str, str]],
) -> list[tuple[_Unit, ExchangeItem, int]]:
    """Each unit published (or revised, or withdrawn by its revocation), with the item version its objects
    belong to (under the org's pseudonym when the objects name it as their author)."""
    assert collection.audience is not None
    placed: list[tuple[_Unit, ExchangeItem, int]] = []
    by_stix: dict[str, uuid.UUID] = {}
    for unit in units:
        data = _unit_data(actor, collection, unit, uses, pseudonymous)
        try:
            with session.begin_nested():
                item = _place(session, actor, unit, data, reason, by_stix)
        except AppError as exc:
            # This item cannot take these objects (e.g. a new version under another attribution than the
            # one it is known by): they are refused, and the other units of the request go on.
            for c in unit.members:
                failures[c.index] = _detail(c.obj, f"not published: {exc.detail}")
            continue
        if unit.report is not None:
            by_stix[unit.report.stix_id] = item.id
            _mark_carried(session, item, unit.report.stix_id)
        mine = {c.stix_id for c in unit.members}
        hits = [f for owner, f in findings if owner in mine]
        if hits and reason:
            session.add(
                ScreeningOverride(
                    id=uuid.uuid4(),
                    item_id=item.id,
                    version=max(item.version, 1),
                    user_id=actor.user_id,
                    org_id=actor.org_id,
                    reason=reason,
                    findings=[
                        {**authoring.findings_as_dicts([f])[0], "object_id": owner}
                        for owner, f in findings
                        if owner in mine
                    ][:500],
                    created_at=utcnow(),
                )
            )
            record(
                session,
                action="exchange.item.screening_overridden",
                target_type="exchange_item",
                target_id=item.id,
                actor=actor,
                summary={"version": max(item.version, 1), "reason": reason, "channel": "taxii", "findings": len(hits)},
            )
        placed.append((unit, item, max(item.version, 1)))
    return placed


def _store(
    session: Session,
    actor: Actor,
    collection: TaxiiCollection,
    fixed: Sequence[Candidate],
    placed: Sequence[tuple[_Unit, ExchangeItem, int]],
    stored: dict[str, list[StoredVersion]],
) -> dict[int, datetime]:
    """Insert the accepted objects into the collection and into the org's 'shared by' collection.

    Returns the version assigned to each timeless object (its date_added in the posted collection).
    """
    reference = [
        NewRow(
            c.stix_id,
            c.stix_type,
            c.spec_version,
            c.version,
            ObjectOrigin.REFERENCE,
            None,
            None,
            None,
            c.body,
            c.digest,
        )
        for c in fixed
    ]
    posted = []
    accepted = [c for unit, _, _ in placed for c in unit.members]
    for unit, item, version in placed:
        for c in unit.members:
            posted.append(
                NewRow(
                    c.stix_id,
                    c.stix_type,
                    c.spec_version,
                    c.version,
                    ObjectOrigin.POSTED,
                    item.id,
                    version,
                    actor.org_id,
                    c.body,
                    c.digest,
                )
            )
    timeless: dict[tuple[str, str], datetime] = {}
    shared = shared_by_id(actor.org_id)
    # The index run just before may have added the same reference objects: they are looked up afresh (a
    # handful of ids); posted ids are new to it, so the lookup made at admission still holds for them.
    added = insert_rows(session, collection.id, reference)
    added += insert_rows(session, shared, reference)
    added += insert_rows(
        session, collection.id, posted, present=in_collection(stored, collection.id), timeless=timeless
    )
    added += insert_rows(session, shared, posted, present=in_collection(stored, shared))
    if added >= ANALYZE_AFTER_ROWS and session.get_bind().dialect.name == "postgresql":
        # Right after a bulk load the planner still believes the table is small and scans it for every
        # id lookup of the next add (seconds per chunk); fresh statistics let it use the stix_id index.
        session.execute(text("ANALYZE exchange_taxii_object"))
    assigned = {
        c.index: timeless[(c.stix_id, c.digest)]
        for c in accepted
        if c.version is None and (c.stix_id, c.digest) in timeless
    }
    return assigned


def _status(
    session: Session,
    actor: Actor,
    collection: TaxiiCollection,
    objects: Sequence[Any],
    candidates: Sequence[Candidate],
    failures: Mapping[int, dict[str, str]],
    assigned: Mapping[int, datetime],
    items: Sequence[ExchangeItem],
) -> TaxiiStatus:
    successes = []
    for c in candidates:
        if c.index in failures:
            continue
        version = c.version_text or (format_version(assigned[c.index]) if c.index in assigned else "")
        entry = {"id": c.stix_id, "version": version}
        if c.outcome:
            entry["message"] = c.outcome
        successes.append(entry)
    failed = [failures[i] for i in sorted(failures)]
    now = utcnow()
    session.execute(
        delete(TaxiiStatus).where(TaxiiStatus.org_id == actor.org_id, TaxiiStatus.created_at < now - STATUS_KEEP)
    )
    status = TaxiiStatus(
        id=uuid.uuid4(),
        collection_id=collection.id,
        org_id=actor.org_id,
        user_id=actor.user_id,
        created_at=now,
        total_count=len(objects),
        success_count=len(successes),
        failure_count=len(failed),
        pending_count=0,
        successes=successes,
        failures=failed,
        item_ids=[str(item.id) for item in items],
    )
    session.add(status)
    # One entry per object as well as the summary: who added (or tried to add) which id and version,
    # found by the object's id in the audit log; written in one batch.
    status_id = str(status.id)

    def object_entry(target_id: object | None, summary: dict[str, Any]) -> Entry:
        return Entry("exchange.taxii.object_added", "stix_object", target_id, summary, actor=actor)

    base = {"status_id": status_id, "collection": str(collection.id)}
    record_many(
        session,
        [
            object_entry(e["id"], {"version": e["version"], **base, "outcome": e.get("message", "added")})
            for e in successes
        ]
        + [
            object_entry(e["id"] or None, {"version": e["version"], **base, "refused": e["message"][:300]})
            for e in failed
        ],
    )
    record(
        session,
        action="exchange.taxii.objects_added",
        target_type="exchange_taxii_collection",
        target_id=collection.id,
        actor=actor,
        summary={
            "status_id": str(status.id),
            "total": len(objects),
            "succeeded": len(successes),
            "failed": len(failed),
            "items": status.item_ids,
        },
    )
    return status


def status_resource(status: TaxiiStatus) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "id": str(status.id),
        "status": "complete",
        "request_timestamp": format_date_added(status.created_at),
        "total_count": status.total_count,
        "success_count": status.success_count,
        "failure_count": status.failure_count,
        "pending_count": status.pending_count,
    }
    if status.successes:
        resource["successes"] = status.successes
    if status.failures:
        resource["failures"] = status.failures
    return resource

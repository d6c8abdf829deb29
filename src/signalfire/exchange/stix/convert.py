"""STIX 2.1 export and import for exchange items.

Export (:func:`item_to_bundle`, :func:`taxii_objects`)
-------------------------------------------------------
Each item version becomes these objects, built with the ``stix2`` library:

* a ``report`` whose id is ``report--<item id>``, so every version of an item is a STIX version of
  one object (same id, new ``modified``; withdrawal sets ``revoked``). ``name`` is the title,
  ``description`` the summary, ``published`` the item's first publication, ``confidence`` the
  contributor's confidence on the STIX "None/Low/Med/High" scale (15/50/85). It carries the
  Signalfire property extension (:data:`SIGNALFIRE_EXTENSION_ID`): category, permitted covered
  uses, severity, priority, affected model families and modalities, technique references,
  ``valid_until``, the item's revision number and the full details text.
* for the *vulnerability* category, a ``vulnerability`` object (name = title, description = the
  details, or the summary when there are none) with the CVE/CWE references. The other two categories
  have no STIX object of their own, so the report with its extension stands for them.
* one ``course-of-action`` per mitigation, joined by ``mitigates`` to the vulnerability, or, when
  there is none, to each ATLAS technique;
* one ``attack-pattern`` per MITRE ATLAS technique, a public stub that only points at ATLAS
  (``external_references`` with ``source_name`` ``"mitre-atlas"``); it belongs to no item, so its
  id, author and timestamps are the same in every bundle and on every hub. For vulnerabilities it
  ``targets`` the vulnerability.
* the contributor's ``identity``: the member org (``identity_class`` ``organization``), or for a
  pseudonymous item the hub-issued pseudonym (``identity_class`` ``unknown``). Every object an item
  produces is ``created_by_ref`` that identity, and nothing in the bundle names the organisation
  behind a pseudonym. Contributor identities are ``created_by_ref`` the hub's identity.
* the TLP 2.0 marking definitions exactly as OASIS publishes them (fixed ids, ``created``
  2022-10-01, the TLP 2.0 property extension), and that extension's definition, plus the Signalfire
  extension definition and the identities of the hub and of the Signalfire project (author of the
  extension definition and of the ATLAS stubs).

Every item-owned object carries the item's TLP marking; shared reference objects carry TLP:CLEAR.

Ids of derived objects are deterministic, so one item version always serialises to the same
bytes: they are a name-based hash of the item id and the object's role (``vulnerability``,
``course-of-action`` number *n*, a relationship's ends), not of the version. Keeping them stable
across versions makes a new item version a new STIX version of the same objects, so revoking an
item revokes its courses of action too. The hash is formatted as a UUIDv4 (version and variant
bits set) because STIX asks for v4 ids on everything but cyber-observables, and the strict
validator checks it.

Import (:func:`bundle_to_items`)
--------------------------------
Reads a bundle from an untrusted source into drafts. Whole-bundle faults raise
:class:`BundleRejected` with a :class:`RejectCode`: more than ``max_bytes``, deeper than
``max_depth`` or more than ``max_objects`` objects; not JSON or not a bundle; any STIX version but
2.1; the same id twice; and any marking definition that looks like TLP but is not one the exchange
knows (or that contradicts the level its id stands for). Known TLP markings are the five OASIS
TLP 2.0 ids, the four TLP 1.0 ids (WHITE is read as CLEAR) and OpenCTI's own AMBER+STRICT id.
Faults confined to one report (no TLP marking, a marking that cannot be resolved, invalid content)
become an :class:`ObjectError` and that report is skipped. An item's TLP is the strictest TLP on
the report and on every object its content is read from, so a stricter marking deeper in the
bundle is never lost.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar, cast
from uuid import UUID

import stix2
import stix2.exceptions
from pydantic import ValidationError

from signalfire.exchange.snapshot import Contributor, HubIdentity, ItemSnapshot
from signalfire.exchange.tags import TAGS_MAX, validate_tag
from signalfire.exchange.vocab import (
    Category,
    Confidence,
    CoveredUse,
    Modality,
    Priority,
    RefScheme,
    Severity,
    Tlp,
    normalise_reference,
    reference_scheme,
)

v21 = stix2.v21

# --- Fixed identifiers -----------------------------------------------------------------------------

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED = "2022-10-01T00:00:00.000Z"
OASIS_TLP_AUTHOR_ID = "identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01"

TLP2_MARKING_IDS: dict[Tlp, str] = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# STIX 2.1 §7.2.1.4 predefines these TLP 1.0 markings; bundles may cite them without carrying them.
TLP1_MARKING_IDS: dict[str, Tlp] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,  # TLP:WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}
OPENCTI_AMBER_STRICT_ID = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"
IMPORTABLE_TLP_IDS: dict[str, Tlp] = {
    **{marking_id: level for level, marking_id in TLP2_MARKING_IDS.items()},
    **TLP1_MARKING_IDS,
    OPENCTI_AMBER_STRICT_ID: Tlp.AMBER_STRICT,
}

SIGNALFIRE_EXTENSION_ID = "extension-definition--13933366-f71d-4a0d-b9ce-bff528b08295"
SIGNALFIRE_EXTENSION_VERSION = "1.0.0"
SIGNALFIRE_PROJECT_IDENTITY_ID = "identity--5cbab2c9-9688-4fa3-b4e3-cb15786de87f"
# Timestamp of the project's own objects (extension definition, project identity, ATLAS stubs).
SIGNALFIRE_PROJECT_EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
_ID_NAMESPACE = UUID("81aa240d-5761-42a7-a039-36f378a781ce")

STIX_SPEC_VERSION = "2.1"

# Import limits; callers (upload form, TAXII POST) may pass tighter ones.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_OBJECTS = 10_000
DEFAULT_MAX_DEPTH = 16

_CONFIDENCE_TO_STIX: dict[Confidence, int] = {
    Confidence.LOW: 15,
    Confidence.MODERATE: 50,
    Confidence.HIGH: 85,
}
_REPORT_TYPES: dict[Category, list[str]] = {
    Category.VULNERABILITY: ["vulnerability"],
    Category.THREAT: ["threat-report"],
    Category.CAPABILITY_OF_CONCERN: [],
}
_REF_SOURCE_NAMES: dict[RefScheme, str] = {
    RefScheme.ATLAS: "mitre-atlas",
    RefScheme.OWASP_LLM: "owasp-llm-top-10",
    RefScheme.CVE: "cve",
    RefScheme.CWE: "cwe",
}


def derived_id(stix_type: str, *parts: str) -> str:
    """A deterministic STIX id for ``stix_type`` from ``parts`` (UUIDv5 hash, stamped as version 4)."""
    digest = uuid.uuid5(_ID_NAMESPACE, "\x1f".join((stix_type, *parts)))
    return f"{stix_type}--{UUID(bytes=digest.bytes, version=4)}"


def _external_reference(ref: str) -> dict[str, str]:
    # No URL: STIX asks for a hash beside every URL, and the id alone names the entry unambiguously.
    scheme = reference_scheme(ref)
    if scheme is None:  # snapshots validate their references, so this means a caller bypassed them
        raise ValueError(f"not a valid reference: {ref!r}")
    return {"source_name": _REF_SOURCE_NAMES[scheme], "external_id": ref}


# --- Shared reference objects ----------------------------------------------------------------------


def tlp_marking_definition(tlp: Tlp) -> Any:
    """The OASIS TLP 2.0 marking definition for ``tlp``, byte for byte as OASIS publishes it."""
    return v21.MarkingDefinition(
        id=TLP2_MARKING_IDS[tlp],
        created=TLP2_CREATED,
        name=tlp.label,
        extensions={
            TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": tlp.value.lower()},
        },
    )


def tlp_extension_definition() -> Any:
    """The OASIS extension definition that TLP 2.0 markings declare themselves through."""
    return v21.ExtensionDefinition(
        id=TLP2_EXTENSION_ID,
        created_by_ref=OASIS_TLP_AUTHOR_ID,
        created=TLP2_CREATED,
        modified=TLP2_CREATED,
        name="TLP 2.0",
        description="This defines TLP 2.0 as a STIX extension",
        schema="https://github.com/oasis-open/cti-stix-common-objects/tree/master/extension-definition-specifications/tlp-2.0",
        version="1.0.0",
        extension_types=["property-extension"],
    )


def signalfire_project_identity() -> Any:
    return v21.Identity(
        id=SIGNALFIRE_PROJECT_IDENTITY_ID,
        created_by_ref=SIGNALFIRE_PROJECT_IDENTITY_ID,
        created=SIGNALFIRE_PROJECT_EPOCH,
        modified=SIGNALFIRE_PROJECT_EPOCH,
        name="Signalfire",
        description="The open-source Signalfire project, author of the Signalfire STIX extension.",
        identity_class="group",
        object_marking_refs=[TLP2_MARKING_IDS[Tlp.CLEAR]],
    )


def signalfire_extension_definition() -> Any:
    """The Signalfire property extension that carries what STIX has no property for."""
    return v21.ExtensionDefinition(
        id=SIGNALFIRE_EXTENSION_ID,
        created_by_ref=SIGNALFIRE_PROJECT_IDENTITY_ID,
        created=SIGNALFIRE_PROJECT_EPOCH,
        modified=SIGNALFIRE_PROJECT_EPOCH,
        name="Signalfire frontier-AI exchange item",
        description=(
            "Properties of an item shared in a frontier-AI information-sharing exchange: its category, "
            "the covered uses a reader may apply it to, severity, priority, affected model families and "
            "modalities, technique references, validity, revision number and details."
        ),
        # Published text: this object keeps its id and `modified`, so its content may not change. The
        # schema file now ships in signalfire/exchange/stix/extension/; say so in the next version.
        schema=(
            "JSON Schema (draft 2020-12) signalfire-ai-item.json, shipped with Signalfire in "
            "signalfire/exchange/stix_extension/"
        ),
        version=SIGNALFIRE_EXTENSION_VERSION,
        extension_types=["property-extension"],
        object_marking_refs=[TLP2_MARKING_IDS[Tlp.CLEAR]],
    )


def _hub_identity(hub: HubIdentity) -> Any:
    return v21.Identity(
        id=hub.stix_identity_id,
        created_by_ref=hub.stix_identity_id,
        created=hub.created,
        modified=hub.created,
        name=hub.name,
        identity_class="organization",
        object_marking_refs=[TLP2_MARKING_IDS[Tlp.CLEAR]],
    )


def _contributor_identity(contributor: Contributor, hub: HubIdentity) -> Any:
    if contributor.kind == "pseudonym":
        extra = {
            "identity_class": "unknown",
            "description": "A stable pseudonym the hub issued to a contributor.",
        }
    else:
        extra = {"identity_class": "organization"}
    return v21.Identity(
        id=contributor.stix_identity_id,
        created_by_ref=hub.stix_identity_id,
        created=contributor.created,
        modified=contributor.created,
        name=contributor.name,
        object_marking_refs=[TLP2_MARKING_IDS[Tlp.CLEAR]],
        **extra,
    )


def _atlas_stub(ref: str) -> Any:
    return v21.AttackPattern(
        id=derived_id("attack-pattern", "mitre-atlas", ref),
        created_by_ref=SIGNALFIRE_PROJECT_IDENTITY_ID,
        created=SIGNALFIRE_PROJECT_EPOCH,
        modified=SIGNALFIRE_PROJECT_EPOCH,
        name=ref,
        description=f"MITRE ATLAS technique {ref}; see the external reference for its definition.",
        external_references=[_external_reference(ref)],
        object_marking_refs=[TLP2_MARKING_IDS[Tlp.CLEAR]],
    )


# --- Export ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaxiiObject:
    """One STIX object as a TAXII collection stores it.

    ``version`` is the object's ``modified`` (its ``created`` when it has none, as marking
    definitions do), as serialised. ``item_id`` is the exchange item the object belongs to, or None
    for shared reference objects (identities, markings, extension definitions, ATLAS stubs), whose
    ``tlp`` is CLEAR.
    """

    id: str
    type: str
    spec_version: str
    version: str
    tlp: Tlp
    item_id: UUID | None
    body: dict[str, Any]


@dataclass(slots=True)
class _Collected:
    objects: list[tuple[Any, Tlp, UUID | None]] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)

    def add(self, obj: Any, tlp: Tlp, item_id: UUID | None) -> None:
        serialised = obj.serialize()
        earlier = self.seen.get(obj.id)
        if earlier is None:
            self.seen[obj.id] = serialised
            self.objects.append((obj, tlp, item_id))
        elif earlier != serialised:
            raise ValueError(f"two different objects share the id {obj.id}; check the contributor identities")


def _item_objects(item: ItemSnapshot, out: _Collected) -> None:
    tlp = item.tlp
    marking = [TLP2_MARKING_IDS[tlp]]
    author = item.contributor.stix_identity_id
    key = str(item.id)
    owned: dict[str, Any] = {
        "created_by_ref": author,
        "created": item.created,
        "modified": item.modified,
        "object_marking_refs": marking,
    }
    if item.revoked:
        owned["revoked"] = True

    refs: list[str] = []
    atlas = [ref for ref in item.technique_refs if reference_scheme(ref) is RefScheme.ATLAS]
    weaknesses = [ref for ref in item.technique_refs if reference_scheme(ref) in (RefScheme.CVE, RefScheme.CWE)]
    stubs = [_atlas_stub(ref) for ref in atlas]
    for stub in stubs:
        out.add(stub, Tlp.CLEAR, None)
        refs.append(stub.id)

    vulnerability = None
    if item.category is Category.VULNERABILITY:
        vulnerability = v21.Vulnerability(
            id=derived_id("vulnerability", key),
            name=item.title,
            description=item.details or item.summary or None,
            external_references=[_external_reference(ref) for ref in weaknesses] or None,
            **owned,
        )
        out.add(vulnerability, tlp, item.id)
        refs.append(vulnerability.id)

    relationships = []
    if vulnerability is not None:
        for stub in stubs:
            relationships.append(_relationship(key, "targets", stub.id, vulnerability.id, owned))
    for number, text in enumerate(item.mitigations):
        action = v21.CourseOfAction(
            id=derived_id("course-of-action", key, str(number)),
            name=_short_name(text),
            description=text,
            **owned,
        )
        out.add(action, tlp, item.id)
        refs.append(action.id)
        targets = [vulnerability.id] if vulnerability is not None else [stub.id for stub in stubs]
        for target in targets:
            relationships.append(_relationship(key, "mitigates", action.id, target, owned))
    for relationship in relationships:
        out.add(relationship, tlp, item.id)
        refs.append(relationship.id)

    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "item_version": item.version,
        "category": item.category.value,
        "permitted_uses": [use.value for use in item.permitted_uses],
        "severity": item.severity.value,
        "priority": item.priority.value,
    }
    # STIX forbids empty lists, so empty properties are left out; the importer reads them as empty.
    optional = {
        "model_families": list(item.model_families),
        "modalities": list(item.modalities),
        "technique_refs": list(item.technique_refs),
        "details": item.details,
    }
    extension.update({name: value for name, value in optional.items() if value})
    if item.valid_until is not None:
        extension["valid_until"] = _format_timestamp(item.valid_until)

    report = v21.Report(
        id=f"report--{item.id}",
        name=item.title,
        description=item.summary or None,
        published=item.created,
        report_types=_REPORT_TYPES[item.category] or None,
        # A report must point at something; an item with no derived objects points at its author.
        object_refs=refs or [author],
        confidence=_CONFIDENCE_TO_STIX[item.confidence],
        external_references=[_external_reference(ref) for ref in item.technique_refs] or None,
        labels=list(item.tags) or None,
        extensions={SIGNALFIRE_EXTENSION_ID: extension},
        **owned,
    )
    out.add(report, tlp, item.id)


def _relationship(key: str, kind: str, source: str, target: str, owned: Mapping[str, Any]) -> Any:
    return v21.Relationship(
        id=derived_id("relationship", key, kind, source, target),
        relationship_type=kind,
        source_ref=source,
        target_ref=target,
        **owned,
    )


def _short_name(text: str, limit: int = 120) -> str:
    first_line = text.strip().splitlines()[0]
    return first_line if len(first_line) <= limit else first_line[: limit - 1].rstrip() + "…"


def _format_timestamp(value: datetime) -> str:
    """STIX timestamp text: UTC, ``Z``, milliseconds at least, microseconds when present."""
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{value.microsecond:06d}"
    return f"{text}.{fraction if value.microsecond % 1000 else fraction[:3]}Z"


def _collect(items: Sequence[ItemSnapshot]) -> _Collected:
    if not items:
        raise ValueError("no items to export")
    hubs = {item.hub for item in items}
    if len(hubs) != 1:
        raise ValueError("all items in one export must come from the same hub")
    item_ids = [item.id for item in items]
    if len(set(item_ids)) != len(item_ids):
        raise ValueError("one export carries one version per item; TAXII serves the other versions")
    hub = items[0].hub
    out = _Collected()
    out.add(_hub_identity(hub), Tlp.CLEAR, None)
    out.add(signalfire_project_identity(), Tlp.CLEAR, None)
    for item in items:
        out.add(_contributor_identity(item.contributor, hub), Tlp.CLEAR, None)
    out.add(tlp_extension_definition(), Tlp.CLEAR, None)
    out.add(signalfire_extension_definition(), Tlp.CLEAR, None)
    used = {Tlp.CLEAR} | {item.tlp for item in items}
    for level in sorted(used, key=lambda level: level.order):
        out.add(tlp_marking_definition(level), Tlp.CLEAR, None)
    for item in items:
        _item_objects(item, out)
    return out


def taxii_objects(items: Sequence[ItemSnapshot]) -> list[TaxiiObject]:
    """The objects :func:`item_to_bundle` would emit, one by one with what a TAXII server indexes."""
    collected = _collect(items)
    result = []
    for obj, tlp, item_id in collected.objects:
        body = json.loads(collected.seen[obj.id])
        result.append(
            TaxiiObject(
                id=body["id"],
                type=body["type"],
                spec_version=body["spec_version"],
                version=body.get("modified", body["created"]),
                tlp=tlp,
                item_id=item_id,
                body=body,
            )
        )
    return result


def item_to_bundle(items: Sequence[ItemSnapshot]) -> dict[str, Any]:
    """A STIX 2.1 bundle for these item versions, as a JSON-ready dict; same input, same output.

    Raises ``ValueError`` for an empty list, items of different hubs, two versions of one item,
    or two contributors claiming one identity id with different details.
    """
    collected = _collect(items)
    bundle_key = ",".join(f"{item.id}:{item.version}" for item in items)
    bundle = v21.Bundle(
        id=derived_id("bundle", bundle_key),
        objects=[obj for obj, _tlp, _item in collected.objects],
    )
    return cast(dict[str, Any], json.loads(bundle.serialize()))


# --- Import ----------------------------------------------------------------------------------------


class RejectCode(StrEnum):
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    TOO_MANY_OBJECTS = "too_many_objects"
    NOT_JSON = "not_json"
    NOT_A_BUNDLE = "not_a_bundle"
    MALFORMED_OBJECT = "malformed_object"
    SPEC_VERSION = "spec_version"
    DUPLICATE_ID = "duplicate_id"
    UNKNOWN_TLP_MARKING = "unknown_tlp_marking"


class BundleRejected(ValueError):
    """The whole bundle was refused; ``code`` says why in a fixed word, ``reason`` in a sentence."""

    def __init__(self, code: RejectCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ObjectError:
    """One object the import skipped, and why."""

    object_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImportedItem:
    """A draft read from a bundle, for a person to review before it becomes an exchange item.

    Fields mirror :class:`ItemSnapshot`. Those a foreign bundle may not state are optional:
    ``category`` (known only from the Signalfire extension or a vulnerability), ``severity``,
    ``priority``, ``confidence``, ``version``, and ``permitted_uses`` (empty unless the extension
    lists them). ``contributor`` is the identity the bundle attributes the item to, if it carries
    one. ``has_signalfire_extension`` tells a full-fidelity Signalfire export from a foreign report.
    """

    stix_id: str
    item_id: UUID
    version: int | None
    created: datetime
    modified: datetime
    revoked: bool
    category: Category | None
    title: str
    summary: str
    details: str
    severity: Severity | None
    priority: Priority | None
    confidence: Confidence | None
    model_families: list[str]
    modalities: list[str]
    technique_refs: list[str]
    mitigations: list[str]
    valid_until: datetime | None
    tlp: Tlp
    permitted_uses: list[CoveredUse]
    contributor: Contributor | None
    has_signalfire_extension: bool
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Drafts read, objects skipped with a reason, and ids of objects of types the exchange ignores."""

    items: list[ImportedItem]
    errors: list[ObjectError]
    ignored: list[str]


class _Skip(Exception):
    """An object-level fault: the current object is skipped and reported, the import goes on."""


_READ_TYPES = frozenset(
    {
        "report",
        "vulnerability",
        "course-of-action",
        "attack-pattern",
        "identity",
        "relationship",
        "marking-definition",
        "extension-definition",
    }
)
# STIX 2.1 cyber-observable types, the only objects allowed to omit spec_version.
SCO_TYPES = frozenset(
    {
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    }
)
_ID_RE = re.compile(r"([a-z0-9][a-z0-9-]*[a-z0-9])--([0-9a-fA-F-]{36})")
_TLP_NAME_RE = re.compile(r"^\s*TLP\s*[:\s]\s*(\S+)", re.IGNORECASE)


def _json_depth_exceeds(value: Any, max_depth: int) -> bool:
    """True if ``value`` nests dicts/lists deeper than ``max_depth``; iterative, so it cannot overflow."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _load(bundle: Mapping[str, Any] | bytes | str, max_bytes: int, max_depth: int) -> dict[str, Any]:
    if isinstance(bundle, bytes | str):
        raw = bundle.encode() if isinstance(bundle, str) else bundle
        if len(raw) > max_bytes:
            raise BundleRejected(RejectCode.TOO_LARGE, f"The bundle is {len(raw)} bytes; the limit is {max_bytes}.")
        try:
            data = json.loads(raw)
        except RecursionError:
            raise BundleRejected(RejectCode.TOO_DEEP, f"The bundle nests deeper than {max_depth} levels.") from None
        except ValueError as exc:
            raise BundleRejected(RejectCode.NOT_JSON, f"The bundle is not valid JSON: {exc}.") from None
    else:
        data = bundle
    if not isinstance(data, Mapping):
        raise BundleRejected(RejectCode.NOT_A_BUNDLE, "The document is not a JSON object, so not a STIX bundle.")
    if _json_depth_exceeds(data, max_depth):
        raise BundleRejected(RejectCode.TOO_DEEP, f"The bundle nests deeper than {max_depth} levels.")
    if not isinstance(bundle, bytes | str):
        size = len(json.dumps(data, ensure_ascii=False).encode())
        if size > max_bytes:
            raise BundleRejected(RejectCode.TOO_LARGE, f"The bundle is {size} bytes; the limit is {max_bytes}.")
    return dict(data)


def _check_bundle(data: Mapping[str, Any], max_objects: int) -> list[dict[str, Any]]:
    bundle_id = data.get("id")
    if data.get("type") != "bundle" or not isinstance(bundle_id, str) or not bundle_id.startswith("bundle--"):
        raise BundleRejected(
            RejectCode.NOT_A_BUNDLE, "The document is not a STIX bundle (type 'bundle' with a bundle id)."
        )
    if "spec_version" in data and data["spec_version"] != STIX_SPEC_VERSION:
        raise BundleRejected(
            RejectCode.SPEC_VERSION,
            f"The bundle declares STIX {data['spec_version']!r}; the exchange reads STIX 2.1 only.",
        )
    objects = data.get("objects", [])
    if not isinstance(objects, list):
        raise BundleRejected(RejectCode.NOT_A_BUNDLE, "The bundle's 'objects' is not a list.")
    if len(objects) > max_objects:
        raise BundleRejected(
            RejectCode.TOO_MANY_OBJECTS,
            f"The bundle holds {len(objects)} objects; the limit is {max_objects}.",
        )
    seen: set[str] = set()
    for position, obj in enumerate(objects):
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str) or not isinstance(obj.get("id"), str):
            raise BundleRejected(RejectCode.MALFORMED_OBJECT, f"Object {position} has no string 'type' and 'id'.")
        match = _ID_RE.fullmatch(obj["id"])
        if match is None or match.group(1) != obj["type"]:
            raise BundleRejected(
                RejectCode.MALFORMED_OBJECT,
                f"Object {position} has an id that is not '{obj['type']}--<uuid>'.",
            )
        version = obj.get("spec_version")
        if version != STIX_SPEC_VERSION and not (version is None and obj["type"] in SCO_TYPES):
            raise BundleRejected(
                RejectCode.SPEC_VERSION,
                f"{obj['id']} is STIX {version!r}, not 2.1; the exchange reads STIX 2.1 only.",
            )
        if obj["id"] in seen:
            raise BundleRejected(RejectCode.DUPLICATE_ID, f"The id {obj['id']} appears more than once in the bundle.")
        seen.add(obj["id"])
    return objects


def _claimed_tlp(marking: Mapping[str, Any]) -> str | None:
    """What TLP level a marking definition says it is, or None if it does not look like TLP at all."""
    definition = marking.get("definition")
    if str(marking.get("definition_type", "")).lower() == "tlp":
        return str(definition.get("tlp", "")) if isinstance(definition, dict) else ""
    extensions = marking.get("extensions")
    if isinstance(extensions, dict) and TLP2_EXTENSION_ID in extensions:
        extension = extensions[TLP2_EXTENSION_ID]
        return str(extension.get("tlp_2_0", "")) if isinstance(extension, dict) else ""
    if str(marking.get("x_opencti_definition_type", "")).upper() == "TLP":
        return str(marking.get("x_opencti_definition", ""))
    name = marking.get("name")
    if isinstance(name, str):
        match = _TLP_NAME_RE.match(name)
        if match is not None:
            return match.group(1)
    if isinstance(definition, dict) and "tlp" in definition:
        return str(definition["tlp"])
    return None


def _marking_levels(objects: Iterable[Mapping[str, Any]]) -> dict[str, Tlp | None]:
    """TLP level per marking id the bundle can resolve (None: a non-TLP marking, e.g. a statement)."""
    levels: dict[str, Tlp | None] = dict(IMPORTABLE_TLP_IDS)
    for obj in objects:
        if obj["type"] != "marking-definition":
            continue
        claim = _claimed_tlp(obj)
        known = IMPORTABLE_TLP_IDS.get(obj["id"])
        if claim is None:
            if known is None:
                levels[obj["id"]] = None
            continue
        try:
            claimed = Tlp.parse(claim)
        except ValueError:
            claimed = None
        if known is None:
            raise BundleRejected(
                RejectCode.UNKNOWN_TLP_MARKING,
                f"{obj['id']} looks like a TLP marking ({claim!r}) but is not one the exchange knows; "
                "use the OASIS TLP 2.0 marking definitions.",
            )
        if claimed is not known:
            raise BundleRejected(
                RejectCode.UNKNOWN_TLP_MARKING,
                f"{obj['id']} is {known.label} but the object says {claim!r}.",
            )
    return levels


def _marking_refs(obj: Mapping[str, Any]) -> list[str]:
    refs = [ref for ref in obj.get("object_marking_refs", []) if isinstance(ref, str)]
    for granular in obj.get("granular_markings", []):
        if isinstance(granular, dict) and isinstance(granular.get("marking_ref"), str):
            refs.append(granular["marking_ref"])
    return refs


def _parse_time(text: Any, what: str) -> datetime:
    if not isinstance(text, str):
        raise _Skip(f"{what} is missing or not a timestamp")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _Skip(f"{what} is not a valid timestamp: {text!r}") from None
    if value.tzinfo is None:
        raise _Skip(f"{what} has no time zone: {text!r}")
    return value.astimezone(UTC)


_E = TypeVar("_E", bound=StrEnum)


def _enum(kind: type[_E], value: Any, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise _Skip(f"{what} {value!r} is not one of {', '.join(member.value for member in kind)}") from None


def _str_list(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        raise _Skip(f"{what} must be a list of strings")
    return list(value)


def _confidence_from_stix(value: Any) -> Confidence | None:
    # STIX 2.1 Appendix A, "None / Low / Med / High": 0 none, 1-29 low, 30-69 med, 70-100 high.
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return None
    if value < 30:
        return Confidence.LOW
    if value < 70:
        return Confidence.MODERATE
    return Confidence.HIGH


def _references_from(obj: Mapping[str, Any]) -> list[str]:
    found = []
    for entry in obj.get("external_references", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("external_id"), str):
            continue
        ref = normalise_reference(entry["external_id"])
        if reference_scheme(ref) is not None:
            found.append(ref)
    return found


def _tags_from(obj: Mapping[str, Any]) -> list[str]:
    """The object's STIX labels that are valid free tags (others are left out: labels are open text)."""
    found = []
    for label in obj.get("labels", []):
        if not isinstance(label, str):
            continue
        try:
            found.append(validate_tag(label))
        except ValueError:
            continue
    return _dedupe(found)[:TAGS_MAX]


def _dedupe(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


@dataclass(frozen=True, slots=True)
class _ExtensionFields:
    """What the Signalfire extension states; defaults are what a foreign report leaves unsaid."""

    category: Category | None
    details: str
    technique_refs: list[str]
    version: int | None = None
    permitted_uses: list[CoveredUse] = field(default_factory=list)
    severity: Severity | None = None
    priority: Priority | None = None
    model_families: list[str] = field(default_factory=list)
    modalities: list[str] = field(default_factory=list)
    valid_until: datetime | None = None


def _extension_fields(extension: Mapping[str, Any]) -> _ExtensionFields:
    details = extension.get("details", "")
    if not isinstance(details, str):
        raise _Skip("details must be a string")
    version = extension.get("item_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _Skip("item_version must be a positive integer")
    references = []
    for ref in _str_list(extension.get("technique_refs"), "technique_refs"):
        normalised = normalise_reference(ref)
        if reference_scheme(normalised) is None:
            raise _Skip(f"technique reference {ref!r} is not an ATLAS, OWASP LLM, CVE or CWE id")
        references.append(normalised)
    families = [family.strip() for family in _str_list(extension.get("model_families"), "model_families")]
    if not all(families):
        raise _Skip("model_families must not contain blank entries")
    uses = _str_list(extension.get("permitted_uses"), "permitted_uses")
    modalities = _str_list(extension.get("modalities"), "modalities")
    return _ExtensionFields(
        category=_enum(Category, extension.get("category"), "category"),
        details=details,
        technique_refs=_dedupe(references),
        version=version,
        permitted_uses=_dedupe_enum([_enum(CoveredUse, use, "covered use") for use in uses]),
        severity=_enum(Severity, extension.get("severity"), "severity"),
        priority=_enum(Priority, extension.get("priority"), "priority"),
        model_families=_dedupe(families),
        modalities=_dedupe(_enum(Modality, modality, "modality").value for modality in modalities),
        valid_until=_parse_time(extension["valid_until"], "valid_until") if "valid_until" in extension else None,
    )


def _dedupe_enum(values: list[CoveredUse]) -> list[CoveredUse]:
    return list(dict.fromkeys(values))


@dataclass(slots=True)
class _Reader:
    index: dict[str, dict[str, Any]]
    levels: dict[str, Tlp | None]

    def validated(self, obj: dict[str, Any]) -> None:
        """Let ``stix2`` check an object's standard properties (custom ones are tolerated, then ignored)."""
        try:
            stix2.parse(obj, allow_custom=True, version=STIX_SPEC_VERSION)
        except (stix2.exceptions.STIXError, ValueError, TypeError) as exc:
            raise _Skip(f"not a valid STIX 2.1 {obj['type']}: {exc}") from None

    def tlp(self, objs: Iterable[Mapping[str, Any]]) -> Tlp:
        found = []
        for obj in objs:
            for ref in _marking_refs(obj):
                if ref not in self.levels:
                    raise _Skip(f"marking {ref} is neither in the bundle nor a TLP marking the exchange knows")
                level = self.levels[ref]
                if level is not None:
                    found.append(level)
        if not found:
            raise _Skip("it has no TLP marking; the exchange never guesses one")
        return Tlp.strictest(found)

    def contributor(self, obj: Mapping[str, Any]) -> Contributor | None:
        identity = self.index.get(str(obj.get("created_by_ref")))
        if identity is None or identity["type"] != "identity":
            return None
        try:
            return Contributor(
                kind="pseudonym" if identity.get("identity_class") == "unknown" else "org",
                stix_identity_id=identity["id"],
                name=identity.get("name", ""),
                created=_parse_time(identity.get("created"), "identity created"),
            )
        except (ValidationError, _Skip):
            return None

    def referenced(self, obj: Mapping[str, Any], stix_type: str) -> list[dict[str, Any]]:
        """Objects of ``stix_type`` a report refers to, in its order; refs outside the bundle are skipped."""
        prefix = f"{stix_type}--"
        refs = [ref for ref in obj.get("object_refs", []) if isinstance(ref, str) and ref.startswith(prefix)]
        return [self.index[ref] for ref in refs if ref in self.index]

    def report(self, report: dict[str, Any]) -> ImportedItem:
        self.validated(report)
        vulnerabilities = self.referenced(report, "vulnerability")
        actions = self.referenced(report, "course-of-action")
        patterns = self.referenced(report, "attack-pattern")
        for obj in (*vulnerabilities, *actions, *patterns):
            self.validated(obj)
        tlp = self.tlp([report, *vulnerabilities, *actions, *patterns])

        extension = report.get("extensions", {}).get(SIGNALFIRE_EXTENSION_ID)
        if extension is not None and not isinstance(extension, dict):
            raise _Skip("the Signalfire extension is not an object")
        mitigations = [str(action.get("description") or action.get("name", "")).strip() for action in actions]
        references = _dedupe(ref for obj in (report, *vulnerabilities, *patterns) for ref in _references_from(obj))

        if extension is not None:
            fields = _extension_fields(extension)
        else:
            is_vulnerability = bool(vulnerabilities) or "vulnerability" in report.get("report_types", [])
            fields = _ExtensionFields(
                category=Category.VULNERABILITY if is_vulnerability else None,
                details=str(vulnerabilities[0].get("description", "")) if vulnerabilities else "",
                technique_refs=references,
            )

        return ImportedItem(
            stix_id=report["id"],
            item_id=UUID(report["id"].split("--", 1)[1]),
            version=fields.version,
            created=_parse_time(report.get("created"), "created"),
            modified=_parse_time(report.get("modified"), "modified"),
            revoked=bool(report.get("revoked", False)),
            category=fields.category,
            title=str(report.get("name", "")).strip(),
            summary=str(report.get("description", "")),
            details=fields.details,
            severity=fields.severity,
            priority=fields.priority,
            confidence=_confidence_from_stix(report.get("confidence")),
            model_families=fields.model_families,
            modalities=fields.modalities,
            technique_refs=fields.technique_refs,
            mitigations=[text for text in mitigations if text],
            valid_until=fields.valid_until,
            tlp=tlp,
            permitted_uses=fields.permitted_uses,
            contributor=self.contributor(report),
            has_signalfire_extension=extension is not None,
            tags=_tags_from(report),
        )

    def lone_vulnerability(self, vulnerability: dict[str, Any]) -> ImportedItem:
        self.validated(vulnerability)
        return ImportedItem(
            stix_id=vulnerability["id"],
            item_id=UUID(vulnerability["id"].split("--", 1)[1]),
            version=None,
            created=_parse_time(vulnerability.get("created"), "created"),
            modified=_parse_time(vulnerability.get("modified"), "modified"),
            revoked=bool(vulnerability.get("revoked", False)),
            category=Category.VULNERABILITY,
            title=str(vulnerability.get("name", "")).strip(),
            summary=str(vulnerability.get("description", "")),
            details="",
            severity=None,
            priority=None,
            confidence=_confidence_from_stix(vulnerability.get("confidence")),
            model_families=[],
            modalities=[],
            technique_refs=_dedupe(_references_from(vulnerability)),
            mitigations=[],
            valid_until=None,
            tlp=self.tlp([vulnerability]),
            permitted_uses=[],
            contributor=self.contributor(vulnerability),
            has_signalfire_extension=False,
        )


def bundle_to_items(
    bundle: Mapping[str, Any] | bytes | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_objects: int = DEFAULT_MAX_OBJECTS,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> ImportResult:
    """Read drafts from a STIX 2.1 bundle (raw JSON or already parsed).

    Every ``report`` becomes a draft, and so does every ``vulnerability`` no report refers to.
    Raises :class:`BundleRejected` for faults in the bundle as a whole (see the module docstring).
    """
    data = _load(bundle, max_bytes, max_depth)
    objects = _check_bundle(data, max_objects)
    reader = _Reader(index={obj["id"]: obj for obj in objects}, levels=_marking_levels(objects))

    items: list[ImportedItem] = []
    errors: list[ObjectError] = []
    claimed: set[str] = set()
    for obj in objects:
        if obj["type"] == "report":
            claimed.update(ref for ref in obj.get("object_refs", []) if isinstance(ref, str))
    for obj in objects:
        try:
            if obj["type"] == "report":
                items.append(reader.report(obj))
            elif obj["type"] == "vulnerability" and obj["id"] not in claimed:
                items.append(reader.lone_vulnerability(obj))
        except _Skip as skip:
            errors.append(ObjectError(obj["id"], f"{obj['id']} was skipped: {skip}."))
    ignored = [obj["id"] for obj in objects if obj["type"] not in _READ_TYPES]
    return ImportResult(items=items, errors=errors, ignored=ignored)


def read_report(report: dict[str, Any], objects: Iterable[dict[str, Any]]) -> ImportedItem:
    """What one ``report`` states, read as a bundle import reads it (``objects``: the others it may refer to).

    Used by TAXII adds, where a posted report stands for one exchange item. Raises ``ValueError`` with the
    reason when the report cannot be read (the caller then describes the objects itself).
    """
    pool = [report, *objects]
    reader = _Reader(index={o["id"]: o for o in pool if isinstance(o.get("id"), str)}, levels=_marking_levels(pool))
    try:
        return reader.report(report)
    except _Skip as skip:
        raise ValueError(str(skip)) from None

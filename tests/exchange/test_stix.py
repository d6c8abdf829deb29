"""STIX 2.1 export and import: validity, TLP 2.0 markings, determinism, round trips, pseudonymity and
hostile bundles. Validation is offline: the strict validator gets our extension schema from a local
folder, and any attempt to fetch a schema over HTTP fails the test."""

from __future__ import annotations

import copy
import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import stix2
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st
from stix2validator import ValidationOptions, validate_instance

from signalfire.exchange.snapshot import Contributor, HubIdentity, ItemSnapshot
from signalfire.exchange.stix import convert as sx
from signalfire.exchange.stix.convert import (
    OPENCTI_AMBER_STRICT_ID,
    SIGNALFIRE_EXTENSION_ID,
    SIGNALFIRE_PROJECT_IDENTITY_ID,
    TLP2_MARKING_IDS,
    BundleRejected,
    RejectCode,
    bundle_to_items,
    item_to_bundle,
    taxii_objects,
)
from signalfire.exchange.vocab import (
    Category,
    Confidence,
    CoveredUse,
    Modality,
    Priority,
    Severity,
    Tlp,
)

SCHEMA = Path(sx.__file__).with_name("extension") / "signalfire-ai-item.json"
HUB = HubIdentity(
    stix_identity_id="identity--0b6a4f43-3e0c-4bb6-9f0e-3a54c6e0a001",
    name="Frontier exchange hub",
    created=datetime(2025, 3, 1, tzinfo=UTC),
)
ACME = Contributor(
    kind="org",
    stix_identity_id="identity--7d1f4b6e-5a0d-4c5e-8f3b-0c2a9e4d1b02",
    name="Acme Frontier Labs",
    created=datetime(2025, 3, 2, tzinfo=UTC),
)
KESTREL = Contributor(
    kind="pseudonym",
    stix_identity_id="identity--2c9e8b41-6f1a-4d7e-9b3c-5e8f0a1d2c03",
    name="Contributor Kestrel",
    created=datetime(2025, 4, 1, tzinfo=UTC),
)


def make_item(**overrides: Any) -> ItemSnapshot:
    fields: dict[str, Any] = {
        "id": uuid.UUID("5f0c1e2d-3b4a-4c6d-8e9f-0a1b2c3d4e5f"),
        "version": 3,
        "created": datetime(2026, 1, 10, 9, 0, tzinfo=UTC),
        "modified": datetime(2026, 2, 1, 12, 30, 15, 250000, tzinfo=UTC),
        "category": Category.VULNERABILITY,
        "title": "Multi-turn role-play jailbreak",
        "summary": "Role-play over several turns defeats refusal training.",
        "details": "Turn 1 sets a fictional frame; later turns move the request into a character's lines.",
        "severity": Severity.HIGH,
        "priority": Priority.URGENT,
        "confidence": Confidence.MODERATE,
        "model_families": ["general-purpose chat models"],
        "modalities": [Modality.TEXT.value],
        "technique_refs": ["AML.T0054", "AML.T0051.000", "LLM01:2025", "CVE-2025-12345", "CWE-502"],
        "mitigations": [
            "Score whole conversations in the safety classifier.",
            "Add multi-turn cases to evals.",
        ],
        "valid_until": datetime(2026, 12, 31, tzinfo=UTC),
        "tlp": Tlp.AMBER,
        "permitted_uses": [CoveredUse.SAFEGUARDS, CoveredUse.MODEL_EVALUATIONS],
        "contributor": ACME,
        "hub": HUB,
    }
    fields.update(overrides)
    return ItemSnapshot(**fields)


@pytest.fixture(scope="module")
def schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The validator finds an extension's schema by the extension-definition id as file name.
    folder = tmp_path_factory.mktemp("stix-schemas")
    shutil.copy(SCHEMA, folder / f"{SIGNALFIRE_EXTENSION_ID}.json")
    return folder


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr("requests.get", refuse)


def strict_errors(bundle: dict[str, Any], schema_dir: Path) -> list[str]:
    options = ValidationOptions(version="2.1", strict=True, enforce_refs=True, schema_dir=str(schema_dir), silent=True)
    result = validate_instance(copy.deepcopy(bundle), options)
    return [] if result.is_valid else [str(error) for error in result.errors]


# --- Export validity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tlp", list(Tlp))
@pytest.mark.parametrize("category", list(Category))
def test_bundle_is_valid_stix_for_every_label_and_category(tlp: Tlp, category: Category, schema_dir: Path) -> None:
    bundle = item_to_bundle([make_item(tlp=tlp, category=category)])
    stix2.parse(bundle, allow_custom=False)
    assert strict_errors(bundle, schema_dir) == []


def test_sparse_item_is_valid_too(schema_dir: Path) -> None:
    sparse = make_item(
        summary="",
        details="",
        model_families=[],
        modalities=[],
        technique_refs=[],
        mitigations=[],
        valid_until=None,
        category=Category.CAPABILITY_OF_CONCERN,
        contributor=KESTREL,
    )
    bundle = item_to_bundle([sparse])
    stix2.parse(bundle, allow_custom=False)
    assert strict_errors(bundle, schema_dir) == []
    report = _only(bundle, "report")
    assert report["object_refs"] == [KESTREL.stix_identity_id]


def test_extension_schema_is_applied_and_matches_the_vocabularies(schema_dir: Path) -> None:
    bundle = item_to_bundle([make_item()])
    _only(bundle, "report")["extensions"][SIGNALFIRE_EXTENSION_ID]["permitted_uses"] = ["marketing"]
    assert any("permitted_uses" in error for error in strict_errors(bundle, schema_dir))

    schema = json.loads(SCHEMA.read_text())
    properties = schema["$defs"]["signalfire_item"]["properties"]
    assert properties["category"]["enum"] == [c.value for c in Category]
    assert properties["permitted_uses"]["items"]["enum"] == [u.value for u in CoveredUse]
    assert properties["severity"]["enum"] == [s.value for s in Severity]
    assert properties["priority"]["enum"] == [p.value for p in Priority]
    assert properties["modalities"]["items"]["enum"] == [m.value for m in Modality]
    assert '"$ref": "http' not in SCHEMA.read_text()  # local references only, so validation stays offline


def test_tlp_markings_and_extension_are_exactly_the_oasis_objects() -> None:
    bundle = item_to_bundle([make_item(tlp=Tlp.AMBER_STRICT)])
    markings = {o["id"]: o for o in bundle["objects"] if o["type"] == "marking-definition"}
    assert markings[TLP2_MARKING_IDS[Tlp.AMBER_STRICT]] == {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "created": "2022-10-01T00:00:00.000Z",
        "name": "TLP:AMBER+STRICT",
        "extensions": {
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                "extension_type": "property-extension",
                "tlp_2_0": "amber+strict",
            }
        },
    }
    assert set(markings) == {TLP2_MARKING_IDS[Tlp.CLEAR], TLP2_MARKING_IDS[Tlp.AMBER_STRICT]}
    assert TLP2_MARKING_IDS == {
        Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
    tlp_extension = next(o for o in bundle["objects"] if o["id"] == sx.TLP2_EXTENSION_ID)
    assert tlp_extension == {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d",
        "created_by_ref": "identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01",
        "created": "2022-10-01T00:00:00.000Z",
        "modified": "2022-10-01T00:00:00.000Z",
        "name": "TLP 2.0",
        "description": "This defines TLP 2.0 as a STIX extension",
        "schema": "https://github.com/oasis-open/cti-stix-common-objects/tree/master/"
        "extension-definition-specifications/tlp-2.0",
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    }


@pytest.mark.parametrize("tlp", list(Tlp))
def test_every_item_object_carries_the_item_label(tlp: Tlp) -> None:
    item = make_item(tlp=tlp)
    for obj in taxii_objects([item]):
        expected = tlp if obj.item_id == item.id else Tlp.CLEAR
        assert obj.tlp is expected
        if "object_marking_refs" in obj.body:
            assert obj.body["object_marking_refs"] == [TLP2_MARKING_IDS[expected]]


def test_mapping_of_an_item_to_stix_objects() -> None:
    item = make_item()
    bundle = item_to_bundle([item])
    report = _only(bundle, "report")
    assert report["id"] == f"report--{item.id}"
    assert report["name"] == item.title
    assert report["description"] == item.summary
    assert report["published"] == "2026-01-10T09:00:00Z"
    assert report["modified"] == "2026-02-01T12:30:15.250Z"
    assert report["confidence"] == 50
    assert report["created_by_ref"] == ACME.stix_identity_id
    extension = report["extensions"][SIGNALFIRE_EXTENSION_ID]
    assert extension["category"] == "vulnerability"
    assert extension["permitted_uses"] == ["model_evaluations", "safeguards"]  # Table 3 order
    assert extension["item_version"] == 3
    assert extension["valid_until"] == "2026-12-31T00:00:00.000Z"

    vulnerability = _only(bundle, "vulnerability")
    assert {(r["source_name"], r["external_id"]) for r in vulnerability["external_references"]} == {
        ("cve", "CVE-2025-12345"),
        ("cwe", "CWE-502"),
    }
    patterns = [o for o in bundle["objects"] if o["type"] == "attack-pattern"]
    assert sorted(p["external_references"][0]["external_id"] for p in patterns) == [
        "AML.T0051.000",
        "AML.T0054",
    ]
    assert all(p["external_references"][0]["source_name"] == "mitre-atlas" for p in patterns)
    actions = [o for o in bundle["objects"] if o["type"] == "course-of-action"]
    assert [a["description"] for a in actions] == item.mitigations
    relations = {
        (r["relationship_type"], r["source_ref"], r["target_ref"])
        for r in bundle["objects"]
        if r["type"] == "relationship"
    }
    assert relations == {
        *(("mitigates", a["id"], vulnerability["id"]) for a in actions),
        *(("targets", p["id"], vulnerability["id"]) for p in patterns),
    }
    assert set(report["object_refs"]) == {
        vulnerability["id"],
        *(o["id"] for o in actions + patterns),
        *(o["id"] for o in bundle["objects"] if o["type"] == "relationship"),
    }


def test_threat_mitigations_point_at_the_atlas_techniques() -> None:
    bundle = item_to_bundle([make_item(category=Category.THREAT, technique_refs=["AML.T0010"])])
    (pattern,) = [o for o in bundle["objects"] if o["type"] == "attack-pattern"]
    targets = {r["target_ref"] for r in bundle["objects"] if r["type"] == "relationship"}
    assert targets == {pattern["id"]}
    assert not [o for o in bundle["objects"] if o["type"] == "vulnerability"]


# --- Determinism and versions -----------------------------------------------------------------------


def test_one_version_always_serialises_identically() -> None:
    item = make_item()
    first = json.dumps(item_to_bundle([item]))
    with time_machine.travel(datetime(2031, 6, 1, tzinfo=UTC), tick=False):
        again = json.dumps(item_to_bundle([make_item()]))
    assert first == again


def test_versions_share_object_ids_and_revocation_reaches_derived_objects() -> None:
    v3 = taxii_objects([make_item()])
    v4 = taxii_objects([make_item(version=4, modified=datetime(2026, 3, 1, tzinfo=UTC), revoked=True)])
    owned3 = {o.id: o for o in v3 if o.item_id is not None}
    owned4 = {o.id: o for o in v4 if o.item_id is not None}
    assert owned3.keys() == owned4.keys()
    assert all(o.version == "2026-03-01T00:00:00.000Z" and o.body["revoked"] is True for o in owned4.values())
    assert all("revoked" not in o.body for o in owned3.values())
    assert item_to_bundle([make_item()])["id"] != item_to_bundle([make_item(version=4)])["id"]


def test_taxii_objects_have_what_a_taxii_server_indexes() -> None:
    item = make_item()
    objects = taxii_objects([item])
    assert [o.body for o in objects] == item_to_bundle([item])["objects"]
    for obj in objects:
        assert obj.spec_version == "2.1"
        assert obj.id == obj.body["id"] and obj.type == obj.body["type"]
        assert obj.version == obj.body.get("modified", obj.body["created"])
    owned = {o.type for o in objects if o.item_id == item.id}
    assert owned == {"report", "vulnerability", "course-of-action", "relationship"}


def test_export_refuses_ambiguous_input() -> None:
    with pytest.raises(ValueError, match="no items"):
        item_to_bundle([])
    with pytest.raises(ValueError, match="one version per item"):
        item_to_bundle([make_item(), make_item(version=4)])
    other_hub = HUB.model_copy(update={"name": "Another hub"})
    with pytest.raises(ValueError, match="same hub"):
        item_to_bundle([make_item(), make_item(id=uuid.uuid4(), hub=other_hub)])
    renamed = ACME.model_copy(update={"name": "Acme renamed"})
    with pytest.raises(ValueError, match="share the id"):
        item_to_bundle([make_item(), make_item(id=uuid.uuid4(), contributor=renamed)])


# --- Pseudonymity ------------------------------------------------------------------------------------


def test_pseudonymous_items_never_reveal_the_organisation() -> None:
    item = make_item(contributor=KESTREL, id=uuid.uuid4())
    bundle = item_to_bundle([item])
    text = json.dumps(bundle)
    assert ACME.name not in text and "Acme" not in text
    assert ACME.stix_identity_id not in text
    (pseudonym,) = [o for o in bundle["objects"] if o["id"] == KESTREL.stix_identity_id]
    assert pseudonym["identity_class"] == "unknown"
    assert pseudonym["created_by_ref"] == HUB.stix_identity_id
    authors = {o["created_by_ref"] for o in bundle["objects"] if "created_by_ref" in o}
    assert authors == {
        KESTREL.stix_identity_id,
        HUB.stix_identity_id,
        SIGNALFIRE_PROJECT_IDENTITY_ID,
        sx.OASIS_TLP_AUTHOR_ID,
    }
    for obj in bundle["objects"]:
        if obj.get("type") in {"report", "vulnerability", "course-of-action", "relationship"}:
            assert obj["created_by_ref"] == KESTREL.stix_identity_id


def test_one_bundle_with_named_and_pseudonymous_items_keeps_them_unlinked() -> None:
    named = make_item()
    hidden = make_item(id=uuid.uuid4(), contributor=KESTREL)
    bundle = item_to_bundle([named, hidden])
    hidden_objects = [o.body for o in taxii_objects([named, hidden]) if o.item_id == hidden.id]
    assert hidden_objects and ACME.stix_identity_id not in json.dumps(hidden_objects)
    assert ACME.name not in json.dumps(hidden_objects)
    # Ids derive from the item, not the contributor, so nothing ties the two items' objects together.
    assert len({o["id"] for o in bundle["objects"]}) == len(bundle["objects"])


# --- Round trip --------------------------------------------------------------------------------------


def _assert_round_trip(item: ItemSnapshot) -> None:
    result = bundle_to_items(json.dumps(item_to_bundle([item])).encode())
    assert result.errors == [] and result.ignored == []
    (draft,) = result.items
    assert draft.has_signalfire_extension
    assert draft.item_id == item.id and draft.stix_id == f"report--{item.id}"
    assert draft.contributor == item.contributor
    for name in (
        "version",
        "created",
        "modified",
        "revoked",
        "category",
        "title",
        "summary",
        "details",
        "severity",
        "priority",
        "confidence",
        "model_families",
        "modalities",
        "technique_refs",
        "mitigations",
        "valid_until",
        "tlp",
        "permitted_uses",
    ):
        assert getattr(draft, name) == getattr(item, name), name


@pytest.mark.parametrize("tlp", list(Tlp))
@pytest.mark.parametrize("contributor", [ACME, KESTREL], ids=["org", "pseudonym"])
def test_round_trip_for_every_label(tlp: Tlp, contributor: Contributor) -> None:
    _assert_round_trip(make_item(tlp=tlp, contributor=contributor, revoked=tlp is Tlp.RED))


_words = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
_names = _words.map(str.strip).filter(bool)


@settings(max_examples=30, deadline=None)
@given(
    category=st.sampled_from(list(Category)),
    confidence=st.sampled_from(list(Confidence)),
    title=_names,
    summary=_words,
    details=_words,
    families=st.lists(_names, max_size=3),
    mitigations=st.lists(_names, max_size=3),
    uses=st.sets(st.sampled_from(list(CoveredUse)), min_size=1),
    micros=st.integers(min_value=0, max_value=999_999),
)
def test_round_trip_property(
    category: Category,
    confidence: Confidence,
    title: str,
    summary: str,
    details: str,
    families: list[str],
    mitigations: list[str],
    uses: set[CoveredUse],
    micros: int,
) -> None:
    _assert_round_trip(
        make_item(
            category=category,
            confidence=confidence,
            title=title,
            summary=summary,
            details=details,
            model_families=list(dict.fromkeys(families)),
            mitigations=list(dict.fromkeys(mitigations)),
            permitted_uses=list(uses),
            modified=datetime(2026, 2, 1, 12, 0, 0, micros, tzinfo=UTC),
        )
    )


# --- Import of foreign and hostile bundles ----------------------------------------------------------


def _only(bundle: dict[str, Any], stix_type: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [o for o in bundle["objects"] if o["type"] == stix_type]
    assert len(found) == 1, f"expected one {stix_type}"
    return found[0]


def _foreign_report(marking_refs: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "type": "report",
        "spec_version": "2.1",
        "id": "report--6b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "created": "2025-05-01T00:00:00.000Z",
        "modified": "2025-05-02T00:00:00.000Z",
        "name": "Prompt injection through retrieved documents",
        "description": "Indirect injection via poisoned web pages.",
        "published": "2025-05-01T00:00:00Z",
        "report_types": ["threat-report"],
        "object_refs": ["indicator--1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"],
        "object_marking_refs": marking_refs,
        "confidence": 80,
        **extra,
    }


def _indicator() -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
        "created": "2025-05-01T00:00:00.000Z",
        "modified": "2025-05-01T00:00:00.000Z",
        "pattern": "[url:value = 'http://203.0.113.9/p']",
        "pattern_type": "stix",
        "valid_from": "2025-05-01T00:00:00Z",
    }


def _bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bundle", "id": "bundle--0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "objects": list(objects)}


@pytest.mark.parametrize(
    ("marking", "expected"),
    [
        ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", Tlp.CLEAR),  # TLP 1.0 WHITE
        ("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", Tlp.GREEN),
        ("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", Tlp.AMBER),
        ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", Tlp.RED),
        (OPENCTI_AMBER_STRICT_ID, Tlp.AMBER_STRICT),
        *((marking_id, level) for level, marking_id in TLP2_MARKING_IDS.items()),
    ],
)
def test_foreign_reports_with_every_known_tlp_id(marking: str, expected: Tlp) -> None:
    result = bundle_to_items(_bundle(_foreign_report([marking]), _indicator()))
    (draft,) = result.items
    assert draft.tlp is expected
    assert not draft.has_signalfire_extension
    assert draft.category is None and draft.permitted_uses == [] and draft.severity is None
    assert draft.confidence is Confidence.HIGH
    assert result.ignored == ["indicator--1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"]


def test_opencti_amber_strict_marking_object_is_accepted() -> None:
    opencti_marking = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": OPENCTI_AMBER_STRICT_ID,
        "created": "2022-10-01T00:00:00.000Z",
        "definition_type": "statement",
        "definition": {"statement": "custom"},
        "name": "TLP:AMBER+STRICT",
        "x_opencti_definition_type": "TLP",
        "x_opencti_definition": "TLP:AMBER+STRICT",
    }
    result = bundle_to_items(_bundle(opencti_marking, _foreign_report([OPENCTI_AMBER_STRICT_ID])))
    assert [draft.tlp for draft in result.items] == [Tlp.AMBER_STRICT]


def test_the_strictest_marking_anywhere_in_the_item_wins() -> None:
    bundle = item_to_bundle([make_item(tlp=Tlp.GREEN)])
    action = next(o for o in bundle["objects"] if o["type"] == "course-of-action")
    action["granular_markings"] = [{"marking_ref": TLP2_MARKING_IDS[Tlp.RED], "selectors": ["description"]}]
    bundle["objects"].append(
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": TLP2_MARKING_IDS[Tlp.RED],
            "created": "2022-10-01T00:00:00.000Z",
            "name": "TLP:RED",
            "extensions": {sx.TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": "red"}},
        }
    )
    (draft,) = bundle_to_items(bundle).items
    assert draft.tlp is Tlp.RED


def test_a_lone_vulnerability_becomes_a_draft() -> None:
    vulnerability = {
        "type": "vulnerability",
        "spec_version": "2.1",
        "id": "vulnerability--3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d",
        "created": "2025-05-01T00:00:00.000Z",
        "modified": "2025-05-01T00:00:00.000Z",
        "name": "Deserialisation in model loader",
        "external_references": [{"source_name": "cve", "external_id": "CVE-2025-12345"}],
        "object_marking_refs": [TLP2_MARKING_IDS[Tlp.GREEN]],
    }
    (draft,) = bundle_to_items(_bundle(vulnerability)).items
    assert (draft.category, draft.tlp, draft.technique_refs) == (
        Category.VULNERABILITY,
        Tlp.GREEN,
        ["CVE-2025-12345"],
    )


def test_reports_without_a_usable_tlp_are_skipped_with_a_reason() -> None:
    unmarked = _foreign_report([])
    unresolved = _foreign_report(
        ["marking-definition--00000000-0000-4000-8000-000000000000"],
        id="report--7c2a3b4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    )
    statement: dict[str, Any] = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5e",
        "created": "2025-01-01T00:00:00.000Z",
        "definition_type": "statement",
        "definition": {"statement": "Copyright Example Corp"},
    }
    only_statement = _foreign_report([statement["id"]], id="report--8d3b4c5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e")
    result = bundle_to_items(_bundle(statement, unmarked, unresolved, only_statement, _indicator()))
    assert result.items == []
    reasons = {error.object_id: error.reason for error in result.errors}
    assert "no TLP marking" in reasons[unmarked["id"]]
    assert "neither in the bundle nor a TLP marking" in reasons[unresolved["id"]]
    assert "no TLP marking" in reasons[only_statement["id"]]


def test_invalid_content_skips_only_that_report() -> None:
    bundle = item_to_bundle([make_item(), make_item(id=uuid.uuid4())])
    reports = [o for o in bundle["objects"] if o["type"] == "report"]
    reports[0]["extensions"][SIGNALFIRE_EXTENSION_ID]["permitted_uses"] = ["marketing"]
    result = bundle_to_items(bundle)
    assert [draft.stix_id for draft in result.items] == [reports[1]["id"]]
    (error,) = result.errors
    assert error.object_id == reports[0]["id"] and "'marketing'" in error.reason


@pytest.mark.parametrize(
    ("mutate", "code", "words"),
    [
        (lambda b: b.update(spec_version="2.0"), RejectCode.SPEC_VERSION, "STIX 2.1 only"),
        (lambda b: b["objects"][-1].update(spec_version="2.0"), RejectCode.SPEC_VERSION, "not 2.1"),
        (lambda b: b["objects"][-1].pop("spec_version"), RejectCode.SPEC_VERSION, "not 2.1"),
        (
            lambda b: b["objects"].append(copy.deepcopy(b["objects"][-1])),
            RejectCode.DUPLICATE_ID,
            "more than once",
        ),
        (lambda b: b.update(type="report"), RejectCode.NOT_A_BUNDLE, "not a STIX bundle"),
        (lambda b: b["objects"].append("text"), RejectCode.MALFORMED_OBJECT, "no string 'type'"),
        (
            lambda b: b["objects"][-1].update(id="indicator--" + str(uuid.uuid4())),
            RejectCode.MALFORMED_OBJECT,
            "id",
        ),
    ],
    ids=["bundle-2.0", "object-2.0", "object-no-version", "duplicate", "not-bundle", "not-object", "id-type"],
)
def test_hostile_bundles_are_rejected_with_a_reason(mutate: Any, code: RejectCode, words: str) -> None:
    bundle = item_to_bundle([make_item()])
    mutate(bundle)
    with pytest.raises(BundleRejected, match=words) as caught:
        bundle_to_items(bundle)
    assert caught.value.code is code


def _fake_tlp(name: str, marking_id: str) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": "2024-01-01T00:00:00.000Z",
        "name": name,
        "definition_type": "statement",
        "definition": {"statement": name},
    }


@pytest.mark.parametrize(
    ("marking", "words"),
    [
        (
            _fake_tlp("TLP:CLEAR", "marking-definition--4b1c2d3e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"),
            "looks like a TLP",
        ),
        (
            _fake_tlp("TLP:BLACK", "marking-definition--5c2d3e4f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"),
            "looks like a TLP",
        ),
        (_fake_tlp("TLP:RED", TLP2_MARKING_IDS[Tlp.CLEAR]), "is TLP:CLEAR but the object says"),
    ],
    ids=["unknown-id-claiming-clear", "unknown-level", "known-id-wrong-level"],
)
def test_unknown_or_contradictory_tlp_markings_reject_the_bundle(marking: dict[str, Any], words: str) -> None:
    with pytest.raises(BundleRejected, match=words) as caught:
        bundle_to_items(_bundle(marking, _foreign_report([marking["id"]])))
    assert caught.value.code is RejectCode.UNKNOWN_TLP_MARKING


def test_size_count_and_depth_limits() -> None:
    raw = json.dumps(item_to_bundle([make_item()])).encode()
    with pytest.raises(BundleRejected, match="bytes; the limit") as too_big:
        bundle_to_items(raw, max_bytes=len(raw) - 1)
    assert too_big.value.code is RejectCode.TOO_LARGE
    assert bundle_to_items(raw, max_bytes=len(raw)).items

    with pytest.raises(BundleRejected, match="bytes; the limit"):
        bundle_to_items(json.loads(raw), max_bytes=1000)

    with pytest.raises(BundleRejected, match="objects; the limit") as too_many:
        bundle_to_items(raw, max_objects=5)
    assert too_many.value.code is RejectCode.TOO_MANY_OBJECTS

    nested: Any = "x"
    for _ in range(40):
        nested = {"n": nested}
    deep = _bundle(_foreign_report([TLP2_MARKING_IDS[Tlp.GREEN]], x_payload=nested))
    with pytest.raises(BundleRejected, match="deeper than 16") as too_deep:
        bundle_to_items(deep)
    assert too_deep.value.code is RejectCode.TOO_DEEP
    with pytest.raises(BundleRejected, match="deeper than") as recursion:
        bundle_to_items(b"[" * 200_000 + b"]" * 200_000)
    assert recursion.value.code is RejectCode.TOO_DEEP


def test_garbage_is_not_json() -> None:
    with pytest.raises(BundleRejected, match="not valid JSON") as caught:
        bundle_to_items(b"{not json")
    assert caught.value.code is RejectCode.NOT_JSON
    with pytest.raises(BundleRejected, match="not a JSON object"):
        bundle_to_items(b"[1, 2]")

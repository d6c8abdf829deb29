"""The exchange vocabularies, the TLP 2.0 audience rules and the reference-id validators."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalfire.exchange.vocab import (
    ALLOWED_AUDIENCES,
    AudienceKind,
    Category,
    Confidence,
    CoveredUse,
    Priority,
    RefScheme,
    Severity,
    Tlp,
    audience_allowed,
    community_members,
    handling_note,
    is_atlas_technique,
    is_cve,
    is_cwe,
    is_owasp_llm,
    normalise_reference,
    reference_scheme,
    validate_reference,
)


def test_categories_are_exactly_the_three_fmf_categories() -> None:
    assert [c.value for c in Category] == ["vulnerability", "threat", "capability_of_concern"]
    assert len({c.label for c in Category}) == 3
    assert all(len(c.description) > 40 for c in Category)


def test_covered_uses_are_the_nine_of_table_3() -> None:
    assert [u.value for u in CoveredUse] == [
        "threat_detection",
        "safe_development",
        "incident_response",
        "model_evaluations",
        "safeguards",
        "safety_research",
        "safety_guidance",
        "monitoring_detection",
        "vulnerability_assessments",
    ]
    assert len({u.label for u in CoveredUse}) == 9
    assert len({u.description for u in CoveredUse}) == 9


def test_tlp_values_labels_and_order() -> None:
    assert [t.value for t in Tlp] == ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
    assert [t.order for t in Tlp] == [0, 1, 2, 3, 4]
    assert Tlp.AMBER_STRICT.label == "TLP:AMBER+STRICT"
    assert Tlp.RED.is_stricter_than(Tlp.AMBER_STRICT)
    assert not Tlp.GREEN.is_stricter_than(Tlp.GREEN)
    assert Tlp.strictest([Tlp.GREEN, Tlp.AMBER_STRICT, Tlp.AMBER]) is Tlp.AMBER_STRICT
    with pytest.raises(ValueError, match="no TLP"):
        Tlp.strictest([])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TLP:AMBER+STRICT", Tlp.AMBER_STRICT),
        ("amber+strict", Tlp.AMBER_STRICT),
        ("AMBER_STRICT", Tlp.AMBER_STRICT),
        ("tlp:amber-strict", Tlp.AMBER_STRICT),
        (" TLP: red ", Tlp.RED),
        ("green", Tlp.GREEN),
        ("TLP:WHITE", Tlp.CLEAR),
        ("clear", Tlp.CLEAR),
    ],
)
def test_tlp_parse_accepts_usual_spellings(text: str, expected: Tlp) -> None:
    assert Tlp.parse(text) is expected


@pytest.mark.parametrize("text", ["TLP:BLACK", "", "amber strict plus", "TLP"])
def test_tlp_parse_refuses_other_labels(text: str) -> None:
    with pytest.raises(ValueError, match="not a TLP label"):
        Tlp.parse(text)


@pytest.mark.parametrize("tlp", list(Tlp))
@pytest.mark.parametrize("kind", list(AudienceKind))
def test_single_audience_kind_against_each_label(tlp: Tlp, kind: AudienceKind) -> None:
    violations = audience_allowed(tlp, [kind])
    allowed = tlp is not Tlp.RED or kind is AudienceKind.NAMED_PEOPLE
    assert (violations == []) is allowed
    assert all(v.audience is kind for v in violations)


def test_red_is_for_named_people_only_and_never_government_partners() -> None:
    assert audience_allowed(Tlp.RED, [AudienceKind.NAMED_PEOPLE]) == []
    violations = audience_allowed(
        Tlp.RED, [AudienceKind.NAMED_PEOPLE, AudienceKind.GOVERNMENT_PARTNERS, AudienceKind.ALL_MEMBERS]
    )
    assert [v.audience for v in violations] == [AudienceKind.ALL_MEMBERS, AudienceKind.GOVERNMENT_PARTNERS]
    assert "never shared with government partners" in violations[1].message
    assert "named individuals only" in violations[0].message


def test_amber_strict_may_go_to_every_member_lab() -> None:
    # Labels restrict what recipients do next, not whom the contributor first gives the item to.
    assert audience_allowed(Tlp.AMBER_STRICT, [AudienceKind.ALL_MEMBERS]) == []
    assert audience_allowed(Tlp.AMBER_STRICT, [AudienceKind.GOVERNMENT_PARTNERS]) == []


def test_an_empty_audience_is_a_violation_for_every_label() -> None:
    for tlp in Tlp:
        (violation,) = audience_allowed(tlp, [])
        assert violation.audience is None
        assert "at least one audience" in violation.message


@given(st.sampled_from(list(Tlp)), st.sets(st.sampled_from(list(AudienceKind))))
def test_violations_are_exactly_the_kinds_outside_the_label(tlp: Tlp, kinds: set[AudienceKind]) -> None:
    violations = audience_allowed(tlp, list(kinds) * 2)  # duplicates count once
    if not kinds:
        assert len(violations) == 1
        return
    assert {v.audience for v in violations} == kinds - ALLOWED_AUDIENCES[tlp]
    assert len(violations) == len(kinds - ALLOWED_AUDIENCES[tlp])
    if tlp is Tlp.RED and AudienceKind.GOVERNMENT_PARTNERS in kinds:
        assert violations


def test_handling_note_names_the_community_on_green_items() -> None:
    members_only = handling_note(Tlp.GREEN, [AudienceKind.ALL_MEMBERS])
    assert "member labs" in members_only and "government" not in members_only
    wider = handling_note(Tlp.GREEN, [AudienceKind.ALL_MEMBERS, AudienceKind.GOVERNMENT_PARTNERS])
    assert "designated government partners" in wider
    assert community_members([AudienceKind.RESEARCHERS]) == [
        "the exchange's member labs",
        "admitted researchers",
    ]
    for tlp in Tlp:
        assert handling_note(tlp, [AudienceKind.NAMED_PEOPLE]).startswith(tlp.label + ":")
    assert "only inside your own organisation" in handling_note(Tlp.AMBER_STRICT, [])


def test_ordered_vocabularies_rise_in_declaration_order() -> None:
    assert [s.order for s in Severity] == list(range(len(Severity)))
    assert [p.order for p in Priority] == list(range(len(Priority)))
    assert [c.order for c in Confidence] == list(range(len(Confidence)))
    assert Severity.CRITICAL.label == "Critical" and Priority.IMMEDIATE.description
    assert all(c.label for c in Confidence)


@pytest.mark.parametrize(
    ("ref", "scheme"),
    [
        ("AML.T0051", RefScheme.ATLAS),
        ("AML.T0051.000", RefScheme.ATLAS),
        ("LLM01:2025", RefScheme.OWASP_LLM),
        ("LLM10:2023", RefScheme.OWASP_LLM),
        ("CVE-2025-12345", RefScheme.CVE),
        ("CVE-1999-0001", RefScheme.CVE),
        ("CVE-2024-1234567", RefScheme.CVE),
        ("CWE-502", RefScheme.CWE),
        ("CWE-1", RefScheme.CWE),
    ],
)
def test_valid_references(ref: str, scheme: RefScheme) -> None:
    assert reference_scheme(ref) is scheme
    assert validate_reference(ref) == ref


@pytest.mark.parametrize(
    "ref",
    [
        "AML.T51",
        "AML.T0051.00",
        "AML.TA0002x",
        "LLM01",
        "LLM00:2025",
        "LLM11:2025",
        "LLM01:2024",
        "LLM1:2025",
        "CVE-1998-0001",
        "CVE-2024-123",
        "CVE-24-1234",
        "CWE-0",
        "CWE-012",
        "CWE-",
        "T1059",
        "",
    ],
)
def test_invalid_references(ref: str) -> None:
    assert reference_scheme(normalise_reference(ref)) is None
    with pytest.raises(ValueError, match="not a reference the exchange accepts"):
        validate_reference(ref)


def test_references_are_normalised_before_checking() -> None:
    assert validate_reference(" aml.t0051.000 ") == "AML.T0051.000"
    assert validate_reference("llm01:2025") == "LLM01:2025"
    assert validate_reference("cve-2025-12345") == "CVE-2025-12345"
    assert is_atlas_technique("AML.T0054") and not is_atlas_technique("aml.t0054")
    assert is_owasp_llm("LLM05:2025") and not is_owasp_llm("LLM05")
    assert is_cve("CVE-2025-0001") and not is_cve("CVE-2025-001")
    assert is_cwe("CWE-79") and not is_cwe("CWE-079")

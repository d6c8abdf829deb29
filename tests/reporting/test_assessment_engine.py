"""Reportability assessment against the packaged regimes, scenario by scenario."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from signalfire.reporting.rules.assessment_engine import Answer, assess, assess_applicability, evaluate
from signalfire.reporting.rules.regime_loader import load_all
from signalfire.reporting.rules.regime_schema import AllOf, AnyOf, NotOf, Regime

REGIMES = load_all()


def regime(regime_id: str, version: str | None = None) -> Regime:
    versions = REGIMES[regime_id]
    return next(r for r in versions if r.version == version) if version else versions[-1]


def test_three_valued_logic() -> None:
    crit = AllOf(all=["a", AnyOf(any=["b", NotOf.model_validate({"not": "c"})])])
    assert evaluate(crit, {"a": True, "b": False, "c": False}) is True
    assert evaluate(crit, {"a": False}) is False  # one "no" settles an all()
    assert evaluate(crit, {"a": True, "b": True}) is True  # one "yes" settles an any()
    assert evaluate(crit, {"a": True, "b": False}) is None  # c unknown
    assert evaluate(crit, {"a": True, "b": False, "c": True}) is False
    assert evaluate(crit, {}) is None


# (regime id, version or None for latest, answers, outcome, classes, possible classes, concurrent, missing)
Scenario = tuple[
    str,
    str | None,
    Mapping[str, Answer],
    str,
    tuple[str, ...],
    tuple[str, ...],
    tuple[str, ...],
    tuple[str, ...],
]

SCENARIOS: list[Scenario] = [
    # Code of Practice, Commitment 9 (Measure 9.3 tiers)
    (
        "eu-gpai-cop-c9",
        None,
        {
            "model_involved": "yes",
            "death": "yes",
            "ci_disruption": "no",
            "cyber_breach": "no",
            "health_harm": "no",
            "fundamental_rights": "no",
            "property_environment": "no",
        },
        "reportable",
        ("death",),
        (),
        (),
        (),
    ),
    ("eu-gpai-cop-c9", None, {"model_involved": "no", "death": "yes"}, "not_reportable", (), (), (), ()),
    (
        "eu-gpai-cop-c9",
        None,
        {
            "model_involved": "yes",
            "cyber_breach": "yes",
            "ci_disruption": "no",
            "death": "no",
            "health_harm": "no",
            "fundamental_rights": "no",
            "property_environment": "no",
        },
        "reportable",
        ("cyber_breach",),
        (),
        (),
        (),
    ),  # a breach without 3(49) harm counts (encoded reading)
    (
        "eu-gpai-cop-c9",
        None,
        {
            "model_involved": "unknown",
            "death": "yes",
            "ci_disruption": "no",
            "cyber_breach": "no",
            "health_harm": "no",
            "fundamental_rights": "no",
            "property_environment": "no",
        },
        "undetermined",
        (),
        ("death",),
        (),
        ("model_involved",),
    ),
    (
        "eu-gpai-cop-c9",
        None,
        {
            "model_involved": "yes",
            "health_harm": "yes",
            "ci_disruption": "unknown",
            "cyber_breach": "no",
            "death": "no",
        },
        "reportable",
        ("serious_harm",),
        ("ci_disruption",),
        (),
        ("ci_disruption",),
    ),
    # AI Act Art. 73 (with the 73(9)-(10) carve-out)
    (
        "eu-ai-act-art73",
        None,
        {
            "causal_link": "yes",
            "death": "yes",
            "sector_carve_out": "no",
            "health_harm": "no",
            "ci_disruption": "no",
            "fundamental_rights": "no",
            "property_environment": "no",
            "widespread_infringement": "no",
        },
        "reportable",
        ("death",),
        (),
        (),
        (),
    ),
    (
        "eu-ai-act-art73",
        None,
        {
            "causal_link": "yes",
            "death": "yes",
            "sector_carve_out": "yes",
            "health_harm": "no",
            "ci_disruption": "no",
            "fundamental_rights": "no",
            "property_environment": "no",
            "widespread_infringement": "no",
        },
        "not_reportable",
        (),
        (),
        (),
        (),
    ),
    (
        "eu-ai-act-art73",
        None,
        {
            "causal_link": "yes",
            "fundamental_rights": "yes",
            "sector_carve_out": "yes",
            "death": "no",
            "health_harm": "no",
            "ci_disruption": "no",
            "property_environment": "no",
            "widespread_infringement": "no",
        },
        "reportable",
        ("other_serious",),
        (),
        (),
        (),
    ),  # 3(49)(c) is still reported by carved-out systems
    (
        "eu-ai-act-art73",
        None,
        {
            "causal_link": "unknown",
            "ci_disruption": "yes",
            "sector_carve_out": "no",
            "death": "no",
            "health_harm": "no",
            "fundamental_rights": "no",
            "property_environment": "no",
            "widespread_infringement": "no",
        },
        "undetermined",
        (),
        ("ci_disruption",),
        (),
        ("causal_link",),
    ),
    (
        "eu-ai-act-art73",
        None,
        {"causal_link": "yes", "widespread_infringement": "yes", "death": "yes", "sector_carve_out": "no"},
        "reportable",
        ("widespread_infringement", "death"),
        ("ci_disruption", "other_serious"),
        (),
        ("health_harm", "ci_disruption", "fundamental_rights", "property_environment"),
    ),
    # AI Act Art. 55(1)(c)
    (
        "eu-ai-act-art55",
        None,
        {"model_involved": "yes", "property_environment": "yes"},
        "reportable",
        ("serious_incident",),
        (),
        (),
        (),
    ),
    ("eu-ai-act-art55", None, {"model_involved": "no"}, "not_reportable", (), (), (), ()),
    (
        "eu-ai-act-art55",
        None,
        {
            "model_involved": "yes",
            "death": "no",
            "health_harm": "no",
            "ci_disruption": "no",
            "fundamental_rights": "no",
            "property_environment": "no",
        },
        "not_reportable",
        (),
        (),
        (),
        (),
    ),
    (
        "eu-ai-act-art55",
        None,
        {"model_involved": "unknown", "death": "yes"},
        "undetermined",
        (),
        ("serious_incident",),
        (),
        ("model_involved",),
    ),
    # Only "model involved: no" settles anything alone; one harm answer alone still leaves it open.
    ("eu-ai-act-art55", None, {}, "undetermined", (), ("serious_incident",), (), ("model_involved",)),
    # California SB 53
    (
        "us-ca-sb53",
        None,
        {
            "loss_of_control_harm": "yes",
            "imminent_risk": "yes",
            "weights_compromise_harm": "no",
            "catastrophic_risk_materialised": "no",
            "deceptive_subversion": "no",
        },
        "reportable",
        ("loss_of_control_harm",),
        (),
        ("imminent-24h",),
        (),
    ),
    (
        "us-ca-sb53",
        None,
        {
            "loss_of_control_harm": "no",
            "imminent_risk": "yes",
            "weights_compromise_harm": "no",
            "catastrophic_risk_materialised": "no",
            "deceptive_subversion": "no",
        },
        "not_reportable",
        (),
        (),
        (),
        (),
    ),  # imminent risk alone is not a critical safety incident
    (
        "us-ca-sb53",
        None,
        {
            "deceptive_subversion": "yes",
            "weights_compromise_harm": "no",
            "imminent_risk": "no",
            "catastrophic_risk_materialised": "no",
            "loss_of_control_harm": "no",
        },
        "reportable",
        ("deceptive_subversion",),
        (),
        (),
        (),
    ),
    (
        "us-ca-sb53",
        None,
        {
            "weights_compromise_harm": "yes",
            "catastrophic_risk_materialised": "no",
            "loss_of_control_harm": "no",
            "deceptive_subversion": "no",
        },
        "reportable",
        ("weights_compromise_harm",),
        (),
        (),
        ("imminent_risk",),
    ),
    (
        "us-ca-sb53",
        None,
        {
            "weights_compromise_harm": "unknown",
            "catastrophic_risk_materialised": "no",
            "loss_of_control_harm": "no",
            "deceptive_subversion": "no",
            "imminent_risk": "no",
        },
        "undetermined",
        (),
        ("weights_compromise_harm",),
        (),
        ("weights_compromise_harm",),
    ),
    # New York RAISE (amended)
    (
        "us-ny-raise",
        None,
        {
            "catastrophic_risk_materialised": "yes",
            "imminent_risk": "no",
            "weights_compromise_harm": "no",
            "loss_of_control_harm": "no",
            "deceptive_subversion": "no",
        },
        "reportable",
        ("catastrophic_risk_materialised",),
        (),
        (),
        (),
    ),
    (
        "us-ny-raise",
        None,
        {
            "loss_of_control_harm": "yes",
            "imminent_risk": "yes",
            "weights_compromise_harm": "no",
            "catastrophic_risk_materialised": "no",
            "deceptive_subversion": "no",
        },
        "reportable",
        ("loss_of_control_harm",),
        (),
        ("imminent-24h",),
        (),
    ),
    (
        "us-ny-raise",
        None,
        {
            "loss_of_control_harm": "no",
            "imminent_risk": "no",
            "weights_compromise_harm": "no",
            "catastrophic_risk_materialised": "no",
            "deceptive_subversion": "no",
        },
        "not_reportable",
        (),
        (),
        (),
        (),
    ),
    (
        "us-ny-raise",
        None,
        {
            "deceptive_subversion": "unknown",
            "imminent_risk": "unknown",
            "weights_compromise_harm": "no",
            "catastrophic_risk_materialised": "no",
            "loss_of_control_harm": "no",
        },
        "undetermined",
        (),
        ("deceptive_subversion",),
        (),
        ("deceptive_subversion", "imminent_risk"),
    ),
    (
        "us-ny-raise",
        None,
        {"weights_compromise_harm": "yes", "loss_of_control_harm": "yes"},
        "reportable",
        ("loss_of_control_harm", "weights_compromise_harm"),
        ("catastrophic_risk_materialised", "deceptive_subversion"),
        (),
        ("catastrophic_risk_materialised", "deceptive_subversion", "imminent_risk"),
    ),
    # New York RAISE, 2025 text kept for audit
    ("us-ny-raise", "2025-12-19", {"safety_incident": "yes"}, "reportable", ("safety_incident",), (), (), ()),
    ("us-ny-raise", "2025-12-19", {"safety_incident": "no"}, "not_reportable", (), (), (), ()),
    (
        "us-ny-raise",
        "2025-12-19",
        {"safety_incident": "unknown"},
        "undetermined",
        (),
        ("safety_incident",),
        (),
        ("safety_incident",),
    ),
    ("us-ny-raise", "2025-12-19", {}, "undetermined", (), ("safety_incident",), (), ("safety_incident",)),
    ("us-ny-raise", "2025-12-19", {"safety_incident": "yes"}, "reportable", ("safety_incident",), (), (), ()),
    # China CAC cybersecurity incidents
    (
        "cn-cac-cyber-incident",
        None,
        {"relatively_major": "yes", "cii_operator": "yes", "state_organ": "no", "suspected_crime": "no"},
        "reportable",
        ("cii_operator",),
        (),
        (),
        (),
    ),
    (
        "cn-cac-cyber-incident",
        None,
        {"relatively_major": "yes", "cii_operator": "yes", "state_organ": "yes", "suspected_crime": "no"},
        "reportable",
        ("cii_operator", "state_organ"),
        (),
        (),
        (),
    ),
    (
        "cn-cac-cyber-incident",
        None,
        {"relatively_major": "yes", "cii_operator": "no", "state_organ": "no", "suspected_crime": "yes"},
        "reportable",
        ("other_operator",),
        (),
        ("public-security",),
        (),
    ),
    (
        "cn-cac-cyber-incident",
        None,
        {"relatively_major": "no", "cii_operator": "yes", "suspected_crime": "yes"},
        "not_reportable",
        (),
        (),
        (),
        (),
    ),  # below the "relatively major" grade
    (
        "cn-cac-cyber-incident",
        None,
        {"relatively_major": "yes", "cii_operator": "unknown", "state_organ": "no", "suspected_crime": "no"},
        "reportable",
        (),
        ("cii_operator", "other_operator"),
        (),
        ("cii_operator",),
    ),
    # China Generative AI Interim Measures
    (
        "cn-genai-interim",
        None,
        {"illegal_content": "yes", "user_illegal_activity": "no"},
        "reportable",
        ("illegal_content",),
        (),
        (),
        (),
    ),
    (
        "cn-genai-interim",
        None,
        {"illegal_content": "no", "user_illegal_activity": "yes"},
        "reportable",
        ("user_illegal_activity",),
        (),
        (),
        (),
    ),
    (
        "cn-genai-interim",
        None,
        {"illegal_content": "no", "user_illegal_activity": "no"},
        "not_reportable",
        (),
        (),
        (),
        (),
    ),
    (
        "cn-genai-interim",
        None,
        {"illegal_content": "unknown", "user_illegal_activity": "no"},
        "undetermined",
        (),
        ("illegal_content",),
        (),
        ("illegal_content",),
    ),
    (
        "cn-genai-interim",
        None,
        {"illegal_content": "yes", "user_illegal_activity": "yes"},
        "reportable",
        ("illegal_content", "user_illegal_activity"),
        (),
        (),
        (),
    ),
    # US CIRCIA (proposed rule, not enabled; the engine still reads it)
    (
        "us-circia",
        None,
        {"covered_cyber_incident": "yes", "ransom_payment": "no"},
        "reportable",
        ("covered_cyber_incident",),
        (),
        (),
        (),
    ),
    (
        "us-circia",
        None,
        {"covered_cyber_incident": "yes", "ransom_payment": "yes"},
        "reportable",
        ("covered_cyber_incident",),
        (),
        ("ransom-24h",),
        (),
    ),
    (
        "us-circia",
        None,
        {"covered_cyber_incident": "no", "ransom_payment": "yes"},
        "reportable",
        ("ransom_payment",),
        (),
        (),
        (),
    ),
    (
        "us-circia",
        None,
        {"covered_cyber_incident": "no", "ransom_payment": "no"},
        "not_reportable",
        (),
        (),
        (),
        (),
    ),
    (
        "us-circia",
        None,
        {"covered_cyber_incident": "unknown", "ransom_payment": "yes"},
        "reportable",
        (),
        ("ransom_payment", "covered_cyber_incident"),
        (),
        ("covered_cyber_incident",),
    ),
]


@pytest.mark.parametrize(
    ("regime_id", "version", "answers", "outcome", "classes", "possible", "concurrent", "missing"),
    SCENARIOS,
    ids=[f"{s[0]}-{i}" for i, s in enumerate(SCENARIOS)],
)
def test_scenario(
    regime_id: str,
    version: str | None,
    answers: Mapping[str, Answer],
    outcome: str,
    classes: tuple[str, ...],
    possible: tuple[str, ...],
    concurrent: tuple[str, ...],
    missing: tuple[str, ...],
) -> None:
    r = regime(regime_id, version)
    result = assess(r, answers)
    assert (result.outcome, result.classes, result.possible_classes) == (outcome, classes, possible)
    assert result.concurrent_reports == concurrent
    assert result.missing == missing
    assert (result.regime_id, result.regime_version) == (r.id, r.version)
    assert result.rationale[0].startswith(
        {
            "reportable": "Reportable",
            "not_reportable": "Not reportable",
            "undetermined": "Possibly reportable",
        }[outcome]
    )
    for cid in classes:
        assert any(
            line.startswith(f"Class {cid} ") and "applies" in line and r.incident_class(cid).source in line
            for line in result.rationale
        )


def test_possible_concurrent_reports_are_kept_apart() -> None:
    result = assess(regime("us-ca-sb53"), {"loss_of_control_harm": "yes"})
    assert result.concurrent_reports == ()
    assert result.possible_concurrent_reports == ("imminent-24h",)
    assert "imminent_risk" in result.missing
    assert any(line.startswith("May also be due: imminent-24h") for line in result.rationale)


def test_cac_reportable_without_knowing_the_class_runs_every_possible_clock() -> None:
    result = assess(
        regime("cn-cac-cyber-incident"),
        {"relatively_major": "yes", "cii_operator": "unknown", "state_organ": "no"},
    )
    assert result.outcome == "reportable"  # some class applies whatever the CII answer is
    assert result.clock_classes == ("cii_operator", "other_operator")


def test_missing_answers_are_unknown_and_bad_answers_are_rejected() -> None:
    r = regime("eu-gpai-cop-c9")
    assert assess(r, {}) == assess(r, dict.fromkeys(r.question_ids(), "unknown"))
    with pytest.raises(ValueError, match="yes, no or unknown"):
        assess(r, {"death": "maybe"})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="not questions of eu-gpai-cop-c9"):
        assess(r, {"deaht": "yes"})


def test_assessment_is_deterministic_and_ignores_answer_order() -> None:
    r = regime("eu-ai-act-art73")
    answers: dict[str, Answer] = {"death": "yes", "causal_link": "unknown", "widespread_infringement": "no"}
    reordered: dict[str, Answer] = dict(reversed(list(answers.items())))
    assert assess(r, answers) == assess(r, reordered) == assess(r, answers)


@pytest.mark.parametrize(
    ("regime_id", "kinds", "places", "facts", "applies", "missing"),
    [
        (
            "eu-gpai-cop-c9",
            ["frontier_developer"],
            ["EU"],
            {"gpai_systemic_risk_provider": "yes", "signed_cop_safety_security": "yes"},
            "yes",
            (),
        ),
        (
            "eu-gpai-cop-c9",
            ["frontier_developer"],
            ["EU"],
            {"gpai_systemic_risk_provider": "yes", "signed_cop_safety_security": "no"},
            "no",
            (),
        ),
        (
            "eu-gpai-cop-c9",
            ["frontier_developer"],
            ["EU"],
            {"gpai_systemic_risk_provider": "yes"},
            "unknown",
            ("signed_cop_safety_security",),
        ),
        ("eu-gpai-cop-c9", ["authority"], ["EU"], {}, "no", ()),
        ("us-ca-sb53", ["frontier_developer"], ["US"], {"frontier_developer_1e26": "yes"}, "yes", ()),
        ("us-ca-sb53", ["frontier_developer"], ["EU"], {"frontier_developer_1e26": "yes"}, "no", ()),
        ("us-circia", ["frontier_developer"], ["US"], {"covered_entity": "yes"}, "no", ()),  # not enabled
    ],
)
def test_applicability(
    regime_id: str,
    kinds: list[str],
    places: list[str],
    facts: dict[str, Answer],
    applies: str,
    missing: tuple[str, ...],
) -> None:
    result = assess_applicability(regime(regime_id), org_kinds=kinds, jurisdictions=places, facts=facts)  # type: ignore[arg-type]
    assert (result.applies, result.missing_facts) == (applies, missing)
    assert result.rationale


def test_applicability_rejects_unknown_facts() -> None:
    with pytest.raises(ValueError, match="unknown facts"):
        assess_applicability(
            regime("us-ca-sb53"),
            org_kinds=["frontier_developer"],
            jurisdictions=["US-CA"],
            facts={"big": "yes"},
        )


def test_many_unknowns_fall_back_to_three_valued_logic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past EXACT_LIMIT unknowns the engine stops enumerating; it may then say "undetermined" where
    enumeration sees that some class applies either way, never the reverse."""
    from signalfire.reporting.rules import assessment_engine

    r = regime("cn-cac-cyber-incident")
    answers: dict[str, Answer] = {"relatively_major": "yes", "cii_operator": "unknown", "state_organ": "no"}
    exact = assess(r, answers)
    monkeypatch.setattr(assessment_engine, "EXACT_LIMIT", 0)
    kleene = assess(r, answers)
    assert (exact.outcome, kleene.outcome) == ("reportable", "undetermined")
    assert kleene.clock_classes == exact.clock_classes == ("cii_operator", "other_operator")
    assert kleene.missing == exact.missing == ("cii_operator", "suspected_crime")

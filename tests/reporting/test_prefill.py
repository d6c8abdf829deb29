"""Drafts are prefilled through the OECD criteria each regime file maps its fields to: every regime's
drafts start with the incident's description, and every criterion a file uses is either answered from
the incident record or deliberately left to the reporter."""

from __future__ import annotations

import time_machine
from sqlalchemy.orm import Session

from signalfire.reporting.facts import incident_facts
from signalfire.reporting.prefill import NOT_PREFILLABLE, OECD_SOURCES, PrefillContext, prefill
from signalfire.reporting.rules.regime_loader import load_all
from signalfire.reporting.rules.regime_schema import Regime
from signalfire.response import actions
from signalfire.response import service as response
from signalfire.response.models import TimelineKind
from signalfire.response.schemas import ActionCreate
from signalfire.response.vocab import ActionKind
from tests.reporting import factories as f
from tests.reporting.factories import utc
from tests.response import factories as rf

REGIMES = [r for versions in load_all().values() for r in versions]
SUMMARY = "A jailbreak produced harmful instructions."
# Per regime, the field that describes the incident and what it must at least say.
DESCRIPTION = {
    "eu-gpai-cop-c9": ("m3_chain_of_events", SUMMARY),
    "eu-ai-act-art73": ("what_happened", SUMMARY),
    "eu-ai-act-art55": ("incident_information", SUMMARY),
    "us-ca-sb53": ("plain_statement", SUMMARY),
    "us-ny-raise": ("plain_statement", SUMMARY),
    "cn-genai-interim": ("description", SUMMARY),
    "us-circia": ("incident_description", SUMMARY),
    "cn-cac-cyber-incident": ("c2_incident_facts", "became aware at 2026-09-01 08:00 UTC"),
}
# Criteria the demo incident answers (21, 22 and 29 read a post-incident review it has not had yet).
ANSWERED = set(OECD_SOURCES) - {21, 22, 29}


def drafts(db: Session) -> list[tuple[Regime, dict[str, str]]]:
    """Every regime's fields prefilled from one incident as the demo tells it."""
    with time_machine.travel(utc(2026, 9, 2, 12), tick=False):
        admin = f.developer(db)
        rf.model_version(db, admin, "aurora-large", "3.2")
        inc = f.incident(db, admin, aware_at=utc(2026, 9, 1, 8), affected_models=["aurora-large 3.2"], summary=SUMMARY)
        response.add_timeline_entry(
            db, admin, inc, kind=TimelineKind.EVIDENCE, body="Replay log #42 shows the prompt.", at=utc(2026, 9, 1, 9)
        )
        actions.create_action(db, admin, inc, ActionCreate(kind=ActionKind.SAFEGUARD_CHANGE, title="Block it"))
        facts = incident_facts(db, admin, inc)
    ctx = PrefillContext("Aurora Labs", "Ada <ada@aurora.example>")
    return [(r, prefill(r, [x.id for x in r.fields], facts, ctx)) for r in REGIMES]


def test_every_regime_starts_its_drafts_from_the_incident(db: Session) -> None:
    assert set(DESCRIPTION) == {r.id for r in REGIMES}
    for regime, values in drafts(db):
        field, said = DESCRIPTION[regime.id]
        assert field in regime.reports.initial.fields, regime.id
        assert said in values[field], (regime.id, regime.version, values[field])
        for spec in regime.fields:
            if spec.oecd is not None and ANSWERED & set(spec.oecd.criteria):
                assert values[spec.id].strip(), (regime.id, regime.version, spec.id)


def test_model_and_actions_reach_the_fields_that_ask_for_them(db: Session) -> None:
    values = {r.id: v for r, v in drafts(db)}
    assert values["eu-ai-act-art73"]["system_identification"] == "aurora-large 3.2"
    assert "Block it" in values["eu-ai-act-art73"]["remedial_actions"]
    assert "Block it" in values["eu-ai-act-art55"]["corrective_measures"]
    assert values["cn-cac-cyber-incident"]["c1_operator_system"].startswith("Aurora Labs; contact: Ada")
    assert "Replay log #42" in values["cn-cac-cyber-incident"]["c7_evidence"]
    assert values["eu-ai-act-art73"]["other_regimes"] == ""  # no honest OECD counterpart: left to the reporter


def test_every_criterion_a_file_uses_is_prefilled_or_deliberately_not() -> None:
    assert not set(OECD_SOURCES) & NOT_PREFILLABLE
    used = {c for r in REGIMES for spec in r.fields if spec.oecd is not None for c in spec.oecd.criteria}
    assert used - set(OECD_SOURCES) - NOT_PREFILLABLE == set()
    assert used >= NOT_PREFILLABLE  # nothing listed that no file needs

"""The governing class on a tie of due times: a class that applies beats one that only may apply
(deadlines.py, "earliest known due, then a class that applies over one that only may, then severity
rank, then file order"). Pinned through the public compute_obligations on a small regime file where
the class that only may apply is first in the file and of the stricter severity rank, so neither later
tie-break could pick the class that applies by accident."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from signalfire.reporting.rules.assessment_engine import assess
from signalfire.reporting.rules.deadlines import compute_obligations
from signalfire.reporting.rules.regime_loader import load_regime

REGIME = """\
schema_version: 1
id: tie-regime
version: "1"
title: "Tie regime"
kind: statute
enabled: true
source: "Tie Act"
effective_from: 2026-01-01
effective_basis: {source: "Tie Act s. 1", confidence: high}
time_zone: Europe/Brussels
applicability:
  org_kinds: [frontier_developer]
  jurisdictions: [EU]
  source: "Tie Act s. 2"
  confidence: high
recipients:
  - {id: office, name: "The Office", time_zone: Europe/Brussels, source: "Tie Act s. 3", confidence: high}
questions:
  - id: outage
    text: "Critical infrastructure disrupted?"
  - id: harm
    text: "Harm to a person?"
classes:
  - id: maybe_outage
    label: "Disruption of critical infrastructure"
    when: outage
    start: aware_of_incident
    deadline: P5D
    severity_rank: 1
    recipients: [office]
    source: "Tie Act s. 4"
    confidence: high
  - id: harm_done
    label: "Harm to a person"
    when: harm
    start: aware_of_incident
    deadline: P5D
    severity_rank: 2
    recipients: [office]
    source: "Tie Act s. 5"
    confidence: high
fields:
  - {id: what, label: "What happened", source: "Tie Act s. 6", confidence: high}
reports:
  initial: {fields: [what], incomplete_allowed: true, source: "Tie Act s. 7", confidence: high}
retention: {period: null, source: "none", confidence: low}
counting: {conservative: earliest_reading, legal: eu_1182_71, source: "Reg. 1182/71", confidence: medium}
"""

AWARE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_on_equal_due_the_class_that_applies_governs_over_one_that_only_may(tmp_path: Path) -> None:
    path = tmp_path / "tie-regime_1.yaml"
    path.write_text(REGIME, encoding="utf-8")
    regime = load_regime(path)
    result = assess(regime, {"outage": "unknown", "harm": "yes"})
    assert set(result.clock_classes) == {"maybe_outage", "harm_done"}  # both run a clock, due alike
    [initial] = compute_obligations(regime, result, {"aware_of_incident": AWARE})
    assert initial.class_id == "harm_done"
    assert initial.due_at == datetime(2026, 3, 7, 9, 0, tzinfo=UTC)
    assert "only possibly applies" not in initial.basis


def test_the_class_that_only_may_apply_still_governs_when_it_alone_is_due_first(tmp_path: Path) -> None:
    # The contrast case: with an earlier due, the possible class governs (the tie-break is only a tie-break).
    path = tmp_path / "tie-regime_1.yaml"
    path.write_text(
        REGIME.replace("deadline: P5D\n    severity_rank: 1", "deadline: P3D\n    severity_rank: 1"), "utf-8"
    )
    regime = load_regime(path)
    [initial] = compute_obligations(
        regime, assess(regime, {"outage": "unknown", "harm": "yes"}), {"aware_of_incident": AWARE}
    )
    assert (initial.class_id, initial.due_at) == ("maybe_outage", datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    assert "only possibly applies" in initial.basis

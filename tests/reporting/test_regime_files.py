"""The packaged regime files: they load, say what regimes.md says, and bad files fail by file and line."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from signalfire.reporting.regimes import REGIMES_DIR
from signalfire.reporting.rules import clock_events
from signalfire.reporting.rules.regime_loader import RegimeFileError, load_all, load_regime, regime_in_force
from signalfire.reporting.rules.regime_schema import IsoDuration, Regime, Sourced

REGIMES = load_all()
PACKAGE = Path(clock_events.__file__).resolve().parent


def only(regime_id: str) -> Regime:
    """The latest version of a regime."""
    return REGIMES[regime_id][-1]


def deadlines(regime: Regime) -> dict[str, str]:
    return {c.id: str(c.deadline) for c in regime.classes}


# -- the packaged files --------------------------------------------------------------------------------


def test_every_file_loads_and_is_named_for_its_id_and_version() -> None:
    files = sorted(p.name for p in REGIMES_DIR.glob("*.yaml"))
    loaded = sorted(f"{r.id}_{r.version}.yaml" for versions in REGIMES.values() for r in versions)
    assert files == loaded
    assert set(REGIMES) == {
        "eu-gpai-cop-c9",
        "eu-ai-act-art73",
        "eu-ai-act-art55",
        "us-ca-sb53",
        "us-ny-raise",
        "cn-cac-cyber-incident",
        "cn-genai-interim",
        "us-circia",
    }
    assert [r.version for r in REGIMES["us-ny-raise"]] == ["2025-12-19", "2026-03-27"]


def test_every_number_carries_a_source_and_a_confidence() -> None:
    for versions in REGIMES.values():
        for r in versions:
            rules: list[Sourced] = [r.effective_basis, r.retention, r.counting, r.reports.initial]
            rules += [*r.classes, *r.recipients]
            rules += [s for s in (r.reports.updates, r.reports.final, r.reports.summary) if s is not None]
            rules += [*r.reports.concurrent, *r.fields, *r.interpretations, *r.related_duties]
            rules += [c.immediately for c in r.classes if c.immediately is not None]
            rules += [f.oecd for f in r.fields if f.oecd is not None]
            for rule in rules:
                assert rule.source.strip(), (r.id, rule)
                assert rule.confidence in ("high", "medium", "low"), (r.id, rule)


def test_no_code_names_a_regime() -> None:
    """A new regime is a new file plus tests: the engine must not branch on a regime id."""
    ids = list(REGIMES)
    for source in PACKAGE.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        named = [i for i in ids if i in text]
        assert not named, f"{source.name} names {named}"


def test_the_schema_exports_as_json_schema() -> None:
    schema = Regime.model_json_schema()
    assert schema["additionalProperties"] is False
    json.dumps(schema)


def test_code_of_practice_matches_commitment_9() -> None:
    r = only("eu-gpai-cop-c9")
    assert r.version == "2025-07-10"  # not the March 2025 draft
    assert r.kind == "code_of_practice"
    assert deadlines(r) == {
        "ci_disruption": "P2D",
        "cyber_breach": "P5D",
        "death": "P10D",
        "serious_harm": "P15D",
    }
    assert {clock_events.render(c.start) for c in r.classes} == {"aware_of_model_involvement"}
    assert [c.severity_rank for c in r.classes] == [1, 2, 3, 4]
    assert r.reports.updates is not None and str(r.reports.updates.every) == "P4W"
    assert clock_events.render(r.reports.updates.anchor) == "initial_report_sent"
    assert r.reports.final is not None and str(r.reports.final.deadline) == "P60D"
    assert len(r.reports.initial.fields) == 7 and len(r.reports.final.fields) == 9
    assert r.reports.initial.incomplete_allowed
    assert str(r.retention.period) == "P5Y"
    assert r.retention.start is not None
    assert clock_events.render(r.retention.start) == "latest_of(documented, occurred)"
    oecd = {f.id: f.oecd.criteria for f in r.fields if f.oecd is not None}
    assert oecd["m1_dates"] == [5] and oecd["m2_harm"] == [10, 11, 12, 14] and oecd["m5_evidence"] == [3, 7]
    assert r.counting.legal == "eu_1182_71"
    assert r.effective_from == date(2025, 8, 2)
    assert {i.id for i in r.interpretations} >= {"cyber_without_harm", "update_grid", "strictest_class"}


def test_art_73_matches_the_act() -> None:
    r = only("eu-ai-act-art73")
    assert deadlines(r) == {
        "ci_disruption": "P2D",
        "widespread_infringement": "P2D",
        "death": "P10D",
        "other_serious": "P15D",
    }
    for c in r.classes:
        assert clock_events.render(c.start) == "aware_of_incident"
        assert c.immediately is not None
        assert clock_events.render(c.immediately.trigger) == "earliest_of(causal_link_suspected, causal_link_confirmed)"
    assert r.reports.updates is None and r.reports.final is None  # no cadence, no clocked final
    assert r.retention.period is None
    assert r.effective_from == date(2026, 8, 2)


def test_art_55_has_no_number_only_an_org_sla() -> None:
    r = only("eu-ai-act-art55")
    assert deadlines(r) == {"serious_incident": "org_sla"}
    assert r.applicability.requires == "gpai_systemic_risk_provider"


def test_sb53_has_the_15_day_report_and_the_24_hour_disclosure() -> None:
    r = only("us-ca-sb53")
    assert set(deadlines(r).values()) == {"P15D"} and len(r.classes) == 4
    assert {clock_events.render(c.start) for c in r.classes} == {"discovered"}
    (imminent,) = r.reports.concurrent
    assert (imminent.id, str(imminent.deadline), imminent.recipients) == (
        "imminent-24h",
        "PT24H",
        ["ca_public_safety"],
    )
    assert r.retention.period is None and r.retention.confidence == "high"
    assert r.effective_from == date(2026, 1, 1)


def test_raise_amended_text_and_the_superseded_one() -> None:
    old, new = REGIMES["us-ny-raise"]
    assert (new.version, new.effective_from, new.enabled) == ("2026-03-27", date(2027, 1, 1), True)
    assert set(deadlines(new).values()) == {"PT72H"}
    assert {clock_events.render(c.start) for c in new.classes} == {"earliest_of(determined, reasonable_belief)"}
    assert [(c.id, str(c.deadline)) for c in new.reports.concurrent] == [("imminent-24h", "PT24H")]
    assert (old.version, old.enabled, old.effective_to) == ("2025-12-19", False, date(2026, 3, 27))
    assert old.classes[0].recipients == ["ny_attorney_general", "ny_dhses"]


def test_cac_hour_clocks_and_the_summary() -> None:
    r = only("cn-cac-cyber-incident")
    assert deadlines(r) == {"cii_operator": "PT1H", "state_organ": "PT2H", "other_operator": "PT4H"}
    assert r.reports.summary is not None and str(r.reports.summary.deadline) == "P30D"
    assert clock_events.render(r.reports.summary.anchor) == "handling_ended"
    assert r.reports.initial.minimum_fields == ["c1_operator_system", "c2_incident_facts"]
    assert r.reports.concurrent[0].deadline.kind == "with_initial"


def test_genai_interim_measures_use_an_org_sla() -> None:
    r = only("cn-genai-interim")
    assert set(deadlines(r).values()) == {"org_sla"}


def test_circia_is_present_but_not_enabled() -> None:
    r = only("us-circia")
    assert (r.enabled, r.effective_from, r.kind) == (False, None, "proposed_rule")
    assert deadlines(r) == {"covered_cyber_incident": "PT72H", "ransom_payment": "PT24H"}
    assert str(r.retention.period) == "P2Y"


# -- version in force --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regime_id", "at", "expected"),
    [
        ("us-ny-raise", datetime(2026, 6, 1, tzinfo=UTC), None),  # old text disabled, new not yet in force
        ("us-ny-raise", datetime(2027, 1, 1, 4, 59, tzinfo=UTC), None),  # still 31 Dec in New York
        ("us-ny-raise", datetime(2027, 1, 1, 5, 0, tzinfo=UTC), "2026-03-27"),
        ("eu-gpai-cop-c9", datetime(2025, 8, 1, 22, 30, tzinfo=UTC), "2025-07-10"),  # 00:30 in Brussels
        ("eu-gpai-cop-c9", datetime(2025, 8, 1, 21, 59, tzinfo=UTC), None),
        ("us-circia", datetime(2030, 1, 1, tzinfo=UTC), None),
        ("no-such-regime", datetime(2030, 1, 1, tzinfo=UTC), None),
    ],
)
def test_regime_in_force(regime_id: str, at: datetime, expected: str | None) -> None:
    found = regime_in_force(REGIMES, regime_id, at)
    assert (found.version if found else None) == expected


def test_disabled_versions_are_visible_for_audit_only_on_request() -> None:
    at = datetime(2026, 1, 10, tzinfo=UTC)
    assert regime_in_force(REGIMES, "us-ny-raise", at) is None
    audit = regime_in_force(REGIMES, "us-ny-raise", at, include_disabled=True)
    assert audit is not None and audit.version == "2025-12-19"
    with pytest.raises(ValueError, match="aware"):
        regime_in_force(REGIMES, "us-ny-raise", datetime(2026, 1, 10))  # noqa: DTZ001 - the point of the test


def test_iso_durations() -> None:
    assert IsoDuration.parse("P1Y2M3W4DT5H6M7S").times(2) == IsoDuration(2, 4, 6, 8, 10, 12, 14)
    assert str(IsoDuration.parse("PT24H")) == "PT24H"
    assert IsoDuration.parse("P1M").shift_date(date(2026, 1, 31)) == date(2026, 2, 28)
    assert IsoDuration.parse("P1M").add_elapsed(datetime(2024, 1, 31, 12, tzinfo=UTC)) == datetime(
        2024, 2, 29, 12, tzinfo=UTC
    )
    for bad in ("P", "PT", "P1DT", "2D", "P1.5D"):
        with pytest.raises(ValueError, match="not an ISO 8601 duration"):
            IsoDuration.parse(bad)


# -- bad files ---------------------------------------------------------------------------------------

MINIMAL = """\
schema_version: 1
id: test-regime
version: "1"
title: "Test regime"
kind: statute
enabled: true
source: "Test Act"
effective_from: 2026-01-01
effective_basis: {source: "Test Act s. 1", confidence: high}
time_zone: Europe/Brussels
applicability:
  org_kinds: [frontier_developer]
  jurisdictions: [EU]
  source: "Test Act s. 2"
  confidence: high
recipients:
  - {id: office, name: "The Office", time_zone: Europe/Brussels, source: "Test Act s. 3", confidence: high}
questions:
  - id: harm
    text: "Harm?"
  - id: death
    text: "Death?"
classes:
  - id: fatal
    label: "Death"
    when:
      all:
        - harm
        - death
    start: aware_of_incident
    deadline: P2D
    severity_rank: 1
    recipients: [office]
    source: "Test Act s. 4"
    confidence: high
  - id: harmful
    label: "Harm"
    when: harm
    start: aware_of_incident
    deadline: P10D
    severity_rank: 2
    recipients: [office]
    source: "Test Act s. 5"
    confidence: high
fields:
  - {id: what, label: "What happened", source: "Test Act s. 6", confidence: high}
reports:
  initial: {fields: [what], incomplete_allowed: true, source: "Test Act s. 7", confidence: high}
retention: {period: null, source: "none", confidence: low}
counting: {conservative: earliest_reading, legal: eu_1182_71, source: "Reg. 1182/71", confidence: medium}
"""


def write(tmp_path: Path, text: str, name: str = "test-regime_1.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    return lines[occurrence - 1]


def expect_error(path: Path, line: int, *fragments: str) -> RegimeFileError:
    with pytest.raises(RegimeFileError) as caught:
        load_regime(path)
    err = caught.value
    assert err.path == path
    assert str(err).startswith(f"{path}:{line}: ")
    for fragment in fragments:
        assert fragment in err.message, err.message
    return err


def test_the_minimal_file_is_valid(tmp_path: Path) -> None:
    assert load_regime(write(tmp_path, MINIMAL)).classes[1].id == "harmful"


def test_unknown_top_level_field(tmp_path: Path) -> None:
    text = MINIMAL.replace("kind: statute\n", "kind: statute\ncolour: red\n")
    expect_error(write(tmp_path, text), line_of(text, "colour: red"), "unknown field 'colour'")


def test_unknown_field_inside_a_class(tmp_path: Path) -> None:
    text = MINIMAL.replace("    deadline: P10D\n", "    deadline: P10D\n    dealine_note: typo\n")
    expect_error(write(tmp_path, text), line_of(text, "dealine_note"), "classes[1].dealine_note", "unknown field")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("-P2D", "must be positive"),
        ("P0D", "must be positive"),
        ("PT0H", "must be positive"),
        ("2 days", "not an ISO 8601"),
        ("P1DT2H", "not both"),
        ("null", "required"),
    ],
)
def test_bad_deadline(tmp_path: Path, value: str, fragment: str) -> None:
    text = MINIMAL.replace("deadline: P2D", f"deadline: {value}")
    expect_error(write(tmp_path, text), line_of(text, f"deadline: {value}"), "classes[0].deadline", fragment)


def test_missing_deadline(tmp_path: Path) -> None:
    text = MINIMAL.replace("    deadline: P10D\n", "")
    expect_error(write(tmp_path, text), line_of(text, "- id: harmful"), "classes[1].deadline", "Field required")


def test_class_without_source(tmp_path: Path) -> None:
    text = MINIMAL.replace('    source: "Test Act s. 4"\n', "")
    expect_error(write(tmp_path, text), line_of(text, "- id: fatal"), "classes[0].source", "Field required")


def test_class_with_an_empty_source(tmp_path: Path) -> None:
    text = MINIMAL.replace('    source: "Test Act s. 4"\n', '    source: "  "\n')
    expect_error(write(tmp_path, text), line_of(text, 'source: "  "'), "classes[0].source")


def test_unknown_question_in_a_criterion(tmp_path: Path) -> None:
    text = MINIMAL.replace("        - death\n", "        - deaht\n")
    expect_error(write(tmp_path, text), line_of(text, "- deaht"), "unknown question 'deaht'", "classes[0].when")


def test_unknown_clock_start_event(tmp_path: Path) -> None:
    text = MINIMAL.replace("    start: aware_of_incident\n    deadline: P10D", "    start: noticed\n    deadline: P10D")
    expect_error(write(tmp_path, text), line_of(text, "start: noticed"), "unknown clock event 'noticed'")


def test_unknown_event_inside_an_expression(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "    start: aware_of_incident\n    deadline: P2D",
        "    start: {earliest_of: [discovered, guessed]}\n    deadline: P2D",
    )
    expect_error(write(tmp_path, text), line_of(text, "guessed"), "unknown clock event 'guessed'")


def test_unknown_recipient_and_field_references(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        '    recipients: [office]\n    source: "Test Act s. 5"',
        '    recipients: [ofice]\n    source: "Test Act s. 5"',
    )
    text = text.replace("initial: {fields: [what]", "initial: {fields: [who]")
    err = expect_error(write(tmp_path, text), line_of(text, "[ofice]"), "unknown recipient 'ofice'")
    assert [line for line, _ in err.issues] == [line_of(text, "[ofice]"), line_of(text, "fields: [who]")]


def test_a_stricter_class_with_a_longer_deadline(tmp_path: Path) -> None:
    text = MINIMAL.replace("deadline: P2D", "deadline: P20D")
    expect_error(write(tmp_path, text), line_of(text, "severity_rank: 1"), "ranks stricter", "P20D")


def test_duplicate_ids_and_keys(tmp_path: Path) -> None:
    text = MINIMAL.replace("  - id: death\n", "  - id: harm\n")
    expect_error(write(tmp_path, text), line_of(text, "- id: harm", 2), "duplicate id 'harm'")
    text = MINIMAL.replace('title: "Test regime"\n', 'title: "Test regime"\ntitle: "Again"\n')
    expect_error(write(tmp_path, text), line_of(text, "Again"), "duplicate key 'title'")


def test_wrong_types_and_invalid_yaml(tmp_path: Path) -> None:
    text = MINIMAL.replace('version: "1"', "version: 2026-01-01")
    expect_error(write(tmp_path, text), line_of(text, "version: 2026"), "version")
    text = MINIMAL.replace("time_zone: Europe/Brussels\napp", "time_zone: Mars/Olympus\napp")
    expect_error(write(tmp_path, text), line_of(text, "Mars/Olympus"), "unknown IANA time zone")
    text = MINIMAL.replace("  org_kinds: [frontier_developer]", "  org_kinds: [frontier_developer")
    with pytest.raises(RegimeFileError, match="invalid YAML"):
        load_regime(write(tmp_path, text))
    with pytest.raises(RegimeFileError, match="YAML mapping"):
        load_regime(write(tmp_path, "- just a list\n"))


def test_reserved_stage_name_for_a_concurrent_report(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "  initial: {fields",
        "  concurrent:\n    - {id: final, label: x, when: harm, start: discovered, deadline: PT1H,"
        ' recipients: [office], source: "s", confidence: low}\n  initial: {fields',
    )
    expect_error(write(tmp_path, text), line_of(text, "id: final"), "reserved")


def test_load_all_checks_names_versions_and_overlaps(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL)
    assert [r.version for r in load_all(tmp_path)["test-regime"]] == ["1"]

    second = MINIMAL.replace('version: "1"', 'version: "2"').replace(
        "effective_from: 2026-01-01", "effective_from: 2026-06-01"
    )
    path = write(tmp_path, second, "test-regime_2.yaml")
    with pytest.raises(RegimeFileError, match="overlaps version 1") as caught:
        load_all(tmp_path)
    assert (caught.value.path, caught.value.line) == (path, line_of(second, "effective_from"))

    write(
        tmp_path,
        MINIMAL.replace("effective_from: 2026-01-01", "effective_from: 2026-01-01\neffective_to: 2026-06-01"),
    )
    versions = load_all(tmp_path)["test-regime"]
    assert [r.version for r in versions] == ["1", "2"]
    assert (
        regime_in_force({"test-regime": versions}, "test-regime", datetime(2026, 5, 31, 21, 59, tzinfo=UTC))
        == versions[0]
    )
    assert (
        regime_in_force({"test-regime": versions}, "test-regime", datetime(2026, 5, 31, 22, 0, tzinfo=UTC))
        == versions[1]
    )

    misnamed = write(tmp_path, MINIMAL.replace('version: "1"', 'version: "3"'), "other-name.yaml")
    with pytest.raises(RegimeFileError, match=r"file name must be test-regime_3\.yaml") as caught:
        load_all(tmp_path)
    assert caught.value.path == misnamed

"""Pre-publication screening: the shipped rules, benign texts, redaction, identifier stripping, limits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signalfire.exchange.screening import (
    KINDS,
    MAX_FINDINGS_PER_RULE,
    MAX_SCREEN_CHARS,
    Finding,
    Rule,
    RuleFileError,
    ScreeningInputTooLarge,
    default_rules,
    load_rules,
    redact,
    screen,
    strip_internal_identifiers,
)

RULES = default_rules()


def test_shipped_rules_cover_every_kind_and_carry_examples() -> None:
    assert {rule.kind for rule in RULES} == set(KINDS)
    assert len({rule.id for rule in RULES}) == len(RULES)
    for rule in RULES:
        assert rule.examples.match, f"{rule.id} has no positive example"
        assert rule.examples.no_match, f"{rule.id} has no negative example"
        assert rule.id.split(".")[0] in {"pii", "secret", "antitrust"}


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_each_rule_matches_its_examples(rule: Rule) -> None:
    for text in rule.examples.match:
        assert list(rule.matches(text)), f"{rule.id} should match {text!r}"
    for text in rule.examples.no_match:
        hits = [text[start:end] for start, end in rule.matches(text)]
        assert not hits, f"{rule.id} should not match {text!r}, found {hits}"


BENIGN_TEXTS = {
    "jailbreak": (
        "A multi-turn jailbreak chains role-play with base64-encoded instructions (AML.T0054, "
        "LLM01:2025) and gets harmful completions from GPT-4-class models. It was first seen in March "
        "2025 and takes 5-8 turns. Success rate was 37% across 1,200 attempts. Mitigation: add an output "
        "classifier, rate-limit repeated refusals and rotate API keys as a precaution. Bearer tokens were "
        "not affected."
    ),
    "poisoning": (
        "Poisoned samples in a public fine-tuning dataset make the model emit a backdoor trigger. Loader "
        "version 2.3.1 is affected (CVE-2025-12345, CWE-502). We evaluated on 8 A100 GPUs over 3 days. "
        "Sample hash (SHA-256): 3f786850e387550fdab836ed7e6dc881de23001b9e7ff0f6e29b1b84f3b5b1d2. STIX "
        "id: indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f. See "
        "https://atlas.mitre.org/techniques/AML.T0020."
    ),
    "threat": (
        "An actor used stolen developer credentials to query model weights storage. Infrastructure was "
        "in the documentation range 203.0.113.7; the internal jump host was 10.0.3.4. Customers of the "
        "API were exposed and client-side validation failed. Compensating controls were applied. Report "
        "issues to security@example.com or psirt@acme-ai.com."
    ),
    "capability": (
        "In a sandboxed evaluation the model chained three known weaknesses without step-by-step "
        "guidance. The context window capacity is 128k tokens. We will launch the evaluation harness for "
        "members, and the attacker launched a campaign against the free tier.\n\nThanks,\nThe Security Team"
    ),
    "mitigation": (
        "Retrain the refusal classifier on 2,000 synthetic prompts; deploy the patched tokenizer (v3.2.0) "
        "to all endpoints; api_key = os.environ['KEY'] must never be logged."
    ),
}


@pytest.mark.parametrize("name", BENIGN_TEXTS)
def test_benign_security_texts_raise_no_findings(name: str) -> None:
    assert screen({"details": BENIGN_TEXTS[name]}) == []


def test_a_careless_text_is_caught_with_exact_offsets() -> None:
    details = (
        "Dr. Jane Smith (jane.smith@acme-ai.com, +1 415 555 0100) found it with key "
        "sk-proj-4fT9qLm2Xv8Vb7Nz1Rw5Ky3Hp6Jd0Sg. We plan to bring 50,000 H100s online by 2026 "
        "and move to $2.50 per million tokens.\nBest regards,\nJane Smith"
    )
    findings = screen({"title": "Role-play jailbreak", "details": details})
    assert {f.field for f in findings} == {"details"}
    by_rule = {f.rule_id: f for f in findings}
    expected = {
        "pii.person_with_title": "Dr. Jane Smith",
        "pii.email_address": "jane.smith@acme-ai.com",
        "pii.phone_international": "+1 415 555 0100",
        "secret.openai_style_api_key": "sk-proj-4fT9qLm2Xv8Vb7Nz1Rw5Ky3Hp6Jd0Sg",
        "antitrust.accelerator_plans": "plan to bring 50,000 H100s",
        "antitrust.price_amount": "$2.50 per million tokens",
        "pii.signature_block": "Best regards,\nJane Smith",
    }
    assert set(by_rule) == set(expected)
    for rule_id, text in expected.items():
        finding = by_rule[rule_id]
        assert details[finding.start : finding.end] == text
    assert [f.start for f in findings] == sorted(f.start for f in findings)
    kinds = {f.rule_id: f.kind for f in findings}
    assert kinds["secret.openai_style_api_key"] == "secret"
    assert kinds["antitrust.price_amount"] == "antitrust"


def test_secret_excerpts_are_masked() -> None:
    key = "ghp_R8vT2kW9nB3cY6hJ1dF5gA0sXq7PzL2mQ4eU"
    (finding,) = screen({"summary": f"token {key} was leaked"})
    assert finding.kind == "secret"
    assert key not in finding.excerpt
    assert finding.excerpt == f"ghp_… ({len(key)} characters)"


def test_overlapping_rules_of_one_kind_report_once() -> None:
    key = "sk-ant-api03-Xq7PzL2mR9vT4kW8nB3cY6hJ1dF5gA0s"
    findings = screen({"details": f"Authorization: {key}"})
    assert [f.rule_id for f in findings] == ["secret.anthropic_api_key"]


def test_findings_per_rule_are_capped() -> None:
    text = " ".join(f"user{n}@acme-ai.com" for n in range(MAX_FINDINGS_PER_RULE + 20))
    assert len(screen({"details": text})) == MAX_FINDINGS_PER_RULE


def test_redact_replaces_each_span_by_its_kind() -> None:
    text = "Mail jane.smith@acme-ai.com the key AKIAQ3EGUKXA7ZB5KWTR and our pricing plan."
    findings = screen({"details": text, "title": "unrelated jane.smith@acme-ai.com"})
    redacted = redact(text, findings, field="details")
    assert redacted == ("Mail [personal data removed] the key [secret removed] and [commercial detail removed] plan.")
    assert screen({"details": redacted}) == []


def test_redact_merges_overlaps_and_prefers_the_secret_placeholder() -> None:
    text = "abcdefghij"
    findings = [
        Finding("a", "personal_data", "f", 1, 5, "", ""),
        Finding("b", "secret", "f", 3, 8, "", ""),
    ]
    assert redact(text, findings) == "a[secret removed]ij"
    with pytest.raises(ValueError, match="outside the text"):
        redact("short", [Finding("a", "secret", "f", 2, 50, "", "")])


def test_strip_internal_identifiers_uses_stable_numbered_placeholders() -> None:
    identifiers = [
        "INC-2026-0007",
        "build-07.corp.internal",
        "db.build-07.corp.internal",
        "ops.lead@acme-ai.com",
    ]
    text = (
        "During inc-2026-0007 the host build-07.corp.internal and db.build-07.corp.internal were reached; "
        "ops.lead@acme-ai.com paged. INC-2026-00071 is unrelated. Root cause on build-07.corp.internal."
    )
    assert strip_internal_identifiers(text, identifiers) == (
        "During [incident-1] the host [host-1] and [host-2] were reached; "
        "[email-1] paged. INC-2026-00071 is unrelated. Root cause on [host-1]."
    )
    assert strip_internal_identifiers("see TICKET42", ["TICKET42", " ", ""]) == "see [internal-id-1]"
    assert strip_internal_identifiers("nothing to strip", []) == "nothing to strip"


def test_input_over_the_cap_is_refused_not_partly_screened() -> None:
    with pytest.raises(ScreeningInputTooLarge, match="limit"):
        screen({"a": "x" * (MAX_SCREEN_CHARS // 2), "b": "y" * (MAX_SCREEN_CHARS // 2 + 1)})


@pytest.mark.parametrize(
    "text",
    [
        "a" * MAX_SCREEN_CHARS,
        "1-" * (MAX_SCREEN_CHARS // 2),
        "1 " * (MAX_SCREEN_CHARS // 2),
        "Dr. " * (MAX_SCREEN_CHARS // 4),
        "$1 price " * (MAX_SCREEN_CHARS // 9),
    ],
    ids=["letters", "dash-digits", "space-digits", "titles", "prices"],
)
def test_runtime_is_bounded_on_hostile_input(text: str) -> None:
    started = time.perf_counter()
    screen({"details": text})
    # A bound against catastrophic backtracking, not a speed test: linear scans take well under a second
    # here, a quadratic pattern minutes; the margin keeps a loaded CI machine from failing it.
    assert time.perf_counter() - started < 30


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_screen_and_redact_hold_for_any_text(text: str) -> None:
    findings = screen({"details": text})
    for finding in findings:
        assert 0 <= finding.start < finding.end <= len(text)
    cleaned = redact(text, findings)
    assert not [f for f in screen({"details": cleaned}) if f.kind == "secret"]


def _write(directory: Path, body: str) -> Path:
    (directory / "rules.yaml").write_text(body, encoding="utf-8")
    return directory


def test_custom_rule_directories_load_and_screen(tmp_path: Path) -> None:
    rules = load_rules(
        _write(
            tmp_path,
            """
kind: antitrust
rules:
  - id: custom.codename
    label: Codename
    type: terms
    terms: [project nightjar]
    message: An unreleased product codename.
    examples: {match: ["Project Nightjar"], no_match: ["nightjar"]}
  - id: custom.near
    label: Near
    type: near
    terms: [merger]
    near: ['re:\\b20\\d\\d\\b']
    window: 3
    message: Deal timing.
""",
        )
    )
    findings = screen({"t": "Project  Nightjar and the merger in 2027"}, rules=rules)
    assert [(f.rule_id, f.excerpt) for f in findings] == [
        ("custom.codename", "Project Nightjar"),
        ("custom.near", "merger in 2027"),
    ]
    assert screen({"t": "project, nightjar"}, rules=rules) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("kind: other\nrules: []\n", "needs 'kind'"),
        ("kind: secret\nrules:\n  - {id: a, label: A, message: M, type: magic}\n", "unknown rule type"),
        (
            "kind: secret\nrules:\n  - {id: a, label: A, message: M, type: regex, pattern: '(', x: 1}\n",
            "unknown keys",
        ),
        (
            "kind: secret\nrules:\n  - {id: a, label: A, message: M, type: regex, pattern: '('}\n",
            "bad pattern",
        ),
        (
            "kind: secret\nrules:\n  - {id: a, label: A, message: M, type: regex, pattern: a, validator: nope}\n",
            "unknown validator",
        ),
        (
            "kind: secret\nrules:\n  - {id: a, label: A, message: M, type: near, terms: [a], near: [b]}\n",
            "window",
        ),
        (
            "kind: secret\nrules:\n  - {id: a, label: '', message: M, type: terms, terms: [a]}\n",
            "'label' is required",
        ),
        (
            "kind: secret\nrules:\n  - {id: a, label: A, message: M, type: terms, terms: [a]}\n"
            "  - {id: a, label: A, message: M, type: terms, terms: [b]}\n",
            "duplicate rule ids",
        ),
    ],
)
def test_malformed_rule_files_are_refused(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(RuleFileError, match=message):
        load_rules(_write(tmp_path, body))

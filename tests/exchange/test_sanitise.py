"""The sanitiser removes every identifier class from a lesson's text (expected outputs written by hand)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from signalfire.exchange.sanitise import SanitiseContext, sanitise, sanitise_fields

CTX = SanitiseContext(
    names=("Jane Okafor", "Tomas Reyes"),
    customers=("Initech",),
    domains=("acme-ai.com",),
    identifiers=("Project Bluebird",),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # incident reference (response.lifecycle format)
        ("Opened as INC-2026-0007 at night.", "Opened as [incident-ref-1] at night."),
        # intake receipt reference
        ("Came in as SF-R-7K2M-9QXD from a user.", "Came in as [intake-ref-1] from a user."),
        # alert fingerprints: Alertmanager hex and Signalfire's labels hash
        ("Alert 3f9a2c1d7e8b4a60 fired twice.", "Alert [alert-fingerprint-1] fired twice."),
        (
            "Key labels:0123456789abcdef0123456789abcdef was reused.",
            "Key [alert-fingerprint-1] was reused.",
        ),
        # alert labels: generic keys keep the key, others go entirely
        ("Firing with env=prod and team_bluebird=oncall.", "Firing with env=[redacted] and [label-1]."),
        # hostnames: internal suffix, node naming, the org's own domain
        (
            "Traffic hit gpu-node-17 and db.corp then vault.acme-ai.com.",
            "Traffic hit [host-1] and [host-2] then [host-3].",
        ),
        # internal URL (public ones stay)
        (
            "See https://grafana.acme-ai.com/d/x1 and https://atlas.mitre.org/techniques/AML.T0051 for context.",
            "See [internal-url-1] and https://atlas.mitre.org/techniques/AML.T0051 for context.",
        ),
        ("Logs at http://10.0.4.2:3000/explore today.", "Logs at [internal-url-1] today."),
        # model version strings
        ("The regression was in acme-lm-4.2.1 only.", "The regression was in [model-version-1] only."),
        ("Rolled back to checkpoint ckpt-184000 quickly.", "Rolled back to checkpoint [model-version-1] quickly."),
        ("Served by model 7.3 since Monday.", "Served by model [model-version-1] since Monday."),
        # people: the org's users (full and surname), titled and labelled names
        (
            "Jane Okafor paged the on-call; Okafor then wrote it up.",
            "[person-1] paged the on-call; [person-2] then wrote it up.",
        ),
        ("Confirmed by Dr. Alan Grant.", "Confirmed by [person-1]."),
        ("Reported by Maria Lindqvist on Monday.", "Reported by [person-1] on Monday."),
        # customers: known and labelled
        ("Initech saw the outage first.", "[customer-1] saw the outage first."),
        ("The customer Globex Corp complained.", "The customer [customer-1] complained."),
        # contact details and addresses
        ("Write to jane.okafor@acme-ai.com now.", "Write to [email-1] now."),
        ("Call +44 20 7946 0958 for access.", "Call [phone-1] for access."),
        ("Requests came from 203.0.113.9 and 10.1.2.3.", "Requests came from [ip-1] and [ip-2]."),
        # literal identifiers the person listed
        ("Project Bluebird was affected.", "[internal-id-1] was affected."),
    ],
)
def test_each_identifier_class_is_removed(text: str, expected: str) -> None:
    assert sanitise(text, CTX).fields["text"] == expected


def test_public_safety_content_is_kept() -> None:
    text = (
        "A prompt injection (AML.T0051) in retrieved web pages bypassed the filter; CVE-2024-3094 and CWE-77 "
        "are related. Rate limiting at 20 requests per minute helped."
    )
    result = sanitise(text, CTX)
    assert result.fields["text"] == text
    assert result.changes == []


def test_a_whole_lesson_keeps_one_placeholder_per_identifier_across_fields() -> None:
    fields = {
        "title": "Lesson learned: INC-2026-0042 jailbreak on acme-lm-4.2.1",
        "summary": (
            "Alert 9c4e1a7b2d3f5e60 (env=prod, severity=critical) fired on inference-prod-03.acme.internal; "
            "Tomas Reyes escalated INC-2026-0042 to jane.okafor@acme-ai.com."
        ),
        "details": "Root cause\nacme-lm-4.2.1 ignored the system prompt when served from 10.20.30.40.",
    }
    result = sanitise_fields(fields, CTX)
    assert result.fields == {
        "title": "Lesson learned: [incident-ref-1] jailbreak on [model-version-1]",
        "summary": (
            "Alert [alert-fingerprint-1] (env=[redacted], severity=[redacted]) fired on [host-1]; "
            "[person-1] escalated [incident-ref-1] to [email-1]."
        ),
        "details": "Root cause\n[model-version-1] ignored the system prompt when served from [ip-1].",
    }
    first = result.changes[0]
    assert (first.field, first.start, first.end, first.original, first.entity, first.replacement) == (
        "title",
        16,
        29,
        "INC-2026-0042",
        "INCIDENT_REF",
        "[incident-ref-1]",
    )
    # Every change's span points at its original text in the original field.
    for change in result.changes:
        assert fields[change.field][change.start : change.end] == change.original
    assert len(result.changes) == 11  # title 2, summary 7, details 2


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "sanitise_quality.py"
    spec = importlib.util.spec_from_file_location("sanitise_quality", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_corpus_precision_and_recall_stay_above_floors() -> None:
    """Floors a little under the figures in docs/benchmarks.md (corpus: 1.0 recall, 0.986 precision)."""
    bench = _bench()
    rows = bench.load()
    assert len(rows) >= 60 and sum(1 for row in rows if not row["spans"]) >= 15
    for row in rows:  # the labels point at the text they name
        for span in row["spans"]:
            assert row["text"][span["start"] : span["end"]] == span["text"]
    scores = bench.measure(rows)
    assert scores["leak_recall"] >= 0.97, scores["errors"]
    assert scores["leak_precision"] >= 0.95, scores["errors"]
    held_out = bench.measure(bench.load(bench.HELD_OUT))
    assert held_out["leak_recall"] >= 0.7 and held_out["leak_precision"] >= 0.9, held_out["errors"]

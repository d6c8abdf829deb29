"""Alertmanager / Grafana webhook models, the generic alert model, and signed-webhook checks."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from signalfire.core import signing
from signalfire.core.clock import utcnow
from signalfire.intake.alerts import (
    DEFAULT_TOLERANCE,
    AlertmanagerWebhook,
    AlertSignatureError,
    GenericAlert,
    SignatureFailure,
    alertmanager_to_generic,
    parse_severity,
    sign_payload,
    signed_at,
    verify_signature,
)

ALERTMANAGER: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}/{severity="critical"}:{alertname="HighRefusalBypassRate"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "signalfire-intake",
    "groupLabels": {"alertname": "HighRefusalBypassRate"},
    "commonLabels": {"alertname": "HighRefusalBypassRate", "severity": "critical", "team": "safety"},
    "commonAnnotations": {"runbook_url": "https://runbooks.example.org/refusal-bypass"},
    "externalURL": "http://alertmanager.internal:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "HighRefusalBypassRate",
                "severity": "critical",
                "team": "safety",
                "model": "m-7.2",
                "region": "eu-west",
            },
            "annotations": {
                "summary": "Refusal bypass rate above 2% for m-7.2 in eu-west",
                "description": "Jailbreak classifier hits rose from 0.1% to 2.4% in 15 minutes.",
            },
            "startsAt": "2026-03-03T09:58:12.431+01:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.internal:9090/graph?g0.expr=refusal_bypass_rate",
            "fingerprint": "4f1c9a0be2d37e85",
        },
        {
            "status": "resolved",
            "labels": {
                "alertname": "HighRefusalBypassRate",
                "severity": "critical",
                "team": "safety",
                "model": "m-7.2",
                "region": "us-east",
            },
            "annotations": {"summary": "Refusal bypass rate above 2% for m-7.2 in us-east"},
            "startsAt": "2026-03-03T08:40:00Z",
            "endsAt": "2026-03-03T09:10:00Z",
            "generatorURL": "http://prometheus.internal:9090/graph?g0.expr=refusal_bypass_rate",
            "fingerprint": "9d2e6b7a10c4f358",
        },
    ],
}

# Grafana's webhook contact point: same shape, version "1", and fields Alertmanager does not send.
GRAFANA: dict[str, Any] = {
    "receiver": "signalfire",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "Eval regression", "grafana_folder": "Safety"},
            "annotations": {"description": "Harmful-compliance score regressed after deploy"},
            "startsAt": "2026-03-03T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example.org/alerting/grafana/abc/view",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://grafana.example.org/alerting/silence/new?matcher=alertname%3DEval",
            "dashboardURL": "https://grafana.example.org/d/evals",
            "panelURL": "https://grafana.example.org/d/evals?viewPanel=2",
            "values": {"B": 0.183, "C": 1},
            "valueString": "[ var='B' value=0.183 ]",
        }
    ],
    "groupLabels": {"alertname": "Eval regression"},
    "commonLabels": {"alertname": "Eval regression", "grafana_folder": "Safety"},
    "commonAnnotations": {},
    "externalURL": "https://grafana.example.org/",
    "version": "1",
    "groupKey": '{}:{alertname="Eval regression"}',
    "truncatedAlerts": 0,
    "title": "[FIRING:1] Eval regression (Safety)",
    "state": "alerting",
    "message": "**Firing**\n\nValue: B=0.183",
}


def test_alertmanager_payload_is_parsed() -> None:
    webhook = AlertmanagerWebhook.model_validate(ALERTMANAGER)
    assert webhook.group_key == ALERTMANAGER["groupKey"]
    assert webhook.status == "firing"
    assert webhook.common_labels["severity"] == "critical"
    firing, resolved = webhook.alerts
    assert firing.starts_at == datetime(2026, 3, 3, 8, 58, 12, 431000, tzinfo=UTC)
    assert firing.starts_at.tzinfo is UTC
    assert firing.ends_at is None  # Go's zero time while firing
    assert firing.alertname == "HighRefusalBypassRate"
    assert firing.summary == "Refusal bypass rate above 2% for m-7.2 in eu-west"
    assert resolved.ends_at == datetime(2026, 3, 3, 9, 10, tzinfo=UTC)
    assert [a.fingerprint for a in webhook.firing] == ["4f1c9a0be2d37e85"]
    assert [a.fingerprint for a in webhook.resolved] == ["9d2e6b7a10c4f358"]


def test_grafana_extras_are_kept_and_round_trip() -> None:
    webhook = AlertmanagerWebhook.model_validate(GRAFANA)
    assert webhook.model_extra == {
        "orgId": 1,
        "title": "[FIRING:1] Eval regression (Safety)",
        "state": "alerting",
        "message": "**Firing**\n\nValue: B=0.183",
    }
    alert = webhook.alerts[0]
    assert alert.model_extra is not None
    assert alert.model_extra["values"] == {"B": 0.183, "C": 1}
    assert alert.summary == "Harmful-compliance score regressed after deploy"  # no summary: description
    dumped = webhook.model_dump(by_alias=True, mode="json")
    assert dumped["orgId"] == 1
    assert dumped["alerts"][0]["dashboardURL"] == "https://grafana.example.org/d/evals"
    assert dumped["alerts"][0]["endsAt"] is None
    assert AlertmanagerWebhook.model_validate(dumped) == webhook


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": "3"}, "version"),
        ({"status": "pending"}, "status"),
        ({"groupKey": ""}, "groupKey"),
        ({"truncatedAlerts": -1}, "truncatedAlerts"),
    ],
)
def test_invalid_alertmanager_payloads_are_refused(change: dict[str, Any], field: str) -> None:
    payload = {**ALERTMANAGER, **change}
    with pytest.raises(ValidationError) as info:
        AlertmanagerWebhook.model_validate(payload)
    assert info.value.errors()[0]["loc"][0] == field


def test_naive_alert_times_are_refused() -> None:
    payload = copy.deepcopy(ALERTMANAGER)
    payload["alerts"][0]["startsAt"] = "2026-03-03T09:58:12"
    with pytest.raises(ValidationError, match="timezone"):
        AlertmanagerWebhook.model_validate(payload)


def test_alerts_without_fingerprint_get_a_stable_key_from_labels() -> None:
    payload = copy.deepcopy(ALERTMANAGER)
    for alert in payload["alerts"]:
        alert.pop("fingerprint")
    first = AlertmanagerWebhook.model_validate(payload).alerts[0]
    reordered = copy.deepcopy(payload)
    reordered["alerts"][0]["labels"] = dict(reversed(list(payload["alerts"][0]["labels"].items())))
    again = AlertmanagerWebhook.model_validate(reordered).alerts[0]
    assert first.stable_key.startswith("labels:")
    assert first.stable_key == again.stable_key
    assert first.stable_key != AlertmanagerWebhook.model_validate(payload).alerts[1].stable_key


def test_alertmanager_alerts_convert_to_generic_alerts() -> None:
    converted = alertmanager_to_generic(AlertmanagerWebhook.model_validate(ALERTMANAGER))
    assert [(a.dedup_key, a.status, a.severity) for a in converted] == [
        ("4f1c9a0be2d37e85", "firing", "critical"),
        ("9d2e6b7a10c4f358", "resolved", "critical"),
    ]
    first = converted[0]
    assert first.source == "alertmanager"
    assert first.title == "Refusal bypass rate above 2% for m-7.2 in eu-west"
    assert first.occurred_at == datetime(2026, 3, 3, 8, 58, 12, 431000, tzinfo=UTC)
    assert first.details["group_key"] == ALERTMANAGER["groupKey"]
    assert first.details["annotations"] == {
        "runbook_url": "https://runbooks.example.org/refusal-bypass",
        "summary": "Refusal bypass rate above 2% for m-7.2 in eu-west",
        "description": "Jailbreak classifier hits rose from 0.1% to 2.4% in 15 minutes.",
    }
    grafana = alertmanager_to_generic(AlertmanagerWebhook.model_validate(GRAFANA), source="grafana")[0]
    assert grafana.severity == "medium"  # no severity label
    extra = grafana.details["extra"]
    assert isinstance(extra, dict) and extra["values"] == {"B": 0.183, "C": 1}
    json.dumps([a.model_dump(mode="json") for a in converted])  # details are plain JSON


# --- generic alerts --------------------------------------------------------------------------------


GENERIC = {
    "source": "eval-harness",
    "dedup_key": "bio-uplift-eval/m-7.2",
    "title": "Bio uplift eval above threshold",
    "severity": "SEV2",
    "status": "firing",
    "occurred_at": "2026-03-03T10:15:00+02:00",
    "details": {"score": 0.41, "threshold": 0.3, "run_id": "run-8812", "tags": ["bio", "uplift"]},
}


def test_generic_alert_is_validated_and_normalised() -> None:
    alert = GenericAlert.model_validate(GENERIC)
    assert alert.severity == "high"
    assert alert.occurred_at == datetime(2026, 3, 3, 8, 15, tzinfo=UTC)
    assert alert.details["tags"] == ["bio", "uplift"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"severity": "apocalyptic"}, "severity"),
        ({"status": "acknowledged"}, "status"),
        ({"occurred_at": "2026-03-03T10:15:00"}, "timezone"),
        ({"title": "   "}, "title"),
        ({"dedup_key": "x" * 256}, "dedup_key"),
        ({"unexpected": 1}, "unexpected"),
        ({"details": {"x": object()}}, "details"),
    ],
)
def test_generic_alert_rejects_bad_input(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GenericAlert.model_validate({**GENERIC, **change})


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("critical", "critical"),
        ("P1", "critical"),
        ("error", "high"),
        ("Warning", "medium"),
        ("minor", "low"),
        ("informational", "info"),
        ("unheard-of", "medium"),
        (None, "medium"),
        (3, "medium"),
    ],
)
def test_parse_severity(word: object, expected: str) -> None:
    assert parse_severity(word) == expected


# --- signatures ------------------------------------------------------------------------------------

SECRET = "whsec_7f3a9c1e5b"
BODY = json.dumps(GENERIC).encode()
SENT = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
T = int(SENT.timestamp())


def test_signature_format_is_documented_and_matches_core_signing() -> None:
    header = sign_payload(SECRET, T, BODY)
    assert header.startswith(f"t={T},v1=")
    assert len(header.split("v1=")[1]) == 64
    assert header == sign_payload(SECRET, SENT, BODY) == signing.sign(SECRET, BODY, at=SENT)
    assert verify_signature(SECRET, BODY, header, None, now=SENT + timedelta(seconds=20)) == T
    assert signed_at(T) == SENT


@time_machine.travel(SENT + timedelta(minutes=1), tick=False)
def test_verification_with_the_clock() -> None:
    header = sign_payload(SECRET, SENT, BODY)
    assert verify_signature(SECRET, BODY, header, None, now=utcnow()) == T


def test_timestamp_may_come_in_its_own_header() -> None:
    mac = sign_payload(SECRET, T, BODY).split(",")[1]
    assert verify_signature(SECRET, BODY, mac, str(T), now=SENT) == T
    assert verify_signature(SECRET, BODY, f"t={T},{mac}", str(T), now=SENT) == T


def test_any_of_several_secrets_or_signatures_may_match() -> None:
    new = sign_payload("new-secret", T, BODY).split(",")[1]
    old = sign_payload(SECRET, T, BODY).split(",")[1]
    assert verify_signature(["rotated-out", SECRET], BODY, f"t={T},{old}", None, now=SENT) == T
    assert verify_signature(SECRET, BODY, f"t={T},{new},{old},v0=legacy", None, now=SENT) == T


def reason(
    secret: str,
    body: bytes,
    header: str | None,
    ts_header: str | None,
    now: datetime = SENT,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> SignatureFailure:
    with pytest.raises(AlertSignatureError) as info:
        verify_signature(secret, body, header, ts_header, now=now, tolerance=tolerance)
    assert isinstance(info.value, signing.SignatureError)  # one handler catches both kinds
    assert info.value.detail
    return info.value.reason


def test_tampering_is_detected() -> None:
    header = sign_payload(SECRET, T, BODY)
    assert reason(SECRET, BODY + b" ", header, None) is SignatureFailure.SIGNATURE_MISMATCH
    assert reason("other-secret", BODY, header, None) is SignatureFailure.SIGNATURE_MISMATCH
    # Moving the timestamp invalidates the MAC, because the timestamp is signed too.
    moved = header.replace(f"t={T}", f"t={T + 1}")
    assert reason(SECRET, BODY, moved, None) is SignatureFailure.SIGNATURE_MISMATCH


def test_replay_window() -> None:
    header = sign_payload(SECRET, T, BODY)
    window = timedelta(minutes=5)
    assert verify_signature(SECRET, BODY, header, None, now=SENT + window, tolerance=window) == T
    late = SENT + window + timedelta(seconds=1)
    assert reason(SECRET, BODY, header, None, now=late, tolerance=window) is SignatureFailure.STALE_TIMESTAMP
    early = SENT - window - timedelta(seconds=1)
    assert reason(SECRET, BODY, header, None, now=early, tolerance=window) is SignatureFailure.FUTURE_TIMESTAMP


@pytest.mark.parametrize(
    ("header", "ts_header", "expected"),
    [
        (None, None, SignatureFailure.MISSING_SIGNATURE),
        ("   ", None, SignatureFailure.MISSING_SIGNATURE),
        ("garbage", None, SignatureFailure.MALFORMED_SIGNATURE),
        (f"t={T}", None, SignatureFailure.MALFORMED_SIGNATURE),
        (f"t={T},v1=abc", None, SignatureFailure.MALFORMED_SIGNATURE),
        (f"t={T},v1={'g' * 64}", None, SignatureFailure.MALFORMED_SIGNATURE),
        (f"t=-5,v1={'a' * 64}", None, SignatureFailure.MALFORMED_SIGNATURE),
        (f"t=1e9,v1={'a' * 64}", None, SignatureFailure.MALFORMED_SIGNATURE),
        (f"t={'9' * 40},v1={'a' * 64}", None, SignatureFailure.MALFORMED_SIGNATURE),
        (f"t={T},t={T},v1={'a' * 64}", None, SignatureFailure.MALFORMED_SIGNATURE),
        (f"t={T},v1={'a' * 64}," + "x=1," * 1000, None, SignatureFailure.MALFORMED_SIGNATURE),
        (f"v1={'a' * 64}", None, SignatureFailure.MISSING_TIMESTAMP),
        (f"v1={'a' * 64}", "soon", SignatureFailure.MALFORMED_SIGNATURE),
        (f"t={T},v1={'a' * 64}", str(T + 1), SignatureFailure.TIMESTAMP_MISMATCH),
    ],
)
def test_malformed_headers_are_refused_with_a_reason(
    header: str | None, ts_header: str | None, expected: SignatureFailure
) -> None:
    assert reason(SECRET, BODY, header, ts_header) is expected


def test_empty_secrets_and_naive_clocks_are_programming_errors() -> None:
    header = sign_payload(SECRET, T, BODY)
    with pytest.raises(ValueError, match="secret"):
        verify_signature("", BODY, header, None, now=SENT)
    with pytest.raises(ValueError, match="secret"):
        verify_signature([], BODY, header, None, now=SENT)
    with pytest.raises(ValueError, match="timezone"):
        verify_signature(SECRET, BODY, header, None, now=datetime(2026, 3, 3, 10, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="secret"):
        sign_payload("", T, BODY)


def test_non_utc_clocks_are_converted() -> None:
    header = sign_payload(SECRET, T, BODY)
    tokyo = SENT.astimezone(timezone(timedelta(hours=9)))
    assert verify_signature(SECRET, BODY, header, None, now=tokyo) == T


@given(
    body=st.binary(max_size=200),
    secret=st.text(min_size=1, max_size=40),
    skew=st.integers(min_value=-300, max_value=300),
)
def test_any_signed_body_verifies_within_the_window(body: bytes, secret: str, skew: int) -> None:
    header = sign_payload(secret, T, body)
    assert verify_signature(secret, body, header, None, now=SENT + timedelta(seconds=skew)) == T

"""Alert payloads accepted by intake, and the HMAC scheme for signed alert webhooks.

Two shapes:

* :class:`AlertmanagerWebhook`: the Prometheus Alertmanager webhook, format version "4". Grafana's
  webhook contact point sends the same shape (with ``version`` "1") plus extra fields such as
  ``orgId``, ``silenceURL``, ``dashboardURL`` and ``values``; unknown fields are kept, not dropped.
  Alertmanager re-sends a group on every group/repeat interval, so a receiver should key on
  ``groupKey`` (one signal per group) and on each alert's ``fingerprint``.
* :class:`GenericAlert`: our own small JSON format for anything else that can POST JSON.

Signing (for generic senders; Alertmanager cannot sign and uses a bearer token instead). Header::

    X-Signalfire-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + raw body>

The same format as :mod:`signalfire.core.signing` uses for webhooks Signalfire sends. Several
``v1=`` entries may be given (a sender rotating secrets); one must match. Senders that cannot put
the timestamp into that header may send it as ``X-Signalfire-Timestamp: <unix seconds>`` instead;
if both are present they must agree. A timestamp further than the tolerance from now (either way)
is refused, which bounds replays to that window; to refuse replays inside it, the receiver also
remembers accepted (source, t, signature) triples until they fall out of the window.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, field_validator

from signalfire.core.clock import ensure_utc
from signalfire.core.schemas import UtcDatetime, check_datetime
from signalfire.core.signing import SignatureError, compute_mac

__all__ = [
    "ALERTMANAGER_VERSIONS",
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AlertSeverity",
    "AlertSignatureError",
    "AlertStatus",
    "AlertmanagerAlert",
    "AlertmanagerWebhook",
    "GenericAlert",
    "SignatureFailure",
    "alertmanager_to_generic",
    "parse_severity",
    "sign_payload",
    "signed_at",
    "verify_signature",
]

AlertStatus = Literal["firing", "resolved"]
AlertSeverity = Literal["critical", "high", "medium", "low", "info"]

# "4" is Alertmanager's current webhook format; Grafana's webhook contact point labels the same
# shape "1". Anything else is refused so that a future format change fails loudly.
ALERTMANAGER_VERSIONS = frozenset({"4", "1"})
_MAX_LABEL_VALUE = 4_096


def _utc(value: datetime) -> datetime:
    return ensure_utc(value)


class AlertmanagerAlert(BaseModel):
    """One alert of a notification. ``ends_at`` is ``None`` while the alert is firing (Alertmanager
    sends Go's zero time, 0001-01-01T00:00:00Z). Times are converted to UTC."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    status: AlertStatus
    labels: dict[str, Annotated[str, Field(max_length=_MAX_LABEL_VALUE)]] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: UtcDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL", max_length=4_096)
    fingerprint: str = Field(default="", max_length=256)

    @field_validator("starts_at", mode="after")
    @classmethod
    def _starts_in_utc(cls, value: datetime) -> datetime:
        return _utc(value)

    @field_validator("ends_at", mode="after")
    @classmethod
    def _zero_time_is_none(cls, value: datetime | None) -> datetime | None:
        if value is None or value.year <= 1:
            return None
        return _utc(check_datetime(value))

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def summary(self) -> str:
        """A one-line title: the summary annotation, else the description, else the alert name."""
        for text in (self.annotations.get("summary"), self.annotations.get("description"), self.alertname):
            if text and text.strip():
                return " ".join(text.split())
        return "Unnamed alert"

    @property
    def stable_key(self) -> str:
        """The fingerprint, or (for senders that omit it) a hash of the sorted labels, which is what
        Alertmanager's fingerprint identifies too."""
        if self.fingerprint:
            return self.fingerprint
        canonical = json.dumps(sorted(self.labels.items()), ensure_ascii=False, separators=(",", ":"))
        return "labels:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


class AlertmanagerWebhook(BaseModel):
    """The notification body Alertmanager POSTs to a webhook receiver (format version "4").

    Fields not listed here (Grafana's ``orgId``, ``title``, ``state``, ``message``...) are kept in
    ``model_extra`` and come back out of ``model_dump(by_alias=True)``.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    version: str
    group_key: str = Field(alias="groupKey", min_length=1, max_length=8_192)
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    status: AlertStatus
    receiver: str = Field(default="", max_length=1_024)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL", max_length=4_096)
    # A notification always carries at least one alert; an empty group would make a signal about nothing.
    alerts: list[AlertmanagerAlert] = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        if value not in ALERTMANAGER_VERSIONS:
            raise ValueError(
                f"unsupported webhook format version {value!r}; expected one of {sorted(ALERTMANAGER_VERSIONS)}"
            )
        return value

    @property
    def firing(self) -> list[AlertmanagerAlert]:
        return [alert for alert in self.alerts if alert.status == "firing"]

    @property
    def resolved(self) -> list[AlertmanagerAlert]:
        return [alert for alert in self.alerts if alert.status == "resolved"]


# Severity words used by common monitoring tools, mapped onto ours.
_SEVERITY_ALIASES: dict[str, AlertSeverity] = {
    "critical": "critical",
    "crit": "critical",
    "fatal": "critical",
    "emergency": "critical",
    "page": "critical",
    "p1": "critical",
    "sev1": "critical",
    "high": "high",
    "error": "high",
    "major": "high",
    "p2": "high",
    "sev2": "high",
    "medium": "medium",
    "warning": "medium",
    "warn": "medium",
    "moderate": "medium",
    "p3": "medium",
    "sev3": "medium",
    "low": "low",
    "minor": "low",
    "p4": "low",
    "sev4": "low",
    "info": "info",
    "informational": "info",
    "information": "info",
    "notice": "info",
    "none": "info",
    "p5": "info",
}


def parse_severity(value: object, default: AlertSeverity = "medium") -> AlertSeverity:
    """Map a sender's severity word (any case) to ours; unknown or missing words give ``default``."""
    if isinstance(value, str):
        return _SEVERITY_ALIASES.get(value.strip().lower(), default)
    return default


def _severity_word(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in _SEVERITY_ALIASES:
        return _SEVERITY_ALIASES[value.strip().lower()]
    return value  # left for the Literal check to reject with a clear message


class GenericAlert(BaseModel):
    """Signalfire's own alert format, for senders other than Alertmanager.

    ``dedup_key`` identifies the alerting condition: repeated POSTs with the same key update one
    signal, and ``status="resolved"`` closes it. ``severity`` also accepts common synonyms
    ("warning", "error", "sev2", "P1", ...). Unknown top-level fields are refused (likely typos);
    put anything else in ``details``.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    source: str = Field(min_length=1, max_length=100)
    dedup_key: str = Field(min_length=1, max_length=255)
    title: str = Field(min_length=1, max_length=500)
    severity: Annotated[AlertSeverity, BeforeValidator(_severity_word)] = "medium"
    status: AlertStatus = "firing"
    occurred_at: UtcDatetime
    details: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("occurred_at", mode="after")
    @classmethod
    def _occurred_in_utc(cls, value: datetime) -> datetime:
        return _utc(value)


def alertmanager_to_generic(webhook: AlertmanagerWebhook, *, source: str = "alertmanager") -> list[GenericAlert]:
    """One :class:`GenericAlert` per alert, so both formats can share one ingest path.

    ``dedup_key`` is the alert's fingerprint (stable across re-sends); the group key, labels,
    annotations and URLs go into ``details``, together with any fields we do not model.
    """
    converted: list[GenericAlert] = []
    for alert in webhook.alerts:
        labels = {**webhook.common_labels, **alert.labels}
        details: dict[str, JsonValue] = {
            "group_key": webhook.group_key,
            "receiver": webhook.receiver,
            "labels": dict(labels),
            "annotations": {**webhook.common_annotations, **alert.annotations},
            "generator_url": alert.generator_url,
            "external_url": webhook.external_url,
            "ends_at": alert.ends_at.isoformat() if alert.ends_at else None,
        }
        extra = {**(webhook.model_extra or {}), **(alert.model_extra or {})}
        if extra:
            details["extra"] = json.loads(json.dumps(extra, default=str))
        converted.append(
            GenericAlert(
                source=source,
                dedup_key=alert.stable_key[:255],
                title=alert.summary[:500],
                severity=parse_severity(labels.get("severity")),
                status=alert.status,
                occurred_at=alert.starts_at,
                details=details,
            )
        )
    return converted


# --- Signed webhooks --------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-Signalfire-Signature"
TIMESTAMP_HEADER = "X-Signalfire-Timestamp"
DEFAULT_TOLERANCE = timedelta(minutes=5)
_MAX_HEADER_CHARS = 2_048
_MAX_TIMESTAMP_DIGITS = 12


class SignatureFailure(StrEnum):
    """Why a signature was refused; safe to show to the sender."""

    MISSING_SIGNATURE = "missing_signature"
    MALFORMED_SIGNATURE = "malformed_signature"
    MISSING_TIMESTAMP = "missing_timestamp"
    TIMESTAMP_MISMATCH = "timestamp_mismatch"
    STALE_TIMESTAMP = "stale_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    SIGNATURE_MISMATCH = "signature_mismatch"


class AlertSignatureError(SignatureError):
    """A refused signature. ``reason`` is a :class:`SignatureFailure`; ``detail`` explains it."""

    def __init__(self, reason: SignatureFailure, detail: str) -> None:
        super().__init__(reason)
        self.reason: SignatureFailure = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}"


def _secrets(secret: str | bytes | Sequence[str | bytes]) -> list[str]:
    candidates = [secret] if isinstance(secret, str | bytes) else list(secret)
    try:
        keys = [c if isinstance(c, str) else bytes(c).decode("utf-8") for c in candidates]
    except UnicodeDecodeError:
        raise ValueError("an HMAC secret must be UTF-8 text") from None
    if not keys or not all(keys):
        # An unconfigured source must not accept anything signed with the empty key.
        raise ValueError("an HMAC secret must not be empty")
    return keys


def _mac(key: str, timestamp: int, body: bytes) -> str:
    # One MAC for the whole project: the scheme of webhooks Signalfire sends (core.signing).
    return compute_mac(key, timestamp, body)


def sign_payload(secret: str | bytes, timestamp: int | datetime, body: bytes) -> str:
    """The ``X-Signalfire-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds or an
    aware datetime)."""
    if isinstance(timestamp, datetime):
        timestamp = int(ensure_utc(timestamp).timestamp())
    if timestamp < 0:
        raise ValueError("timestamp must not be negative")
    return f"t={timestamp},v1={_mac(_secrets(secret)[0], timestamp, body)}"


def _parse_timestamp(value: str, where: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_TIMESTAMP_DIGITS):
        raise AlertSignatureError(SignatureFailure.MALFORMED_SIGNATURE, f"{where} is not unix seconds")
    return int(text)


def verify_signature(
    secret: str | bytes | Sequence[str | bytes],
    body: bytes,
    signature_header: str | None,
    timestamp_header: str | None,
    *,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> int:
    """Check a signed request and return its (verified) unix timestamp.

    ``secret`` may be several secrets during a rotation; any may match. ``signature_header`` and
    ``timestamp_header`` are the raw header values (``None`` if absent). Raises
    :class:`AlertSignatureError` with a :class:`SignatureFailure` reason. Comparison is
    constant-time.
    """
    keys = _secrets(secret)
    now_ts = ensure_utc(now).timestamp()
    if not signature_header or not signature_header.strip():
        raise AlertSignatureError(SignatureFailure.MISSING_SIGNATURE, f"no {SIGNATURE_HEADER} header")
    if len(signature_header) > _MAX_HEADER_CHARS:
        raise AlertSignatureError(SignatureFailure.MALFORMED_SIGNATURE, "signature header too long")

    signed_ts: int | None = None
    candidates: list[str] = []
    for part in signature_header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise AlertSignatureError(SignatureFailure.MALFORMED_SIGNATURE, "expected t=<unix>,v1=<hex>")
        if name == "t":
            if signed_ts is not None:
                raise AlertSignatureError(SignatureFailure.MALFORMED_SIGNATURE, "more than one t=")
            signed_ts = _parse_timestamp(value, "t=")
        elif name == "v1":
            digest = value.strip().lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise AlertSignatureError(SignatureFailure.MALFORMED_SIGNATURE, "v1= must be 64 hex digits")
            candidates.append(digest)
        # Other schemes (v0=, v2=...) are ignored so that senders can add new ones first.
    if not candidates:
        raise AlertSignatureError(SignatureFailure.MALFORMED_SIGNATURE, "no v1= signature")

    if timestamp_header is not None and timestamp_header.strip():
        header_ts = _parse_timestamp(timestamp_header, TIMESTAMP_HEADER)
        if signed_ts is not None and header_ts != signed_ts:
            raise AlertSignatureError(
                SignatureFailure.TIMESTAMP_MISMATCH, f"{TIMESTAMP_HEADER} differs from t= in the signature"
            )
        signed_ts = header_ts
    if signed_ts is None:
        raise AlertSignatureError(
            SignatureFailure.MISSING_TIMESTAMP, f"no t= in the signature and no {TIMESTAMP_HEADER} header"
        )

    age = now_ts - signed_ts
    window = tolerance.total_seconds()
    if age > window:
        raise AlertSignatureError(
            SignatureFailure.STALE_TIMESTAMP, f"signed {int(age)} s ago; the window is {int(window)} s"
        )
    if -age > window:
        raise AlertSignatureError(
            SignatureFailure.FUTURE_TIMESTAMP, f"signed {int(-age)} s in the future; check the sender's clock"
        )

    # Compare against every candidate for every key (no early exit), so timing reveals nothing.
    matched = False
    for key in keys:
        expected = _mac(key, signed_ts, body)
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise AlertSignatureError(SignatureFailure.SIGNATURE_MISMATCH, "signature does not match the body")
    return signed_ts


def signed_at(timestamp: int) -> datetime:
    """The verified timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(timestamp, UTC)

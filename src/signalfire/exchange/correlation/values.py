"""What an item correlates on: its values, normalised so the same thing written two ways matches.

Pure functions (no session). MISP correlates attribute values exactly after light normalisation; we do
the same over the item's fields:

* indicators: the values inside STIX patterns (``[ipv4-addr:value = '203.0.113.9']``), hashes, URLs,
  IP addresses, domain names and e-mail addresses found in the indicators text, and each whole line
  of it (a prompt or payload shape written on one line matches the same line elsewhere);
* ATLAS techniques, CVE ids, CWE ids and OWASP LLM entries from the item's references;
* URLs cited in the summary or details (references);
* model families and free tags.

Each value is stored with its kind. A value longer than the index column is replaced by its SHA-256,
which still matches the same long value elsewhere.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from signalfire.exchange.correlation.models import VALUE_MAX
from signalfire.exchange.vocab import RefScheme, normalise_reference, reference_scheme


class Kind(StrEnum):
    INDICATOR = "indicator"
    ATLAS = "atlas"
    CVE = "cve"
    CWE = "cwe"
    OWASP = "owasp"
    URL = "url"
    FAMILY = "family"
    TAG = "tag"

    @property
    def weight(self) -> int:
        return WEIGHTS[self]

    @property
    def label(self) -> str:
        return LABELS[self]


# How much one shared value of each kind says two items are about the same thing. An exact indicator
# or CVE is strong evidence; a technique or cited source moderate; a model family or a tag weak.
WEIGHTS: dict[Kind, int] = {
    Kind.INDICATOR: 5,
    Kind.CVE: 4,
    Kind.ATLAS: 3,
    Kind.URL: 3,
    Kind.CWE: 2,
    Kind.TAG: 2,
    Kind.OWASP: 1,
    Kind.FAMILY: 1,
}

LABELS: dict[Kind, str] = {
    Kind.INDICATOR: "indicator value",
    Kind.ATLAS: "ATLAS technique",
    Kind.CVE: "CVE",
    Kind.CWE: "CWE",
    Kind.OWASP: "OWASP LLM entry",
    Kind.URL: "reference",
    Kind.FAMILY: "model family",
    Kind.TAG: "tag",
}

# An item correlates on at most this many values; indicators text beyond it is not indexed.
VALUES_PER_ITEM_MAX = 300
LINE_MIN_CHARS = 12

_REF_KINDS = {
    RefScheme.ATLAS: Kind.ATLAS,
    RefScheme.CVE: Kind.CVE,
    RefScheme.CWE: Kind.CWE,
    RefScheme.OWASP_LLM: Kind.OWASP,
}

_STIX_COMPARISON = re.compile(
    r"([a-z0-9-]+):([a-z0-9_.']+(?:\.'[^']+')?[a-z0-9_.]*)\s*(?:=|MATCHES|LIKE)\s*'((?:[^'\\]|\\.)*)'",
    re.IGNORECASE,
)
_URL = re.compile(r"\bhttps?://[^\s<>\"'`)\]]+", re.IGNORECASE)
_HASH = re.compile(r"\b(?:[a-f0-9]{128}|[a-f0-9]{64}|[a-f0-9]{40}|[a-f0-9]{32})\b", re.IGNORECASE)
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?\b")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])", re.IGNORECASE)
_EMAIL = re.compile(r"\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b", re.IGNORECASE)
_DOMAIN = re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b", re.IGNORECASE)
# Dotted words that are file names or code, not hosts.
_NOT_TLDS = frozenset(
    [
        "py",
        "js",
        "ts",
        "json",
        "yaml",
        "yml",
        "txt",
        "md",
        "html",
        "htm",
        "csv",
        "log",
        "exe",
        "dll",
        "so",
        "bin",
        "pt",
        "pth",
        "safetensors",
        "gguf",
        "onnx",
        "ckpt",
        "pkl",
        "zip",
        "gz",
        "tar",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "pdf",
        "docx",
        "xml",
        "sh",
        "cfg",
        "ini",
        "toml",
        "lock",
        "cpp",
        "rs",
        "go",
        "java",
    ]
)
_HASH_NAMES = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}


@dataclass(frozen=True, order=True)
class Value:
    kind: Kind
    value: str


def fit(value: str) -> str:
    """A value short enough for the index column: long ones become their SHA-256."""
    if len(value) <= VALUE_MAX:
        return value
    return "sha256-of:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalise_url(url: str) -> str | None:
    """Scheme and host lower-case, default port, fragment and tracking parameters dropped, query sorted,
    no trailing slash on the path. None for something that is not an http(s) URL."""
    url = url.strip().rstrip(".,;:!?")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if port is not None and not (scheme == "http" and port == 80) and not (scheme == "https" and port == 443):
        host = f"{host}:{port}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith("utm_")
    )
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, host, path, urlencode(query), ""))


def _ip(text: str) -> str | None:
    try:
        if "/" in text:
            return str(ipaddress.ip_network(text, strict=False))
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _observable(kind: str, prop: str, raw: str) -> str | None:
    """A STIX comparison's value, normalised by the object type it constrains."""
    raw = raw.replace("\\'", "'").replace("\\\\", "\\").strip()
    if not raw:
        return None
    kind = kind.lower()
    if kind in ("ipv4-addr", "ipv6-addr"):
        return _ip(raw)
    if kind == "url":
        return normalise_url(raw) or raw
    if kind in ("domain-name", "email-addr"):
        return raw.lower().rstrip(".")
    if "hashes" in prop.lower() and re.fullmatch(r"[A-Fa-f0-9]+", raw):
        return f"{_HASH_NAMES.get(len(raw), 'hash')}:{raw.lower()}"
    return re.sub(r"\s+", " ", raw)


def _atomic_values(text: str) -> list[str]:
    found: list[str] = []
    for match in _STIX_COMPARISON.finditer(text):
        value = _observable(match.group(1), match.group(2), match.group(3))
        if value:
            found.append(value)
    for match in _URL.finditer(text):
        url = normalise_url(match.group(0))
        if url:
            found.append(url)
    without_urls = _URL.sub(" ", text)
    for match in _HASH.finditer(without_urls):
        raw = match.group(0).lower()
        found.append(f"{_HASH_NAMES[len(raw)]}:{raw}")
    for match in _EMAIL.finditer(without_urls):
        found.append(match.group(0).lower())
    without_mail = _EMAIL.sub(" ", without_urls)
    for match in _IPV4.finditer(without_mail):
        ip = _ip(match.group(0))
        if ip:
            found.append(ip)
    for match in _IPV6.finditer(without_mail):
        candidate = match.group(0)
        if candidate.count(":") >= 2 and any(c.isalnum() for c in candidate):
            ip = _ip(candidate)
            if ip:
                found.append(ip)
    for match in _DOMAIN.finditer(without_mail):
        domain = match.group(0).lower()
        if domain.rsplit(".", 1)[1] not in _NOT_TLDS and not re.fullmatch(r"[\d.]+", domain):
            found.append(domain)
    return found


def indicator_values(text: str) -> list[str]:
    """Normalised indicator values in an item's indicators text, line by line in order of appearance.

    A line with no recognisable observable in it (a prompt, a payload shape) is itself a value, so the
    same line in another item matches; a line that has observables correlates on those instead.
    """
    found: list[str] = []
    for line in text.splitlines():
        atomic = _atomic_values(line)
        found += atomic
        cleaned = re.sub(r"\s+", " ", line).strip()
        if not atomic and len(cleaned) >= LINE_MIN_CHARS:
            found.append("line:" + cleaned.casefold())
    return list(dict.fromkeys(found))


def reference_urls(*texts: str) -> list[str]:
    urls = [normalise_url(m.group(0)) for text in texts for m in _URL.finditer(text)]
    return list(dict.fromkeys(u for u in urls if u))


def item_values(
    *,
    indicators: str,
    technique_refs: list[str],
    summary: str,
    details: str,
    model_families: list[str],
    tags: list[str],
) -> list[Value]:
    """Every value an item correlates on (deduplicated, at most VALUES_PER_ITEM_MAX)."""
    from signalfire.exchange.tags import family_key  # the vocabulary module imports this package's models

    values: list[Value] = []
    for ref in technique_refs:
        scheme = reference_scheme(ref)
        if scheme is not None:
            values.append(Value(_REF_KINDS[scheme], ref))
    values += [Value(Kind.URL, fit(u)) for u in reference_urls(summary, details)]
    values += [Value(Kind.FAMILY, fit(family_key(f))) for f in model_families if f.strip()]
    values += [Value(Kind.TAG, fit(t)) for t in tags]
    values += [Value(Kind.INDICATOR, fit(v)) for v in indicator_values(indicators)]
    return list(dict.fromkeys(values))[:VALUES_PER_ITEM_MAX]


def display(value: Value) -> str:
    """How a reason names a value to someone allowed to see it."""
    if value.value.startswith("sha256-of:"):
        return "a long value (matched by its SHA-256)"
    if value.kind is Kind.INDICATOR and value.value.startswith("line:"):
        return f"the line “{value.value[5:]}”"
    if value.kind in (Kind.ATLAS, Kind.CWE):
        from signalfire.exchange.tags import reference_label

        return reference_label(value.value)
    return value.value


# Observable types whose ``value`` property is the indicator (STIX 2.1 cyber-observable objects).
_VALUE_OBSERVABLES = frozenset({"ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr"})


def stix_object_values(obj: Mapping[str, Any]) -> list[Value]:
    """Values of one posted STIX object: an indicator's pattern values, an observable's value or hashes,
    catalogue ids in ``external_references`` and valid free tags in ``labels``."""
    from signalfire.exchange.tags import validate_tag

    found: list[Value] = []
    stix_type = str(obj.get("type", ""))
    pattern = obj.get("pattern")
    if stix_type == "indicator" and isinstance(pattern, str):
        for match in _STIX_COMPARISON.finditer(pattern):
            value = _observable(match.group(1), match.group(2), match.group(3))
            if value:
                found.append(Value(Kind.INDICATOR, fit(value)))
    if stix_type in _VALUE_OBSERVABLES and isinstance(obj.get("value"), str):
        value = _observable(stix_type, "value", obj["value"])
        if value:
            found.append(Value(Kind.INDICATOR, fit(value)))
    hashes = obj.get("hashes")
    if isinstance(hashes, dict):
        for raw in hashes.values():
            if isinstance(raw, str) and re.fullmatch(r"[A-Fa-f0-9]{32,128}", raw):
                found.append(Value(Kind.INDICATOR, f"{_HASH_NAMES.get(len(raw), 'hash')}:{raw.lower()}"))
    for entry in obj.get("external_references", []) or []:
        if isinstance(entry, dict) and isinstance(entry.get("external_id"), str):
            ref = normalise_reference(entry["external_id"])
            scheme = reference_scheme(ref)
            if scheme is not None:
                found.append(Value(_REF_KINDS[scheme], ref))
    for label in obj.get("labels", []) or []:
        if isinstance(label, str):
            try:
                found.append(Value(Kind.TAG, fit(validate_tag(label))))
            except ValueError:
                continue
    return list(dict.fromkeys(found))

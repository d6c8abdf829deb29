"""The sanitiser: Presidio analyzer (offline, blank spaCy tokeniser) + Signalfire recognizers + anonymizer."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MAX_SANITISE_CHARS = 200_000
MAX_CONTEXT_TERMS = 2_000

# Entity class -> (placeholder stem, label shown in the preview).
ENTITY_LABELS: dict[str, tuple[str, str]] = {
    "INCIDENT_REF": ("incident-ref", "Incident reference"),
    "INTAKE_REF": ("intake-ref", "Intake signal reference"),
    "ALERT_FINGERPRINT": ("alert-fingerprint", "Alert fingerprint"),
    "ALERT_LABEL": ("label", "Alert label"),
    "INTERNAL_URL": ("internal-url", "Internal URL"),
    "HOSTNAME": ("host", "Hostname"),
    "MODEL_VERSION": ("model-version", "Model version"),
    "PERSON": ("person", "Person's name"),
    "CUSTOMER": ("customer", "Customer name"),
    "EMAIL_ADDRESS": ("email", "E-mail address"),
    "IP_ADDRESS": ("ip", "IP address"),
    "PHONE_NUMBER": ("phone", "Phone number"),
    "INTERNAL_ID": ("internal-id", "Internal identifier"),
}

# When two detections overlap, the longer wins; on equal length, the earlier class in this order.
_PRIORITY = {name: position for position, name in enumerate(ENTITY_LABELS)}

# Label keys that say nothing about the org: kept, only the value is generalised (env=[redacted]).
_GENERIC_LABEL_KEYS = frozenset(
    {
        "env",
        "environment",
        "severity",
        "priority",
        "cluster",
        "namespace",
        "region",
        "zone",
        "job",
        "instance",
        "service",
        "team",
        "alertname",
        "pod",
        "container",
        "deployment",
        "app",
        "model",
        "tier",
        "stage",
        "version",
        "host",
        "node",
        "datacenter",
        "dc",
    }
)

_INTERNAL_SUFFIXES = (
    ".internal",
    ".local",
    ".lan",
    ".corp",
    ".intranet",
    ".intra",
    ".svc",
    ".localdomain",
    ".home.arpa",
    ".private",
)

_HOST_WORDS = (
    "node|host|srv|server|gpu|worker|db|web|api|inference|infer|train|trainer|k8s|vm|rack|edge|proxy|gw|"
    "gateway|redis|pg|postgres|kafka|etcd|ingress|bastion|jump|build|ci|runner|cache|lb|mq|eval|serving"
)


@dataclass(frozen=True, slots=True)
class SanitiseContext:
    """What the org knows it must not share: its people's and customers' names, its own domains, and
    literal identifiers (the incident's reference, strings the person listed)."""

    names: tuple[str, ...] = ()
    customers: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Detection:
    entity: str
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class Change:
    """One replacement: ``start``/``end`` are offsets of ``original`` in the field's *original* text."""

    field: str
    start: int
    end: int
    original: str
    entity: str
    replacement: str

    @property
    def label(self) -> str:
        return ENTITY_LABELS.get(self.entity, (self.entity.lower(), self.entity))[1]

    def as_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "original": self.original,
            "entity": self.entity,
            "label": self.label,
            "replacement": self.replacement,
        }


@dataclass(slots=True)
class Sanitised:
    fields: dict[str, str]
    changes: list[Change] = field(default_factory=list)


class SanitiseInputTooLarge(ValueError):
    """More than :data:`MAX_SANITISE_CHARS` characters: refuse rather than pass text through unchecked."""


# --- Presidio set-up ----------------------------------------------------------------------------------


def _is_internal_host(host: str, domains: Sequence[str]) -> bool:
    host = host.lower().strip(".").strip("[]")
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True  # a URL to a bare IP address names a machine, public or not
    except ValueError:
        pass
    if "." not in host or host == "localhost":
        return True
    if host.endswith(_INTERNAL_SUFFIXES):
        return True
    if any(host == domain or host.endswith("." + domain) for domain in domains):
        return True
    return (
        re.fullmatch(rf"(?:[a-z0-9-]+\.)*(?:[a-z0-9]+-)*(?:{_HOST_WORDS})(?:-[a-z0-9]+)*-\d{{1,4}}[a-z]?\..*", host)
        is not None
    )


@functools.cache
def _engines() -> tuple[Any, Any]:
    """The analyzer and anonymizer engines, built once per process (imports are heavy: done lazily)."""
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import EmailRecognizer, IpRecognizer, PhoneRecognizer
    from presidio_anonymizer import AnonymizerEngine

    class BlankSpacyNlpEngine(SpacyNlpEngine):
        """Presidio's spaCy engine over ``spacy.blank("en")``: tokens only, no model to download."""

        def __init__(self) -> None:
            super().__init__(models=[{"lang_code": "en", "model_name": "blank:en"}])

        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}  # type: ignore[assignment]

    offline_tld = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(EmailRecognizer):
        """Presidio's e-mail recognizer; its domain check uses tldextract's bundled suffix list."""

        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline_tld(pattern_text.rsplit("@", 1)[-1]).suffix)

    def patterns(entity: str, *specs: tuple[str, str, float]) -> Any:
        return PatternRecognizer(
            supported_entity=entity,
            name=f"signalfire_{entity.lower()}",
            patterns=[Pattern(name, regex, score) for name, regex, score in specs],
            global_regex_flags=re.MULTILINE,
        )

    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(OfflineEmailRecognizer())
    registry.add_recognizer(IpRecognizer())
    registry.add_recognizer(PhoneRecognizer(supported_regions=("US", "GB", "DE", "FR", "IE", "CA", "NL", "IN")))
    registry.add_recognizer(
        patterns(
            "INCIDENT_REF",
            # INC-2026-0007 (response.lifecycle.format_incident_ref), not public ids such as CVE-2024-1234.
            (
                "incident",
                r"(?<![\w-])(?!(?:CVE|CWE|GHSA|AVID|PYSEC|OSV|RUSTSEC)-)[A-Z]{2,5}-\d{4}-\d{4,}(?![\w-])",
                0.9,
            ),
        )
    )
    registry.add_recognizer(
        patterns(
            "INTAKE_REF",
            ("receipt", r"(?<![\w-])(?i:SF-R-)[0-9A-Za-z]{4}-[0-9A-Za-z]{4}(?![\w-])", 0.95),
        )
    )
    registry.add_recognizer(
        patterns(
            "ALERT_FINGERPRINT",
            ("labels-hash", r"(?<![\w-])labels:[0-9a-f]{32}(?![\w-])", 0.95),
            ("hex", r"(?<![\w./:-])(?=[0-9a-f]{0,63}[0-9])(?=[0-9a-f]{0,63}[a-f])[0-9a-fA-F]{12,64}(?![\w-])", 0.7),
            ("labelled", r"(?i:(?<=fingerprint )|(?<=fingerprint: )|(?<=fingerprint=))[\w:-]{6,80}", 0.9),
        )
    )
    registry.add_recognizer(
        patterns(
            "ALERT_LABEL",
            (
                "key-value",
                r"(?<![\w.=/?&:-])[A-Za-z_][A-Za-z0-9_]{0,40}(?:=~|!=|=)(?:\"[^\"\n]{1,80}\"|'[^'\n]{1,80}'|[A-Za-z0-9_.:/-]{0,79}[A-Za-z0-9_/-])",
                0.8,
            ),
        )
    )
    registry.add_recognizer(
        patterns(
            "HOSTNAME",
            (
                "internal-suffix",
                r"(?<![\w.@/-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                r"(?:internal|local|lan|corp|intranet|intra|svc|localdomain|private|home\.arpa)(?![\w-])",
                0.85,
            ),
            (
                "numbered-role",
                rf"(?<![\w.@/-])(?:{_HOST_WORDS})\d{{1,4}}[a-z]?(?:\.[a-z0-9-]+)*(?![\w-])",
                0.6,
            ),
            (
                "node-name",
                rf"(?<![\w.@/-])(?:[a-z0-9]+-)*(?:{_HOST_WORDS})(?:-[a-z0-9]+)*-\d{{1,4}}[a-z]?(?:\.[a-z0-9-]+)*(?![\w-])",
                0.7,
            ),
        )
    )
    registry.add_recognizer(
        patterns(
            "MODEL_VERSION",
            (
                "named-semver",
                r"(?<![\w.-])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z][A-Za-z0-9]*)*-v?\d+(?:\.\d+){1,3}(?:-[A-Za-z0-9]+)*(?![\w-]|\.\d)",
                0.75,
            ),
            ("dated", r"(?<![\w.-])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*-20\d\d-?[01]\d-?[0-3]\d(?![\w-])", 0.8),
            ("checkpoint", r"(?<![\w-])(?i:ckpt|checkpoint|step|snapshot)[-_]\d{3,}(?![\w-])", 0.8),
            ("v-number", r"(?<![\w.-])v\d+(?:\.\d+){1,3}(?:-[A-Za-z0-9.]+)?(?![\w-]|\.\d)", 0.6),
            (
                "after-word",
                r"(?i:(?<=model )|(?<=version )|(?<=build )|(?<=checkpoint )|(?<=release ))"
                r"v?\d+(?:\.\d+){1,3}(?![\w-]|\.\d)",
                0.7,
            ),
        )
    )
    registry.add_recognizer(
        patterns(
            "PERSON",
            # A title, or a role label, before one to three capitalised words.
            ("titled", r"(?<![\w])(?:Mr|Mrs|Ms|Mx|Dr|Prof)\.?[ \t]+[A-Z][a-z'-]+(?:[ \t]+[A-Z][a-z'-]+){0,2}", 0.85),
        )
    )
    analyzer = AnalyzerEngine(
        registry=registry,
        nlp_engine=BlankSpacyNlpEngine(),
        supported_languages=["en"],
        default_score_threshold=0.35,
    )
    return analyzer, AnonymizerEngine()  # type: ignore[no-untyped-call]


_LABELLED_NAME_RE = re.compile(
    r"(?<![\w])(?:(?i:reported|paged|escalated|found|noticed|written|approved|signed off|raised) by"
    r"|(?i:reporter|on-call|oncall|engineer|analyst|contact|owner|assignee|cc|from|author)[:=]?)"
    r"[ \t]+(?P<v>[A-Z][a-z'-]+(?:[ \t]+[A-Z][a-z'-]+){1,2})"
)
_CUSTOMER_RE = re.compile(
    r"(?<![\w])(?i:customer|client|tenant|account)s?(?:[ \t]*[:=][ \t]*|[ \t]+(?:named|called)[ \t]+|[ \t]+)"
    r"(?P<v>[A-Z][\w&.'-]*(?:[ \t]+(?:[A-Z][\w&.'-]*|&|of|and)){0,3})"
)
_URL_RE = re.compile(r"(?i)(?<![\w])(?:https?|wss?|ftp)://[^\s<>\"'()\[\]{}]{1,2000}")


def _ad_hoc(context: SanitiseContext) -> list[Any]:
    """Per-call recognizers: deny-lists of the org's names and identifiers, and its internal URLs."""
    from presidio_analyzer import EntityRecognizer, PatternRecognizer, RecognizerResult

    found: list[Any] = []

    def deny(entity: str, terms: Sequence[str]) -> None:
        cleaned = sorted({term.strip() for term in terms if len(term.strip()) >= 2}, key=len, reverse=True)
        if cleaned:
            found.append(
                PatternRecognizer(
                    supported_entity=entity,
                    name=f"signalfire_deny_{entity.lower()}",
                    deny_list=cleaned[:MAX_CONTEXT_TERMS],
                    deny_list_score=1.0,
                    global_regex_flags=re.MULTILINE | re.IGNORECASE,
                )
            )

    names: list[str] = []
    first_names: set[str] = set()
    for name in context.names:
        words = name.split()
        names.append(name)
        if len(words) >= 2 and len(words[-1]) >= 4:
            names.append(words[-1])  # "Okafor paged the on-call" names the person too
        if len(words) >= 2 and len(words[0]) >= 4 and words[0][:1].isupper():
            first_names.add(words[0])  # "paged Jane": capitalised first names, matched case-sensitively
    deny("PERSON", names)
    if first_names:
        found.append(
            PatternRecognizer(
                supported_entity="PERSON",
                name="signalfire_deny_first_names",
                deny_list=sorted(first_names)[:MAX_CONTEXT_TERMS],
                deny_list_score=0.9,
                global_regex_flags=re.MULTILINE,
            )
        )
    deny("CUSTOMER", context.customers)
    deny("INTERNAL_ID", context.identifiers)
    domains = tuple(domain.lower().strip(".") for domain in context.domains if "." in domain)

    class ContextRecognizer(EntityRecognizer):
        """Spans found by a group of a regex, or URLs whose host is internal to the org."""

        def load(self) -> None:
            return None

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            results = []
            for match in _URL_RE.finditer(text):
                url = match.group(0).rstrip(".,;:!?")
                try:
                    host = urlsplit(url).hostname or ""
                except ValueError:
                    host = ""
                if _is_internal_host(host, domains):
                    results.append(RecognizerResult("INTERNAL_URL", match.start(), match.start() + len(url), 0.95))
            for pattern, entity in ((_LABELLED_NAME_RE, "PERSON"), (_CUSTOMER_RE, "CUSTOMER")):
                for match in pattern.finditer(text):
                    results.append(RecognizerResult(entity, match.start("v"), match.end("v"), 0.8))
            if domains:
                alternatives = "|".join(re.escape(domain) for domain in domains)
                host_re = re.compile(rf"(?i)(?<![\w.@/-])(?:[a-z0-9-]+\.)*(?:{alternatives})(?![\w-])")
                results.extend(RecognizerResult("HOSTNAME", m.start(), m.end(), 0.9) for m in host_re.finditer(text))
            return results

    found.append(
        ContextRecognizer(
            supported_entities=["INTERNAL_URL", "PERSON", "CUSTOMER", "HOSTNAME"], name="signalfire_context"
        )
    )
    return found


_PLACEHOLDER_RE = re.compile(r"\[(?:[a-z]+(?:-[a-z]+)*-\d{1,6}|redacted)\]")


def _resolve(results: Sequence[Any], text: str) -> list[Detection]:
    """Non-overlapping detections: longest first, then class priority, then score. Placeholders the
    sanitiser wrote (``[host-1]``, ``env=[redacted]``) are never detected again."""
    placeholders = [m.span() for m in _PLACEHOLDER_RE.finditer(text)]
    results = [r for r in results if not any(r.start < end and start < r.end for start, end in placeholders)]
    ordered = sorted(
        results,
        key=lambda r: (-(r.end - r.start), _PRIORITY.get(r.entity_type, 99), -r.score, r.start),
    )
    taken: list[tuple[int, int]] = []
    kept: list[Detection] = []
    for result in ordered:
        if result.entity_type not in ENTITY_LABELS or result.end <= result.start:
            continue
        if any(result.start < end and start < result.end for start, end in taken):
            continue
        taken.append((result.start, result.end))
        kept.append(
            Detection(result.entity_type, result.start, result.end, text[result.start : result.end], result.score)
        )
    return sorted(kept, key=lambda d: d.start)


def detect(text: str, context: SanitiseContext | None = None) -> list[Detection]:
    """Every identifier in ``text``, as non-overlapping detections in text order."""
    if len(text) > MAX_SANITISE_CHARS:
        raise SanitiseInputTooLarge(f"The text is {len(text)} characters; the limit is {MAX_SANITISE_CHARS}.")
    if not text.strip():
        return []
    analyzer, _anonymizer = _engines()
    results = analyzer.analyze(
        text=text,
        language="en",
        entities=None,
        ad_hoc_recognizers=_ad_hoc(context or SanitiseContext()),
        regex_flags=re.MULTILINE,
    )
    return _resolve(results, text)


class _Numbering:
    """The same original gets the same placeholder in every field of one text: ``[person-1]``."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], str] = {}
        self.counts: dict[str, int] = {}

    def placeholder(self, entity: str, original: str) -> str:
        if entity == "ALERT_LABEL":
            key = re.split(r"=~|!=|=", original, maxsplit=1)[0]
            if key.lower() in _GENERIC_LABEL_KEYS:
                return f"{key}=[redacted]"
        stem = ENTITY_LABELS[entity][0]
        lookup = (entity, original.lower())
        if lookup not in self.seen:
            self.counts[stem] = self.counts.get(stem, 0) + 1
            self.seen[lookup] = f"[{stem}-{self.counts[stem]}]"
        return self.seen[lookup]


def _anonymize(
    text: str, detections: Sequence[Detection], numbering: _Numbering, name: str
) -> tuple[str, list[Change]]:
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    if not detections:
        return text, []
    _analyzer, anonymizer = _engines()
    # Placeholders are numbered in text order first; the anonymizer's operator then looks them up by
    # the original text (one original, one placeholder), whatever order it visits the spans in.
    replacements = {(d.start, d.end): numbering.placeholder(d.entity, d.text) for d in detections}

    def operator(entity: str) -> Callable[[str], str]:
        return lambda original: numbering.placeholder(entity, original)

    by_entity = {entity: operator(entity) for entity in {d.entity for d in detections}}
    result = anonymizer.anonymize(
        text=text,
        analyzer_results=[RecognizerResult(d.entity, d.start, d.end, d.score) for d in detections],
        operators={entity: OperatorConfig("custom", {"lambda": fn}) for entity, fn in by_entity.items()},
        merge_entities_with_spaces=False,
    )
    changes = [Change(name, d.start, d.end, d.text, d.entity, replacements[(d.start, d.end)]) for d in detections]
    return str(result.text), changes


def sanitise_fields(fields: Mapping[str, str], context: SanitiseContext | None = None) -> Sanitised:
    """Sanitise named fields together, so one identifier gets one placeholder across all of them."""
    total = sum(len(text) for text in fields.values())
    if total > MAX_SANITISE_CHARS:
        raise SanitiseInputTooLarge(f"The text is {total} characters; the limit is {MAX_SANITISE_CHARS}.")
    numbering = _Numbering()
    out = Sanitised(fields={})
    for name, text in fields.items():
        cleaned, changes = _anonymize(text, detect(text, context), numbering, name)
        out.fields[name] = cleaned
        out.changes.extend(changes)
    return out


def sanitise(text: str, context: SanitiseContext | None = None) -> Sanitised:
    """Sanitise one text (field name ``text``)."""
    return sanitise_fields({"text": text}, context)

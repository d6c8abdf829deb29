"""Likely severity and relevance of a signal, for sorting the triage queue.

Both are cheap, explainable heuristics over the normalised text: every score carries the words that
produced it, so a person can see why a signal sits at the top and overrule it. Relevance asks the
question the anchors say no peer answers: is this about *our* models? It matches the org's model
inventory (response's ModelVersion names) plus names and aliases the org configured for intake.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.models import Organization
from signalfire.intake.models import IntakeSettings
from signalfire.intake.normalize import normalize_for_matching
from signalfire.response.vocab import Severity

# Stems matched at the start of a word of the normalised text (so "exfiltrat" covers "exfiltrated").
_SEVERITY_TERMS: dict[Severity, tuple[str, ...]] = {
    Severity.SEV1: (
        "bioweapon",
        "biological weapon",
        "chemical weapon",
        "nerve agent",
        "nuclear weapon",
        "radiological",
        "pathogen",
        "weights leaked",
        "weights were leaked",
        "weight exfiltrat",
        "model weights stolen",
        "killed",
        "died",
        "death",
        "fatal",
        "critical infrastructure",
        "self replicat",
        "self exfiltrat",
        "loss of control",
    ),
    Severity.SEV2: (
        "jailbreak",
        "exfiltrat",
        "data leak",
        "leaked",
        "breach",
        "credential",
        "prompt injection",
        "malware",
        "ransomware",
        "exploit",
        "uplift",
        "self harm",
        "suicide",
        "weapon",
        "cyberattack",
        "cyber attack",
        "zero day",
        "sandbox escape",
        "unauthori",
        "synthesis",
        "hidden instructions",
        "instructions hidden",
        "child",
        "teenager",
    ),
    Severity.SEV3: (
        "bias",
        "discriminat",
        "hallucinat",
        "misinformation",
        "disinformation",
        "deepfake",
        "defamat",
        "privacy",
        "copyright",
        "outage",
        "degraded",
        "error rate",
        "harassment",
        "scam",
        "fraud",
        "system prompt",
        "therapist",
        "impersonat",
        "refusal rate",
        "latency",
    ),
}
_ALERT_SEVERITY = {
    "critical": Severity.SEV1,
    "page": Severity.SEV1,
    "emergency": Severity.SEV1,
    "fatal": Severity.SEV1,
    "high": Severity.SEV2,
    "error": Severity.SEV2,
    "major": Severity.SEV2,
    "warning": Severity.SEV3,
    "warn": Severity.SEV3,
    "medium": Severity.SEV3,
    "minor": Severity.SEV3,
    "info": Severity.SEV4,
    "low": Severity.SEV4,
    "none": Severity.SEV4,
}


def _stem_pattern(stems: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(sorted((re.escape(s) for s in stems), key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})")


_SEVERITY_PATTERNS = {sev: _stem_pattern(terms) for sev, terms in _SEVERITY_TERMS.items()}


@dataclass(frozen=True)
class SeverityGuess:
    severity: Severity
    reasons: list[str] = field(default_factory=list)


def likely_severity(
    text: str, *, alert_labels: Mapping[str, Any] | None = None, normalized: str | None = None
) -> SeverityGuess:
    """The most severe tier whose terms appear; an alert's own severity label counts as much.
    `normalized` is `text` already in matching form, when the caller has it."""
    matching = normalized if normalized is not None else normalize_for_matching(text)
    best = Severity.SEV4
    reasons: list[str] = []
    for sev in (Severity.SEV1, Severity.SEV2, Severity.SEV3):
        found = sorted({m.group(0) for m in _SEVERITY_PATTERNS[sev].finditer(matching)})
        if found:
            reasons.append(f"{sev.value}: mentions {', '.join(found[:5])}")
            if sev.rank < best.rank:
                best = sev
    if alert_labels:
        label = str(alert_labels.get("severity") or alert_labels.get("priority") or "").strip().lower()
        mapped = _ALERT_SEVERITY.get(label)
        if mapped is not None:
            reasons.append(f"{mapped.value}: alert severity label {label!r}")
            if mapped.rank < best.rank:
                best = mapped
    return SeverityGuess(best, reasons)


class Inventory:
    """What "our models" means for one org: model names (and aliases) and the org's own names."""

    def __init__(self, model_names: Iterable[str], org_names: Iterable[str]) -> None:
        self.model_names = tuple(model_names)
        self.org_names = tuple(org_names)
        self._models = _phrases(self.model_names)
        self._orgs = _phrases(self.org_names)

    def match(self, text: str, *, normalized: str | None = None) -> Relevance:
        padded = f" {normalized if normalized is not None else normalize_for_matching(text)} "
        models = [name for name, phrase in self._models if phrase in padded]
        orgs = [name for name, phrase in self._orgs if phrase in padded]
        score = 0.0
        if models:
            score = min(1.0, 0.7 + 0.1 * len(models))
        if orgs:
            score = min(1.0, score + (0.2 if models else 0.4))
        return Relevance(round(score, 2), models, orgs)


def _phrases(names: Iterable[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in names:
        norm = normalize_for_matching(name)
        if len(norm) >= 3:  # "ai" or "x" would match everything
            out.append((name, f" {norm} "))
    return out


@dataclass(frozen=True)
class Relevance:
    score: float
    models: list[str]
    orgs: list[str]


def inventory_for(session: Session, org_id: uuid.UUID) -> Inventory:
    names: dict[str, None] = {}
    try:  # response's model inventory, when that channel is installed
        from signalfire.response.models import ModelVersion
    except ImportError:  # pragma: no cover - response ships with intake
        pass
    else:
        for name in session.execute(
            select(ModelVersion.name).where(ModelVersion.org_id == org_id).distinct().order_by(ModelVersion.name)
        ).scalars():
            names[name] = None
    settings = session.get(IntakeSettings, org_id)
    for name in settings.model_names if settings else []:
        names[name] = None
    org = session.get(Organization, org_id)
    org_names = (org.name, org.slug) if org else ()
    return Inventory(names, [n for n in org_names if n])

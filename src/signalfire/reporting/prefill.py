"""Prefilling a report draft from the incident, through the OECD common reporting framework.

A regime file maps its fields to OECD criteria (1-29, regimes.md section 7); the incident record
answers the criteria. So no regime is named here, and a new regime file with OECD mappings gets
prefilled drafts without a code change. Fields without a mapping start empty; the editor shows the
incident's facts beside them.
"""

from __future__ import annotations

from collections.abc import Callable

from signalfire.reporting.facts import IncidentFacts
from signalfire.reporting.rules.regime_schema import Regime
from signalfire.response.models import TimelineKind

MAX_LINES = 40


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value is not None else "unknown"


def _title(f: IncidentFacts, ctx: PrefillContext) -> str:
    return f.incident.title


def _description(f: IncidentFacts, ctx: PrefillContext) -> str:
    lines = [f.incident.summary.strip()] if f.incident.summary.strip() else []
    events = [
        e
        for e in f.timeline
        if e.kind
        in (
            TimelineKind.STATUS_CHANGE,
            TimelineKind.NOTE,
            TimelineKind.DECISION,
            TimelineKind.ACTION,
            TimelineKind.EVIDENCE,
            TimelineKind.SIGNAL,
        )
    ]
    if events:
        lines.append("Chain of events:")
        lines += [f"- {e.at:%Y-%m-%d %H:%M} UTC: {e.body.strip()}" for e in events[:MAX_LINES]]
    return "\n".join(lines)


def _evidence(f: IncidentFacts, ctx: PrefillContext) -> str:
    items = [e for e in f.timeline if e.kind is TimelineKind.EVIDENCE]
    lines = [f"- {e.at:%Y-%m-%d %H:%M} UTC: {e.body.strip()}" for e in items[:MAX_LINES]]
    if f.incident.affected_models:
        lines.insert(0, f"Models involved: {', '.join(f.incident.affected_models)}.")
    return "\n".join(lines)


def _submitter(f: IncidentFacts, ctx: PrefillContext) -> str:
    return f"{ctx.org_name}; contact: {ctx.reporter}"


def _dates(f: IncidentFacts, ctx: PrefillContext) -> str:
    i = f.incident
    end = _when(i.resolved_at) + " (resolved)" if i.resolved_at else "ongoing"
    start = f"{_when(i.occurred_at)} (occurred)" if i.occurred_at else "not yet known"
    return f"Start: {start}; the organisation became aware at {_when(i.aware_at)}. End: {end}."


def _models(f: IncidentFacts, ctx: PrefillContext) -> str:
    return ", ".join(f.incident.affected_models)


def _severity(f: IncidentFacts, ctx: PrefillContext) -> str:
    return f"Severity: {f.incident.severity.label}."


def _harm(f: IncidentFacts, ctx: PrefillContext) -> str:
    return f"Type of harm (risk domain): {f.incident.risk_domain.label}."


def _root_cause(f: IncidentFacts, ctx: PrefillContext) -> str:
    review = f.review
    if review is None:
        return ""
    lines = [review.root_cause.strip()] if review.root_cause.strip() else []
    if review.contributing_factors:
        lines.append("Contributing factors: " + "; ".join(review.contributing_factors))
    return "\n".join(lines)


def _actions(f: IncidentFacts, ctx: PrefillContext) -> str:
    lines = []
    for a in f.actions[:MAX_LINES]:
        done = a.verified_at or a.completed_at
        status = f"{a.status.label}" + (f" {_when(done)}" if done else "")
        lines.append(f"- {a.kind.label}: {a.title} ({status}).")
    return "\n".join(lines)


def _other(f: IncidentFacts, ctx: PrefillContext) -> str:
    return "\n".join(f"- {item.title}" for item in f.review_items[:MAX_LINES])


class PrefillContext:
    def __init__(self, org_name: str, reporter: str) -> None:
        self.org_name = org_name
        self.reporter = reporter


# OECD AI Papers No. 34 (2025) criteria the incident record can answer.
OECD_SOURCES: dict[int, Callable[[IncidentFacts, PrefillContext], str]] = {
    1: _title,
    2: _description,
    3: _evidence,
    4: _submitter,
    5: _dates,
    7: _evidence,
    8: _models,
    10: _severity,
    11: _harm,
    21: _root_cause,
    22: _root_cause,
    27: _actions,
    29: _other,
}

# Criteria regime files map to that the incident record cannot answer: the field starts empty for the
# reporter rather than with a guess. A criterion in neither table is a mistake (a test checks the files).
NOT_PREFILLABLE: frozenset[int] = frozenset(
    {
        6,  # countries: the record keeps no place
        12,  # quantified harm: no counts of people or losses are recorded
        13,  # misuse link: the risk domain hints at misuse but does not establish it
        14,  # affected stakeholders: not recorded
        20,  # breadth of deployment: the record names models, not their reach
    }
)


def prefill(regime: Regime, field_ids: list[str], facts: IncidentFacts, ctx: PrefillContext) -> dict[str, str]:
    """A first draft value per field, from the OECD criteria the field maps to (in the file's order)."""
    out: dict[str, str] = {}
    for fid in field_ids:
        try:
            spec = regime.field(fid)
        except KeyError:
            continue
        if spec.oecd is None:
            out[fid] = ""
            continue
        parts: list[str] = []
        seen: set[int] = set()
        for criterion in spec.oecd.criteria:
            source = OECD_SOURCES.get(criterion)
            if source is None or id(source) in seen:
                continue
            seen.add(id(source))
            text = source(facts, ctx).strip()
            if text and text not in parts:
                parts.append(text)
        out[fid] = "\n\n".join(parts)
    return out

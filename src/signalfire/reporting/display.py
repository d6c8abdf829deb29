"""Words for people on the reporting pages: labels for ids (events, recipients, classes, stages, readings)
and the article each instant comes from. The ids stay in data and the API; pages show these."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.core.errors import NotFound
from signalfire.reporting import inbox, prompts
from signalfire.reporting.models import Obligation
from signalfire.reporting.rules import catalog
from signalfire.reporting.rules.clock_events import EVENT_IDS
from signalfire.reporting.rules.clock_events import label as event_label
from signalfire.reporting.rules.regime_schema import Regime

READINGS: Mapping[str, str] = {
    "elapsed_utc": "elapsed time (UTC)",
    "same_local_time": "same local time in the recipient's zone",
    "legal": "legal day-end reading",
}

# Event ids inside free text (a basis, a target's reason), longest first so no id eats part of another.
_EVENT_RE = re.compile(r"\b(" + "|".join(sorted((e for e in EVENT_IDS if "_" in e), key=len, reverse=True)) + r")\b")


_EXPRESSION_RE = re.compile(r"\b(?:earliest_of|latest_of)\([^()]*\)")


def humanize(text: str | None) -> str:
    """Free text with event ids replaced by their labels ("immediately after causal link suspected")."""
    if not text:
        return ""
    text = _EXPRESSION_RE.sub(lambda m: event_label(m.group(0)).lower(), text)
    return _EVENT_RE.sub(lambda m: event_label(m.group(1)).lower(), text)


def reading(value: str | None) -> str:
    return READINGS.get(value or "", value or "")


def _regime(o: Obligation) -> Regime | None:
    try:
        return catalog.get(o.regime_id, o.regime_version)
    except NotFound:
        return None


def article(o: Obligation) -> str:
    """Where the obligation's deadline is written: the class's source for an initial report, else the
    rule for the stage (updates, final, summary, a concurrent report)."""
    regime = _regime(o)
    if regime is None:
        return ""
    if o.stage == "initial":
        try:
            return regime.incident_class(o.class_id).source
        except KeyError:
            return regime.source
    return catalog.stage_rule_source(regime, o.stage)


def recipients(o: Obligation) -> str:
    regime = _regime(o)
    names = [catalog.recipient_name(regime, r) if regime else r for r in o.recipients]
    return "; ".join(names)


def class_label(o: Obligation) -> str:
    regime = _regime(o)
    if regime is None:
        return o.class_id
    try:
        return regime.incident_class(o.class_id).label
    except KeyError:
        return o.class_id


def regime_title(regime_id: str, version: str | None = None) -> str:
    try:
        regime = catalog.get(regime_id, version) if version else catalog.latest(regime_id)
    except NotFound:
        return regime_id
    return regime.title


def class_names(regime_id: str, version: str, class_ids: list[str]) -> str:
    """Class labels for a list of class ids ("Death of a person, Serious harm to health")."""
    try:
        regime = catalog.get(regime_id, version)
    except NotFound:
        return ", ".join(class_ids)
    names = []
    for cid in class_ids:
        try:
            names.append(regime.incident_class(cid).label)
        except KeyError:
            names.append(cid)
    return ", ".join(names)


def question_text(regime_id: str, version: str, item: str) -> str:
    """A missing answer or fact id as the question asked ("Was a model involved?")."""
    try:
        regime = catalog.get(regime_id, version)
    except NotFound:
        return item
    for q in regime.questions:
        if q.id == item:
            return q.text
    for f in regime.applicability.facts:
        if f.id == item:
            return f.text
    return humanize(item)


def implied_by(text: str | None) -> str:
    """ "<regime id>: <question id>" as the regime's name and the question asked."""
    if not text:
        return ""
    regime_id, _, question = text.partition(": ")
    try:
        regime = catalog.latest(regime_id)
    except NotFound:
        return text
    for q in regime.questions:
        if q.id == question:
            return f"{regime.title}: “{q.text}”"
    return text


def stage_name(regime_id: str, stage: str) -> str:
    """A stage's name when only the regime id is at hand (its latest version names stages the same)."""
    try:
        return catalog.stage_label(catalog.latest(regime_id), stage)
    except NotFound:
        return stage


def recipient_label(regime_id: str, recipient_id: str) -> str:
    try:
        return catalog.recipient_name(catalog.latest(regime_id), recipient_id)
    except NotFound:
        return recipient_id


@dataclass(frozen=True)
class Urgency:
    """How soon the target falls (colour) and whether the legal latest has passed (overdue)."""

    css: str
    overdue: bool


def urgency(o: Obligation, now: datetime) -> Urgency:
    """Overdue is judged on the legal latest (``due_at``); the colour on the target (regimes.md section 8)."""
    overdue = o.is_open and o.due_at is not None and o.due_at < now
    if not o.is_open or o.target_at is None:
        return Urgency("", overdue)
    left = (o.target_at - now).total_seconds()
    css = "urgency-past" if left < 0 else "urgency-soon" if left < 24 * 3600 else "urgency-later"
    return Urgency(css, overdue)


@dataclass(frozen=True)
class Attention:
    """What waits on the org in reporting, for badges outside the reporting pages."""

    questions: int
    unassessed: int


def attention(session: Session, actor: Actor) -> Attention:
    """Authority questions waiting for an answer and serious incidents nobody assessed (policy applied)."""
    if not actor.can(Permission.reporting_obligation_read):
        return Attention(0, 0)
    return Attention(len(inbox.unanswered_questions(session, actor)), len(prompts.needs_assessment(session, actor)))


HELPERS: Mapping[str, Any] = {
    "event_label": event_label,
    "humanize": humanize,
    "reading": reading,
    "article": article,
    "recipients_of": recipients,
    "class_label": class_label,
    "regime_title": regime_title,
    "stage_name": stage_name,
    "implied_by": implied_by,
    "class_names": class_names,
    "question_text": question_text,
    "recipient_label": recipient_label,
    "urgency": urgency,
}

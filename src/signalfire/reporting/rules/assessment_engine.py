"""Reportability assessment: answers to a regime's questions in, a reasoned outcome out.

Answers are "yes", "no" or "unknown" (a missing answer is "unknown"). "Unknown" never hides a possible
report: a class that could apply once the unknowns are answered is returned as *possible* and its clock
runs (regimes.md section 8: "unknown" means possibly reportable, clock running). The outcome is
"reportable" when some class applies whichever way the unknowns go, "not_reportable" when none can,
"undetermined" otherwise. The engine is pure and deterministic, and names no regime.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from signalfire.reporting.rules.regime_schema import (
    AllOf,
    AnyOf,
    Criterion,
    IncidentClass,
    NotOf,
    OrgKind,
    Regime,
    criterion_refs,
)

Answer = Literal["yes", "no", "unknown"]
Outcome = Literal["reportable", "not_reportable", "undetermined"]
Truth = bool | None  # None: unknown

# Up to this many unknown answers, assess() checks every way of answering them (2**n rows).
EXACT_LIMIT = 12

_ANSWERS: Mapping[str, Truth] = {"yes": True, "no": False, "unknown": None}
_SHOWN: Mapping[Truth, str] = {True: "yes", False: "no", None: "unknown"}


@dataclass(frozen=True, slots=True)
class AssessmentResult:
    """The outcome of assessing one incident against one regime version.

    ``classes`` apply on the answers given; ``possible_classes`` could apply once unknown answers are
    known. Both are ordered strictest first (severity rank, then file order). ``concurrent_reports`` and
    ``possible_concurrent_reports`` name the extra reports (e.g. a 24-hour imminent-risk disclosure) that
    do or may apply; they are empty when nothing is reportable. ``missing`` lists, in questionnaire
    order, the unanswered questions whose answer alone would change any of these.
    """

    regime_id: str
    regime_version: str
    outcome: Outcome
    classes: tuple[str, ...]
    possible_classes: tuple[str, ...]
    concurrent_reports: tuple[str, ...]
    possible_concurrent_reports: tuple[str, ...]
    missing: tuple[str, ...]
    rationale: tuple[str, ...]

    @property
    def clock_classes(self) -> tuple[str, ...]:
        """The classes whose clocks run: applicable and possible ones (the conservative set)."""
        return self.classes + self.possible_classes


@dataclass(frozen=True, slots=True)
class ApplicabilityResult:
    applies: Answer
    missing_facts: tuple[str, ...]
    rationale: tuple[str, ...]


def evaluate(criterion: Criterion, values: Mapping[str, Truth]) -> Truth:
    """Kleene three-valued evaluation; an id absent from ``values`` is unknown."""
    if isinstance(criterion, AllOf):
        parts = [evaluate(c, values) for c in criterion.all]
        return False if False in parts else (None if None in parts else True)
    if isinstance(criterion, AnyOf):
        parts = [evaluate(c, values) for c in criterion.any]
        return True if True in parts else (None if None in parts else False)
    if isinstance(criterion, NotOf):
        inner = evaluate(criterion.negated, values)
        return None if inner is None else not inner
    return values.get(criterion)


def assess(regime: Regime, answers: Mapping[str, Answer]) -> AssessmentResult:
    """Assess reportability. Raises ValueError for an answer that is not yes/no/unknown or a key that
    is not one of the regime's questions (a typo would otherwise read as "unknown").

    Up to ``EXACT_LIMIT`` unknown answers, every way of answering them is checked, so "reportable"
    is returned whenever some class applies whichever way they go (e.g. CII operator or not, the
    incident is reportable); beyond that, three-valued logic, which may say "undetermined" instead.
    """
    values = _truth_values(regime, answers)
    unknown = [q for q in regime.question_ids() if values[q] is None]
    if len(unknown) <= EXACT_LIMIT:
        rows = _completions(regime, values, unknown)
        core = _aggregate(regime, rows)
        missing = tuple(
            q
            for i, q in enumerate(unknown)
            if any(_aggregate(regime, [r for r in rows if r[0][i] is v]) != core for v in (True, False))
        )
    else:
        core = _kleene_core(regime, values)
        missing = tuple(
            q for q in unknown if any(_kleene_core(regime, {**values, q: v}) != core for v in (True, False))
        )
    outcome, classes, possible, concurrent, possible_concurrent = core
    return AssessmentResult(
        regime_id=regime.id,
        regime_version=regime.version,
        outcome=outcome,
        classes=classes,
        possible_classes=possible,
        concurrent_reports=concurrent,
        possible_concurrent_reports=possible_concurrent,
        missing=missing,
        rationale=tuple(_rationale(regime, values, core, missing)),
    )


def assess_applicability(
    regime: Regime,
    *,
    org_kinds: Collection[OrgKind],
    jurisdictions: Collection[str],
    facts: Mapping[str, Answer],
    roles: Collection[str] = (),
) -> ApplicabilityResult:
    """Does the regime bind this org? ``jurisdictions`` are where the org operates (ISO codes such as
    "EU", "US-CA"); "US" and "US-CA" are taken to overlap. The org's kind, or one of its declared legal
    ``roles``, must be among the regime's. Disabled regimes never apply."""
    if not regime.enabled:
        return ApplicabilityResult(
            "no", (), (f"{regime.id} {regime.version} is not enabled (kept for audit or a proposal).",)
        )
    app = regime.applicability
    kind_ok = any(k in app.org_kinds for k in org_kinds) or any(r in app.roles for r in roles)
    place_ok = any(_overlaps(j, r) for j in jurisdictions for r in app.jurisdictions)
    reasons: list[str] = []
    if not kind_ok:
        wanted = ", ".join([*app.org_kinds, *(f"role {r}" for r in app.roles)])
        reasons.append(f"Org kind {', '.join(sorted(org_kinds)) or 'none'} is not among {wanted}.")
    if not place_ok:
        reasons.append(
            f"Jurisdictions {', '.join(sorted(jurisdictions)) or 'none'} do not meet {', '.join(app.jurisdictions)}."
        )
    if reasons:
        return ApplicabilityResult("no", (), tuple(reasons))
    declared = {f.id for f in app.facts}
    unknown_keys = sorted(set(facts) - declared)
    if unknown_keys:
        raise ValueError(f"unknown facts for {regime.id}: {', '.join(unknown_keys)}")
    values = {f: _truth(facts.get(f, "unknown"), f) for f in declared}
    if app.requires is None:
        return ApplicabilityResult(
            "yes", (), (f"Applies to {', '.join(app.org_kinds)} in {', '.join(app.jurisdictions)}.",)
        )
    result = evaluate(app.requires, values)
    missing = tuple(
        f.id
        for f in app.facts
        if values[f.id] is None and any(evaluate(app.requires, {**values, f.id: v}) != result for v in (True, False))
    )
    shown = _with_values(app.requires, values)
    if result is None:
        return ApplicabilityResult("unknown", missing, (f"May apply: {shown}; facts needed: {', '.join(missing)}.",))
    return ApplicabilityResult(
        "yes" if result else "no", (), (f"{'Applies' if result else 'Does not apply'}: {shown}.",)
    )


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "-") or b.startswith(a + "-")


def _truth(answer: str, key: str) -> Truth:
    if answer not in _ANSWERS:
        raise ValueError(f"answer to {key!r} must be yes, no or unknown, got {answer!r}")
    return _ANSWERS[answer]


def _truth_values(regime: Regime, answers: Mapping[str, Answer]) -> dict[str, Truth]:
    ids = regime.question_ids()
    unknown_keys = sorted(set(answers) - set(ids))
    if unknown_keys:
        raise ValueError(f"not questions of {regime.id} {regime.version}: {', '.join(unknown_keys)}")
    return {q: _truth(answers.get(q, "unknown"), q) for q in ids}


_Core = tuple[Outcome, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]


# One way of answering the unknown questions: the answers chosen, then each class's and each concurrent
# report's truth (classes strictest first, reports in file order).
_Row = tuple[tuple[bool, ...], tuple[bool, ...], tuple[bool, ...]]


def _completions(regime: Regime, values: Mapping[str, Truth], unknown: Sequence[str]) -> list[_Row]:
    ordered = _strictest_first(regime.classes)
    rows: list[_Row] = []
    for combo in itertools.product((True, False), repeat=len(unknown)):
        full = {**values, **dict(zip(unknown, combo, strict=True))}
        rows.append(
            (
                combo,
                tuple(evaluate(c.when, full) is True for c in ordered),
                tuple(evaluate(r.when, full) is True for r in regime.reports.concurrent),
            )
        )
    return rows


def _aggregate(regime: Regime, rows: Sequence[_Row]) -> _Core:
    ordered = _strictest_first(regime.classes)
    reportable = [r for r in rows if any(r[1])]
    if not reportable:
        return "not_reportable", (), (), (), ()
    classes = tuple(c.id for i, c in enumerate(ordered) if all(r[1][i] for r in rows))
    possible = tuple(c.id for i, c in enumerate(ordered) if c.id not in classes and any(r[1][i] for r in rows))
    reports = regime.reports.concurrent
    concurrent = tuple(rep.id for i, rep in enumerate(reports) if all(r[2][i] for r in reportable))
    maybe = tuple(
        rep.id for i, rep in enumerate(reports) if rep.id not in concurrent and any(r[2][i] for r in reportable)
    )
    outcome: Outcome = "reportable" if len(reportable) == len(rows) else "undetermined"
    return outcome, classes, possible, concurrent, maybe


def _kleene_core(regime: Regime, values: Mapping[str, Truth]) -> _Core:
    ordered = _strictest_first(regime.classes)
    verdicts = [(cls.id, evaluate(cls.when, values)) for cls in ordered]
    classes = tuple(cid for cid, v in verdicts if v is True)
    possible = tuple(cid for cid, v in verdicts if v is None)
    outcome: Outcome = "reportable" if classes else ("undetermined" if possible else "not_reportable")
    if outcome == "not_reportable":
        return outcome, classes, possible, (), ()
    extra = [(rep.id, evaluate(rep.when, values)) for rep in regime.reports.concurrent]
    return (
        outcome,
        classes,
        possible,
        tuple(rid for rid, v in extra if v is True),
        tuple(rid for rid, v in extra if v is None),
    )


def _strictest_first(classes: Sequence[IncidentClass]) -> list[IncidentClass]:
    return [c for _, _, c in sorted((c.severity_rank, i, c) for i, c in enumerate(classes))]


def _with_values(criterion: Criterion, values: Mapping[str, Truth]) -> str:
    return ", ".join(f"{ref} = {_SHOWN[values.get(ref)]}" for ref, _ in criterion_refs(criterion))


def _rationale(regime: Regime, values: Mapping[str, Truth], core: _Core, missing: tuple[str, ...]) -> list[str]:
    outcome, classes, possible, concurrent, possible_concurrent = core
    name = f"{regime.title} ({regime.id} {regime.version})"
    lines: list[str] = []
    if outcome == "reportable":
        lines.append(f"Reportable under {name}.")
    elif outcome == "undetermined":
        lines.append(
            f"Possibly reportable under {name}: the clock runs for the possible classes until "
            f"{', '.join(missing) or 'the open questions'} {'is' if len(missing) == 1 else 'are'} answered."
        )
    else:
        lines.append(f"Not reportable under {name}: no incident class applies on these answers.")
    for cls in _strictest_first(regime.classes):
        shown = _with_values(cls.when, values)
        if cls.id in classes:
            lines.append(
                f"Class {cls.id} ({cls.label}) applies: {shown}. Initial report {cls.deadline} "
                f"per {cls.source} (confidence {cls.confidence})."
            )
        elif cls.id in possible:
            lines.append(f"Class {cls.id} ({cls.label}) may apply: {shown}.")
        else:
            lines.append(f"Class {cls.id} ({cls.label}) does not apply: {shown}.")
    for rep in regime.reports.concurrent:
        if rep.id in concurrent:
            lines.append(f"Also due: {rep.id} ({rep.label}) per {rep.source}: {_with_values(rep.when, values)}.")
        elif rep.id in possible_concurrent:
            lines.append(f"May also be due: {rep.id} ({rep.label}): {_with_values(rep.when, values)}.")
    if classes and possible:
        lines.append(
            f"Other classes may also apply ({', '.join(possible)}); their clocks run until they are "
            "ruled out, and the one due earliest governs."
        )
    return lines

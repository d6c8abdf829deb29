"""The schema of a reporting-regime file (one YAML file per regime version).

A regime file is data, not code: who it applies to, the questions that decide reportability, the
incident classes with their clocks, the staged reports and their fields, retention and the day-counting
rule. Every number carries ``source`` (the provision it comes from) and ``confidence`` (high, medium,
low, as regimes.md defines them). Unknown keys are rejected everywhere, so a typo cannot silently
drop a rule.

Cross-references (question ids in criteria, recipients, fields, stage names) are checked when the
whole file is validated; the errors carry the path of the offending key so the loader can name the
line.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from signalfire.reporting.rules.clock_events import ClockStart, EventId, referenced_events, render

Confidence = Literal["high", "medium", "low"]
OrgKind = Literal["frontier_developer", "authority", "hub_operator", "researcher", "downstream"]
RegimeKind = Literal["code_of_practice", "regulation", "statute", "administrative_measures", "proposed_rule"]
CountingMethod = Literal["elapsed_utc", "eu_1182_71"]

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
RegimeId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")]
StageId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
Jurisdiction = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]

# Stage names the deadline function produces itself; a concurrent report may not reuse them.
RESERVED_STAGE = re.compile(r"^(initial|final|summary|update-\d+)$")

# ---------------------------------------------------------------------------------------------
# ISO 8601 durations


_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


@dataclass(frozen=True, slots=True)
class IsoDuration:
    """An ISO 8601 duration (integer components; a leading "-" is parsed so it can be rejected clearly).

    Years and months are calendar units (added on the UTC calendar, day clamped to the month's end);
    weeks, days and time parts are elapsed time.
    """

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0
    negative: bool = False

    @classmethod
    def parse(cls, text: str) -> IsoDuration:
        match = _DURATION.match(text.strip())
        parts = (
            {} if match is None else {k: int(v) for k, v in match.groupdict().items() if k != "sign" and v is not None}
        )
        time_given = any(k in parts for k in ("hours", "minutes", "seconds"))
        if match is None or not parts or (text.strip().endswith("T") or ("T" in text and not time_given)):
            raise ValueError(f"not an ISO 8601 duration: {text!r} (examples: P2D, PT24H, P4W)")
        return cls(negative=match.group("sign") is not None, **parts)

    def __str__(self) -> str:
        date_part = "".join(
            f"{n}{u}" for n, u in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D")) if n
        )
        time_part = "".join(f"{n}{u}" for n, u in ((self.hours, "H"), (self.minutes, "M"), (self.seconds, "S")) if n)
        body = date_part + (f"T{time_part}" if time_part else "")
        return ("-" if self.negative else "") + "P" + (body or "0D")

    @property
    def has_date_part(self) -> bool:
        return bool(self.years or self.months or self.weeks or self.days)

    @property
    def has_time_part(self) -> bool:
        return bool(self.hours or self.minutes or self.seconds)

    @property
    def is_positive(self) -> bool:
        return not self.negative and (self.has_date_part or self.has_time_part)

    def times(self, k: int) -> IsoDuration:
        return IsoDuration(
            self.years * k,
            self.months * k,
            self.weeks * k,
            self.days * k,
            self.hours * k,
            self.minutes * k,
            self.seconds * k,
            self.negative,
        )

    def shift_date(self, day: date) -> date:
        """The calendar date this duration's date part lands on (time parts ignored)."""
        sign = -1 if self.negative else 1
        months = day.month - 1 + sign * (self.years * 12 + self.months)
        year, month = day.year + months // 12, months % 12 + 1
        clamped = date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
        return clamped + sign * timedelta(weeks=self.weeks, days=self.days)

    def shift_date_minimum(self, day: date) -> date:
        """Like ``shift_date``, on the safe side of a *minimum* period: a day the target month lacks
        (29 February, 31 April) rolls to the next day (1 March, 1 May), never back (regimes.md s. 8)."""
        sign = -1 if self.negative else 1
        months = day.month - 1 + sign * (self.years * 12 + self.months)
        year, month = day.year + months // 12, months % 12 + 1
        last = calendar.monthrange(year, month)[1]
        landed = date(year, month, last) + timedelta(days=1) if day.day > last else date(year, month, day.day)
        return landed + sign * timedelta(weeks=self.weeks, days=self.days)

    def add_minimum(self, instant: datetime) -> datetime:
        """``instant`` plus this duration read as a minimum (retention "at least five years")."""
        utc = instant.astimezone(UTC)
        moved = self.shift_date_minimum(utc.date())
        sign = -1 if self.negative else 1
        return datetime.combine(moved, utc.timetz()) + sign * timedelta(
            hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )

    def add_elapsed(self, instant: datetime) -> datetime:
        """``instant`` plus this duration: calendar years/months on the UTC calendar, the rest elapsed."""
        utc = instant.astimezone(UTC)
        sign = -1 if self.negative else 1
        if self.years or self.months:
            moved = IsoDuration(self.years, self.months, negative=self.negative).shift_date(utc.date())
            utc = utc.replace(year=moved.year, month=moved.month, day=moved.day)
        return utc + sign * timedelta(
            weeks=self.weeks, days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )

    @classmethod
    def _validate(cls, value: Any) -> IsoDuration:
        if isinstance(value, IsoDuration):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected an ISO 8601 duration string such as P2D or PT24H, got {value!r}")
        return cls.parse(value)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "pattern": _DURATION.pattern, "examples": ["P2D", "PT24H", "P4W"]}


def _positive_duration(value: IsoDuration) -> IsoDuration:
    if not value.is_positive:
        raise ValueError(f"duration must be positive, got {value}")
    if value.has_date_part and value.has_time_part:
        # A clock counts either in days (which may roll under a legal reading) or in hours (which never
        # roll); a mix has no agreed legal reading.
        raise ValueError(f"a clock duration uses date units or time units, not both: {value}")
    return value


PositiveDuration = Annotated[IsoDuration, AfterValidator(_positive_duration)]


@dataclass(frozen=True, slots=True)
class Deadline:
    """A report's time limit: an ISO duration, or a rule that takes it from elsewhere.

    ``org_sla``: the text sets no number ("without undue delay", "promptly"); the org's own SLA applies.
    ``with_initial``: an extra recipient due together with the initial report (concurrent reports only).
    """

    kind: Literal["duration", "org_sla", "with_initial"]
    duration: IsoDuration | None = None

    def __str__(self) -> str:
        return str(self.duration) if self.duration is not None else self.kind

    @classmethod
    def _validate(cls, value: Any) -> Deadline:
        if isinstance(value, Deadline):
            return value
        if value is None:
            raise ValueError("a deadline is required (an ISO 8601 duration, org_sla or with_initial)")
        if not isinstance(value, str):
            raise ValueError(f"a deadline is an ISO 8601 duration, org_sla or with_initial, got {value!r}")
        if value in ("org_sla", "with_initial"):
            return cls(kind=value)  # type: ignore[arg-type]  # narrowed by the membership test
        parsed = IsoDuration.parse(value)
        if not parsed.is_positive:
            raise ValueError(f"deadline must be positive, got {value}")
        return cls(kind="duration", duration=_positive_duration(parsed))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [{"type": "string", "pattern": _DURATION.pattern}, {"enum": ["org_sla", "with_initial"]}]}


# ---------------------------------------------------------------------------------------------
# Criteria: boolean expressions over question (or fact) ids


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AllOf(StrictModel):
    all: list[Criterion] = Field(min_length=1)


class AnyOf(StrictModel):
    any: list[Criterion] = Field(min_length=1)


class NotOf(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    negated: Criterion = Field(alias="not")


def _criterion_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "ref"
    for model, tag in ((AllOf, "all"), (AnyOf, "any"), (NotOf, "not")):
        if isinstance(value, model):
            return tag
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key in ("all", "any", "not"):
            return str(key)
    return None


Criterion = Annotated[
    Annotated[Ident, Tag("ref")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotOf, Tag("not")],
    Discriminator(
        _criterion_tag,
        custom_error_type="invalid_criterion",
        custom_error_message="a criterion is a question id or a mapping with one key: all, any or not",
    ),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


def criterion_refs(
    criterion: Criterion, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """Every id a criterion names, with its path inside the criterion (for error locations)."""
    if isinstance(criterion, AllOf):
        for i, c in enumerate(criterion.all):
            yield from criterion_refs(c, (*path, "all", i))
    elif isinstance(criterion, AnyOf):
        for i, c in enumerate(criterion.any):
            yield from criterion_refs(c, (*path, "any", i))
    elif isinstance(criterion, NotOf):
        yield from criterion_refs(criterion.negated, (*path, "not"))
    else:
        yield criterion, path


def render_criterion(criterion: Criterion) -> str:
    if isinstance(criterion, AllOf):
        return "all(" + ", ".join(render_criterion(c) for c in criterion.all) + ")"
    if isinstance(criterion, AnyOf):
        return "any(" + ", ".join(render_criterion(c) for c in criterion.any) + ")"
    if isinstance(criterion, NotOf):
        return "not(" + render_criterion(criterion.negated) + ")"
    return criterion


# ---------------------------------------------------------------------------------------------
# File sections


class Sourced(StrictModel):
    """Anything that carries a number or a rule: where it comes from and how sure we are."""

    source: Text
    confidence: Confidence
    note: Text | None = None


def _valid_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


TimeZoneName = Annotated[str, AfterValidator(_valid_zone)]


# Legal roles an organisation declares in its profile (``reporting.org_profile``); regimes read them.
OrgRole = Literal[
    "frontier_developer",
    "gpai_provider",
    "gpai_systemic_risk_provider",
    "code_signatory",
    "high_risk_provider",
    "deployer",
    "critical_infrastructure_operator",
    "essential_entity_operator",
    "public_body",
    "network_operator_cn",
    "cii_operator_cn",
    "genai_service_provider_cn",
    "covered_entity_us",
]
# Size facts an organisation declares, with the regimes' thresholds against them.
SizeAttribute = Literal["training_compute_flop", "annual_revenue_usd"]


class Threshold(StrictModel):
    """A size fact compared with a number from the text (``more_than`` is strict, as the texts say)."""

    attribute: SizeAttribute
    more_than: float = Field(ge=0)


class Fact(StrictModel):
    """A named boolean fact about the org or its model (e.g. "provides a GPAI model with systemic risk").

    ``role`` and ``threshold`` let the org's profile answer it: yes when the org holds the role or its
    size fact is over the threshold, as of the incident's awareness; no when the profile declares roles
    (or the size fact) and this one is not met; otherwise the assessor answers it."""

    id: Ident
    text: Text
    source: Text | None = None
    confidence: Confidence | None = None
    role: OrgRole | None = None
    threshold: Threshold | None = None


class Applicability(Sourced):
    """Who a regime binds: an org whose kind is listed, or that holds one of ``roles`` (a deployer or a
    public body is caught by its legal role, not by its place in Signalfire), in one of the jurisdictions."""

    org_kinds: list[OrgKind] = Field(min_length=1)
    roles: list[OrgRole] = []
    jurisdictions: list[Jurisdiction] = Field(min_length=1)
    facts: list[Fact] = []
    requires: Criterion | None = None


class Recipient(Sourced):
    """Who receives a report. ``time_zone`` is the recipient's, for the legal "end of day" reading;
    ``holidays`` are its non-working days besides weekends (none listed means weekends only)."""

    id: Ident
    name: Text
    time_zone: TimeZoneName
    holidays: list[date] = []


class Question(StrictModel):
    """A yes/no/unknown question. ``implies`` names clock events that a "yes" (or "unknown": possibly,
    clock running) presupposes, e.g. "the model was involved" implies the org became aware of its
    involvement: the form asks for that time with the answer, so the clock starts."""

    id: Ident
    text: Text
    help: Text | None = None
    implies: list[EventId] = []


class Immediately(Sourced):
    """Report "immediately" after ``trigger``: due = min(trigger + org SLA, backstop)."""

    trigger: ClockStart


class IncidentClass(Sourced):
    """A class of incident with its initial-report clock.

    ``severity_rank``: 1 is the strictest. Within a regime the strictest applicable class governs
    (earliest due); the rank breaks ties and orders lists.
    """

    id: Ident
    label: Text
    when: Criterion
    start: ClockStart
    deadline: Deadline
    immediately: Immediately | None = None
    severity_rank: int = Field(ge=1)
    recipients: list[Ident] = Field(min_length=1)

    @field_validator("deadline")
    @classmethod
    def _no_with_initial(cls, value: Deadline) -> Deadline:
        if value.kind == "with_initial":
            raise ValueError("with_initial is only for concurrent reports")
        return value


class OecdMapping(Sourced):
    criteria: list[Annotated[int, Field(ge=1, le=29)]] = Field(min_length=1)


class ReportField(Sourced):
    """An item a report must carry, optionally mapped to OECD common-framework criteria (1-29)."""

    id: Ident
    label: Text
    oecd: OecdMapping | None = None


class InitialStage(Sourced):
    fields: list[Ident] = Field(min_length=1)
    incomplete_allowed: bool
    minimum_fields: list[Ident] = []


class UpdateStage(Sourced):
    """Updates at least every ``every`` after ``anchor`` while ``until`` has not happened."""

    every: PositiveDuration
    anchor: ClockStart
    until: ClockStart
    fields: list[Ident] = []


class ClosingStage(Sourced):
    """A closing report (final, or a summary after handling) due ``deadline`` after ``anchor``."""

    anchor: ClockStart
    deadline: Deadline
    fields: list[Ident] = []

    @field_validator("deadline")
    @classmethod
    def _no_with_initial(cls, value: Deadline) -> Deadline:
        if value.kind == "with_initial":
            raise ValueError("with_initial is only for concurrent reports")
        return value


class ConcurrentReport(Sourced):
    """A report that runs beside the initial one when its own criterion holds (e.g. a 24-hour
    imminent-risk disclosure next to a 15-day report)."""

    id: StageId
    label: Text
    when: Criterion
    start: ClockStart | None = None
    deadline: Deadline
    recipients: list[Ident] = Field(min_length=1)
    fields: list[Ident] = []

    @model_validator(mode="after")
    def _start_needed(self) -> ConcurrentReport:
        if self.deadline.kind != "with_initial" and self.start is None:
            raise ValueError("a concurrent report with its own deadline needs a start")
        return self


class Reports(StrictModel):
    initial: InitialStage
    updates: UpdateStage | None = None
    final: ClosingStage | None = None
    summary: ClosingStage | None = None
    concurrent: list[ConcurrentReport] = []


def _optional_positive(value: IsoDuration | None) -> IsoDuration | None:
    if value is not None and not value.is_positive:
        raise ValueError(f"duration must be positive, got {value}")
    return value


PositiveDurationOrNone = Annotated[IsoDuration | None, AfterValidator(_optional_positive)]


class Retention(Sourced):
    """Minimum retention. ``period: null`` records that the text sets none."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    period: PositiveDurationOrNone = None
    start: ClockStart | None = Field(default=None, alias="from")

    @model_validator(mode="after")
    def _from_needed(self) -> Retention:
        if self.period is not None and self.start is None:
            raise ValueError("a retention period needs a 'from' rule")
        return self


class Counting(Sourced):
    """How a deadline is counted. The conservative reading (``earliest_reading``) is the earliest
    plausible one: elapsed time in UTC, or the same local clock time N calendar days later in the
    recipient's zone (they differ by an hour across a clock change); hours are always elapsed.
    ``legal`` is shown beside it (``eu_1182_71``: skip the event day, end at the end of the last day in
    the recipient's zone, roll a weekend or listed holiday to the next working day; hours never roll)."""

    conservative: Literal["earliest_reading"]
    legal: CountingMethod


class Interpretation(Sourced):
    """A reading we chose where the text is open, with the alternative we did not encode."""

    id: Ident
    choice: Text
    alternative: Text | None = None


# Response action kinds a related duty is carried out with (response.vocab.ActionKind values).
ActionKindName = Literal[
    "model_rollback",
    "capability_restriction",
    "safeguard_change",
    "access_revocation",
    "access_block",
    "external_notification",
    "content_removal",
    "model_retraining",
    "filter_update",
]


class RelatedDuty(Sourced):
    """A duty beside incident reporting that the engine does not clock (shown, not computed). ``actions``
    names the response action kinds that carry it out, tracked with their own target clocks there."""

    id: Ident
    description: Text
    actions: list[ActionKindName] = []


class EffectiveBasis(Sourced):
    pass


class ReferenceIssues(ValueError):
    """Cross-reference problems found in a whole file, each with the path of the offending key."""

    def __init__(self, issues: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in issues))
        self.issues = issues


class Regime(StrictModel):
    """One version of one reporting regime.

    ``effective_from``/``effective_to`` are dates in ``time_zone``; ``effective_to`` is the first day the
    version no longer applies (exclusive). ``enabled: false`` keeps a file for audit or as a proposal:
    the engine never selects it as in force.
    """

    schema_version: Literal[1]
    id: RegimeId
    version: Text
    title: Text
    kind: RegimeKind
    enabled: bool
    source: Text
    effective_from: date | None
    effective_to: date | None = None
    effective_basis: EffectiveBasis
    time_zone: TimeZoneName
    applicability: Applicability
    recipients: list[Recipient] = Field(min_length=1)
    questions: list[Question] = Field(min_length=1)
    classes: list[IncidentClass] = Field(min_length=1)
    fields: list[ReportField] = Field(min_length=1)
    reports: Reports
    retention: Retention
    counting: Counting
    interpretations: list[Interpretation] = []
    related_duties: list[RelatedDuty] = []

    @model_validator(mode="after")
    def _cross_references(self) -> Regime:
        issues = list(_reference_issues(self))
        if issues:
            raise ReferenceIssues(issues)
        return self

    def question_ids(self) -> list[str]:
        return [q.id for q in self.questions]

    def incident_class(self, class_id: str) -> IncidentClass:
        for cls in self.classes:
            if cls.id == class_id:
                return cls
        raise KeyError(f"{self.id} {self.version} has no class {class_id!r}")

    def concurrent_report(self, report_id: str) -> ConcurrentReport:
        for rep in self.reports.concurrent:
            if rep.id == report_id:
                return rep
        raise KeyError(f"{self.id} {self.version} has no concurrent report {report_id!r}")

    def recipient(self, recipient_id: str) -> Recipient:
        for rec in self.recipients:
            if rec.id == recipient_id:
                return rec
        raise KeyError(f"{self.id} {self.version} has no recipient {recipient_id!r}")

    def field(self, field_id: str) -> ReportField:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(f"{self.id} {self.version} has no field {field_id!r}")

    def referenced_events(self) -> frozenset[str]:
        """Every clock event this regime's clocks and stages read."""
        starts: list[ClockStart] = []
        for cls in self.classes:
            starts.append(cls.start)
            if cls.immediately is not None:
                starts.append(cls.immediately.trigger)
        reports = self.reports
        if reports.updates is not None:
            starts += [reports.updates.anchor, reports.updates.until]
        starts += [s.anchor for s in (reports.final, reports.summary) if s is not None]
        starts += [c.start for c in reports.concurrent if c.start is not None]
        return frozenset().union(*(referenced_events(s) for s in starts))

    def in_force_on(self, day: date) -> bool:
        if self.effective_from is None or day < self.effective_from:
            return False
        return self.effective_to is None or day < self.effective_to


Loc = tuple[str | int, ...]


def _duplicates(items: Iterable[tuple[str, Loc]]) -> Iterator[tuple[Loc, str]]:
    seen: set[str] = set()
    for ident, loc in items:
        if ident in seen:
            yield loc, f"duplicate id {ident!r}"
        seen.add(ident)


def _unknown(refs: Iterable[tuple[str, Loc]], known: set[str], what: str) -> Iterator[tuple[Loc, str]]:
    for ident, loc in refs:
        if ident not in known:
            yield loc, f"unknown {what} {ident!r}; declared: {', '.join(sorted(known)) or 'none'}"


def _reference_issues(r: Regime) -> Iterator[tuple[Loc, str]]:
    rep = r.reports
    sections: list[tuple[str, list[str]]] = [
        ("questions", [x.id for x in r.questions]),
        ("classes", [x.id for x in r.classes]),
        ("recipients", [x.id for x in r.recipients]),
        ("fields", [x.id for x in r.fields]),
        ("interpretations", [x.id for x in r.interpretations]),
        ("related_duties", [x.id for x in r.related_duties]),
    ]
    for section, ids in sections:
        yield from _duplicates((ident, (section, i, "id")) for i, ident in enumerate(ids))
    yield from _duplicates((f.id, ("applicability", "facts", i, "id")) for i, f in enumerate(r.applicability.facts))
    yield from _duplicates((c.id, ("reports", "concurrent", i, "id")) for i, c in enumerate(rep.concurrent))

    questions = set(r.question_ids())
    for i, cls in enumerate(r.classes):
        yield from _unknown(
            ((ref, ("classes", i, "when", *p)) for ref, p in criterion_refs(cls.when)), questions, "question"
        )
        yield from _unknown(
            ((rid, ("classes", i, "recipients", j)) for j, rid in enumerate(cls.recipients)),
            {x.id for x in r.recipients},
            "recipient",
        )
    if r.applicability.requires is not None:
        yield from _unknown(
            ((ref, ("applicability", "requires", *p)) for ref, p in criterion_refs(r.applicability.requires)),
            {f.id for f in r.applicability.facts},
            "fact",
        )
    recipients = {x.id for x in r.recipients}
    fields = {f.id for f in r.fields}
    for i, con in enumerate(rep.concurrent):
        loc: Loc = ("reports", "concurrent", i)
        if RESERVED_STAGE.match(con.id):
            yield (*loc, "id"), f"stage name {con.id!r} is reserved"
        yield from _unknown(((ref, (*loc, "when", *p)) for ref, p in criterion_refs(con.when)), questions, "question")
        yield from _unknown(
            ((x, (*loc, "recipients", j)) for j, x in enumerate(con.recipients)), recipients, "recipient"
        )
        yield from _unknown(((x, (*loc, "fields", j)) for j, x in enumerate(con.fields)), fields, "field")
    stage_fields: list[tuple[str, list[str]]] = [("initial", rep.initial.fields)]
    stage_fields += [
        (name, s.fields)
        for name, s in (("updates", rep.updates), ("final", rep.final), ("summary", rep.summary))
        if s is not None
    ]
    for name, ids in stage_fields:
        yield from _unknown(((x, ("reports", name, "fields", j)) for j, x in enumerate(ids)), fields, "field")
    yield from _unknown(
        ((x, ("reports", "initial", "minimum_fields", j)) for j, x in enumerate(rep.initial.minimum_fields)),
        set(rep.initial.fields),
        "initial-report field",
    )
    if r.effective_from is None and r.enabled:
        yield ("effective_from",), "an enabled regime needs effective_from"
    if r.effective_from is not None and r.effective_to is not None and r.effective_to <= r.effective_from:
        yield ("effective_to",), "effective_to must be after effective_from"
    yield from _strictness_issues(r)


_REFERENCE_INSTANT = datetime(2001, 1, 1, tzinfo=UTC)


def _strictness_issues(r: Regime) -> Iterator[tuple[Loc, str]]:
    """A stricter class (lower rank) must not have a longer deadline than a laxer one with the same start.

    This is what lets "strictest first" lists and "earliest due wins" agree.
    """
    timed = [
        (i, cls, render(cls.start), cls.deadline.duration.add_elapsed(_REFERENCE_INSTANT))
        for i, cls in enumerate(r.classes)
        if cls.deadline.duration is not None
    ]
    for i, a, start_a, due_a in timed:
        for _, b, start_b, due_b in timed:
            if start_a == start_b and a.severity_rank < b.severity_rank and due_a > due_b:
                yield (
                    ("classes", i, "severity_rank"),
                    (
                        f"class {a.id!r} ranks stricter than {b.id!r} but its deadline {a.deadline} "
                        f"is longer than {b.deadline}"
                    ),
                )

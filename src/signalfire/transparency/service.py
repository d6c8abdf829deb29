"""Transparency reports: the rules.

A report is written (draft), signed off by a second person (four eyes: an admin who neither created nor
last changed it, approving the definition and the figures as computed at that moment), then published as
an edition: the figures computed again, required to equal what was signed off, frozen with the public
document as canonical JSON and its SHA-256. Editions are never changed; changing the report and
publishing again makes a new edition that supersedes the last. Every change is audited.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.access.permissions import Permission
from signalfire.access.policy import first_or_404, require
from signalfire.access.policy.transparency import public_editions, readable_editions, readable_reports
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import Conflict, Forbidden, NotFound
from signalfire.transparency import queries
from signalfire.transparency.metrics import METRICS, MetricKind
from signalfire.transparency.models import ReportStatus, TransparencyEdition, TransparencyReport
from signalfire.transparency.schemas import ReportFields, ReportIn, SignOffIn
from signalfire.transparency.suppression import suppress

FORMAT = "signalfire-transparency-report/1"
PUBLIC = "/public/transparency"
MAX_LISTED = 200
REVIEW_TEXT = "Signed off before publication by a second member of the organisation, not its author."
SUPPRESSION_TEXT = (
    "Counts below {k}, zero included, are shown as '< {k}'. Where a breakdown shows its total and exactly one "
    "count is withheld, the smallest other count is withheld too and shown as '>= {k}'."
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the same document always gives the same bytes and hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def window_of(start: date, end: date) -> queries.Window:
    """[start 00:00 UTC, the day after end 00:00 UTC)."""
    return queries.Window(datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC))


def default_slug(start: date, end: date) -> str:
    """``2026-q3`` for a calendar quarter, ``2026`` for a year, else ``2026-07-01-to-2026-08-15``."""
    if start.day == 1 and start.month in (1, 4, 7, 10) and end == _quarter_end(start):
        return f"{start.year}-q{(start.month - 1) // 3 + 1}"
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return str(start.year)
    return f"{start.isoformat()}-to-{end.isoformat()}"


def _quarter_end(start: date) -> date:
    nxt = date(start.year + (start.month + 3 > 12), (start.month + 2) % 12 + 1, 1)
    return nxt - timedelta(days=1)


def quarter(text: str) -> tuple[date, date]:
    """``2026-Q3`` -> (2026-07-01, 2026-09-30)."""
    try:
        year_text, q_text = text.strip().upper().split("-Q")
        year, q = int(year_text), int(q_text)
        if not (1900 <= year < 2200 and 1 <= q <= 4):
            raise ValueError
    except ValueError:
        raise ValueError(f"{text!r} is not a quarter like 2026-Q3") from None
    start = date(year, 3 * q - 2, 1)
    return start, _quarter_end(start)


def _sections(data: ReportFields) -> list[dict[str, Any]]:
    return [{"heading": s.heading, "body": s.body, "metrics": [m.value for m in s.metrics]} for s in data.sections]


def org_slug(session: Session, actor: Actor) -> str:
    """The actor's own org's slug (its public pages live under it)."""
    org = session.get(Organization, actor.org_id)
    assert org is not None  # an actor exists only for a membership of an existing org
    return org.slug


# -- definitions -----------------------------------------------------------------------------------------------


def create_report(session: Session, actor: Actor, data: ReportIn) -> TransparencyReport:
    require(actor, Permission.transparency_report_write)
    slug = data.slug or default_slug(data.period_start, data.period_end)
    taken = session.execute(
        readable_reports(actor).where(TransparencyReport.slug == slug).with_only_columns(TransparencyReport.id)
    ).first()
    if taken:
        raise Conflict(f"Your organisation already has a transparency report at '{slug}'.", slug="slug-taken")
    now = utcnow()
    report = TransparencyReport(
        org_id=actor.org_id,
        slug=slug,
        title=data.title,
        period_start=data.period_start,
        period_end=data.period_end,
        threshold=data.threshold,
        sections=_sections(data),
        status=ReportStatus.DRAFT,
        created_at=now,
        created_by=actor.user_id,
        created_by_label=actor.display_name,
        updated_at=now,
        updated_by=actor.user_id,
        updated_by_label=actor.display_name,
    )
    session.add(report)
    session.flush()
    record(
        session,
        action="transparency.report.create",
        target_type="transparency_report",
        target_id=report.id,
        actor=actor,
        summary={"slug": slug, "period": [str(data.period_start), str(data.period_end)], "threshold": data.threshold},
    )
    return report


def list_reports(session: Session, actor: Actor) -> list[TransparencyReport]:
    stmt = readable_reports(actor).order_by(TransparencyReport.period_end.desc(), TransparencyReport.created_at.desc())
    return list(session.execute(stmt.limit(MAX_LISTED)).scalars())


def get_report(session: Session, actor: Actor, report_id: uuid.UUID) -> TransparencyReport:
    return first_or_404(
        session, readable_reports(actor).where(TransparencyReport.id == report_id), "No such transparency report."
    )


def update_report(session: Session, actor: Actor, report_id: uuid.UUID, data: ReportFields) -> TransparencyReport:
    report = get_report(session, actor, report_id)
    require(actor, Permission.transparency_report_write)
    before = {"title": report.title, "period": [str(report.period_start), str(report.period_end)]}
    report.title = data.title
    report.period_start, report.period_end = data.period_start, data.period_end
    report.threshold = data.threshold
    report.sections = _sections(data)
    report.updated_at = utcnow()
    report.updated_by, report.updated_by_label = actor.user_id, actor.display_name
    # Any change voids the sign-off: the reviewer approved what was there, not this.
    was_signed = report.status is ReportStatus.SIGNED_OFF
    _clear_signoff(report)
    report.status = ReportStatus.DRAFT
    session.flush()
    record(
        session,
        action="transparency.report.update",
        target_type="transparency_report",
        target_id=report.id,
        actor=actor,
        summary={"before": before, "signoff_voided": was_signed, "sections": len(report.sections)},
    )
    return report


def _clear_signoff(report: TransparencyReport) -> None:
    report.signed_off_at = report.signed_off_by = report.signed_off_by_label = None
    report.signed_off_hash = report.signoff_note = None


# -- figures ---------------------------------------------------------------------------------------------------


def period_ended(report: TransparencyReport, now: datetime | None = None) -> bool:
    return window_of(report.period_start, report.period_end).end <= (now or utcnow())


def report_kinds(report: TransparencyReport) -> list[MetricKind]:
    seen: dict[MetricKind, None] = {}
    for section in report.sections:
        for kind in section.get("metrics", []):
            seen.setdefault(MetricKind(kind), None)
    return list(seen)


def exact_figures(session: Session, actor: Actor, report: TransparencyReport) -> dict[str, dict[str, int]]:
    """Every metric the report uses, counted now over the report's period (effective times)."""
    w = window_of(report.period_start, report.period_end)
    return {k.value: queries.count(session, actor, k, w) for k in report_kinds(report)}


def published_figure(kind: MetricKind, counts: dict[str, int], k: int) -> dict[str, Any]:
    """A metric as the public document carries it: cells in vocabulary order, suppressed values withheld."""
    m = METRICS[kind]
    labels = {c.key: c.label for c in m.cells()}
    keys = list(counts)
    cells, total = suppress([counts[key] for key in keys], k, with_total=m.has_total)
    return {
        "kind": kind.value,
        "label": m.label,
        "description": m.description,
        "effective_time": m.effective_time,
        "cells": [
            {"key": key, "label": labels.get(key, key), **shown.as_dict()}
            for key, shown in zip(keys, cells, strict=True)
        ],
        "total": total.as_dict() if total else None,
    }


def _definition(report: TransparencyReport) -> dict[str, Any]:
    return {
        "title": report.title,
        "slug": report.slug,
        "period": [report.period_start.isoformat(), report.period_end.isoformat()],
        "threshold": report.threshold,
        "sections": report.sections,
    }


def approval_hash(report: TransparencyReport, figures: dict[str, dict[str, int]]) -> str:
    """What a sign-off approves: the definition and the exact figures."""
    return sha256_hex(canonical_json({"definition": _definition(report), "figures": figures}))


def build_document(
    report: TransparencyReport,
    org: Organization,
    figures: dict[str, dict[str, int]],
    *,
    number: int,
    supersedes: int | None,
    published_at: datetime,
    signed_off_at: datetime,
) -> dict[str, Any]:
    k = report.threshold
    rendered = {kind: published_figure(MetricKind(kind), counts, k) for kind, counts in figures.items()}
    return {
        "format": FORMAT,
        "organisation": {"name": org.name, "slug": org.slug},
        "report": {"slug": report.slug, "title": report.title},
        "edition": number,
        "supersedes": supersedes,
        "path": f"{PUBLIC}/{org.slug}/{report.slug}/editions/{number}",
        "period": {"start": report.period_start.isoformat(), "end": report.period_end.isoformat(), "zone": "UTC"},
        "published_at": published_at.isoformat(),
        "signed_off_at": signed_off_at.isoformat(),
        "review": REVIEW_TEXT,
        "suppression": {"threshold": k, "rule": SUPPRESSION_TEXT.format(k=k)},
        "sections": [
            {
                "heading": s["heading"],
                "body": s["body"],
                "figures": [rendered[kind] for kind in s.get("metrics", [])],
            }
            for s in report.sections
        ],
    }


# -- sign-off and publication ----------------------------------------------------------------------------------


def _require_ended(report: TransparencyReport) -> None:
    if not period_ended(report):
        raise Conflict(
            f"The period ends on {report.period_end.isoformat()}; its figures are not final before then.",
            slug="period-not-ended",
        )


def sign_off(session: Session, actor: Actor, report_id: uuid.UUID, data: SignOffIn) -> TransparencyReport:
    report = get_report(session, actor, report_id)
    require(actor, Permission.transparency_report_signoff)
    if actor.user_id in (report.created_by, report.updated_by):
        raise Forbidden("A second person signs off: not the report's author, nor whoever last changed it.")
    if report.status is ReportStatus.SIGNED_OFF:
        raise Conflict("The report is already signed off.", slug="already-signed-off")
    _require_ended(report)
    figures = exact_figures(session, actor, report)
    report.signed_off_at = utcnow()
    report.signed_off_by, report.signed_off_by_label = actor.user_id, actor.display_name
    report.signed_off_hash = approval_hash(report, figures)
    report.signoff_note = data.note or None
    report.status = ReportStatus.SIGNED_OFF
    session.flush()
    record(
        session,
        action="transparency.report.signoff",
        target_type="transparency_report",
        target_id=report.id,
        actor=actor,
        summary={"approved_sha256": report.signed_off_hash, "note": (data.note or "")[:200]},
    )
    return report


def publish(session: Session, actor: Actor, report_id: uuid.UUID) -> TransparencyEdition:
    report = get_report(session, actor, report_id)
    require(actor, Permission.transparency_report_signoff)
    if report.status is not ReportStatus.SIGNED_OFF or report.signed_off_at is None:
        raise Conflict("A second person must sign the report off before it is published.", slug="not-signed-off")
    _require_ended(report)
    figures = exact_figures(session, actor, report)
    if approval_hash(report, figures) != report.signed_off_hash:
        raise Conflict(
            "The records changed since the sign-off, so the figures differ from what was approved; "
            "the report needs a new sign-off.",
            slug="figures-changed",
        )
    org = session.get(Organization, report.org_id)
    assert org is not None  # the report cascades with its org
    number = report.edition_count + 1
    now = utcnow()
    document = build_document(
        report,
        org,
        figures,
        number=number,
        supersedes=number - 1 if number > 1 else None,
        published_at=now,
        signed_off_at=report.signed_off_at,
    )
    text = canonical_json(document)
    edition = TransparencyEdition(
        report_id=report.id,
        org_id=report.org_id,
        number=number,
        supersedes=document["supersedes"],
        published_at=now,
        published_by=actor.user_id,
        published_by_label=actor.display_name,
        author_label=report.created_by_label,
        signed_off_by_label=report.signed_off_by_label or "",
        signed_off_at=report.signed_off_at,
        figures=figures,
        canonical=text,
        sha256=sha256_hex(text),
    )
    try:
        with session.begin_nested():
            session.add(edition)
            session.flush()
    except IntegrityError:
        # Another request published this number first (the unique report/number pair decides).
        raise Conflict("This edition was just published by someone else.", slug="edition-exists") from None
    report.edition_count = number
    report.status = ReportStatus.PUBLISHED
    _clear_signoff(report)  # the next edition needs a sign-off of its own
    session.flush()
    record(
        session,
        action="transparency.edition.publish",
        target_type="transparency_edition",
        target_id=edition.id,
        actor=actor,
        summary={
            "report": str(report.id),
            "number": number,
            "sha256": edition.sha256,
            "supersedes": edition.supersedes,
        },
    )
    return edition


# -- reading editions ------------------------------------------------------------------------------------------


def editions_of(session: Session, actor: Actor, report: TransparencyReport) -> list[TransparencyEdition]:
    stmt = readable_editions(actor).where(TransparencyEdition.report_id == report.id)
    return list(session.execute(stmt.order_by(TransparencyEdition.number.desc())).scalars())


def get_edition(session: Session, actor: Actor, edition_id: uuid.UUID) -> TransparencyEdition:
    return first_or_404(
        session, readable_editions(actor).where(TransparencyEdition.id == edition_id), "No such edition."
    )


def edition_document(edition: TransparencyEdition) -> dict[str, Any]:
    """The public document as stored (parsed from its canonical JSON)."""
    parsed: dict[str, Any] = json.loads(edition.canonical)
    return parsed


@dataclass(frozen=True)
class PublicEdition:
    edition: TransparencyEdition
    org: Organization
    report_slug: str
    latest_number: int

    @property
    def document(self) -> dict[str, Any]:
        return edition_document(self.edition)

    @property
    def path(self) -> str:
        return f"{PUBLIC}/{self.org.slug}/{self.report_slug}/editions/{self.edition.number}"


def public_edition(session: Session, org_slug: str, slug: str, number: int | None = None) -> PublicEdition:
    """A published edition by its stable address (the latest when no number is given); anyone may read it."""
    stmt = public_editions().where(Organization.slug == org_slug, TransparencyReport.slug == slug)
    latest = session.execute(stmt.with_only_columns(func.max(TransparencyEdition.number))).scalar()
    if latest is None:
        raise NotFound("No such published transparency report.")
    row = session.execute(stmt.where(TransparencyEdition.number == (number or latest)).limit(1)).first()
    if row is None:
        raise NotFound("No such edition.")
    edition, org, report_slug = row
    return PublicEdition(edition, org, report_slug, int(latest))


def public_index(session: Session, org_slug: str) -> tuple[Organization, list[PublicEdition]]:
    """An org's published reports, the latest edition of each, newest period first."""
    org = session.execute(select(Organization).where(Organization.slug == org_slug)).scalar_one_or_none()
    if org is None:
        raise NotFound("No such organisation.")
    rows = session.execute(
        public_editions()
        .where(TransparencyEdition.org_id == org.id)
        .order_by(TransparencyEdition.published_at.desc())
        .limit(MAX_LISTED)
    ).all()
    latest: dict[str, PublicEdition] = {}
    for edition, o, report_slug in rows:
        if report_slug not in latest:
            latest[report_slug] = PublicEdition(edition, o, report_slug, edition.number)
    if not latest:
        raise NotFound("No published transparency reports here.")  # the same answer as an unknown org
    return org, list(latest.values())


@dataclass(frozen=True)
class FigureRecords:
    edition: TransparencyEdition
    kind: MetricKind
    cell: str | None
    published: dict[str, int]
    records: list[queries.RecordRef]


def figure_records(session: Session, actor: Actor, edition_id: uuid.UUID, kind: str, cell: str | None) -> FigureRecords:
    """The records behind one figure of an edition, for the publishing org's members: read now through each
    channel's policy over the edition's period (so a record entered after publication shows here, while the
    edition keeps the count it was published with)."""
    edition = get_edition(session, actor, edition_id)
    counts = edition.figures.get(kind)
    if counts is None or (cell is not None and cell not in counts):
        raise NotFound("This edition has no such figure.")
    period = json.loads(edition.canonical)["period"]
    w = window_of(date.fromisoformat(period["start"]), date.fromisoformat(period["end"]))
    metric_kind = MetricKind(kind)
    return FigureRecords(
        edition, metric_kind, cell, dict(counts), queries.records(session, actor, metric_kind, w, cell)
    )


def member_of(actor: Actor | None, org_id: uuid.UUID) -> bool:
    """Whether figure links (to records) are shown: signed-in members of the publishing org only."""
    return actor is not None and actor.org_id == org_id and actor.can(Permission.transparency_report_read)

"""Computing each metric kind from the records, through the owning channel's access policy.

Every figure starts from the readable statement of the channel that holds the records (so a figure can
never count what its reader could not list), narrowed to the actor's own org (an external participant's
incidents of another org are readable but are not this org's figures) and to the records whose effective
time falls in the period. The same statements, with one cell's condition, list the records behind a figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.policy import require
from signalfire.access.policy.exchange import readable_items
from signalfire.access.policy.intake import readable_signals
from signalfire.access.policy.reporting import readable_report_versions
from signalfire.access.policy.response import readable_actions, readable_incidents
from signalfire.exchange.models import ExchangeItem
from signalfire.intake.models import Signal
from signalfire.reporting.models import Report, ReportVersion
from signalfire.response.models import Incident, ResponseAction
from signalfire.response.vocab import ActionKind, ActionStatus
from signalfire.transparency.metrics import METRICS, MetricKind

MAX_RECORDS = 500
DONE = (ActionStatus.COMPLETED, ActionStatus.VERIFIED)


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC."""

    start: datetime
    end: datetime


def _in(column: Any, w: Window) -> ColumnElement[bool]:
    result: ColumnElement[bool] = (column >= w.start) & (column < w.end)
    return result


def _incidents(actor: Actor, w: Window) -> Select[Any]:
    return readable_incidents(actor).where(
        Incident.org_id == actor.org_id, Incident.is_drill.is_(False), _in(Incident.aware_at, w)
    )


def _signals(actor: Actor, w: Window) -> Select[Any]:
    return readable_signals(actor).where(Signal.org_id == actor.org_id, _in(Signal.received_at, w))


def _actions(actor: Actor, w: Window) -> Select[Any]:
    return readable_actions(actor).where(
        ResponseAction.org_id == actor.org_id,
        ResponseAction.is_drill.is_(False),
        ResponseAction.status.in_(DONE),
        _in(ResponseAction.completed_at, w),
    )


def _removals(actor: Actor, w: Window) -> Select[Any]:
    return _actions(actor, w).where(ResponseAction.kind == ActionKind.CONTENT_REMOVAL)


def _filings(actor: Actor, w: Window) -> Select[Any]:
    return (
        readable_report_versions(actor)
        .join(Report, Report.id == ReportVersion.report_id)
        .where(ReportVersion.org_id == actor.org_id, _in(ReportVersion.submitted_at, w))
    )


def _shared(actor: Actor, w: Window) -> Select[Any]:
    return readable_items(actor).where(ExchangeItem.org_id == actor.org_id, _in(ExchangeItem.first_published_at, w))


def _grouped(session: Session, stmt: Select[Any], column: Any) -> dict[str, int]:
    rows = session.execute(stmt.with_only_columns(column, func.count()).group_by(column)).all()
    return {str(getattr(k, "value", k)): int(n) for k, n in rows}


def _removal_counts(session: Session, actor: Actor, w: Window) -> dict[str, int]:
    # items_removed lives in the action's JSON params (validated as a non-negative integer there); summed
    # here rather than in SQL, which reads JSON differently on each database.
    params = session.execute(_removals(actor, w).with_only_columns(ResponseAction.params)).scalars().all()
    items = 0
    for p in params:
        n = p.get("items_removed") if isinstance(p, dict) else None
        if isinstance(n, int) and not isinstance(n, bool) and n > 0:
            items += n
    return {"actions": len(params), "items_removed": items}


COUNTERS: dict[MetricKind, Callable[[Session, Actor, Window], dict[str, int]]] = {
    MetricKind.INCIDENTS_BY_SEVERITY: lambda s, a, w: _grouped(s, _incidents(a, w), Incident.severity),
    MetricKind.INCIDENTS_BY_RISK_DOMAIN: lambda s, a, w: _grouped(s, _incidents(a, w), Incident.risk_domain),
    MetricKind.SIGNALS_BY_CHANNEL: lambda s, a, w: _grouped(s, _signals(a, w), Signal.source_kind),
    MetricKind.RESPONSE_ACTIONS_BY_KIND: lambda s, a, w: _grouped(s, _actions(a, w), ResponseAction.kind),
    MetricKind.CONTENT_REMOVALS: _removal_counts,
    MetricKind.REPORTS_FILED_BY_REGIME: lambda s, a, w: _grouped(s, _filings(a, w), Report.regime_id),
    MetricKind.EXCHANGE_ITEMS_BY_CATEGORY: lambda s, a, w: _grouped(s, _shared(a, w), ExchangeItem.category),
}


def count(session: Session, actor: Actor, kind: MetricKind, w: Window) -> dict[str, int]:
    """Exact counts per cell, every cell of the vocabulary present (zeros included)."""
    m = METRICS[kind]
    require(actor, m.permission)  # a reader who cannot see the records must not get zeros for them
    found = COUNTERS[kind](session, actor, w)
    cells = {c.key: found.pop(c.key, 0) for c in m.cells()}
    cells.update(found)  # e.g. a regime no longer packaged: still counted, under its id
    return cells


# -- the records behind a figure -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordRef:
    label: str
    href: str
    at: datetime | None
    cell: str


def _incident_ref(i: Incident, cell: str) -> RecordRef:
    return RecordRef(f"{i.reference}: {i.title}", f"/response/incidents/{i.id}", i.aware_at, cell)


def records(session: Session, actor: Actor, kind: MetricKind, w: Window, cell: str | None) -> list[RecordRef]:
    """The records a figure counts (optionally one cell), read through the same policy, newest first."""
    require(actor, METRICS[kind].permission)
    out: list[RecordRef] = []
    if kind in (MetricKind.INCIDENTS_BY_SEVERITY, MetricKind.INCIDENTS_BY_RISK_DOMAIN):
        attr = "severity" if kind is MetricKind.INCIDENTS_BY_SEVERITY else "risk_domain"
        stmt = _incidents(actor, w)
        stmt = stmt.where(getattr(Incident, attr) == cell) if cell else stmt
        for i in session.execute(stmt.order_by(Incident.aware_at.desc()).limit(MAX_RECORDS)).scalars():
            out.append(_incident_ref(i, getattr(i, attr).value))
    elif kind is MetricKind.SIGNALS_BY_CHANNEL:
        stmt = _signals(actor, w)
        stmt = stmt.where(Signal.source_kind == cell) if cell else stmt
        for s in session.execute(stmt.order_by(Signal.received_at.desc()).limit(MAX_RECORDS)).scalars():
            out.append(RecordRef(f"{s.reference}: {s.title}", f"/intake/signals/{s.id}", s.received_at, s.source_kind))
    elif kind in (MetricKind.RESPONSE_ACTIONS_BY_KIND, MetricKind.CONTENT_REMOVALS):
        stmt = _actions(actor, w) if kind is MetricKind.RESPONSE_ACTIONS_BY_KIND else _removals(actor, w)
        stmt = stmt.where(ResponseAction.kind == cell) if cell and kind is MetricKind.RESPONSE_ACTIONS_BY_KIND else stmt
        rows = session.execute(stmt.order_by(ResponseAction.completed_at.desc()).limit(MAX_RECORDS)).scalars()
        for a in rows:
            out.append(RecordRef(a.title, f"/response/incidents/{a.incident_id}", a.completed_at, a.kind.value))
    elif kind is MetricKind.REPORTS_FILED_BY_REGIME:
        stmt = _filings(actor, w).add_columns(Report.regime_id)
        stmt = stmt.where(Report.regime_id == cell) if cell else stmt
        for v, regime in session.execute(stmt.order_by(ReportVersion.submitted_at.desc()).limit(MAX_RECORDS)):
            href = f"/reporting/reports/{v.report_id}/versions/{v.number}"
            out.append(RecordRef(f"{regime} report, version {v.number}", href, v.submitted_at, regime))
    else:
        stmt = _shared(actor, w)
        stmt = stmt.where(ExchangeItem.category == cell) if cell else stmt
        for x in session.execute(stmt.order_by(ExchangeItem.first_published_at.desc()).limit(MAX_RECORDS)).scalars():
            out.append(RecordRef(x.title, f"/exchange/items/{x.id}", x.first_published_at, x.category.value))
    return out

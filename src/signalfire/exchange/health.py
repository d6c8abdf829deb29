"""Participation health of the exchange, for the hub operator.

Three questions from the FMF brief's failure modes: is everyone sharing (items per category and org
over time), is anyone listening (time from publication to the first acknowledgement by another org),
and can anyone listen (coverage of designated recipients per org and category).

Pseudonymous items are counted under "Pseudonymous contributors", never under their org: aggregate
statistics must not become a way around pseudonym resolution.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.access.policy.exchange import can_read_health
from signalfire.core.clock import utcnow
from signalfire.core.errors import Forbidden
from signalfire.exchange.models import Acknowledgement, Attribution, ExchangeItem, ItemStatus
from signalfire.exchange.routing import CoverageCell, coverage
from signalfire.exchange.vocab import Category

PSEUDONYMOUS_LABEL = "Pseudonymous contributors"


@dataclass(frozen=True)
class AckStats:
    items: int
    acknowledged: int
    median_hours: float | None


@dataclass
class Health:
    months: list[str]
    # (contributor label, category) -> count per month, aligned with ``months``
    per_org_category: dict[tuple[str, Category], list[int]] = field(default_factory=dict)
    per_category: dict[Category, list[int]] = field(default_factory=dict)
    ack_by_category: dict[Category, AckStats] = field(default_factory=dict)
    ack_overall: AckStats = AckStats(0, 0, None)
    coverage: list[CoverageCell] = field(default_factory=list)

    @property
    def coverage_percent(self) -> float:
        if not self.coverage:
            return 0.0
        return 100.0 * sum(1 for c in self.coverage if c.designated) / len(self.coverage)

    @property
    def gaps(self) -> list[CoverageCell]:
        return [c for c in self.coverage if not c.designated]


def _month_of(session: Session, column: ColumnElement[datetime]) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _months(now: datetime, count: int) -> list[str]:
    months: list[str] = []
    year, month = now.year, now.month
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return months[::-1]


def participation(session: Session, actor: Actor, *, months: int = 12) -> Health:
    if not can_read_health(actor):
        raise Forbidden("Only the hub operator sees participation health.")
    now = utcnow()
    labels = _months(now, months)
    since = datetime.fromisoformat(labels[0] + "-01T00:00:00+00:00")
    published = ExchangeItem.status.in_([ItemStatus.PUBLISHED, ItemStatus.WITHDRAWN])
    month = _month_of(session, ExchangeItem.first_published_at)  # type: ignore[arg-type]
    rows = session.execute(
        select(month, ExchangeItem.category, ExchangeItem.attribution, Organization.name, func.count(ExchangeItem.id))
        .join(Organization, Organization.id == ExchangeItem.org_id)
        .where(published, ExchangeItem.first_published_at >= since)
        .group_by(month, ExchangeItem.category, ExchangeItem.attribution, Organization.name)
    ).all()
    health = Health(months=labels)
    index = {m: i for i, m in enumerate(labels)}
    for category in Category:
        health.per_category[category] = [0] * len(labels)
    for m, category, attribution, org_name, n in rows:
        if m not in index:
            continue
        who = PSEUDONYMOUS_LABEL if attribution == Attribution.PSEUDONYMOUS else org_name
        series = health.per_org_category.setdefault((who, category), [0] * len(labels))
        series[index[m]] += int(n)
        health.per_category[category][index[m]] += int(n)

    first_ack = (
        select(Acknowledgement.item_id, func.min(Acknowledgement.seconds_after_publish).label("s"))
        .group_by(Acknowledgement.item_id)
        .subquery()
    )
    ack_rows = session.execute(
        select(ExchangeItem.category, first_ack.c.s)
        .outerjoin(first_ack, first_ack.c.item_id == ExchangeItem.id)
        .where(published, ExchangeItem.first_published_at >= since)
    ).all()
    by_cat: dict[Category, list[int | None]] = {c: [] for c in Category}
    for category, seconds in ack_rows:
        by_cat[category].append(seconds)
    everything: list[int | None] = []
    for category, values in by_cat.items():
        health.ack_by_category[category] = _ack_stats(values)
        everything.extend(values)
    health.ack_overall = _ack_stats(everything)
    health.coverage = coverage(session, actor)
    return health


def _ack_stats(values: list[int | None]) -> AckStats:
    acked = [v for v in values if v is not None]
    median = round(statistics.median(acked) / 3600, 1) if acked else None
    return AckStats(items=len(values), acknowledged=len(acked), median_hours=median)


def _short(category: Category) -> str:
    return category.value.replace("_", " ").capitalize()


def charts(health: Health) -> dict[str, dict[str, Any]]:
    """Chart.js configs for the health page (rendered through json_script; no inline script)."""
    per_category: dict[str, Any] = {
        "type": "bar",
        "data": {
            "labels": health.months,
            "datasets": [{"label": _short(c), "data": health.per_category[c]} for c in Category],
        },
        "options": {
            "plugins": {"legend": {"position": "bottom"}},
            "scales": {"x": {"stacked": True}, "y": {"stacked": True, "beginAtZero": True}},
        },
    }
    totals: dict[str, list[int]] = {}
    for (who, _category), series in health.per_org_category.items():
        acc = totals.setdefault(who, [0] * len(health.months))
        for i, n in enumerate(series):
            acc[i] += n
    per_org: dict[str, Any] = {
        "type": "line",
        "data": {
            "labels": health.months,
            "datasets": [{"label": who, "data": series, "tension": 0.3} for who, series in sorted(totals.items())],
        },
        "options": {"plugins": {"legend": {"position": "bottom"}}, "scales": {"y": {"beginAtZero": True}}},
    }
    ack: dict[str, Any] = {
        "type": "bar",
        "data": {
            "labels": [_short(c) for c in Category],
            "datasets": [
                {
                    "label": "Median hours to first acknowledgement",
                    "data": [health.ack_by_category[c].median_hours for c in Category],
                }
            ],
        },
        "options": {"plugins": {"legend": {"position": "bottom"}}, "scales": {"y": {"beginAtZero": True}}},
    }
    return {"chart-exchange-category": per_category, "chart-exchange-org": per_org, "chart-exchange-ack": ack}

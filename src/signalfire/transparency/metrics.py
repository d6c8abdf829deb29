"""The fixed vocabulary of figures a transparency report may carry.

Each metric kind names the records it counts, the effective time that places a record in a period (when
it happened, not when it was entered), the cells it breaks down into, and the permission a reader needs
for the underlying records. The queries themselves are in ``queries.py``; docs/transparency-reports.md
describes each kind and the seed source it answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from signalfire.access.permissions import Permission
from signalfire.exchange.vocab import Category
from signalfire.intake.models import SourceKind
from signalfire.reporting.rules import catalog
from signalfire.response.vocab import ActionKind, RiskDomain, Severity


class MetricKind(StrEnum):
    INCIDENTS_BY_SEVERITY = "incidents_by_severity"
    INCIDENTS_BY_RISK_DOMAIN = "incidents_by_risk_domain"
    SIGNALS_BY_CHANNEL = "signals_by_channel"
    RESPONSE_ACTIONS_BY_KIND = "response_actions_by_kind"
    CONTENT_REMOVALS = "content_removals"
    REPORTS_FILED_BY_REGIME = "reports_filed_by_regime"
    EXCHANGE_ITEMS_BY_CATEGORY = "exchange_items_by_category"


@dataclass(frozen=True)
class Cell:
    key: str
    label: str


@dataclass(frozen=True)
class Metric:
    kind: MetricKind
    label: str
    description: str
    # The channel whose records are counted, and the column that dates them.
    source: str
    effective_time: str
    permission: Permission
    cells: Callable[[], list[Cell]]
    # False where cells have different units (a total would add actions to items).
    has_total: bool = True


def _regime_cells() -> list[Cell]:
    return [Cell(rid, catalog.latest(rid).title) for rid in catalog.regime_ids()]


METRICS: dict[MetricKind, Metric] = {
    m.kind: m
    for m in (
        Metric(
            MetricKind.INCIDENTS_BY_SEVERITY,
            "Incidents by severity",
            "Incidents the organisation became aware of in the period (drills excluded), by severity.",
            "response",
            "aware_at (when the organisation became aware)",
            Permission.response_incident_read,
            lambda: [Cell(s.value, s.label) for s in Severity],
        ),
        Metric(
            MetricKind.INCIDENTS_BY_RISK_DOMAIN,
            "Incidents by risk domain",
            "Incidents the organisation became aware of in the period (drills excluded), by risk domain.",
            "response",
            "aware_at (when the organisation became aware)",
            Permission.response_incident_read,
            lambda: [Cell(d.value, d.label) for d in RiskDomain],
        ),
        Metric(
            MetricKind.SIGNALS_BY_CHANNEL,
            "Reports and signals received, by channel",
            "Signals received in the period (public reports, downstream developers, monitoring alerts, "
            "news and incident-database feeds, manual entries), by the channel they came through.",
            "intake",
            "received_at (when the signal reached the organisation)",
            Permission.intake_signal_read,
            lambda: [Cell(k.value, k.label) for k in SourceKind],
        ),
        Metric(
            MetricKind.RESPONSE_ACTIONS_BY_KIND,
            "Enforcement and response actions, by kind",
            "Response actions completed in the period (drills excluded) by kind: account and key "
            "revocations, access blocks, content removals, rollbacks, restrictions and the rest.",
            "response",
            "completed_at (when the action was carried out)",
            Permission.response_incident_read,
            lambda: [Cell(k.value, k.label) for k in ActionKind],
        ),
        Metric(
            MetricKind.CONTENT_REMOVALS,
            "Content removals",
            "Content-removal actions completed in the period (drills excluded), and the number of items "
            "they removed (the action's items_removed count; an action without one counts no items).",
            "response",
            "completed_at (when the content was removed)",
            Permission.response_incident_read,
            lambda: [Cell("actions", "Removal actions"), Cell("items_removed", "Items removed")],
            has_total=False,
        ),
        Metric(
            MetricKind.REPORTS_FILED_BY_REGIME,
            "Reports filed with authorities, by regime",
            "Report versions submitted to authorities in the period (initial, update and final reports "
            "each count), by the regime they were filed under.",
            "reporting",
            "submitted_at (when the report reached the authority)",
            Permission.reporting_obligation_read,
            _regime_cells,
        ),
        Metric(
            MetricKind.EXCHANGE_ITEMS_BY_CATEGORY,
            "Items shared through the exchange, by category",
            "Items the organisation first published to the information-sharing exchange in the period, by "
            "category (vulnerabilities, threats, capabilities of concern).",
            "exchange",
            "first_published_at (when the item was first shared)",
            Permission.exchange_item_read,
            lambda: [Cell(c.value, c.label) for c in Category],
        ),
    )
}


def metric(kind: str) -> Metric | None:
    try:
        return METRICS[MetricKind(kind)]
    except ValueError:
        return None

"""Chart.js configurations for the metrics page (rendered by static/app.js from JSON, no inline script)."""

from __future__ import annotations

from typing import Any

from signalfire.response import metrics
from signalfire.response.stats import MetricsResult
from signalfire.response.vocab import RiskDomain, Severity

_SEV_COLOURS = {
    Severity.SEV1: "--sev1",
    Severity.SEV2: "--sev2",
    Severity.SEV3: "--sev3",
    Severity.SEV4: "--sev4",
}


def _hours(summary: metrics.Summary | None) -> float | None:
    return round(summary.median.total_seconds() / 3600, 2) if summary else None


def metrics_charts(result: MetricsResult) -> dict[str, dict[str, Any]]:
    """Median hours per measure, one dataset per severity; and per risk domain."""
    labels = [m.label for m in metrics.Measure]
    by_severity = {
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [
                {
                    "label": sev.value.upper(),
                    "backgroundColor": _SEV_COLOURS[sev],
                    "data": [_hours(result.by_severity.get(sev, {}).get(m)) for m in metrics.Measure],
                }
                for sev in Severity
                if sev in result.by_severity
            ],
        },
        "options": {
            "plugins": {"legend": {"position": "bottom"}},
            "scales": {"y": {"beginAtZero": True, "title": {"display": True, "text": "median hours"}}},
        },
    }
    by_domain = {
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [
                {
                    "label": dom.label,
                    "data": [_hours(result.by_domain.get(dom, {}).get(m)) for m in metrics.Measure],
                }
                for dom in RiskDomain
                if dom in result.by_domain
            ],
        },
        "options": {
            "plugins": {"legend": {"position": "bottom"}},
            "scales": {"y": {"beginAtZero": True, "title": {"display": True, "text": "median hours"}}},
        },
    }
    return {"chart-by-severity": by_severity, "chart-by-domain": by_domain}

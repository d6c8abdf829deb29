"""The packaged regime files, loaded once per process, and the questions asked of them.

Which version applies is decided by the instant its clock started (regimes.md section 8): we use the
moment the org became aware of the incident, the earliest start any regime reads from the incident.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import cast

from signalfire.core.errors import NotFound
from signalfire.reporting.rules.assessment_engine import ApplicabilityResult, assess_applicability
from signalfire.reporting.rules.regime_loader import load_all, regime_in_force
from signalfire.reporting.rules.regime_schema import OrgKind, Regime


@lru_cache(maxsize=1)
def regimes() -> dict[str, list[Regime]]:
    return load_all()


def regime_ids() -> list[str]:
    return sorted(regimes())


def get(regime_id: str, version: str) -> Regime:
    for regime in regimes().get(regime_id, ()):
        if regime.version == version:
            return regime
    raise NotFound(f"No regime {regime_id} version {version}.")


def latest(regime_id: str) -> Regime:
    versions = regimes().get(regime_id)
    if not versions:
        raise NotFound(f"No regime {regime_id!r}.")
    return versions[-1]


def in_force(regime_id: str, at: datetime) -> Regime | None:
    return regime_in_force(regimes(), regime_id, at)


@dataclass(frozen=True)
class Candidate:
    """A regime version in force at the incident's clock start, and whether the org's kind and
    jurisdictions can fall under it (facts such as "signed the Code" are asked in the assessment)."""

    regime: Regime
    applicability: ApplicabilityResult

    @property
    def may_apply(self) -> bool:
        return self.applicability.applies != "no"


def candidates(
    org_kind: str, jurisdictions: Collection[str], at: datetime, *, roles: Collection[str] = ()
) -> list[Candidate]:
    """Every enabled regime in force at ``at``, with a first applicability check on kind (or declared
    legal role) and place."""
    out: list[Candidate] = []
    kinds = [cast(OrgKind, org_kind)]  # the access model's OrgKind values are the same strings
    for regime_id in regime_ids():
        regime = in_force(regime_id, at)
        if regime is None:
            continue
        result = assess_applicability(
            regime, org_kinds=kinds, jurisdictions=list(jurisdictions), facts={}, roles=list(roles)
        )
        out.append(Candidate(regime, result))
    return out


def recipient_name(regime: Regime, recipient_id: str) -> str:
    try:
        return regime.recipient(recipient_id).name
    except KeyError:
        return recipient_id


def stage_label(regime: Regime, stage: str) -> str:
    if stage == "initial":
        return "Initial report"
    if stage.startswith("update-"):
        return f"Update {stage.removeprefix('update-')}"
    if stage in ("final", "summary"):
        return f"{stage.capitalize()} report"
    try:
        return regime.concurrent_report(stage).label
    except KeyError:
        return stage


def obligation_label(regime_id: str, version: str, stage: str) -> str:
    """The stage's name for people ("Initial report", "Update 2", "Disclosure of an imminent risk ...")."""
    try:
        return stage_label(get(regime_id, version), stage)
    except NotFound:
        return stage


def is_initial_kind(regime: Regime, stage: str) -> bool:
    """Initial reports and the reports that run beside them may carry preliminary fields."""
    return stage == "initial" or any(c.id == stage for c in regime.reports.concurrent)


def stage_rule_source(regime: Regime, stage: str) -> str:
    reports = regime.reports
    if stage == "initial":
        return reports.initial.source
    if stage.startswith("update-") and reports.updates is not None:
        return reports.updates.source
    if stage == "final" and reports.final is not None:
        return reports.final.source
    if stage == "summary" and reports.summary is not None:
        return reports.summary.source
    try:
        return regime.concurrent_report(stage).source
    except KeyError:
        return regime.source

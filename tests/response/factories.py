"""Builders for response-channel test data, over the real services so tests exercise the same rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.core.clock import utcnow
from signalfire.response import service
from signalfire.response.models import Incident, ModelVersion
from signalfire.response.schemas import IncidentCreate, ModelVersionIn
from signalfire.response.vocab import RiskDomain, Severity


def model_version(
    db: Session,
    actor: Actor,
    name: str = "aurora-large",
    version: str = "3.2",
    surfaces: list[str] | None = None,
) -> ModelVersion:
    return service.add_model_version(
        db, actor, ModelVersionIn(name=name, version=version, surfaces=surfaces or ["api"])
    )


def incident(
    db: Session,
    actor: Actor,
    *,
    aware_at: datetime | None = None,
    severity: Severity = Severity.SEV2,
    risk_domain: RiskDomain = RiskDomain.MISUSE,
    is_drill: bool = False,
    affected_models: list[str] | None = None,
    title: str = "Jailbreak seen in monitoring",
    **extra: Any,
) -> Incident:
    data = IncidentCreate(
        title=title,
        severity=severity,
        risk_domain=risk_domain,
        aware_at=aware_at or utcnow() - timedelta(hours=2),
        is_drill=is_drill,
        affected_models=affected_models or [],
        **extra,
    )
    return service.create_incident(db, actor, data)

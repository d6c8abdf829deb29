"""An organisation's profile as the regimes read it: where it operates, its legal roles, its size.

Org kinds say what an org is *in Signalfire* (a lab, an authority, the hub); the law asks other things:
is it a provider of a high-risk system, a deployer, a critical-infrastructure operator, a Code signatory,
over 10^26 training operations? Those are attributes with effective dates, because the version of a fact
that counts is the one in force when the org became aware of an incident. Each change is a new row (the
history stays), audited. Applicability facts that a regime maps to a role or a threshold are answered
from the profile; the assessor can still answer them by hand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.audit.chain import record
from signalfire.core.clock import utcnow
from signalfire.core.errors import FieldError, NotFound, ValidationFailed
from signalfire.reporting.models import OrgAttribute
from signalfire.reporting.rules.regime_schema import Fact, OrgRole, Regime, SizeAttribute

ROLES: tuple[str, ...] = get_args(OrgRole)
SIZES: tuple[str, ...] = get_args(SizeAttribute)
ATTRIBUTES: tuple[str, ...] = ("jurisdictions", "roles", *SIZES)

ROLE_LABELS: Mapping[str, str] = {
    "frontier_developer": "Frontier developer (trained a model over 10^26 operations)",
    "gpai_provider": "Provider of a general-purpose AI model (EU)",
    "gpai_systemic_risk_provider": "Provider of a GPAI model with systemic risk (EU AI Act Art. 51)",
    "code_signatory": "Signatory of the GPAI Code of Practice, Safety and Security chapter",
    "high_risk_provider": "Provider of a high-risk AI system (EU AI Act Art. 6, 73)",
    "deployer": "Deployer of an AI system (EU AI Act Art. 26)",
    "critical_infrastructure_operator": "Critical-infrastructure operator",
    "essential_entity_operator": "Essential or important entity (NIS2)",
    "public_body": "Public body",
    "network_operator_cn": "Network operator in China (CAC incident measures Art. 2)",
    "cii_operator_cn": "Critical information infrastructure operator in China",
    "genai_service_provider_cn": "Generative AI service provider in China",
    "covered_entity_us": "Covered entity under CIRCIA (US)",
}
SIZE_LABELS: Mapping[str, str] = {
    "training_compute_flop": "Largest training run (operations, FLOP)",
    "annual_revenue_usd": "Annual gross revenue (USD)",
}
MAX_JURISDICTIONS = 60
MAX_REASON = 2000
_JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
# Up to 10^30: above any training run on record by orders of magnitude, below float trouble.
MAX_SIZE = 1e30


@dataclass(frozen=True)
class Profile:
    """The attributes in force at one instant (None: never declared)."""

    jurisdictions: list[str] | None = None
    roles: list[str] | None = None
    sizes: dict[str, float] = field(default_factory=dict)

    def fact_answer(self, fact: Fact) -> str | None:
        """yes / no from the profile, or None when it cannot say (the assessor answers)."""
        if fact.role is None and fact.threshold is None:
            return None
        said: list[bool] = []
        if fact.role is not None and self.roles is not None:
            said.append(fact.role in self.roles)
        if fact.threshold is not None and fact.threshold.attribute in self.sizes:
            said.append(self.sizes[fact.threshold.attribute] > fact.threshold.more_than)
        if any(said):
            return "yes"
        return "no" if said else None


def _latest(session: Session, org_id: Any, at: datetime | None) -> dict[str, OrgAttribute]:
    stmt = select(OrgAttribute).where(OrgAttribute.org_id == org_id)
    if at is not None:
        stmt = stmt.where(OrgAttribute.effective_from <= at)
    rows = session.execute(stmt.order_by(OrgAttribute.effective_from, OrgAttribute.recorded_at)).scalars()
    latest: dict[str, OrgAttribute] = {}
    for row in rows:
        latest[row.name] = row
    return latest


def profile_at(session: Session, org: Organization, at: datetime | None = None) -> Profile:
    """The profile in force at ``at`` (now when None). Jurisdictions fall back to the org record's."""
    latest = _latest(session, org.id, at)
    jurisdictions = latest["jurisdictions"].value if "jurisdictions" in latest else list(org.jurisdictions)
    roles = latest["roles"].value if "roles" in latest else None
    sizes = {name: float(latest[name].value) for name in SIZES if name in latest}
    return Profile(jurisdictions=jurisdictions, roles=roles, sizes=sizes)


def own_org(session: Session, actor: Actor) -> Organization:
    """The actor's own organisation (every member may know its own org's profile)."""
    org = session.get(Organization, actor.org_id)
    if org is None:  # the actor's org is gone mid-request
        raise NotFound("No such organisation.")
    return org


def current(session: Session, actor: Actor, at: datetime | None = None) -> Profile:
    """The actor's own org's profile in force at ``at`` (now when None)."""
    return profile_at(session, own_org(session, actor), at)


def history(session: Session, actor: Actor) -> list[OrgAttribute]:
    """Every recorded value of the actor's own org, newest first."""
    require(actor, Permission.reporting_obligation_read)
    return list(
        session.execute(
            select(OrgAttribute)
            .where(OrgAttribute.org_id == actor.org_id)
            .order_by(OrgAttribute.effective_from.desc(), OrgAttribute.recorded_at.desc())
        ).scalars()
    )


def profile_facts(regime: Regime, profile: Profile) -> dict[str, str]:
    """The regime's applicability facts the profile answers."""
    out: dict[str, str] = {}
    for fact in regime.applicability.facts:
        answer = profile.fact_answer(fact)
        if answer is not None:
            out[fact.id] = answer
    return out


def _check(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, value in values.items():
        if name not in ATTRIBUTES:
            errors.append(FieldError(name, f"Not an attribute; known: {', '.join(ATTRIBUTES)}."))
        elif name == "jurisdictions":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors.append(FieldError(name, "A list of codes such as EU, US-CA, CN."))
            elif len(value) > MAX_JURISDICTIONS:
                errors.append(FieldError(name, f"At most {MAX_JURISDICTIONS} jurisdictions."))
            else:
                codes = sorted({v.strip().upper() for v in value if v.strip()})
                bad = [c for c in codes if not _JURISDICTION.match(c)]
                if bad:
                    errors.append(FieldError(name, f"Not a jurisdiction code: {', '.join(bad[:5])} (e.g. EU, US-CA)."))
                clean[name] = codes
        elif name == "roles":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors.append(FieldError(name, "A list of roles."))
            else:
                unknown = sorted(set(value) - set(ROLES))
                if unknown:
                    errors.append(
                        FieldError(name, f"Unknown roles: {', '.join(unknown[:5])}; known: {', '.join(ROLES)}.")
                    )
                clean[name] = sorted(set(value))
        else:
            number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
            if number is None or number != number or not 0 <= number <= MAX_SIZE:
                errors.append(FieldError(name, f"A number between 0 and {MAX_SIZE:.0e}."))
            else:
                clean[name] = float(number)
    return clean, errors


def set_attributes(
    session: Session,
    actor: Actor,
    values: Mapping[str, Any],
    *,
    effective_from: datetime | None = None,
    reason: str = "",
) -> list[OrgAttribute]:
    """Record new values for the actor's own org, effective from ``effective_from`` (now by default; a
    past date corrects history, e.g. a role held since before an incident). Audited."""
    require(actor, Permission.reporting_settings_manage)
    now = utcnow()
    clean, errors = _check(values)
    if not values:
        errors.append(FieldError("values", "Give at least one attribute."))
    if effective_from is not None and (effective_from.tzinfo is None or effective_from.utcoffset() is None):
        errors.append(FieldError("effective_from", "The time must include a time zone (UTC)."))
    elif effective_from is not None and effective_from > now:
        errors.append(FieldError("effective_from", "A change cannot take effect in the future; record it then."))
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        errors.append(FieldError("reason", f"At most {MAX_REASON} characters."))
    if errors:
        raise ValidationFailed(errors)
    when = effective_from or now
    org = session.get(Organization, actor.org_id)
    assert org is not None
    before = profile_at(session, org, None)
    rows = [
        OrgAttribute(
            org_id=actor.org_id,
            name=name,
            value=value,
            effective_from=when,
            reason=reason,
            recorded_at=now,
            recorded_by=actor.user_id,
            recorded_by_label=actor.display_name,
        )
        for name, value in sorted(clean.items())
    ]
    session.add_all(rows)
    session.flush()
    record(
        session,
        action="reporting.org_profile.update",
        target_type="organization",
        target_id=actor.org_id,
        actor=actor,
        summary={
            "values": clean,
            "effective_from": when,
            "reason": reason[:300],
            "before": {"jurisdictions": before.jurisdictions, "roles": before.roles, **before.sizes},
        },
    )
    return rows

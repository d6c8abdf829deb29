"""The org's reporting settings and its profile as the regimes read it (/reporting/settings, /profile).

Both forms come back (422) with what was typed and each problem beside its field; bad input changes
nothing."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.deps import ActorDep
from signalfire.access.models import Organization
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.core.errors import FieldError, NotFound, ValidationFailed
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.templating import redirect, render
from signalfire.reporting import org_profile, org_settings, service
from signalfire.reporting.forms import FormData, FormLists, attempt, by_field, summary, utc
from signalfire.reporting.pages import page_context

settings_pages = protected_router(prefix="/reporting", include_in_schema=False)

SETTINGS_LABELS = {
    "org_sla_minutes": "Your SLA (minutes)",
    "assessment_prompt_minutes": "Reminder to assess after (minutes)",
    "leads": "Reminders and escalations",
}
PROFILE_LABELS = {
    "jurisdictions": "Jurisdictions",
    "roles": "Legal roles",
    **org_profile.SIZE_LABELS,
    "effective_from": "Effective from",
    "reason": "Reason",
    "values": "Profile",
}


# -- settings --------------------------------------------------------------------------------------------


def _settings_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    typed: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
) -> Response:
    s = org_settings.get_settings(session, actor.org_id)
    if typed is None:
        typed = {
            "org_sla_minutes": str(int(s.org_sla.total_seconds() // 60)) if s.org_sla is not None else "",
            "assessment_prompt_minutes": str(s.assessment_prompt_minutes),
            **{f"lead.{m}": "on" for m in s.leads},
        }
    errs = by_field(errors or [])
    return render(
        request,
        "reporting/settings.html",
        page_context(
            session,
            actor,
            s=s,
            values=typed,
            errors=errs,
            error_summary=summary(errs, SETTINGS_LABELS),
            choices=[(m, org_settings.lead_label(m)) for m in org_settings.LEAD_CHOICES],
            can_manage=actor.can(Permission.reporting_settings_manage),
            tab="settings",
        ),
        status_code=422 if errors else 200,
    )


@settings_pages.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _settings_page(request, session, actor)


def _minutes(data: dict[str, str], name: str) -> int | None:
    value = data.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed.single(name, "Give a whole number of minutes.") from None


@settings_pages.post("/settings")
def settings_save(request: Request, session: SessionDep, actor: ActorDep, data: FormData) -> Response:
    def save() -> int:
        errors: list[FieldError] = []
        values: dict[str, int | None] = {}
        for name in ("org_sla_minutes", "assessment_prompt_minutes"):
            try:
                values[name] = _minutes(data, name)
            except ValidationFailed as exc:
                errors.extend(exc.errors)
        try:
            leads = [int(k.removeprefix("lead.")) for k in data if k.startswith("lead.")]
        except ValueError:
            errors.append(FieldError("leads", "Choose lead times from the list."))
            leads = []
        if errors:
            raise ValidationFailed(errors)
        return service.update_settings(
            session,
            actor,
            org_sla_minutes=values["org_sla_minutes"],
            leads=leads,
            assessment_prompt_minutes=values["assessment_prompt_minutes"],
        ).recomputed

    done = attempt(session, save)
    if done.value is None:
        return _settings_page(request, session, actor, typed=data, errors=done.errors)
    return redirect(request, "/reporting/settings", flash=f"Settings saved; {done.value} incident(s) recomputed.")


# -- org profile -----------------------------------------------------------------------------------------


def _org(session: Session, actor: Actor) -> Organization:
    return org_profile.own_org(session, actor)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _shown(name: str, value: Any) -> str:
    """A recorded value in words for the history table."""
    if name == "roles":
        return "; ".join(org_profile.ROLE_LABELS.get(r, r) for r in value) or "none"
    if name == "jurisdictions":
        return ", ".join(value) or "none"
    return _number(float(value)) if isinstance(value, int | float) else str(value)


def _profile_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    typed: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
) -> Response:
    # Reads of the profile follow the reporting read permission; without it the page does not exist.
    if not actor.can(Permission.reporting_obligation_read):
        raise NotFound("Not found.")
    now = org_profile.profile_at(session, _org(session, actor))
    if typed is None:
        typed = {
            "jurisdictions": ", ".join(now.jurisdictions or []),
            "roles": list(now.roles or []),
            **{name: _number(now.sizes.get(name)) for name in org_profile.SIZES},
            "effective_from": "",
            "reason": "",
        }
    errs = by_field(errors or [])
    return render(
        request,
        "reporting/profile.html",
        page_context(
            session,
            actor,
            profile=now,
            values=typed,
            errors=errs,
            error_summary=summary(errs, PROFILE_LABELS),
            roles=[(r, org_profile.ROLE_LABELS.get(r, r)) for r in org_profile.ROLES],
            sizes=[(name, org_profile.SIZE_LABELS.get(name, name)) for name in org_profile.SIZES],
            history=org_profile.history(session, actor),
            attribute_label=lambda name: PROFILE_LABELS.get(name, name),
            shown=_shown,
            can_manage=actor.can(Permission.reporting_settings_manage),
            tab="profile",
        ),
        status_code=422 if errors else 200,
    )


@settings_pages.get("/profile", response_class=HTMLResponse)
def profile_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _profile_page(request, session, actor)


def _changes(session: Session, actor: Actor, data: dict[str, Any], when: datetime | None) -> dict[str, Any]:
    """The attributes the form changes, compared with the profile in force at ``when`` (a past date
    corrects history: a role held since before an incident is recorded even if it is held now)."""
    before = org_profile.profile_at(session, _org(session, actor), when)
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    codes = [c.strip() for c in str(data.get("jurisdictions", "")).replace(";", ",").split(",") if c.strip()]
    if sorted({c.upper() for c in codes}) != sorted(before.jurisdictions or []):
        out["jurisdictions"] = codes
    roles = sorted(set(data.get("roles", [])))
    if roles != sorted(before.roles or []):
        out["roles"] = roles
    for name in org_profile.SIZES:
        raw = str(data.get(name, "")).strip().replace(",", "").replace("_", "")
        if not raw:
            continue
        try:
            number = float(raw)
        except ValueError:
            errors.append(FieldError(name, "A number, e.g. 3e26 or 1500000000."))
            continue
        if not math.isfinite(number):
            errors.append(FieldError(name, "A finite number."))
        elif before.sizes.get(name) != number:
            out[name] = number
    if errors:
        raise ValidationFailed(errors)
    return out


@settings_pages.post("/profile")
def profile_save(request: Request, session: SessionDep, actor: ActorDep, form: FormLists) -> Response:
    require(actor, Permission.reporting_settings_manage)
    data: dict[str, Any] = {k: v[0] for k, v in form.items() if k != "roles"}
    data["roles"] = form.get("roles", [])

    def save() -> int:
        when = utc(data["effective_from"], "effective_from") if data.get("effective_from", "").strip() else None
        values = _changes(session, actor, data, when)
        if not values:
            raise ValidationFailed.single("values", "Nothing changed: the profile already says this for that date.")
        rows = org_profile.set_attributes(
            session, actor, values, effective_from=when, reason=str(data.get("reason", ""))
        )
        return len(rows)

    done = attempt(session, save)
    if done.value is None:
        return _profile_page(request, session, actor, typed=data, errors=done.errors)
    return redirect(request, "/reporting/profile", flash=f"Profile saved: {done.value} attribute(s) recorded.")

"""The permission vocabulary and the one role -> permission table.

Values are "<scope>:<resource>:<action>". What an actor may do is the intersection of what their role
grants, what their org's kind can ever do (an authority never writes incidents), and, for API tokens,
the token's scopes.
"""

from __future__ import annotations

from enum import StrEnum

from signalfire.access.models import OrgKind, Role


class Permission(StrEnum):
    org_member_read = "org:member:read"
    org_member_manage = "org:member:manage"
    org_token_manage = "org:token:manage"  # noqa: S105 (a permission name, not a secret)
    org_webhook_manage = "org:webhook:manage"
    audit_log_read = "audit:log:read"

    response_incident_read = "response:incident:read"
    response_incident_write = "response:incident:write"
    response_incident_command = "response:incident:command"
    response_roster_manage = "response:roster:manage"
    response_playbook_manage = "response:playbook:manage"
    response_review_write = "response:review:write"

    reporting_obligation_read = "reporting:obligation:read"
    reporting_assessment_write = "reporting:assessment:write"
    reporting_report_write = "reporting:report:write"
    reporting_report_submit = "reporting:report:submit"
    reporting_inbox_read = "reporting:inbox:read"
    reporting_inbox_respond = "reporting:inbox:respond"
    reporting_retention_manage = "reporting:retention:manage"
    reporting_settings_manage = "reporting:settings:manage"
    # Which authority org receives what a regime addresses: deployment configuration, for the hub.
    reporting_binding_manage = "reporting:binding:manage"

    exchange_item_read = "exchange:item:read"
    exchange_item_write = "exchange:item:write"
    exchange_item_publish = "exchange:item:publish"
    exchange_item_respond = "exchange:item:respond"
    exchange_routing_manage = "exchange:routing:manage"
    exchange_pseudonym_resolve = "exchange:pseudonym:resolve"
    exchange_health_read = "exchange:health:read"
    # Competition counsel: signs off publishing despite antitrust findings (a second person, audited).
    # Held by the counsel role only, not by admins (see ROLE_PERMISSIONS); counsel can neither write nor
    # publish items, and never signs off an item they drafted, so the sign-off is always four eyes.
    exchange_screening_counsel = "exchange:screening:counsel"
    # Hub moderation: pre-publication review, hide/withdraw/out-of-scope, member admission and suspension.
    exchange_moderation_manage = "exchange:moderation:manage"
    # Peering with other instances and TAXII servers: who the org's exchange pushes to and pulls from.
    federation_peer_manage = "federation:peer:manage"

    intake_signal_read = "intake:signal:read"
    intake_signal_triage = "intake:signal:triage"
    intake_source_manage = "intake:source:manage"

    readiness_scorecard_read = "readiness:scorecard:read"
    readiness_scorecard_publish = "readiness:scorecard:publish"

    # Transparency reports: members read drafts and the records behind figures; reporters and admins
    # write definitions; an admin other than the author signs off and publishes (four eyes).
    transparency_report_read = "transparency:report:read"
    transparency_report_write = "transparency:report:write"
    transparency_report_signoff = "transparency:report:signoff"


P = Permission

_VIEW = {
    P.org_member_read,
    P.org_token_manage,
    P.response_incident_read,
    P.reporting_obligation_read,
    P.reporting_inbox_read,
    P.exchange_item_read,
    P.intake_signal_read,
    P.readiness_scorecard_read,
    P.transparency_report_read,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.viewer: frozenset(_VIEW),
    Role.analyst: frozenset(
        _VIEW
        | {
            P.exchange_item_write,
            P.exchange_item_respond,
            P.intake_signal_triage,
            P.response_review_write,
            P.exchange_health_read,
        }
    ),
    Role.reporter: frozenset(
        _VIEW
        | {
            P.reporting_assessment_write,
            P.reporting_report_write,
            P.reporting_report_submit,
            P.reporting_inbox_respond,
            P.exchange_item_respond,
            P.transparency_report_write,
        }
    ),
    Role.responder: frozenset(
        _VIEW
        | {
            P.response_incident_write,
            P.response_incident_command,
            P.response_review_write,
            P.intake_signal_triage,
            P.exchange_item_respond,
            P.reporting_assessment_write,
        }
    ),
    # Competition/legal counsel, designated by an admin. Reads what a sign-off or a legal review needs and
    # writes nothing but the sign-off:
    # * exchange:item:read, and through it the org's drafts (policy.exchange.item_visible_to shows an org's
    #   drafts to writers and to counsel), their screening findings, the read log and the moderation log
    #   about the org's items;
    # * exchange:screening:counsel, the sign-off on antitrust findings (only counsel holds it);
    # * reporting:obligation:read, the org's reports to authorities, assessments, obligations and legal
    #   holds, with response:incident:read because the reporting pages are per incident and read the
    #   incident through the response policy (read only: no incident write, command or reviews);
    #   reporting:inbox:read is the same reading for an authority org;
    # * org:member:read and org:token:manage (their own API tokens, never more than the role) like every role.
    # Not: member management, audit log, incident or report writing, intake, readiness or transparency.
    Role.counsel: frozenset(
        {
            P.org_member_read,
            P.org_token_manage,
            P.response_incident_read,
            P.reporting_obligation_read,
            P.reporting_inbox_read,
            P.exchange_item_read,
            P.exchange_screening_counsel,
        }
    ),
    # Admins hold everything except the counsel sign-off. Decision: legal teams expect the sign-off from a
    # designated counsel, not from whoever administers the org, and the table stays a function of role and
    # org kind (no "admins sign off while the org has no counsel" rule that removing the counsel would
    # flip). An org without counsel has an admin make someone counsel (an in-house lawyer, or outside
    # counsel added as a member); until then flagged items cannot be published with an override.
    Role.admin: frozenset(Permission) - {P.exchange_screening_counsel},
}

# What each kind of organisation can ever do, whatever the role. Keeps the channels apart by org kind:
# an authority receives reports and reads government-partner exchange items; it runs no incidents.
_ALL = frozenset(Permission)
_AUTHORITY = frozenset(
    {
        P.org_member_read,
        P.org_member_manage,
        P.org_token_manage,
        P.org_webhook_manage,
        P.audit_log_read,
        P.reporting_inbox_read,
        P.reporting_inbox_respond,
        P.exchange_item_read,
        P.readiness_scorecard_read,
    }
)
_HUB = frozenset(
    {
        P.org_member_read,
        P.org_member_manage,
        P.org_token_manage,
        P.org_webhook_manage,
        P.audit_log_read,
        P.exchange_item_read,
        P.exchange_item_write,
        P.exchange_item_publish,
        P.exchange_item_respond,
        P.exchange_routing_manage,
        P.exchange_pseudonym_resolve,
        P.exchange_health_read,
        P.exchange_screening_counsel,
        P.exchange_moderation_manage,
        P.readiness_scorecard_read,
        P.reporting_binding_manage,
        P.federation_peer_manage,
    }
)
_NOT_HUB = _ALL - {
    P.exchange_pseudonym_resolve,
    P.exchange_health_read,
    P.exchange_moderation_manage,
    P.reporting_inbox_read,
    P.reporting_inbox_respond,
    P.reporting_binding_manage,
}
ORG_KIND_PERMISSIONS: dict[OrgKind, frozenset[Permission]] = {
    OrgKind.frontier_developer: _NOT_HUB | {P.reporting_inbox_respond},
    OrgKind.downstream: _NOT_HUB | {P.reporting_inbox_respond},
    OrgKind.researcher: frozenset(
        {
            P.org_member_read,
            P.org_member_manage,
            P.org_token_manage,
            P.audit_log_read,
            P.exchange_item_read,
            P.exchange_item_write,
            P.exchange_item_publish,
            P.exchange_item_respond,
            P.exchange_routing_manage,
            P.exchange_screening_counsel,
            P.intake_signal_read,
            P.intake_signal_triage,
            P.intake_source_manage,
            P.readiness_scorecard_read,
        }
    ),
    OrgKind.authority: _AUTHORITY,
    OrgKind.hub_operator: _HUB,
}
# Note: reporting_inbox_respond for developers means "answer an authority's question on our own report".


def effective_permissions(role: Role, kind: OrgKind, scopes: list[str] | None = None) -> frozenset[Permission]:
    perms = ROLE_PERMISSIONS[role] & ORG_KIND_PERMISSIONS[kind]
    if scopes is None:
        return perms
    return frozenset(p for p in perms if scope_allows(scopes, p))


def scope_allows(scopes: list[str], permission: Permission) -> bool:
    """A scope is "*", a scope family ("exchange"), a family:resource ("exchange:item") or a full permission."""
    value = permission.value
    return any(scope in ("*", value) or value.startswith(scope + ":") for scope in scopes)


def valid_scope(scope: str) -> bool:
    return scope == "*" or any(p.value == scope or p.value.startswith(scope + ":") for p in Permission)

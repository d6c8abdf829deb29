"""Who may do what, written by hand from the documentation, NOT from `signalfire.access.permissions`.

This is the independent answer key that the code's role table (`ROLE_PERMISSIONS` intersected with
`ORG_KIND_PERMISSIONS`) and the route access matrix (tests/matrix.py) are graded against. It must never
import from the code under test: a wrong row in the code's table has to disagree with this file.

Each row is one action family (named by its documented permission string), the roles that may do it in
their own org, and the kinds of organisation where it exists at all. Sources are cited per row; where the
channel documents were silent, docs/access.md states the decision and this file copies that page.

Abbreviations, roles:  V viewer, N analyst, R reporter, S responder (incident responder), A admin,
                       C counsel (competition/legal counsel).
Abbreviations, kinds:  F frontier developer, D downstream developer, X researcher, G authority
                       (government partner), H hub operator.
"""

from __future__ import annotations

from typing import NamedTuple

ROLE_CODES = {"V": "viewer", "N": "analyst", "R": "reporter", "S": "responder", "A": "admin", "C": "counsel"}
KIND_CODES = {"F": "frontier_developer", "D": "downstream", "X": "researcher", "G": "authority", "H": "hub_operator"}


class Row(NamedTuple):
    roles: str
    kinds: str
    source: str


EVERY_ROLE = "VNRSAC"
# Every role but counsel: counsel reads only what a sign-off or a legal review needs (access.md "Counsel").
STAFF = "VNRSA"
EVERY_KIND = "FDXGH"
# Exchange members: frontier developer, hub operator, researcher or downstream; never an authority.
MEMBERS = "FDXH"
# Orgs that run models and so have incidents, obligations and scorecards of their own.
DEVELOPERS = "FD"

TABLE: dict[str, Row] = {
    # -- the org itself (docs/access.md "Organisation") ----------------------------------------------------
    "org:member:read": Row(EVERY_ROLE, EVERY_KIND, "access.md: every member sees who else is in the org"),
    "org:member:manage": Row("A", EVERY_KIND, "access.md: admins add, re-role and remove members"),
    "org:token:manage": Row(EVERY_ROLE, EVERY_KIND, "access.md: anyone may hold API tokens of their own"),
    "org:webhook:manage": Row("A", "FDGH", "access.md: admins; researcher orgs have no outgoing webhooks"),
    "audit:log:read": Row("A", EVERY_KIND, "access.md: the org's audit log is for its admins"),
    # -- response (docs/response.md "Access", access.md "Response") ---------------------------------------
    "response:incident:read": Row(
        EVERY_ROLE, DEVELOPERS, "response.md: org members; nothing for authorities; access.md: counsel reads"
    ),
    "response:incident:write": Row("SA", DEVELOPERS, "access.md: responders and admins run incidents"),
    "response:incident:command": Row("SA", DEVELOPERS, "access.md: responders and admins assign roles"),
    "response:roster:manage": Row("A", DEVELOPERS, "access.md: rosters and escalation are admin settings"),
    "response:playbook:manage": Row("A", DEVELOPERS, "access.md: playbooks, models, contacts: admins"),
    "response:review:write": Row("NSA", DEVELOPERS, "access.md: analysts write reviews beside responders"),
    # -- reporting (docs/reporting.md "Who may do what") ---------------------------------------------------
    "reporting:obligation:read": Row(
        EVERY_ROLE, DEVELOPERS, "reporting.md: the reporting org's members; access.md: counsel reads reports"
    ),
    "reporting:assessment:write": Row("RSA", DEVELOPERS, "reporting.md: reporters, responders, admins"),
    "reporting:report:write": Row("RA", DEVELOPERS, "reporting.md: drafting, reporters and admins"),
    "reporting:report:submit": Row("RA", DEVELOPERS, "reporting.md: submitting and waiving, reporters, admins"),
    "reporting:inbox:read": Row(EVERY_ROLE, "G", "reporting.md: an authority org sees what is delivered to it"),
    "reporting:inbox:respond": Row(
        "RA", "FDG", "reporting.md: the authority acks and asks; the reporting org answers in the thread"
    ),
    "reporting:retention:manage": Row("A", DEVELOPERS, "reporting.md: holds and retention runs, admins"),
    "reporting:settings:manage": Row("A", DEVELOPERS, "reporting.md: settings, admins"),
    "reporting:binding:manage": Row("A", "H", "reporting.md: recipient bindings, hub operator admins"),
    # -- exchange (docs/exchange.md "Who sees what", "Pseudonyms", "Routing") ------------------------------
    "exchange:item:read": Row(EVERY_ROLE, EVERY_KIND, "exchange.md: every role may read (items by audience)"),
    "exchange:item:write": Row("NA", MEMBERS, "exchange.md: analysts and admins write drafts; members only"),
    "exchange:item:publish": Row("A", MEMBERS, "exchange.md: admins publish, revise, withdraw"),
    "exchange:item:respond": Row("NRSA", MEMBERS, "exchange.md: everyone but viewers may respond"),
    "exchange:routing:manage": Row("A", MEMBERS, "exchange.md: admins manage routing"),
    "exchange:pseudonym:resolve": Row("A", "H", "exchange.md: only the hub operator's admins resolve"),
    "exchange:health:read": Row("NA", "H", "exchange.md: the hub operator sees health; access.md: its analysts"),
    "exchange:screening:counsel": Row(
        "C", MEMBERS, "exchange.md (Screening), access.md: the counsel role signs off antitrust findings, not admins"
    ),
    "exchange:moderation:manage": Row(
        "A", "H", 'exchange.md "Moderation": the hub operator\'s admins review, hide, withdraw, admit, suspend'
    ),
    # -- federation (docs/access.md "Federation", src/signalfire/federation/README.md) ---------------------
    "federation:peer:manage": Row("A", "FDH", "access.md: peers are admin settings of member labs and the hub"),
    # -- intake (docs/intake.md "Access") -----------------------------------------------------------------
    "intake:signal:read": Row(STAFF, "FDX", "intake.md: every role but counsel, of developer, researcher, downstream"),
    "intake:signal:triage": Row("NSA", "FDX", "intake.md: triage, admin, responder, analyst"),
    "intake:source:manage": Row("A", "FDX", "intake.md: sources and settings, admin"),
    # -- readiness (docs/readiness.md "Who sees what") ----------------------------------------------------
    "readiness:scorecard:read": Row(
        STAFF, EVERY_KIND, "readiness.md: every role but counsel; other kinds see the landscape and published cards"
    ),
    "readiness:scorecard:publish": Row("A", DEVELOPERS, "readiness.md: admins of developer orgs"),
    # -- transparency (docs/transparency-reports.md "Who may do what") ------------------------------------
    "transparency:report:read": Row(
        STAFF, DEVELOPERS, "transparency-reports.md: every role but counsel reads drafts and the records behind figures"
    ),
    "transparency:report:write": Row("RA", DEVELOPERS, "transparency-reports.md: reporters and admins write"),
    "transparency:report:signoff": Row(
        "A", DEVELOPERS, "transparency-reports.md: an admin other than the author signs off and publishes"
    ),
}


def may(kind: str, role: str, permission: str) -> bool:
    """Whether a member with `role` in an org of `kind` may use `permission` (all strings, by value)."""
    row = TABLE[permission]
    return any(ROLE_CODES[c] == role for c in row.roles) and any(KIND_CODES[c] == kind for c in row.kinds)


def allowed(kind: str, role: str) -> frozenset[str]:
    """Every permission string the documentation grants this role in this kind of org."""
    return frozenset(p for p in TABLE if may(kind, role, p))

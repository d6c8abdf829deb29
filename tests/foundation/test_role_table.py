"""The code's role table graded against the hand-written table in tests/access_oracle.py.

A wrong row in `ROLE_PERMISSIONS` or `ORG_KIND_PERMISSIONS` (a role gaining or losing a permission, an
org kind gaining a channel) fails here, naming the kind, role and permission.
"""

from __future__ import annotations

import pytest

from signalfire.access.models import OrgKind, Role
from signalfire.access.permissions import Permission, effective_permissions
from tests import access_oracle
from tests.test_route_matrix import CASES


def test_the_oracle_names_every_permission_and_no_other() -> None:
    # A new permission must be given a hand-written row (who may use it, per the docs).
    assert set(access_oracle.TABLE) == {p.value for p in Permission}


def test_the_oracle_knows_every_role_and_kind() -> None:
    assert set(access_oracle.ROLE_CODES.values()) == {r.value for r in Role}
    assert set(access_oracle.KIND_CODES.values()) == {k.value for k in OrgKind}


@pytest.mark.parametrize("kind", list(OrgKind), ids=lambda k: k.value)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_code_role_table_matches_the_documented_table(kind: OrgKind, role: Role) -> None:
    code = {p.value for p in effective_permissions(role, kind)}
    documented = access_oracle.allowed(kind.value, role.value)
    assert not code - documented, f"{role} in a {kind} org is granted beyond the docs: {sorted(code - documented)}"
    assert not documented - code, f"{role} in a {kind} org lacks what the docs grant: {sorted(documented - code)}"


def test_a_few_documented_answers_spelled_out() -> None:
    # Literal spot checks of the oracle itself, one per channel, straight from the docs' sentences.
    may = access_oracle.may
    assert may("frontier_developer", "analyst", "exchange:item:write")  # exchange.md: analysts write drafts
    assert not may("frontier_developer", "analyst", "exchange:item:publish")  # admins publish
    assert not may("authority", "admin", "exchange:item:write")  # an authority is never a member
    assert not may("frontier_developer", "viewer", "exchange:item:respond")  # everyone but viewers
    assert may("hub_operator", "admin", "exchange:pseudonym:resolve")
    assert not may("frontier_developer", "admin", "exchange:pseudonym:resolve")
    assert not may("authority", "admin", "response:incident:read")  # nothing for authorities
    assert not may("frontier_developer", "responder", "reporting:report:submit")  # reporters, admins
    assert may("frontier_developer", "responder", "reporting:assessment:write")
    assert not may("hub_operator", "admin", "intake:signal:read")  # no authority or hub
    assert may("researcher", "viewer", "intake:signal:read")
    assert not may("authority", "admin", "readiness:scorecard:publish")  # admins of developer orgs


# Route families whose permission may come from another channel: promoting a signal crosses into the
# channel it creates something in (intake.md "Promotion"), and TAXII is the exchange's wire protocol.
# Routes of one channel that act on another's record: intake promotes into response and the exchange; TAXII
# serves the exchange; the incident workspace's exchange section is opened on a response incident.
# Capability-threshold notices are the org's outward duty beside its reports and use the reporting rows
# (docs/access.md, after the table). An org's application to join the hub's community is an act of the org's
# admins on its membership (org:member:manage), made on the exchange's pages.
CROSS_FAMILY = {
    ("exchange", "org"),
    ("intake", "exchange"),
    ("intake", "response"),
    ("taxii2", "exchange"),
    ("exchange", "response"),
    ("notices", "reporting"),
}
ORG_ROUTES = {"admin", "members", "tokens", "webhooks", "audit", "me"}


@pytest.mark.parametrize("case", [c for c in CASES if c.permission is not None], ids=lambda c: c.id)
def test_route_cases_name_a_permission_of_their_own_channel(case: object) -> None:
    """The matrix's per-route permission must belong to the route's channel, so a case cannot be graded
    against an unrelated row of the table."""
    from tests.matrix import RouteCase

    assert isinstance(case, RouteCase)
    assert case.permission is not None
    family = case.path.removeprefix("/api/v1").split("/")[1]
    scope = case.permission.value.split(":", 1)[0]
    if family in ORG_ROUTES:
        assert scope in {"org", "audit"}, case.id
    else:
        assert scope == family or (family, scope) in CROSS_FAMILY, case.id

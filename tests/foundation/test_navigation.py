"""Each kind of organisation sees only its own sections in the main menu (issue 18)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from tests import factories

Client = Callable[[Actor | None], TestClient]

# Written from the docs (design.md: an authority sees what is reported to it and exchange items addressed
# to government partners; the hub runs the exchange), not from the template's table.
EXPECTED = {
    OrgKind.frontier_developer: {"/response", "/reporting", "/exchange", "/intake", "/readiness"},
    OrgKind.downstream: {"/response", "/reporting", "/exchange", "/intake", "/readiness"},
    OrgKind.authority: {"/reporting", "/exchange"},
    OrgKind.hub_operator: {"/reporting", "/exchange"},
    OrgKind.researcher: {"/exchange"},
}
SECTIONS = {"/response", "/reporting", "/exchange", "/intake", "/readiness"}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_the_menu_shows_the_sections_of_the_org_kind(db: Session, browser_client: Client, kind: OrgKind) -> None:
    person = factories.actor(db, kind=kind, role=Role.admin)
    page = browser_client(person).get("/tour")
    assert page.status_code == 200
    nav = page.text.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    shown = {href for href in re.findall(r'href="([^"]+)"', nav) if href in SECTIONS}
    assert shown == EXPECTED[kind]


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_the_overview_cards_match_the_menu(db: Session, browser_client: Client, kind: OrgKind) -> None:
    """The overview offers the channels the menu offers: no card leads a hub or an authority to Response."""
    person = factories.actor(db, kind=kind, role=Role.admin)
    page = browser_client(person).get("/")
    assert page.status_code == 200
    grid = page.text.split('<div class="grid grid-3">', 1)[1].split('<div class="callout', 1)[0]
    cards = set(re.findall(r'<a class="card" href="([^"]+)"', grid))
    assert cards == EXPECTED[kind] & {"/response", "/reporting", "/exchange"}


def test_counsel_see_only_the_sections_their_role_opens(db: Session, browser_client: Client) -> None:
    """Counsel read incidents, reports and the exchange, but no intake queue, scorecard or transparency
    report (docs/access.md): those menu entries would lead to a refusal."""
    person = factories.actor(db, kind=OrgKind.frontier_developer, role=Role.counsel)
    page = browser_client(person).get("/tour")
    assert page.status_code == 200
    nav = page.text.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    shown = {href for href in re.findall(r'href="([^"]+)"', nav) if href in SECTIONS}
    assert shown == {"/response", "/reporting", "/exchange"}
    assert 'href="/readiness"' not in page.text  # nor the tour's own button

"""Fixtures shared by the exchange tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access.actor import Actor
from signalfire.core.settings import JobSettings
from signalfire.exchange.vocab import AudienceKind, CoveredUse
from signalfire.notify.transports import LogMailer
from signalfire.notify.worker import Worker
from tests.exchange import factories as xf


@pytest.fixture()
def tagged_items(db: Session, make_actor: Callable[..., Actor]) -> dict[str, Any]:
    """Items of one org tagged and cited in ways the tag filters must tell apart, the reader's own, one that
    permits only safeguards, and two of a third org: one the reader may not read, one named to the owner."""
    owner, reader, other = make_actor(), make_actor(), make_actor()

    def item(by: Actor, tags: list[str], refs: list[str], **kw: Any) -> uuid.UUID:
        return xf.published(db, by, tags=tags, technique_refs=refs, **kw).id

    made: dict[str, Any] = {
        "reader": reader,
        "owner": owner,
        "a1": item(owner, ["jailbreak"], []),
        "a2": item(owner, ["rag"], ["AML.T0054"]),
        "a3": item(owner, [], ["CWE-502"]),
        "a4": item(owner, ["jailbreaks", "tool-use"], ["AML.T0051"]),
        "mine": item(reader, ["jailbreak"], []),
        "narrow_use": item(owner, ["jailbreak"], [], permitted_uses=[CoveredUse.SAFEGUARDS]),
        "secret": item(
            other,
            ["jailbreak", "rag"],
            ["AML.T0051", "CWE-502", "AML.T0054"],
            audience=[AudienceKind.NAMED_PEOPLE],
            audience_people=xf.people(other),
        ),
        "named_owner": item(
            other, ["jailbreak"], ["CWE-502"], audience=[AudienceKind.NAMED_ORGS], audience_org_ids=[owner.org_id]
        ),
    }
    db.commit()
    return made


@pytest.fixture()
def drain_jobs(session_maker: sessionmaker[Session]) -> Callable[[], int]:
    """Run the outbox worker over this test's connection until nothing is claimable (as the embedded one does)."""
    return Worker(session_maker, settings=JobSettings(), mailer=LogMailer()).drain

"""Two TAXII adds of the same objects at the same moment (a lab's worker and an admin's sync sending the
same push): neither may answer 5xx. Each either succeeds (the second finds the objects already present)
or gets a clean 409 problem with Retry-After and stores nothing; the objects are stored once.

PostgreSQL only: SQLite serialises writers (BEGIN IMMEDIATE), so the requests cannot overlap there.
"""

from __future__ import annotations

import os
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from signalfire.core.db.session import make_engine, session_factory
from signalfire.exchange.taxii.models import TaxiiObject
from signalfire.web.app import create_app
from tests import factories
from tests.conftest import make_settings
from tests.exchange.taxii.helpers import MEMBERS, envelope, headers, indicator, malware, marking
from tests.typed import HttpResponse

pg_only = pytest.mark.skipif(
    not os.environ.get("SIGNALFIRE_TEST_DATABASE_URL"),
    reason="SQLite has one writer at a time by design; concurrent writers need PostgreSQL",
)

ROUNDS = 6


@pg_only
@pytest.mark.slow
def test_the_same_envelope_twice_at_once_never_answers_5xx(fresh_db: str) -> None:
    engine = make_engine(fresh_db)
    factory = session_factory(engine)
    with factory() as db:
        lab = factories.actor(db)
        secrets = [factories.token_for(db, lab), factories.token_for(db, lab)]
    app = create_app(make_settings(fresh_db), run_worker=False)
    clients = [TestClient(app, base_url="http://testserver") for _ in secrets]
    answers: list[HttpResponse] = []
    stored_ids: list[str] = []
    try:
        for number in range(ROUNDS):
            objects = [marking(), *(indicator(number * 100 + i) for i in range(40)), malware(number)]
            stored_ids += [o["id"] for o in objects if o["type"] != "marking-definition"]
            body = envelope(objects)
            barrier = threading.Barrier(len(clients))
            got: list[HttpResponse] = []

            def post(
                client: TestClient,
                secret: str,
                body: bytes = body,
                barrier: threading.Barrier = barrier,
                got: list[HttpResponse] = got,
            ) -> None:
                barrier.wait()
                got.append(client.post(MEMBERS + "objects/", content=body, headers=headers(token=secret)))

            threads = [threading.Thread(target=post, args=(c, s)) for c, s in zip(clients, secrets, strict=True)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            assert len(got) == 2
            answers += got
    finally:
        for c in clients:
            c.close()
    codes = [r.status_code for r in answers]
    assert all(code < 500 for code in codes), [(r.status_code, r.text[:300]) for r in answers]
    assert set(codes) <= {202, 409}, codes
    assert 202 in codes  # on this machine the second of each pair got the 409 in every round
    for r in answers:
        if r.status_code == 409:
            assert r.headers.get("Retry-After") and r.headers["content-type"].startswith("application/")
        else:
            assert r.json()["failure_count"] == 0, r.json()
    # Every object is stored once in each collection it is in, whoever won each race.
    with factory() as db:
        counts = db.execute(
            select(TaxiiObject.collection_id, TaxiiObject.stix_id, func.count())
            .where(TaxiiObject.stix_id.in_(stored_ids))
            .group_by(TaxiiObject.collection_id, TaxiiObject.stix_id)
        ).all()
    engine.dispose()
    assert {stix_id for _, stix_id, _ in counts} == set(stored_ids)
    assert {n for _, _, n in counts} == {1}

"""Benchmark: counsel's "My work" list of drafts awaiting antitrust sign-off, on SQLite.

    PYTHONPATH=src .venv/bin/python bench/counsel_awaiting.py [--drafts 50] [--runs 20]

Builds a scratch SQLite database by the real migrations, one org with an admin (the author) and a
counsel, and DRAFTS drafts through ``authoring.create_draft`` whose details (~1,500 characters, a few
mitigations and a text attachment) hold commercially sensitive sentences. Then it times
``counsel.awaiting_sign_off`` as the My work page calls it on every render and poll: the first call,
and RUNS further calls with nothing changed, each in a fresh session (as per request). Prints process
CPU and wall time per call (median and max).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from signalfire.access.models import OrgKind, Role
from signalfire.access.service import add_member, build_actor, create_org, create_user
from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.exchange import authoring
from signalfire.exchange.antitrust import counsel
from signalfire.exchange.schemas import ItemIn
from signalfire.exchange.vocab import AudienceKind, Category, CoveredUse, Severity, Tlp

FILLER = (
    "The payload hides instructions in HTML comments; the agent follows them when summarising retrieved "
    "pages, and the tool call that follows exfiltrates the conversation to an attacker-controlled host. "
)
SENSITIVE = (
    "We will hold the fix's price below competitors until next quarter. ",
    "Let's agree with the other labs not to hire each other's red-teamers this year. ",
    "Our accelerator buildout doubles next year and we will cap output of the safe model. ",
    "The launch of the new model is planned for March, ahead of competitors' roadmaps. ",
)


def _item(n: int) -> ItemIn:
    details = FILLER * 6 + SENSITIVE[n % len(SENSITIVE)] + FILLER * 2 + SENSITIVE[(n + 1) % len(SENSITIVE)]
    return ItemIn.model_validate(
        {
            "category": Category.THREAT,
            "title": f"Prompt-injection campaign {n}",
            "summary": "Indirect prompt injection through retrieved web pages against agentic deployments.",
            "details": details,
            "severity": Severity.HIGH,
            "tlp": Tlp.GREEN,
            "permitted_uses": [CoveredUse.THREAT_DETECTION, CoveredUse.SAFEGUARDS],
            "audience": [AudienceKind.ALL_MEMBERS],
            "technique_refs": ["AML.T0051"],
            "mitigations": [
                "Strip HTML comments before retrieval results reach the model.",
                "Confirm tool calls that send data to hosts not on the allow-list.",
            ],
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--drafts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        migrate.upgrade(engine)
        factory = session_factory(engine)
        with unit_of_work(factory) as s:
            org = create_org(
                s,
                slug="bench-org",
                name="Bench",
                kind=OrgKind.frontier_developer,
                exchange_member=True,
                jurisdictions=["EU"],
            )
            author_user = create_user(s, email="author@example.test", display_name="Ada Author", password=None)
            counsel_user = create_user(s, email="counsel@example.test", display_name="Cora Counsel", password=None)
            add_member(s, org=org, user=author_user, role=Role.admin)
            add_member(s, org=org, user=counsel_user, role=Role.counsel)
            s.flush()
            author = build_actor(s, author_user, org.id, via="session", csrf_token="x")
            assert author is not None
            for n in range(args.drafts):
                item = authoring.create_draft(s, author, _item(n))
                s.flush()
                authoring.add_attachment(
                    s, author, item.id, filename="notes.txt", content_type="text/plain", data=(FILLER * 4).encode()
                )
            org_id, counsel_id = org.id, counsel_user.id

        def call() -> tuple[float, float, int]:
            with unit_of_work(factory) as s:
                from signalfire.access.models import User

                actor = build_actor(s, s.get_one(User, counsel_id), org_id, via="session", csrf_token="x")
                assert actor is not None
                cpu, wall = time.process_time(), time.perf_counter()
                found = counsel.awaiting_sign_off(s, actor, limit=50)
                return time.process_time() - cpu, time.perf_counter() - wall, len(found)

        first_cpu, first_wall, found = call()
        cpus, walls = [], []
        for _ in range(args.runs):
            cpu, wall, again = call()
            assert again == found
            cpus.append(cpu)
            walls.append(wall)
        engine.dispose()
    print(f"drafts={args.drafts} awaiting={found}")
    print(f"first call:   cpu {first_cpu * 1000:8.1f} ms   wall {first_wall * 1000:8.1f} ms")
    print(
        f"repeat calls: cpu median {statistics.median(cpus) * 1000:8.1f} ms  max {max(cpus) * 1000:8.1f} ms   "
        f"wall median {statistics.median(walls) * 1000:8.1f} ms  max {max(walls) * 1000:8.1f} ms  (runs={args.runs})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

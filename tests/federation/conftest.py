"""Live federation fixtures: Signalfire instances as separate processes over their own databases.

Every instance is `signalfire serve` on a free loopback port (src/signalfire/demo_federated.py). With
SIGNALFIRE_TEST_DATABASE_URL set, each gets a PostgreSQL database of its own (created from a migrated
template, dropped at the end); otherwise a SQLite file in the test's temporary folder.

Starting an instance costs a few seconds (a Python process importing the whole app), so the three-instance
federation is shared by the tests of one module (`trio`); tests that kill or stop an instance build their
own (`cluster`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from signalfire.demo_federated import Cluster

PG_URL = os.environ.get("SIGNALFIRE_TEST_DATABASE_URL")

# Live instances on a busy 2-core machine: polling bounds stretched (see demo_federated.wait_for).
os.environ.setdefault("SIGNALFIRE_LIVE_WAIT_FACTOR", "3")


def new_cluster(folder: Path) -> Cluster:
    return Cluster(folder, postgres_url=PG_URL)


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """An empty cluster of this test's own; instances are started by the test."""
    with new_cluster(tmp_path / "cluster") as c:
        yield c


def dump_logs(c: Cluster) -> str:
    return "\n".join(f"--- {i.name} ({i.url}) ---\n{i.log_tail(60)}" for i in c.instances.values())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On a failure, the tail of each live instance's log goes into the report."""
    report = yield
    if call.excinfo is not None and hasattr(item, "funcargs"):
        for value in item.funcargs.values():
            if isinstance(value, Cluster):
                report.sections.append(("live instances", dump_logs(value)))  # type: ignore[attr-defined]
    return report

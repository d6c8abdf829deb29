"""The project's invariant lint (scripts/lint_invariants.py): each rule flags a snippet that breaks it,
accepts the same snippet with a reasoned escape, and the source tree itself is clean."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lint_invariants", ROOT / "scripts" / "lint_invariants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lint_invariants"] = module
    spec.loader.exec_module(module)
    return module


li = _load()
PROTECTED = {"Incident", "Signal"}


def run(rel: str, source: str) -> list[tuple[int, str]]:
    module = li.Module.parse(rel, textwrap.dedent(source))
    return [(v.line, v.rule) for v in li.lint([module], PROTECTED, debts={})]


# -- raw-query ---------------------------------------------------------------------------------------------


def test_raw_select_of_a_protected_model_in_a_route_is_flagged() -> None:
    src = """
        from sqlalchemy import select
        def page(session, actor, incident_id):
            return session.execute(select(Incident).where(Incident.id == incident_id)).scalar_one()
    """
    assert run("response/routes.py", src) == [(4, "raw-query")]


def test_session_get_in_a_module_that_builds_a_router_is_flagged() -> None:
    src = """
        router = protected_router()
        def page(session, signal_id):
            return session.get(Signal, signal_id)
    """
    assert run("intake/anything.py", src) == [(4, "raw-query")]


def test_cli_modules_are_edges_too() -> None:
    assert run("intake/cli.py", "x = select(Signal)\n") == [(1, "raw-query")]
    assert run("exchange/stix/cli.py", "x = select(Signal)\n") == [(1, "raw-query")]
    assert run("intake/feeds_cli.py", "x = select(Signal)\n") == [(1, "raw-query")]
    assert run("reporting/cli_reports.py", "x = select(Signal)\n") == [(1, "raw-query")]


def test_queries_services_policy_and_unprotected_models_are_not_flagged() -> None:
    assert run("response/queries.py", "x = select(Incident)\n") == []
    assert run("response/service.py", "x = select(Incident)\n") == []
    assert run("access/policy/response.py", "x = select(Incident)\n") == []
    assert run("response/routes.py", "x = select(ActionKind)\n") == []


def test_an_escape_with_a_reason_allows_it_and_one_without_is_reported() -> None:
    ok = """
        # lint: allow-raw-query operator command with no actor
        x = select(Incident)
    """
    assert run("response/cli.py", ok) == []
    assert run("response/cli.py", "x = select(Incident)  # lint: allow-raw-query\n") == [(1, "escape")]
    assert run("response/cli.py", "x = 1  # lint: allow-everything because I said so\n") == [(1, "escape")]


def test_protected_models_come_from_the_policy_readable_statements() -> None:
    import ast

    policy = ast.parse(
        textwrap.dedent(
            """
            def readable_incidents(actor):
                return select(Incident).where(Incident.org_id == actor.org_id)
            def helper():
                return select(Other)
            """
        )
    )
    assert li.protected_models([policy]) == {"Incident"}


# -- commit ------------------------------------------------------------------------------------------------


def test_commit_outside_the_unit_of_work_is_flagged() -> None:
    src = """
        def create(session, actor, data):
            session.add(data)
            session.commit()
    """
    assert run("response/service.py", src) == [(4, "commit")]
    assert run("core/db/session.py", src) == []
    assert (
        run(
            "response/service.py",
            src.replace("session.commit()", "session.commit()  # lint: allow-commit audit survives the rollback"),
        )
        == []
    )


# -- network-in-transaction --------------------------------------------------------------------------------


def test_network_call_inside_a_unit_of_work_block_is_flagged() -> None:
    src = """
        import httpx
        def poll(factory, url):
            with unit_of_work(factory) as s:
                body = httpx.get(url).text
                s.add(body)
            return httpx.get(url)
    """
    assert run("intake/tasks.py", src) == [(5, "network-in-transaction")]


def test_network_call_in_a_function_that_takes_a_session_is_flagged() -> None:
    src = """
        def poll(session: Session, client: httpx.Client, feed):
            response = client.get(feed.url)
            fetch_feed(client, feed.url)
            return response
    """
    assert run("intake/polling.py", src) == [(3, "network-in-transaction"), (4, "network-in-transaction")]


def test_session_factories_callbacks_and_escapes_are_not_flagged() -> None:
    src = """
        def deliver(factory: sessionmaker[Session], client: httpx.Client, url):
            with factory.begin() as s:
                target = s.get(Endpoint, url)
                later = lambda: client.post(url)
            client.post(target)
        def send(session: Session, smtp: smtplib.SMTP):
            # lint: allow-network-in-transaction a test of the escape itself
            smtp.send_message("m")
    """
    assert run("notify/worker.py", src) == []


# -- known debts and the tree itself -------------------------------------------------------------------------


def test_a_known_debt_hides_its_file_and_is_reported_once_paid() -> None:
    module = li.Module.parse("reporting/cli.py", "x = select(Incident)\n")
    debts = {("reporting/cli.py", "raw-query"): "being restructured"}
    assert li.lint([module], PROTECTED, debts=debts) == []
    clean = li.Module.parse("reporting/cli.py", "x = 1\n")
    assert [v.rule for v in li.lint([clean], PROTECTED, debts=debts)] == ["debt"]


def test_the_source_tree_keeps_the_invariants(capsys: pytest.CaptureFixture[str]) -> None:
    assert li.main([]) == 0, capsys.readouterr().out

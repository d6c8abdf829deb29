"""Layering: the core depends on no domain or support package, and every module registry fails loudly."""

from __future__ import annotations

import ast
from pathlib import Path
from unittest.mock import MagicMock

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from signalfire import cli, demo
from signalfire.core.db import all_models
from signalfire.core.modules import ModuleListError, import_listed
from signalfire.core.web.deps import protected_router
from signalfire.notify import registry
from signalfire.web import app as web_app

SRC = Path(__file__).resolve().parents[2] / "src" / "signalfire"
ABOVE_CORE = (
    "access",
    "audit",
    "notify",
    "response",
    "reporting",
    "exchange",
    "intake",
    "readiness",
    "transparency",
    "web",
    "cli",
)


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_imports_no_package_above_it() -> None:
    offenders = {
        str(f.relative_to(SRC)): sorted(
            n
            for n in _imported(f)
            if any(n == f"signalfire.{p}" or n.startswith(f"signalfire.{p}.") for p in ABOVE_CORE)
        )
        for f in (SRC / "core").rglob("*.py")
    }
    assert {f: n for f, n in offenders.items() if n} == {}


def test_import_listed_names_the_registry_and_the_missing_module() -> None:
    with pytest.raises(ModuleListError, match=r"web\.app\.ROUTE_MODULES lists 'signalfire\.exchange\.routez'"):
        import_listed(["signalfire.web.routes", "signalfire.exchange.routez"], registry="web.app.ROUTE_MODULES")
    with pytest.raises(ModuleListError, match=r"signalfire\.nothere"):
        import_listed(["signalfire.nothere.routes"], registry="x")


def test_import_listed_imports_in_order() -> None:
    mods = import_listed(["signalfire.core.clock", "signalfire.core.errors"], registry="x")
    assert [m.__name__ for m in mods] == ["signalfire.core.clock", "signalfire.core.errors"]


def _on_disk(filename: str) -> set[str]:
    return {f"signalfire.{p.parent.name}.{p.stem}" for p in SRC.glob(f"*/{filename}")}


@pytest.mark.parametrize(
    ("listed", "filename", "extra"),
    [
        (web_app.ROUTE_MODULES, "routes.py", {"signalfire.exchange.taxii"}),
        (registry.TASK_MODULES, "tasks.py", set()),
        (cli.DOMAIN_CLI, "cli.py", set()),
        (demo.DOMAIN_SEEDERS, "demo.py", set()),
        (
            all_models.MODEL_MODULES,
            "models.py",
            {"signalfire.exchange.taxii_models", "signalfire.core.web.ratelimit", "signalfire.core.web.idempotency"},
        ),
    ],
    ids=["routes", "tasks", "cli", "demo", "models"],
)
def test_every_registry_lists_exactly_the_modules_on_disk(
    listed: tuple[str, ...], filename: str, extra: set[str]
) -> None:
    """A domain's routes/tasks/cli/demo/models module that exists is listed (so it cannot be left out), and
    everything listed exists (import_listed would refuse to start otherwise)."""
    assert set(listed) == _on_disk(filename) | extra
    import_listed(listed, registry="test")


def test_an_app_without_a_principal_resolver_fails_loudly() -> None:
    bare = FastAPI()
    router = protected_router()

    @router.get("/x")
    def _x() -> dict[str, str]:
        return {}

    bare.include_router(router)
    bare.state.session_factory = lambda: MagicMock()
    with pytest.raises(RuntimeError, match="no PrincipalResolver registered"):
        TestClient(bare).get("/x", cookies={"sf_session": "abc"})

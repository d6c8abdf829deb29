"""Layering: the core depends on no domain or support package, every domain package has the house shape,
and every module registry fails loudly."""

from __future__ import annotations

import ast
import re
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


# House style §1: the files of every domain package. A package may lack one only if its docstring says
# "no `<file>`" and why (an empty module would say nothing).
DOMAINS = (
    "exchange",
    "reporting",
    "response",
    "intake",
    "readiness",
    "mywork",
    "transparency",
    "notices",
    "federation",
)
SUPPORT = ("access", "audit", "notify", "core", "web", "api", "migrations")
SHAPE = ("models.py", "schemas.py", "service.py", "queries.py", "routes.py", "tasks.py", "templates/")


def _shape_gaps(package: Path) -> tuple[set[str], set[str]]:
    """(files missing without a word in the docstring, files the docstring says are missing but exist)."""
    init = package / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    said = {name for name in SHAPE if re.search(rf"\bno `{re.escape(name)}`", doc, re.IGNORECASE)}
    missing = {
        name
        for name in SHAPE
        if not ((package / name.rstrip("/")).is_dir() if name.endswith("/") else (package / name).is_file())
    }
    return missing - said, said - missing


def test_every_package_is_a_domain_or_a_support_package() -> None:
    """A new top-level package is either a domain (and so checked for the shape below) or named as support."""
    assert {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()} == set(DOMAINS) | set(SUPPORT)


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_domain_package_has_the_house_shape_or_says_why_not(domain: str) -> None:
    unexplained, stale = _shape_gaps(SRC / domain)
    assert unexplained == set(), f"{domain}/ lacks {sorted(unexplained)} without saying why in its docstring"
    assert stale == set(), f"{domain}/__init__.py says there is no {sorted(stale)}, but there is"


def test_the_shape_check_sees_a_missing_file_and_a_stale_excuse(tmp_path: Path) -> None:
    for name in SHAPE:
        (tmp_path / name.rstrip("/")).mkdir() if name.endswith("/") else (tmp_path / name).touch()
    (tmp_path / "tasks.py").unlink()
    (tmp_path / "__init__.py").write_text('"""X.\n\nShape: no `queries.py`, because."""\n', encoding="utf-8")
    assert _shape_gaps(tmp_path) == ({"tasks.py"}, {"queries.py"})


def test_the_reporting_rules_engine_is_pure() -> None:
    """reporting/rules/ decides applicability and deadlines from what it is given: it imports no database,
    web or clock module and nothing of Signalfire beyond itself, its regime files and core.errors."""
    allowed = ("signalfire.reporting.rules", "signalfire.reporting.regimes", "signalfire.core.errors")
    banned = ("sqlalchemy", "fastapi", "starlette", "signalfire.core.clock")
    offenders = {
        str(f.relative_to(SRC)): sorted(
            n
            for n in _imported(f)
            if n.startswith(banned) or (n.startswith("signalfire") and not n.startswith(allowed))
        )
        for f in (SRC / "reporting" / "rules").rglob("*.py")
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
        (web_app.ROUTE_MODULES, "routes.py", {"signalfire.exchange.taxii.routes"}),
        (registry.TASK_MODULES, "tasks.py", set()),
        (cli.DOMAIN_CLI, "cli.py", set()),
        (demo.DOMAIN_SEEDERS, "demo.py", set()),
        (
            all_models.MODEL_MODULES,
            "models.py",
            {"signalfire.exchange.taxii.models", "signalfire.core.web.ratelimit", "signalfire.core.web.idempotency"},
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

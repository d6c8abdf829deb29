#!/usr/bin/env python3
"""Signalfire's own lint rules: the data and security invariants of house-style §7, checked on the AST.

    python3 scripts/lint_invariants.py            # src/signalfire (run by `python3 run.py lint` and CI)
    python3 scripts/lint_invariants.py FILE ...   # particular files, e.g. from an editor

Each rule's docstring says the rule, the incident it prevents, and its escape hatch. An escape is a
comment on one of the flagged statement's lines, `# lint: allow-<rule> <reason>`; the reason is required
(an escape without one is itself reported). Exit status 1 when anything is reported.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "signalfire"
ESCAPE = re.compile(r"#\s*lint:\s*allow-([a-z-]+)(.*)$")


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


@dataclass
class Module:
    """One parsed file. `rel` is its path inside the package (e.g. "intake/routes.py")."""

    rel: str
    tree: ast.Module
    escapes: dict[int, dict[str, str]] = field(default_factory=dict)  # line -> rule -> reason

    @classmethod
    def parse(cls, rel: str, source: str) -> Module:
        escapes: dict[int, dict[str, str]] = {}
        for number, line in enumerate(source.splitlines(), start=1):
            found = ESCAPE.search(line)
            if found:
                escapes.setdefault(number, {})[found.group(1)] = found.group(2).strip()
        return cls(rel, ast.parse(source, filename=rel), escapes)

    def escaped(self, node: ast.AST, rule: str) -> bool:
        """An escape on any line of the node, or alone on the line just above it."""
        first = getattr(node, "lineno", 0)
        last = getattr(node, "end_lineno", None) or first
        return any(rule in self.escapes.get(n, {}) for n in range(first - 1, last + 1))


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


# -- rule: raw-query --------------------------------------------------------------------------------------

EDGE_NAMES = {"routes.py", "api.py", "pages.py", "views.py", "public_routes.py", "cli.py"}
EDGE_FACTORIES = {"APIRouter", "protected_router", "public_router", "typer.Typer", "Typer"}


def protected_models(policy_modules: Sequence[ast.Module]) -> set[str]:
    """Models that have a readable statement: the first arguments of select() inside `readable_*` and
    `visible_*` functions of access/policy. A new protected model is picked up when its statement is written."""
    found: set[str] = set()
    for tree in policy_modules:
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef) and fn.name.startswith(("readable_", "visible_")):
                for call in ast.walk(fn):
                    if isinstance(call, ast.Call) and _dotted(call.func) == "select":
                        found.update(a.id for a in call.args if isinstance(a, ast.Name))
    return found


def is_edge(module: Module) -> bool:
    name = module.rel.rsplit("/", 1)[-1]
    if name in EDGE_NAMES or name.endswith("_cli.py") or name.startswith("cli_"):
        return True
    return any(isinstance(n, ast.Call) and _dotted(n.func) in EDGE_FACTORIES for n in ast.walk(module.tree))


def check_raw_query(module: Module, protected: set[str]) -> Iterator[Violation]:
    """Rule: a module that answers requests or commands (routes, API, pages, views, CLI: any module that
    builds a router or a Typer app) never reads a protected model itself, neither with `select(Model, ...)`
    nor with `session.get(Model, ...)`; it calls a service or a queries.py function, whose reads start from
    the readable statements of access/policy. Services and queries modules may select (they take the actor
    and are where the statements are applied); the policy package defines them.

    Incident it prevents: a route that loads a protected row by id and checks (or forgets to check)
    afterwards, so lists and details disagree and a forbidden row leaks or answers 403 instead of 404
    (house style §4; issue 15 found routes and views querying directly).

    Escape hatch: `# lint: allow-raw-query <reason>`, e.g. for an operator command that acts for the
    deployment rather than for a person (there is no actor to apply a policy to).
    """
    if module.rel.startswith("access/") or not is_edge(module):
        return
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = _dotted(node.func)
        if func == "select":
            names = [a.id for a in node.args if isinstance(a, ast.Name) and a.id in protected]
        elif isinstance(node.func, ast.Attribute) and node.func.attr in {"get", "get_one"}:
            first = node.args[0]
            names = [first.id] if isinstance(first, ast.Name) and first.id in protected else []
        else:
            continue
        if names and not module.escaped(node, "raw-query"):
            yield Violation(
                module.rel,
                node.lineno,
                "raw-query",
                f"{func or 'get'}() of protected {', '.join(names)} in a request/command module; "
                "read through a service or queries.py (readable statements from access.policy)",
            )


# -- rule: commit -----------------------------------------------------------------------------------------

COMMIT_HOMES = ("core/db/", "core/web/deps.py", "migrations/")


def check_commit(module: Module) -> Iterator[Violation]:
    """Rule: `.commit()` is called only by the unit of work: `core/db` (`unit_of_work`), the request's
    session dependency (`core/web/deps.get_session`) and Alembic's environment. Services, routes, tasks
    and CLI commands flush if they need ids and let the unit of work commit once.

    Incident it prevents: a service that commits half of a change (the row without its audit entry or its
    outbox job), so a later failure leaves an unaudited change or a lost notification, and a request
    acknowledges what was never fully written (house style §3).

    Escape hatch: `# lint: allow-commit <reason>`, for a deliberate second transaction (say why it must
    survive the caller's rollback).
    """
    if module.rel.startswith(COMMIT_HOMES):
        return
    for node in ast.walk(module.tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"
            and not node.args
            and not module.escaped(node, "commit")
        ):
            yield Violation(module.rel, node.lineno, "commit", "commit() outside the unit of work (core/db)")


# -- rule: network-in-transaction -------------------------------------------------------------------------

NETWORK_MODULES = ("httpx.", "smtplib.", "urllib.request.", "requests.", "http.client.", "socket.create_connection")
# Project functions that go over the network (transports and the feed fetcher).
NETWORK_FUNCTIONS = {"urlopen", "fetch_feed", "post_webhook", "feeds.fetch_feed", "transports.post_webhook"}
NETWORK_METHODS = {"get", "post", "put", "patch", "delete", "request", "stream", "send", "sendmail", "send_message"}
NETWORK_TYPES = re.compile(r"\b(httpx\.\w+|smtplib\.\w+|Mailer|SmtpMailer|Client)\b")
TRANSACTION_OPENERS = {"unit_of_work", "begin", "begin_nested"}


def _network_receivers(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Parameter names annotated with a network client type (httpx.Client, smtplib.SMTP, a Mailer)."""
    names: set[str] = set()
    args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
    for arg in args:
        if arg.annotation is not None and NETWORK_TYPES.search(ast.unparse(arg.annotation)):
            names.add(arg.arg)
    return names | {"self.http", "self.mailer", "self.client"}


def _network_call(node: ast.Call, receivers: set[str]) -> str | None:
    name = _dotted(node.func)
    if name.startswith(NETWORK_MODULES) or name in NETWORK_FUNCTIONS:
        return name
    if isinstance(node.func, ast.Attribute) and node.func.attr in NETWORK_METHODS:
        receiver = _dotted(node.func.value)
        if receiver in receivers:
            return name
    return None


SESSION_TYPES = {"Session", "SessionDep", "Session | None", "orm.Session"}


def _holds_session(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A parameter that is an open session (not a session factory, which opens its own transactions)."""
    args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
    return any(a.annotation is not None and ast.unparse(a.annotation).strip("'\"") in SESSION_TYPES for a in args)


def _opens_transaction(item: ast.withitem) -> bool:
    call = item.context_expr
    if not isinstance(call, ast.Call):
        return False
    name = _dotted(call.func)
    return name.rsplit(".", 1)[-1] in TRANSACTION_OPENERS


def _calls_in(body: Sequence[ast.stmt]) -> Iterator[ast.Call]:
    """Calls that run in `body` itself (not in functions or lambdas defined there, which run later)."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, ast.Call):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def check_network_in_transaction(module: Module) -> Iterator[Violation]:
    """Rule: no network call (httpx, smtplib, urllib, sockets, the project's fetch_feed / post_webhook, or a
    method of a parameter typed as an HTTP client or mailer) runs (a) inside a `with unit_of_work(...)`,
    `with ....begin()` or `with ....begin_nested()` block, or (b) in a function that takes a database
    session (a parameter annotated `Session` or `SessionDep`): such a function runs inside its caller's
    transaction. Fetch or send first, outside, then open the transaction to record the outcome; or enqueue
    an outbox job and let the worker send after commit.

    Incident it prevents: a slow or hanging remote server holding a database transaction (and its row
    locks) open for the length of a timeout, stalling other workers and requests; and a send that happens
    although the transaction that ordered it rolls back (issue 15: feed polls fetched over HTTP inside the
    worker's transaction).

    Escape hatch: `# lint: allow-network-in-transaction <reason>` on the call, saying why the transaction
    cannot be closed around it (and, for a known debt, which issue removes it).
    """
    for fn in ast.walk(module.tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        receivers = _network_receivers(fn)
        blocks: list[tuple[Sequence[ast.stmt], str]] = []
        if _holds_session(fn):
            blocks.append((fn.body, f"in {fn.name}(), which takes a database session"))
        for node in _calls_in_statements(fn.body):
            if isinstance(node, ast.With | ast.AsyncWith) and any(_opens_transaction(i) for i in node.items):
                blocks.append((node.body, f"inside a transaction block (line {node.lineno})"))
        seen: set[int] = set()
        for body, where in blocks:
            for call in _calls_in(body):
                what = _network_call(call, receivers)
                if what and id(call) not in seen and not module.escaped(call, "network-in-transaction"):
                    seen.add(id(call))
                    yield Violation(module.rel, call.lineno, "network-in-transaction", f"{what}() {where}")


def _calls_in_statements(body: Sequence[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of `body` outside nested function and class definitions."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


# -- escapes must give a reason ---------------------------------------------------------------------------

RULES = ("raw-query", "commit", "network-in-transaction")


def check_escapes(module: Module) -> Iterator[Violation]:
    """Every escape names a known rule and gives a reason (at least three words)."""
    for line, found in sorted(module.escapes.items()):
        for rule, reason in found.items():
            if rule not in RULES:
                yield Violation(module.rel, line, "escape", f"unknown rule allow-{rule} (rules: {', '.join(RULES)})")
            elif len(reason.split()) < 3:
                yield Violation(module.rel, line, "escape", f"allow-{rule} needs a reason after it")


# -- known debts ------------------------------------------------------------------------------------------

# Whole-file exemptions for code that cannot carry escape comments yet, each with its reason. Keep it short:
# an entry that no longer matches any violation is itself reported, so it is removed once the debt is paid.
KNOWN_DEBTS: dict[tuple[str, str], str] = {}


# -- driver -----------------------------------------------------------------------------------------------


def lint(
    modules: Sequence[Module], protected: set[str], debts: dict[tuple[str, str], str] | None = None
) -> list[Violation]:
    debts = KNOWN_DEBTS if debts is None else debts
    found: list[Violation] = []
    for module in modules:
        found.extend(check_raw_query(module, protected))
        found.extend(check_commit(module))
        found.extend(check_network_in_transaction(module))
        found.extend(check_escapes(module))
    kept = [v for v in found if (v.path, v.rule) not in debts]
    linted = {m.rel for m in modules}
    for (path, rule), reason in debts.items():
        if path in linted and not any(v.path == path and v.rule == rule for v in found):
            kept.append(Violation(path, 1, "debt", f"KNOWN_DEBTS lists {rule} here ({reason}) but none is left"))
    return sorted(kept, key=lambda v: (v.path, v.line, v.rule))


def load(paths: Sequence[Path]) -> list[Module]:
    modules = []
    for path in paths:
        resolved = path.resolve()
        rel = str(resolved.relative_to(PACKAGE)) if resolved.is_relative_to(PACKAGE) else str(path)
        modules.append(Module.parse(rel, resolved.read_text(encoding="utf-8")))
    return modules


def main(argv: Sequence[str]) -> int:
    files = [Path(a) for a in argv] or sorted(
        p for p in PACKAGE.rglob("*.py") if "migrations/versions" not in p.as_posix()
    )
    policy = [
        Module.parse(str(p), p.read_text(encoding="utf-8")).tree for p in (PACKAGE / "access/policy").glob("*.py")
    ]
    violations = lint(load(files), protected_models(policy))
    for v in violations:
        print(v)
    if violations:
        print(f"{len(violations)} invariant violation(s); see scripts/lint_invariants.py for each rule and its escape")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

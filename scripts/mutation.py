#!/usr/bin/env python3
"""Mutation testing (mutmut) over the modules whose rules must be pinned by tests.

    python3 run.py mutate                     # every target
    python3 run.py mutate access-policy       # one target (names below)
    python3 run.py mutate --list              # the targets, their modules and test selections
    python3 run.py mutate access-policy --resume --mutants 'signalfire.access.policy.intake.*'
                                              # re-test some mutants after adding tests, keeping results

Each target mutates one module family and runs only the tests chosen for it, so a run stays bounded on a
small machine. Every target works in its own scratch directory, `.mutation/<target>/` (src and tests are
symlinked in; mutmut copies them into `mutants/` there), with a pyproject.toml that is the project's plus
a `[tool.mutmut]` table for that target; the scratch directory is rebuilt on every run (unless --resume), so a result
never comes from stale copies. The run ends with the list of surviving mutants (`mutmut show <name>` inside the
scratch directory prints one); docs/mutation.md records the results and why the remaining ones are
equivalent. Set SIGNALFIRE_TEST_DATABASE_URL to run the selections on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / ".mutation"


@dataclass(frozen=True)
class Target:
    mutate: tuple[str, ...]  # mutmut only_mutate globs, relative to the project root
    tests: tuple[str, ...]  # the test selection (paths or node ids)
    # mutmut's timeout is this many times the selection's clean duration (its default, 15, lets a mutant that
    # loops forever hold a worker for minutes on a loaded machine; a loop that never ends is still caught).
    timeout_multiplier: float | None = None


TARGETS: dict[str, Target] = {
    "access-policy": Target(
        ("src/signalfire/access/policy/*",),
        (
            "tests/exchange/test_policy_table.py",
            "tests/exchange/test_red_second_line.py",
            "tests/exchange/test_taxii_policy.py",
            "tests/exchange/test_reading.py",
            "tests/exchange/test_responses_routing_pseudonyms.py",
            "tests/foundation/test_policy_foundation.py",
            "tests/foundation/test_policy_statements.py",
            "tests/intake/test_policy.py",
            "tests/readiness/test_pages_and_exports.py",
            "tests/reporting/test_policy.py",
            "tests/reporting/test_retention.py",
            "tests/response/test_policy.py",
            "tests/response/test_escalation.py",
            "tests/response/test_lifecycle.py",
            "tests/response/test_playbooks_reviews.py",
            "tests/transparency/test_editions.py",
            "tests/notices/test_notices.py",
        ),
    ),
    "reporting-deadlines": Target(
        ("src/signalfire/reporting/rules/deadlines.py",),
        (
            "tests/reporting/test_deadlines.py",
            "tests/reporting/test_deadline_properties.py",
            "tests/reporting/test_deadline_tiebreak.py",
            "tests/reporting/test_legal_clock_rules.py",
            "tests/reporting/test_legal_clock_properties.py",
            "tests/reporting/test_deadline_contract.py",
        ),
    ),
    # tests/audit/test_verifier_live.py is left out: it drives a server in another process, whose code
    # mutmut neither maps to tests nor mutates, and it only adds a 3 s session to every mutant it runs for.
    "audit": Target(
        ("src/signalfire/audit/*",),
        (
            "tests/audit/test_merkle_and_note.py",
            "tests/audit/test_merkle_vectors.py",
            "tests/audit/test_note_format.py",
            "tests/audit/test_keys.py",
            "tests/audit/test_verify_findings.py",
            "tests/audit/test_sequencer_units.py",
            "tests/audit/test_witness_protocol.py",
            "tests/audit/test_service_and_reads.py",
            "tests/audit/test_sequencer.py",
            "tests/audit/test_tamper_cli.py",
            "tests/audit/test_witnesses.py",
            "tests/audit/test_audited_reads.py",
        ),
        timeout_multiplier=4.0,
    ),
    "notify-worker": Target(
        ("src/signalfire/notify/worker.py",),
        (
            "tests/foundation/test_worker.py",
            "tests/foundation/test_worker_failures.py",
            "tests/foundation/test_worker_contract.py",
            "tests/foundation/test_notification_preferences.py::test_chat_notifications_are_posted_to_the_persons_webhook",
        ),
    ),
}


def _toml_list(items: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def prepare(name: str, target: Target, *, resume: bool = False, tag: str = "") -> Path:
    work = SCRATCH / (name + tag)
    if resume and (work / "mutants").is_dir():
        # mutmut re-copies tests/ and pyproject.toml on each run; the mutated sources stay as generated.
        (work / "pyproject.toml").unlink()
    else:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        for sub in ("src", "tests"):
            (work / sub).symlink_to(ROOT / sub, target_is_directory=True)
    existing = [t for t in target.tests if (ROOT / t.split("::")[0]).exists()]
    missing = sorted(set(target.tests) - set(existing))
    if missing:
        raise SystemExit(f"{name}: test selection names missing files (update TARGETS): {missing}")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if "[tool.mutmut]" in pyproject:
        raise SystemExit("pyproject.toml has its own [tool.mutmut]; the targets live in scripts/mutation.py")
    pyproject += (
        "\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = {_toml_list(target.mutate)}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(existing)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider"]\n'
    )
    if target.timeout_multiplier is not None:
        pyproject += f"timeout_multiplier = {target.timeout_multiplier}\n"
    (work / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return work


def mutmut(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("mutmut")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # mutmut puts mutants/src first itself
    # Each mutant is a short pytest session: keep the migrated SQLite template instead of rebuilding it.
    env["SIGNALFIRE_TEST_TEMPLATE_CACHE"] = str(work / "template-cache")
    return subprocess.run([str(exe), *args], cwd=work, env=env, text=True, capture_output=True, check=False)  # noqa: S603 (fixed argv)


def run_target(
    name: str,
    target: Target,
    max_children: int,
    *,
    resume: bool = False,
    mutants: Sequence[str] = (),
    tag: str = "",
) -> list[str]:
    work = prepare(name, target, resume=resume, tag=tag)
    print(f"== {name}: mutating {', '.join(target.mutate)} against {len(target.tests)} test files", flush=True)
    run = mutmut(work, "run", "--max-children", str(max_children), *mutants)
    tail = "\n".join(run.stdout.replace("\r", "\n").splitlines()[-6:])
    print(tail, flush=True)
    if run.returncode != 0:
        print(run.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"{name}: mutmut run failed ({run.returncode})")
    listed = mutmut(work, "results", "--all", "true").stdout.splitlines()
    counts: dict[str, int] = {}
    survivors: list[str] = []
    for line in listed:
        key, _, status = line.strip().rpartition(": ")
        counts[status] = counts.get(status, 0) + 1
        if status not in {"killed", "caught by type check"}:
            survivors.append(f"{key}: {status}")
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"== {name}: {summary}", flush=True)
    (work / "summary.txt").write_text(summary + "\n" + "\n".join(survivors) + "\n", encoding="utf-8")
    return survivors


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help=f"default: all of {', '.join(TARGETS)}")
    parser.add_argument("--list", action="store_true", help="print the targets and exit")
    parser.add_argument("--max-children", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--resume", action="store_true", help="keep the previous run's mutants and results")
    parser.add_argument("--mutants", nargs="+", default=[], help="only these mutant names or globs")
    parser.add_argument("--tag", default="", help="suffix of the scratch directory, to keep a partial run apart")
    parser.add_argument("--tests", nargs="+", default=[], help="run these test files instead of the selection")
    args = parser.parse_args(argv)
    if args.list:
        for name, t in TARGETS.items():
            print(f"{name}: {' '.join(t.mutate)}\n    tests: {' '.join(t.tests)}")
        return 0
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; choose from {', '.join(TARGETS)}")
    survivors: dict[str, list[str]] = {}
    for name in args.targets or list(TARGETS):
        target = TARGETS[name]
        if args.tests:
            target = Target(target.mutate, tuple(args.tests), target.timeout_multiplier)
        survivors[name] = run_target(
            name, target, args.max_children, resume=args.resume, mutants=args.mutants, tag=args.tag
        )
    for name, found in survivors.items():
        print(f"-- {name}: {len(found)} not killed" + "".join(f"\n   {s}" for s in found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

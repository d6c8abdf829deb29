#!/usr/bin/env python3
"""Bootstrap and run Signalfire with nothing but Python 3.11+ and pip.

    python3 run.py demo     # create .venv, install the locked dependencies, seed and serve the demo
    python3 run.py test     # same environment, then run the test suite (pytest arguments may follow)
    python3 run.py lint     # ruff, mypy and the project's invariant rules (scripts/lint_invariants.py)
    python3 run.py mutate   # mutation testing of the rule modules (scripts/mutation.py; docs/mutation.md)
    python3 run.py <signalfire command ...>

The environment is (re)installed only when requirements.lock or pyproject.toml change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".bootstrap-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _digest() -> str:
    h = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def ensure_env() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Signalfire needs Python 3.11 or newer (this is {sys.version.split()[0]}).")
    if not (BIN / "python").exists():
        print("creating virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    want = _digest()
    if STAMP.exists() and STAMP.read_text() == want:
        return
    print("installing locked dependencies (first run only) ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-r", str(ROOT / "requirements.lock")], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(want)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    ensure_env()
    cmd, rest = argv[0], argv[1:]
    env = dict(os.environ)
    if cmd == "test":
        return subprocess.call([str(BIN / "python"), "-m", "pytest", *rest], cwd=ROOT, env=env)
    if cmd == "lint":
        rc = subprocess.call([str(BIN / "ruff"), "check", "src", "tests", "bench", "scripts"], cwd=ROOT)
        rc |= subprocess.call([str(BIN / "ruff"), "format", "--check", "src", "tests", "bench", "scripts"], cwd=ROOT)
        rc |= subprocess.call([str(BIN / "mypy")], cwd=ROOT)
        rc |= subprocess.call([str(BIN / "python"), str(ROOT / "scripts" / "lint_invariants.py")], cwd=ROOT)
        return rc
    if cmd == "mutate":
        return subprocess.call([str(BIN / "python"), str(ROOT / "scripts" / "mutation.py"), *rest], cwd=ROOT, env=env)
    return subprocess.call([str(BIN / "signalfire"), *argv], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The same TAXII 2.1 workload against Signalfire's server and the OASIS reference server medallion.

    .venv/bin/python bench/taxii_vs_medallion.py [--sizes 1000,10000] [--repeat 3] [--timeout 60]
                                                 [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Both servers run as subprocesses on loopback, side by side in one run: Signalfire (uvicorn over a fresh
SQLite file, or a fresh PostgreSQL database with --postgres) and medallion 3.0.0 with its memory backend
(config generated here: one API root, session_timeout 3600, max_content_length 100 MiB). For each size
N and each repetition both start empty, then the workload is, in order:

  post_empty     POST one envelope of N objects (90% indicators, 10% malware, TLP:GREEN) to an empty collection
  get_one        GET objects/{id}/ of one object
  filter_id      GET objects/?match[id]=<id>
  filter_type    GET objects/?match[type]=malware, following `next` to the end (N/10 objects)
  page_all       GET objects/?limit=100, following `next` to the end
  post_filled    POST another N objects to the now filled collection

Signalfire is read by another member org with a declared purpose, so every page runs the access
policy and logs the reads, as in production. Each step is capped at --timeout seconds; a capped step
is reported as "> timeout" (medallion is restarted and reloaded after one, so later steps are not
slowed by a request still running, and is not measured again at that size). Figures are medians over
the repetitions; the ratio is
medallion / Signalfire (above 1: Signalfire is faster). Loopback only; nothing else is contacted.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

TAXII = "application/taxii+json;version=2.1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
STEPS = ("post_empty", "get_one", "filter_id", "filter_type", "page_all", "post_filled")
PURPOSE = "threat_detection"


class Capped(Exception):
    """A step ran out of its time budget."""


# --- data ---------------------------------------------------------------------------------------------


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def green_marking() -> dict[str, Any]:
    from signalfire.exchange.stix.convert import tlp_marking_definition
    from signalfire.exchange.vocab import Tlp

    body: dict[str, Any] = json.loads(tlp_marking_definition(Tlp.GREEN).serialize())
    return body


def make_objects(count: int, offset: int) -> list[dict[str, Any]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for number in range(offset, offset + count):
        when = _ts(start + timedelta(seconds=number))
        common = {"spec_version": "2.1", "created": when, "modified": when, "object_marking_refs": [GREEN]}
        if number % 10 == 0:
            out.append(
                {
                    "type": "malware",
                    "id": f"malware--{uuid.uuid4()}",
                    "name": f"Poisoned adapter {number}",
                    "is_family": True,
                    **common,
                }
            )
        else:
            out.append(
                {
                    "type": "indicator",
                    "id": f"indicator--{uuid.uuid4()}",
                    "name": f"Jailbreak prompt family {number}",
                    "pattern_type": "stix",
                    "valid_from": when,
                    "pattern": f"[url:value = 'https://prompts-{number}.example/jb']",
                    **common,
                }
            )
    return out


# --- servers ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    """Wait for the server to answer; a server that never does is stopped, not left behind."""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
            try:
                requests.get(url, timeout=10)
                return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or slow on a busy machine
                time.sleep(0.1)
        raise RuntimeError(f"{url} did not answer within {seconds} s")
    except BaseException:
        stop(process)
        raise


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Target:
    """One running server and how to talk to it."""

    name: str
    collection_url: str
    session: requests.Session
    read_headers: dict[str, str]
    write_headers: dict[str, str]
    process: subprocess.Popen[bytes]
    restart: Callable[[], Target] | None = None
    loaded: list[list[dict[str, Any]]] = field(default_factory=list)


class Signalfire:
    """Signalfire over a fresh database: one member lab writes, another member lab reads."""

    def __init__(self, workdir: Path, postgres: str | None) -> None:
        self.workdir = workdir
        self.postgres = postgres
        self.counter = 0
        self.databases: list[str] = []

    def cleanup(self) -> None:
        """Drop the PostgreSQL databases this run created (SQLite files go with the work directory)."""
        if not self.postgres or not self.databases:
            return
        from signalfire.core.db.session import make_engine

        admin = make_engine(self.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.databases:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    def _database(self) -> str:
        from sqlalchemy.engine import make_url

        from signalfire.core.db import migrate
        from signalfire.core.db.session import make_engine

        self.counter += 1
        if self.postgres:
            name = f"sf_bench_{os.getpid()}_{self.counter}"
            admin = make_engine(self.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            admin.dispose()
            self.databases.append(name)
            url = make_url(self.postgres).set(database=name).render_as_string(hide_password=False)
        else:
            url = f"sqlite:///{self.workdir / f'signalfire-{self.counter}.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        return url

    def _seed(self, url: str) -> tuple[str, str]:
        from signalfire.access import service
        from signalfire.access.models import OrgKind, Role
        from signalfire.core.db.session import make_engine, session_factory, unit_of_work

        engine = make_engine(url)
        tokens = []
        with unit_of_work(session_factory(engine)) as session:
            for label in ("writer", "reader"):
                org = service.create_org(
                    session,
                    slug=f"bench-{label}",
                    name=f"Bench {label} lab",
                    kind=OrgKind.frontier_developer,
                    exchange_member=True,
                )
                user = service.create_user(session, email=f"{label}@bench.example", display_name=label, password=None)
                service.add_member(session, org=org, user=user, role=Role.admin)
                actor = service.build_actor(session, user, org.id, via="session")
                assert actor is not None
                tokens.append(
                    service.create_token(session, actor=actor, name="bench", scopes=["*"], expires_in_days=1).secret
                )
        engine.dispose()
        return tokens[0], tokens[1]

    def start(self) -> Target:
        from signalfire.exchange.taxii.collections import MEMBERS_ID

        url = self._database()
        writer, reader = self._seed(url)
        port = free_port()
        env = {
            **os.environ,
            "SIGNALFIRE_DATABASE_URL": url,
            "SIGNALFIRE_EMBEDDED_WORKER": "false",
            "SIGNALFIRE_ENVIRONMENT": "development",
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "signalfire.web.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/taxii2/", process)

        def basic(token: str) -> str:
            return "Basic " + base64.b64encode(f"bench@bench.example:{token}".encode()).decode()

        read = {"Accept": TAXII, "Authorization": basic(reader), "X-Signalfire-Purpose": PURPOSE}
        write = {
            "Accept": TAXII,
            "Content-Type": TAXII,
            "Authorization": basic(writer),
            "X-Signalfire-Permitted-Uses": "threat_detection,safeguards",
        }
        return Target(
            "signalfire", f"{base}/taxii2/exchange/collections/{MEMBERS_ID}/", requests.Session(), read, write, process
        )


def medallion_config(folder: Path, counter: int, base: str, *, page: int) -> tuple[Path, str]:
    """medallion's memory-backend config and data files for one empty collection: (config file, collection id)."""
    collection = str(uuid.uuid4())
    data = {
        "/discovery": {"title": "bench", "default": f"{base}/bench/", "api_roots": [f"{base}/bench/"]},
        "bench": {
            "information": {"title": "bench", "versions": [TAXII], "max_content_length": 104857600},
            "status": [],
            "collections": [
                {
                    "id": collection,
                    "title": "bench",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    data_file = folder / f"medallion-data-{counter}.json"
    data_file.write_text(json.dumps(data))
    config = {
        "backend": {
            "module_class": "MemoryBackend",
            "module": "medallion.backends.memory_backend",
            "filename": str(data_file),
            "session_timeout": 3600,
            "check_interval": 3600,
        },
        "users": {"bench": "bench-password"},
        "taxii": {"max_page_size": page},
    }
    config_file = folder / f"medallion-config-{counter}.json"
    config_file.write_text(json.dumps(config))
    return config_file, collection


class Medallion:
    """medallion 3.0.0, memory backend, from a generated config and an empty data file."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.counter = 0
        self.executable = shutil.which("medallion", path=str(Path(sys.executable).parent)) or "medallion"

    def start(self) -> Target:
        self.counter += 1
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        config_file, collection = medallion_config(self.workdir, self.counter, base, page=100)
        process = subprocess.Popen(
            [self.executable, "--host", "127.0.0.1", "--port", str(port), "--log-level", "ERROR", str(config_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(f"{base}/taxii2/", process)
        auth = "Basic " + base64.b64encode(b"bench:bench-password").decode()
        read = {"Accept": TAXII, "Authorization": auth}
        write = {**read, "Content-Type": TAXII}
        target = Target(
            "medallion", f"{base}/bench/collections/{collection}/", requests.Session(), read, write, process
        )
        target.restart = self.start
        return target


# --- the workload -------------------------------------------------------------------------------------


class Budget:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise Capped()
        return remaining


def _request(target: Target, method: str, url: str, budget: Budget, **kw: Any) -> requests.Response:
    try:
        resp = target.session.request(method, url, timeout=budget.left(), **kw)
    except requests.Timeout:
        raise Capped() from None
    if resp.status_code >= 400:
        raise RuntimeError(f"{target.name}: {method} {url} -> {resp.status_code} {resp.text[:300]}")
    return resp


def post(target: Target, objects: list[dict[str, Any]], budget: Budget) -> int:
    body = json.dumps({"objects": objects}).encode()
    status = _request(
        target, "POST", target.collection_url + "objects/", budget, data=body, headers=target.write_headers
    ).json()
    if status["status"] != "complete" or status["failure_count"]:
        raise RuntimeError(f"{target.name}: add did not complete cleanly: {json.dumps(status)[:300]}")
    return int(status["success_count"])


def page(target: Target, params: dict[str, str], budget: Budget) -> int:
    seen = 0
    query = dict(params)
    while True:
        envelope = _request(
            target, "GET", target.collection_url + "objects/", budget, params=query, headers=target.read_headers
        ).json()
        seen += len(envelope.get("objects", []))
        if not envelope.get("more"):
            return seen
        query = {**params, "next": envelope["next"]}


@dataclass
class Outcome:
    seconds: float | None  # None: capped
    detail: str = ""


def run_once(target: Target, size: int, timeout: float) -> dict[str, Outcome]:
    first = [green_marking(), *make_objects(size, 0)]
    second = make_objects(size, size)
    probe = first[len(first) // 2]["id"]
    results: dict[str, Outcome] = {}

    def step(name: str, action: Callable[[Budget], Any]) -> None:
        nonlocal target
        budget = Budget(timeout)
        started = time.perf_counter()
        try:
            detail = action(budget)
            results[name] = Outcome(time.perf_counter() - started, str(detail))
        except Capped:
            results[name] = Outcome(None, "capped")
            if target.restart is not None:  # the capped request is still running: start afresh, reload
                stop(target.process)
                fresh = target.restart()
                for batch in target.loaded:
                    post(fresh, batch, Budget(3600))
                fresh.loaded = target.loaded
                target = fresh

    def load(batch: list[dict[str, Any]]) -> Callable[[Budget], int]:
        def action(budget: Budget) -> int:
            added = post(target, batch, budget)
            target.loaded.append(batch)
            return added

        return action

    step("post_empty", load(first))
    step(
        "get_one",
        lambda b: len(
            _request(target, "GET", f"{target.collection_url}objects/{probe}/", b, headers=target.read_headers).json()[
                "objects"
            ]
        ),
    )
    step("filter_id", lambda b: page(target, {"match[id]": probe}, b))
    step("filter_type", lambda b: page(target, {"match[type]": "malware", "limit": "100"}, b))
    step("page_all", lambda b: page(target, {"limit": "100"}, b))
    step("post_filled", load(second))
    stop(target.process)
    return results


# --- report -------------------------------------------------------------------------------------------


def _fmt(values: list[float | None], timeout: float) -> tuple[str, float | None]:
    if any(v is None for v in values):
        return f"> {timeout:g} s", None
    median = statistics.median(v for v in values if v is not None)
    return (f"{median * 1000:.0f} ms" if median < 1 else f"{median:.2f} s"), median


@contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="taxii-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated object counts (default 1000,10000)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per size; figures are medians")
    parser.add_argument("--timeout", type=float, default=60, help="cap per step and server, in seconds")
    parser.add_argument(
        "--postgres",
        help="admin URL of a PostgreSQL server; Signalfire then uses a fresh database there instead of SQLite",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    print(f"# TAXII 2.1: Signalfire vs medallion ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    print(
        f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}; "
        f"Signalfire database: {'PostgreSQL' if args.postgres else 'SQLite (WAL)'}; "
        f"repetitions {args.repeat}, cap {args.timeout:g} s per step"
    )
    with workdir() as tmp:
        ours = Signalfire(tmp, args.postgres)
        theirs = Medallion(tmp)
        try:
            run_all(args, sizes, ours, theirs)
        finally:
            ours.cleanup()


def run_all(args: argparse.Namespace, sizes: list[int], ours: Signalfire, theirs: Medallion) -> None:
    for size in sizes:
        collected: dict[str, dict[str, list[float | None]]] = {"signalfire": {}, "medallion": {}}
        medallion_capped = False
        for rep in range(args.repeat):
            # Once a medallion step hits the cap, its figure is "> cap" whatever happens next: measuring
            # it again would only add minutes, so later repetitions run Signalfire alone.
            servers = (ours,) if medallion_capped else (ours, theirs)
            for server in servers:
                target = server.start()
                name = target.name
                for step_name, outcome in run_once(target, size, args.timeout).items():
                    collected[name].setdefault(step_name, []).append(outcome.seconds)
                    if outcome.seconds is None and name == "medallion":
                        medallion_capped = True
                print(
                    f"  size {size} rep {rep + 1} {name}: "
                    + ", ".join(
                        f"{k}={'capped' if v[-1] is None else f'{v[-1]:.3f}s'}" for k, v in collected[name].items()
                    ),
                    file=sys.stderr,
                    flush=True,
                )
        print(f"\n## {size:,} objects\n")
        print("| step | Signalfire | medallion | ratio (medallion / Signalfire) |")
        print("|---|---|---|---|")
        for step_name in STEPS:
            ours_text, ours_value = _fmt(collected["signalfire"][step_name], args.timeout)
            their_text, their_value = _fmt(collected["medallion"][step_name], args.timeout)
            if ours_value and their_value:
                ratio = f"{their_value / ours_value:.1f}x"
            elif ours_value and their_value is None:
                ratio = f"> {args.timeout / ours_value:.0f}x"
            else:
                ratio = "n/a"
            print(f"| {step_name} | {ours_text} | {their_text} | {ratio} |")
        runs = {name: len(next(iter(steps.values()))) for name, steps in collected.items()}
        print(
            f"\nRuns: Signalfire {runs['signalfire']}, medallion {runs['medallion']}"
            + (" (a medallion step hit the cap, so it ran once)" if medallion_capped else "")
            + "."
        )


if __name__ == "__main__":
    main()

"""Bulk TAXII 2.1: POST 10,000 STIX objects and page them all back, Signalfire beside medallion 3.0.0.

    PYTHONPATH=src .venv/bin/python bench/taxii_bulk.py [--objects 10000] [--envelope 1000] [--rounds 3]
        [--page 1000] [--timeout 120] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--signalfire-only]

One run, both servers as subprocesses on loopback, the same client (one ``requests`` session each),
the same objects (90% indicators with a ``stix`` pattern, 10% malware, TLP:GREEN, plus the TLP:GREEN
marking definition), the same envelope size and the same page size:

- Signalfire under uvicorn (one process) over a fresh PostgreSQL database per round (``--postgres``)
  or a fresh SQLite file; one member lab posts, another member lab reads with a declared purpose, so
  every add validates, checks attribution and revocation, screens, publishes exchange items and audits,
  and every page runs the access policy in SQL and logs the read.
- medallion 3.0.0, memory backend, under gunicorn (one sync worker: the memory backend lives in the
  worker process), from a generated config whose ``max_page_size`` is the page size used here.

Per round and server, starting empty: ``post`` sends the objects in envelopes of ``--envelope``
objects, one after another, each checked to complete with no failure (for Signalfire on PostgreSQL the
step ends with ``ANALYZE exchange_taxii_object``, as an operator would after a bulk load, and that is
timed too; before it, one small add to another collection warms the process up); ``page``
then reads the collection with ``limit=--page`` following ``more``/``next`` to the end. The sides
alternate which goes first in each round. After the first round the bench compares what came back:
every posted object must come back from both servers, equal as JSON (Signalfire also serves the
objects of the exchange items it published, which are listed and left out of the comparison).

A medallion page run that passes ``--timeout`` is reported as "> timeout" and not measured again.
``--floor-probe`` (with ``--postgres``) adds a third side: ``_taxii_floor_app``, a bare ASGI store under the
same uvicorn with no validation, screening, policy or audit (one COPY per envelope, one indexed SELECT per
page), the floor under any TAXII door in this stack; it checks that the floor serves the posted objects back.
``--signalfire-only`` runs Signalfire's side alone (same steps, same check of what comes back), for
comparing two versions of Signalfire while iterating; recorded figures are side by side with medallion.
Figures are medians over the rounds; ratios are medallion / Signalfire (above 1: Signalfire is
faster). Beside wall-clock times the bench reports the CPU seconds the servers used in each step (from
/proc: the server process and its children, plus, for Signalfire on PostgreSQL, the backends serving
its database), which a busy shared machine distorts far less than wall-clock time.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.engine import make_url
from taxii_vs_medallion import (
    TAXII,
    Budget,
    Capped,
    Signalfire,
    Target,
    _request,
    free_port,
    green_marking,
    make_objects,
    medallion_config,
    stop,
    wait_until_up,
    workdir,
)


class GunicornMedallion:
    """medallion 3.0.0's Flask app under gunicorn, memory backend, from a generated config."""

    def __init__(self, workdir: Path, page: int) -> None:
        self.workdir = workdir
        self.page = page
        self.counter = 0
        found = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
        if found is None:
            sys.exit("gunicorn is not installed next to this Python (pip install gunicorn)")
        self.executable = found

    def start(self) -> Target:
        self.counter += 1
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        config_file, collection = medallion_config(self.workdir, self.counter, base, page=self.page)
        process = subprocess.Popen(
            [
                self.executable,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--timeout",
                "3600",
                # Stopping during a capped page-through: the master must kill its busy worker itself
                # (before `stop` kills the master), or the worker lives on and keeps computing.
                "--graceful-timeout",
                "2",
                "--log-level",
                "error",
                f"medallion:load_app({str(config_file)!r})",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(f"{base}/taxii2/", process)
        auth = "Basic " + base64.b64encode(b"bench:bench-password").decode()
        read = {"Accept": TAXII, "Authorization": auth}
        write = {**read, "Content-Type": TAXII}
        return Target("medallion", f"{base}/bench/collections/{collection}/", requests.Session(), read, write, process)


class TaxiiFloor:
    """`_taxii_floor_app` (a bare ASGI object store: no validation, policy or audit) under the same uvicorn,
    on its own scratch PostgreSQL database per round: the floor under any TAXII door in this stack."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.counter = 0
        self.database = ""

    def start(self) -> Target:
        from _scratch import scratch_database

        self.counter += 1
        self.database = f"sf_taxii_floor_{os.getpid()}_{self.counter}"
        self._scratch = scratch_database(self.admin_url, self.database)
        url = self._scratch.__enter__()
        port = free_port()
        env = {**os.environ, "SIGNALFIRE_FLOOR_DSN": url.replace("postgresql+psycopg://", "postgresql://")}
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "_taxii_floor_app:create_app", "--app-dir",
             str(Path(__file__).resolve().parent), "--host", "127.0.0.1", "--port", str(port), "--log-level",
             "warning", "--no-access-log"],
            env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/taxii2/", process)
        headers = {"Accept": TAXII, "Content-Type": TAXII}
        return Target("floor", f"{base}/taxii2/floor/collections/c/", requests.Session(), headers, headers, process)

    def done(self) -> None:
        self._scratch.__exit__(None, None, None)


def run_floor(floor: TaxiiFloor, objects: list[dict[str, Any]], args: argparse.Namespace) -> Result:
    target = floor.start()
    try:
        post_all(target, objects[:20], 20)  # warm up: the connection, the table, the first plans
        cpu = server_cpu(target, floor.database)
        started = time.perf_counter()
        post_all(target, objects[20:], args.envelope)
        posted = time.perf_counter() - started
        cpu_post = server_cpu(target, floor.database) - cpu
        seconds, served = page_all(target, args.page, args.timeout)
        return Result(posted, seconds, served, cpu_post, server_cpu(target, floor.database) - cpu - cpu_post)
    finally:
        stop(target.process)
        floor.done()


@dataclass
class Result:
    post: float
    page: float | None  # None: capped
    served: list[dict[str, Any]]
    post_cpu: float = 0.0  # CPU seconds of the server's processes (and its PostgreSQL backends) in the step
    page_cpu: float = 0.0


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants (gunicorn's worker is a child)."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / _TICK
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += cpu_seconds(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def post_all(target: Target, objects: list[dict[str, Any]], envelope: int) -> None:
    budget = Budget(3600)
    for start in range(0, len(objects), envelope):
        batch = objects[start : start + envelope]
        body = json.dumps({"objects": batch}).encode()
        status = _request(
            target, "POST", target.collection_url + "objects/", budget, data=body, headers=target.write_headers
        ).json()
        if status.get("status") != "complete" or status.get("failure_count") or status["success_count"] != len(batch):
            raise RuntimeError(f"{target.name}: an add did not complete cleanly: {json.dumps(status)[:400]}")


def page_all(target: Target, limit: int, timeout: float) -> tuple[float | None, list[dict[str, Any]]]:
    budget = Budget(timeout)
    served: list[dict[str, Any]] = []
    query: dict[str, str] = {"limit": str(limit)}
    started = time.perf_counter()
    try:
        while True:
            envelope = _request(
                target, "GET", target.collection_url + "objects/", budget, params=query, headers=target.read_headers
            ).json()
            served += envelope.get("objects", [])
            if not envelope.get("more"):
                return time.perf_counter() - started, served
            query = {"limit": str(limit), "next": envelope["next"]}
    except Capped:
        return None, served


def analyze(url: str) -> None:
    from signalfire.core.db.session import make_engine

    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE exchange_taxii_object")
    engine.dispose()


def postgres_cpu(database: str) -> float:
    """CPU seconds of the PostgreSQL backends serving one database (found by their process titles)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {database} " in title:
            total += cpu_seconds(int(proc.name))
    return total


def server_cpu(target: Target, database: str | None) -> float:
    return cpu_seconds(target.process.pid) + (postgres_cpu(database) if database else 0.0)


def warm_up(target: Target) -> None:
    """A served process is warm: one add elsewhere loads the screening rules and the STIX code first.

    It goes to the government partners' collection, which the reading member lab does not read.
    """
    from signalfire.exchange.taxii.collections import GOVERNMENT_ID, MEMBERS_ID

    elsewhere = Target(
        target.name,
        target.collection_url.replace(str(MEMBERS_ID), str(GOVERNMENT_ID)),
        target.session,
        target.read_headers,
        target.write_headers,
        target.process,
    )
    post_all(elsewhere, [green_marking(), *make_objects(20, 10_000_000)], 100)


def run_signalfire(ours: Signalfire, objects: list[dict[str, Any]], args: argparse.Namespace) -> Result:
    target = ours.start()
    try:
        warm_up(target)
        database = make_url(os.environ["SIGNALFIRE_BENCH_URL"]).database if args.postgres else None
        cpu = server_cpu(target, database)
        started = time.perf_counter()
        post_all(target, objects, args.envelope)
        if args.postgres:
            analyze(os.environ["SIGNALFIRE_BENCH_URL"])
        posted = time.perf_counter() - started
        cpu_post = server_cpu(target, database) - cpu
        seconds, served = page_all(target, args.page, args.timeout)
        return Result(posted, seconds, served, cpu_post, server_cpu(target, database) - cpu - cpu_post)
    finally:
        stop(target.process)


def run_medallion(
    theirs: GunicornMedallion, objects: list[dict[str, Any]], args: argparse.Namespace, *, page: bool
) -> Result:
    target = theirs.start()
    try:
        cpu = cpu_seconds(target.process.pid)
        started = time.perf_counter()
        post_all(target, objects, args.envelope)
        posted = time.perf_counter() - started
        cpu_post = cpu_seconds(target.process.pid) - cpu
        if not page:
            return Result(posted, None, [], cpu_post)
        seconds, served = page_all(target, args.page, args.timeout)
        return Result(posted, seconds, served, cpu_post, cpu_seconds(target.process.pid) - cpu - cpu_post)
    finally:
        stop(target.process)


def canonical(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def compare_ours(posted: list[dict[str, Any]], ours: Result) -> str:
    """Every posted object comes back from Signalfire, equal as JSON; returns a one-line account."""
    wanted = {canonical(o) for o in posted}
    ours_set = {canonical(o) for o in ours.served}
    missing_ours = wanted - ours_set
    if missing_ours:
        raise SystemExit(f"Signalfire did not serve {len(missing_ours)} posted objects back unchanged")
    extra = Counter(o["type"] for o in ours.served if canonical(o) not in wanted)
    return (
        f"Signalfire served {len(ours.served)} objects: all {len(wanted)} of {len(wanted)} "
        f"posted objects equal as JSON, plus its own {dict(extra)}"
    )


def compare(posted: list[dict[str, Any]], ours: Result, theirs: Result) -> str:
    """Every posted object comes back from both, equal as JSON; returns a one-line account."""
    wanted = {canonical(o) for o in posted}
    line = compare_ours(posted, ours)
    if theirs.page is None:
        got = {canonical(o) for o in theirs.served}
        return line + f"; medallion was capped after serving {len(theirs.served)} ({len(got & wanted)} of them posted)"
    theirs_set = {canonical(o) for o in theirs.served}
    if theirs_set != wanted:
        raise SystemExit(
            f"medallion served {len(theirs_set)} distinct objects; {len(wanted - theirs_set)} posted ones are missing"
        )
    return line + f"; medallion served {len(theirs.served)}, the same {len(wanted)} posted objects"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--envelope", type=int, default=1000, help="objects per POST (both servers)")
    parser.add_argument("--page", type=int, default=1000, help="limit per GET (both servers)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120, help="cap on one page-through, in seconds")
    parser.add_argument("--postgres", help="admin URL of a loopback PostgreSQL server; else SQLite")
    parser.add_argument(
        "--signalfire-only",
        action="store_true",
        help="skip medallion (while iterating; recorded runs are side by side): Signalfire's figures and its check",
    )
    parser.add_argument(
        "--floor-probe",
        action="store_true",
        help="a third side (with --postgres): a bare ASGI store under the same uvicorn, no validation, policy or "
        "audit, posting all but the first 20 objects (which warm it up)",
    )
    args = parser.parse_args()

    objects = [green_marking(), *make_objects(args.objects - 1, 0)]
    print(f"# Bulk TAXII: Signalfire vs medallion 3.0.0 under gunicorn ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, {platform.platform()}, Python "
        f"{platform.python_version()}; Signalfire on {'PostgreSQL' if args.postgres else 'SQLite (WAL)'}; "
        f"{len(objects)} objects in envelopes of {args.envelope}, pages of {args.page}, {args.rounds} rounds"
    )
    with workdir() as tmp:
        ours = Signalfire(tmp, args.postgres)
        original = ours._database

        def remembered() -> str:  # the bench needs the database URL for ANALYZE
            url = original()
            os.environ["SIGNALFIRE_BENCH_URL"] = url
            return url

        ours._database = remembered  # type: ignore[method-assign]
        theirs = GunicornMedallion(tmp, args.page)
        runs: dict[str, list[Result]] = {"signalfire": [], "medallion": [], "floor": []}
        floor = TaxiiFloor(args.postgres) if args.floor_probe and args.postgres else None
        medallion_capped = False
        account = ""
        try:
            for round_number in range(args.rounds):
                order: tuple[str, ...] = ("signalfire", "medallion")
                if round_number % 2:
                    order = ("medallion", "signalfire")
                if args.signalfire_only:
                    order = ("signalfire",)
                if floor is not None:
                    order = ("floor", *order) if round_number % 2 else (*order, "floor")
                for side in order:
                    if side == "floor" and floor is not None:
                        result = run_floor(floor, objects, args)
                    elif side == "signalfire":
                        result = run_signalfire(ours, objects, args)
                    else:
                        result = run_medallion(theirs, objects, args, page=not medallion_capped)
                        medallion_capped = medallion_capped or result.page is None
                    runs[side].append(result)
                    page_text = "capped" if result.page is None else f"{result.page:.3f}s"
                    print(
                        f"  round {round_number + 1} {side}: post {result.post:.3f}s (CPU {result.post_cpu:.2f}s), "
                        f"page {page_text} (CPU {result.page_cpu:.2f}s)",
                        file=sys.stderr,
                    )
                if round_number == 0 and floor is not None:
                    served = {canonical(o) for o in runs["floor"][0].served}
                    if served != {canonical(o) for o in objects}:
                        raise SystemExit("the floor did not serve the posted objects back unchanged")
                if round_number == 0:
                    account = compare_ours(objects, runs["signalfire"][0])
                    if not args.signalfire_only:
                        account = compare(objects, runs["signalfire"][0], runs["medallion"][0])
                for result in runs["signalfire"] + runs["medallion"] + runs["floor"]:
                    result.served = []  # keep memory flat
        finally:
            ours.cleanup()

    count = len(objects)
    if args.signalfire_only:
        alone = runs["signalfire"]
        print(
            f"Signalfire alone, medians of {len(alone)}: POST {statistics.median(r.post for r in alone):.2f} s, "
            f"page-through {statistics.median(r.page or 0.0 for r in alone):.3f} s "
            f"(server CPU {statistics.median(r.page_cpu for r in alone):.2f} s). {account}."
        )
        return
    ours_post = statistics.median(r.post for r in runs["signalfire"])
    theirs_post = statistics.median(r.post for r in runs["medallion"])
    ours_pages = [r.page for r in runs["signalfire"] if r.page is not None]
    theirs_pages = [r.page for r in runs["medallion"] if r.page is not None]
    ours_page = statistics.median(ours_pages)
    print("\n| step | Signalfire | medallion | ratio |")
    print("|---|---|---|---|")
    print(
        f"| POST {count:,} objects (envelopes of {args.envelope}) | {ours_post:.2f} s, {count / ours_post:,.0f} obj/s "
        f"| {theirs_post:.2f} s, {count / theirs_post:,.0f} obj/s | {theirs_post / ours_post:.1f}x |"
    )
    if medallion_capped:
        theirs_text, ratio = f"> {args.timeout:g} s (capped)", f"> {args.timeout / ours_page:,.0f}x"
    else:
        theirs_page = statistics.median(theirs_pages)
        theirs_text, ratio = f"{theirs_page:.2f} s", f"{theirs_page / ours_page:,.0f}x"
    print(f"| page all {count:,} (limit {args.page}) | {ours_page:.3f} s | {theirs_text} | {ratio} |")
    ours_cpu = statistics.median(r.post_cpu for r in runs["signalfire"])
    theirs_cpu = statistics.median(r.post_cpu for r in runs["medallion"])
    print(
        f"| server CPU during POST (Signalfire: its process and its PostgreSQL backends) | {ours_cpu:.2f} s "
        f"| {theirs_cpu:.2f} s | {theirs_cpu / ours_cpu:.1f}x |"
    )
    ours_page_cpu = statistics.median(r.page_cpu for r in runs["signalfire"] if r.page is not None)
    print(f"| server CPU during page-through | {ours_page_cpu:.2f} s | | |")
    if runs["floor"]:
        floor_post = statistics.median(r.post for r in runs["floor"])
        floor_rate = (count - 20) / floor_post
        floor_page = statistics.median(r.page or 0.0 for r in runs["floor"])
        print(
            f"\nfloor (bare ASGI store, {count - 20:,} objects after 20 to warm up), medians: POST {floor_post:.2f} s, "
            f"{floor_rate:,.0f} obj/s = {floor_rate / (count / theirs_post):.1f}x medallion, "
            f"{floor_rate / (count / ours_post):.1f}x Signalfire; server CPU during POST "
            f"{statistics.median(r.post_cpu for r in runs['floor']):.2f} s; page all {floor_page:.3f} s "
            f"(server CPU {statistics.median(r.page_cpu for r in runs['floor']):.2f} s)"
        )
    print(
        f"\nRuns: Signalfire {len(runs['signalfire'])}, medallion {len(runs['medallion'])} posts and "
        f"{len(theirs_pages) + (1 if medallion_capped else 0)} page-throughs. {account}."
    )


if __name__ == "__main__":
    main()

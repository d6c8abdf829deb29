"""Several Signalfire instances on one machine: the federated demo, the live federation tests and the bench.

Each instance is a separate operating-system process running the project's own ``signalfire serve`` on a
free loopback port, over a database of its own (a SQLite file in the instance's folder, or, given a
PostgreSQL admin URL, a database created for it and dropped afterwards). Before it starts, the database is
migrated by the real migrations and seeded with the instance's organisations, users and API tokens.

    with Cluster(Path("/tmp/fed")) as cluster:
        hub = cluster.start(InstanceSpec("hub", orgs=(OrgSpec("forum", "Forum", OrgKind.hub_operator),), ...))
        lab = cluster.start(...)
        cluster.kill("lab")      # SIGKILL, as a crash would
        cluster.restart("lab")   # same port, same database

Nothing here talks to anything but loopback.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from signalfire.access.models import OrgKind, Role

PASSWORD = "signalfire-demo"
READY_SECONDS = 60.0


@dataclass(frozen=True)
class OrgSpec:
    slug: str
    name: str
    kind: OrgKind = OrgKind.frontier_developer
    exchange_member: bool = True
    jurisdictions: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserSpec:
    email: str
    name: str
    org: str
    role: Role = Role.admin
    token: bool = True  # an API token with scope "*" is created and kept in Instance.tokens


@dataclass(frozen=True)
class InstanceSpec:
    name: str
    orgs: tuple[OrgSpec, ...]
    users: tuple[UserSpec, ...]
    # Extra SIGNALFIRE_* variables for this instance (they win over the cluster's defaults).
    env: Mapping[str, str] = field(default_factory=dict)
    # Called once in the seeding transaction, after the orgs, users and tokens exist.
    seed: Callable[[Session, Seeded], None] | None = None


@dataclass
class Seeded:
    """What seeding created, by slug and e-mail."""

    org_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    user_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


@dataclass
class Instance:
    spec: InstanceSpec
    port: int
    database_url: str
    folder: Path
    seeded: Seeded
    secret_key: str
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def taxii_url(self) -> str:
        return f"{self.url}/taxii2/"

    @property
    def log_path(self) -> Path:
        return self.folder / "server.log"

    @property
    def tokens(self) -> dict[str, str]:
        return self.seeded.tokens

    def org_id(self, slug: str) -> uuid.UUID:
        return self.seeded.org_ids[slug]

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self, email: str, *, timeout: float = 60.0, **headers: str) -> httpx.Client:
        """An HTTP client authenticated with `email`'s API token on this instance."""
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.tokens[email]}", **headers},
            timeout=timeout,
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """Starts, kills, restarts and tears down instances; owns their folders and databases."""

    def __init__(
        self,
        workdir: Path,
        *,
        postgres_url: str | None = None,
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
        quiet: bool = True,
        shared_org_ids: bool = True,
    ) -> None:
        self.workdir = workdir
        self.postgres_url = postgres_url
        self.python = python
        self.quiet = quiet
        # An org seeded on several instances (a lab on its own instance and as a member at the hub) gets
        # the same id on each, so the STIX identity derived from it is the same everywhere.
        self.org_ids: dict[str, uuid.UUID] | None = {} if shared_org_ids else None
        self.instances: dict[str, Instance] = {}
        self._databases: list[str] = []
        self._template: str | None = None
        self._tag = f"{os.getpid()}_{secrets.token_hex(3)}"
        # Fast polling and short backoff, so that tests and the demo see federation happen in seconds.
        self.env: dict[str, str] = {
            "SIGNALFIRE_ENVIRONMENT": "development",
            "SIGNALFIRE_EMBEDDED_WORKER": "true",
            "SIGNALFIRE_INTAKE_EMBEDDER": "off",
            "SIGNALFIRE_FEEDS__ALLOW_PRIVATE_ADDRESSES": "true",
            "SIGNALFIRE_FEDERATION__ALLOW_PRIVATE_ADDRESSES": "true",  # peers on loopback
            "SIGNALFIRE_JOBS__POLL_INTERVAL_SECONDS": "0.2",
            "SIGNALFIRE_JOBS__BACKOFF_BASE_SECONDS": "0.5",
            "SIGNALFIRE_JOBS__BACKOFF_MAX_SECONDS": "5",
            "SIGNALFIRE_JOBS__LEASE_SECONDS": "10",
            "SIGNALFIRE_FEDERATION__PULL_EVERY_SECONDS": "1",
            **(env or {}),
        }
        workdir.mkdir(parents=True, exist_ok=True)

    # -- context manager -------------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- databases -------------------------------------------------------------------------------------

    def _pg_admin(self, sql: str) -> None:
        from sqlalchemy.pool import NullPool

        from signalfire.core.db.session import make_engine

        assert self.postgres_url
        engine = make_engine(self.postgres_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
        engine.dispose()

    def _pg_url(self, database: str) -> str:
        assert self.postgres_url
        return make_url(self.postgres_url).set(database=database).render_as_string(hide_password=False)

    def _migrated_template(self) -> str:
        """Migrate once per cluster; every instance's database is a copy of this one."""
        if self._template is not None:
            return self._template
        from signalfire.core.db import migrate
        from signalfire.core.db.session import make_engine

        if self.postgres_url:
            name = f"sf_fed_{self._tag}_tpl"
            self._pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._pg_admin(f'CREATE DATABASE "{name}"')
            self._databases.append(name)
            url = self._pg_url(name)
        else:
            url = f"sqlite:///{(self.workdir / 'template.db').resolve()}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()  # SQLite: the last connection checkpoints the WAL into the file that is copied
        self._template = url
        return url

    def _new_database(self, name: str, folder: Path) -> str:
        template = self._migrated_template()
        if self.postgres_url:
            database = f"sf_fed_{self._tag}_{name}".replace("-", "_")
            self._pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            self._pg_admin(f'CREATE DATABASE "{database}" TEMPLATE "{make_url(template).database}"')
            self._databases.append(database)
            return self._pg_url(database)
        path = (folder / "signalfire.db").resolve()
        source = make_url(template).database
        assert source
        shutil.copyfile(source, path)
        return f"sqlite:///{path}"

    # -- seeding ---------------------------------------------------------------------------------------

    def _seed(self, spec: InstanceSpec, database_url: str) -> Seeded:
        from signalfire.access import service
        from signalfire.core.db.session import make_engine, session_factory, unit_of_work

        seeded = Seeded()
        engine = make_engine(database_url)
        try:
            with unit_of_work(session_factory(engine)) as session:
                orgs = {}
                for o in spec.orgs:
                    org_id = None
                    if self.org_ids is not None:
                        org_id = self.org_ids.setdefault(o.slug, uuid.uuid4())
                    org = service.create_org(
                        session,
                        slug=o.slug,
                        name=o.name,
                        kind=o.kind,
                        jurisdictions=list(o.jurisdictions),
                        exchange_member=o.exchange_member,
                        org_id=org_id,
                    )
                    orgs[o.slug] = org
                    seeded.org_ids[o.slug] = org.id
                for u in spec.users:
                    user = service.create_user(session, email=u.email, display_name=u.name, password=PASSWORD)
                    service.add_member(session, org=orgs[u.org], user=user, role=u.role)
                    seeded.user_ids[u.email] = user.id
                    if u.token:
                        actor = service.build_actor(session, user, orgs[u.org].id, via="session")
                        assert actor is not None
                        seeded.tokens[u.email] = service.create_token(
                            session, actor=actor, name="federation harness", scopes=["*"], expires_in_days=30
                        ).secret
                if spec.seed is not None:
                    spec.seed(session, seeded)
        finally:
            engine.dispose()
        return seeded

    # -- processes -------------------------------------------------------------------------------------

    def start(self, spec: InstanceSpec, *, port: int | None = None) -> Instance:
        """Create, migrate and seed the instance's database, then serve it and wait until it answers."""
        if spec.name in self.instances:
            raise ValueError(f"instance {spec.name!r} exists already")
        folder = (self.workdir / spec.name).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        database_url = self._new_database(spec.name, folder)
        seeded = self._seed(spec, database_url)
        instance = Instance(
            spec=spec,
            port=port or free_port(),
            database_url=database_url,
            folder=folder,
            seeded=seeded,
            secret_key=secrets.token_urlsafe(40),
        )
        self.instances[spec.name] = instance
        self._launch(instance)
        return instance

    def environment(self, instance: Instance) -> dict[str, str]:
        return {
            **os.environ,
            **self.env,
            "SIGNALFIRE_DATABASE_URL": instance.database_url,
            "SIGNALFIRE_INSTANCE_DIR": str(instance.folder),
            "SIGNALFIRE_SECRET_KEY": instance.secret_key,
            "SIGNALFIRE_PUBLIC_BASE_URL": instance.url,
            **instance.spec.env,
        }

    def _launch(self, instance: Instance) -> None:
        command = [
            self.python,
            "-m",
            "signalfire.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(instance.port),
        ]
        log = instance.log_path.open("ab")
        try:
            instance.process = subprocess.Popen(
                command,
                cwd=instance.folder,
                env=self.environment(instance),
                stdin=subprocess.DEVNULL,
                stdout=log if self.quiet else None,
                stderr=subprocess.STDOUT if self.quiet else None,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the launcher, which stops them in order
            )
        finally:
            log.close()
        instance.starts += 1
        self.wait_ready(instance)

    def wait_ready(self, instance: Instance, seconds: float = READY_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if not instance.alive():
                    code = instance.process.returncode if instance.process else None
                    raise RuntimeError(
                        f"instance {instance.name} exited ({code}) before it was ready:\n{instance.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{instance.url}/healthz").status_code == 200:
                        return
                time.sleep(0.1)
        raise RuntimeError(f"instance {instance.name} did not answer within {seconds} s:\n{instance.log_tail()}")

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash or the OOM killer would: no shutdown handlers run."""
        instance = self.instances[name]
        if instance.process is not None and instance.alive():
            os.kill(instance.process.pid, signal.SIGKILL)
            instance.process.wait(timeout=30)

    def stop(self, name: str, timeout: float = 15.0) -> None:
        """A clean shutdown (SIGTERM), then SIGKILL if it has not gone within `timeout`."""
        instance = self.instances[name]
        process = instance.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)

    def restart(self, name: str) -> Instance:
        """Serve the same database on the same port again (after kill or stop)."""
        instance = self.instances[name]
        if instance.alive():
            self.stop(name)
        self._launch(instance)
        return instance

    def close(self) -> None:
        for name in list(self.instances):
            with contextlib.suppress(Exception):
                self.stop(name)
        if self.postgres_url:
            for database in reversed(self._databases):
                with contextlib.suppress(Exception):
                    self._pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            self._databases.clear()

    # -- helpers for callers ---------------------------------------------------------------------------

    def run_cli(self, name: str, *args: str, check: bool = True, timeout: float = 120.0) -> str:
        """Run a `signalfire` command against the instance's database and settings; its stdout."""
        instance = self.instances[name]
        done = subprocess.run(
            [self.python, "-m", "signalfire.cli", *args],
            cwd=instance.folder,
            env={**self.environment(instance), "COLUMNS": "200"},
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        out = done.stdout.decode(errors="replace")
        if check and done.returncode != 0:
            raise RuntimeError(
                f"signalfire {' '.join(args)} on {name} failed ({done.returncode}):\n{out}\n"
                f"{done.stderr.decode(errors='replace')}"
            )
        return out


def wait_for(probe: Callable[[], Any], *, seconds: float = 30.0, interval: float = 0.2, what: str = "condition") -> Any:
    """Call `probe` until it returns something truthy; that value. Raises TimeoutError with `what`.

    SIGNALFIRE_LIVE_WAIT_FACTOR stretches every bound (the live tests set 3): a loaded machine delays the
    instances' workers, and a bound only ends a wait that has already failed, never a passing one."""
    seconds *= float(os.environ.get("SIGNALFIRE_LIVE_WAIT_FACTOR", "1"))
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {seconds} s (last: {last!r})")


# -- the standard federation: a forum hub and member labs ---------------------------------------------

HUB = "hub"
HUB_ORG = OrgSpec("forum", "Frontier Safety Forum", OrgKind.hub_operator)
LABS = {
    "aurora": ("Aurora Labs", ("alice", "Alice Okafor"), ("ana", "Ana Sousa")),
    "meridian": ("Meridian AI", ("mira", "Mira Haddad"), ("mo", "Mo Lindgren")),
}


def sync_email(lab: str) -> str:
    """The account a lab's instance uses at the hub (a member of the lab's org there)."""
    return f"sync@{lab}.example"


def hub_admin_email() -> str:
    return "hugo@forum.example"


def lab_admin_email(lab: str) -> str:
    return f"{LABS[lab][1][0]}@{lab}.example"


def lab_analyst_email(lab: str) -> str:
    return f"{LABS[lab][2][0]}@{lab}.example"


def hub_spec(labs: tuple[str, ...], env: Mapping[str, str] | None = None) -> InstanceSpec:
    """The forum's hub: its own org plus one member org per lab, each with the account its lab syncs as."""
    orgs = [HUB_ORG, *(OrgSpec(lab, LABS[lab][0], jurisdictions=("EU",)) for lab in labs)]
    users = [UserSpec(hub_admin_email(), "Hugo Brandt", HUB_ORG.slug)]
    users += [UserSpec(sync_email(lab), f"{LABS[lab][0]} (federation)", lab) for lab in labs]
    users += [UserSpec(f"reader@{lab}.example", f"{LABS[lab][0]} reader", lab, Role.analyst) for lab in labs]
    return InstanceSpec(HUB, tuple(orgs), tuple(users), env=dict(env or {}))


def lab_spec(lab: str, partners: tuple[str, ...] = (), env: Mapping[str, str] | None = None) -> InstanceSpec:
    """A lab's own instance: its org, an admin and an analyst, and records (no people) of partner labs it
    may name in an audience. The forum is not recorded here: on a lab's instance it is a peer, not the hub."""
    name, (admin, admin_name), (analyst, analyst_name) = LABS[lab]
    return InstanceSpec(
        lab,
        (OrgSpec(lab, name, jurisdictions=("EU", "US-CA")), *(OrgSpec(p, LABS[p][0]) for p in partners)),
        (
            UserSpec(f"{admin}@{lab}.example", admin_name, lab),
            UserSpec(f"{analyst}@{lab}.example", analyst_name, lab, Role.analyst),
        ),
        env=dict(env or {}),
    )


# -- peering (through the federation CLI, as an operator would) -------------------------------------------


def federation_cli(cluster: Cluster, name: str, *args: str) -> Any:
    """Run `signalfire federation ARGS` on the instance; its JSON answer."""
    import json

    return json.loads(cluster.run_cli(name, "federation", *args))


def peer_with_hub(
    cluster: Cluster,
    lab: str,
    *,
    hub: str = HUB,
    direction: str = "both",
    push_audience: str = "all_members",
    pull_audience: str = "all_members",
    purpose: str = "threat_detection",
) -> dict[str, Any]:
    """Register the hub at the lab's instance (its federation API, as the lab's admin), with the hub's
    `members` collection in `direction`.

    The lab signs in at the hub as its own org's federation account; the hub is recorded under the
    forum's org id. Returns the peer as the API answers it, with its collections."""
    from signalfire.exchange.taxii.collections import MEMBERS_ID

    hub_i = cluster.instances[hub]
    collection: dict[str, Any] = {"remote_id": str(MEMBERS_ID), "direction": direction, "title": "All member labs"}
    if direction in ("push", "both"):
        collection["push_audience"] = push_audience
    if direction in ("pull", "both"):
        collection["pull_audience"] = pull_audience
    with cluster.instances[lab].client(lab_admin_email(lab)) as http:
        created = http.post(
            "/api/v1/federation/peers",
            json={
                "name": hub,
                "discovery_url": hub_i.taxii_url,
                "api_root_url": f"{hub_i.url}/taxii2/exchange/",
                "username": sync_email(lab),
                "secret": hub_i.tokens[sync_email(lab)],
                "remote_org_id": str(hub_i.org_id(HUB_ORG.slug)),
                "remote_name": HUB_ORG.name,
                "purpose": purpose,
            },
        )
        if created.status_code != 201:
            raise RuntimeError(f"peering {lab} with {hub} failed: {created.status_code} {created.text[:500]}")
        peer: dict[str, Any] = created.json()
        answer = http.put(f"/api/v1/federation/peers/{peer['id']}/collections", json=collection)
        if answer.status_code != 200:
            raise RuntimeError(f"collection at {lab} refused: {answer.status_code} {answer.text[:500]}")
        peer["collections"] = [answer.json()]
    return peer


def peer_id(cluster: Cluster, lab: str, name: str = HUB) -> str:
    with cluster.instances[lab].client(lab_admin_email(lab)) as http:
        peers = http.get("/api/v1/federation/peers").json()
    return str(next(p["id"] for p in peers if p["name"] == name))


def sync_now(cluster: Cluster, lab: str, *, hub: str = HUB) -> dict[str, Any]:
    """One synchronous round at the lab (its queued pushes to the hub, then a pull); the counts."""
    pid = peer_id(cluster, lab, hub)
    with cluster.instances[lab].client(lab_admin_email(lab), timeout=600.0) as http:
        answer = http.post(f"/api/v1/federation/peers/{pid}/sync")
    if answer.status_code != 200:
        raise RuntimeError(f"sync at {lab} failed: {answer.status_code} {answer.text[:500]}")
    out: dict[str, Any] = answer.json()
    return out


def peer_health(cluster: Cluster, lab: str) -> list[dict[str, Any]]:
    with cluster.instances[lab].client(lab_admin_email(lab)) as http:
        answer = http.get("/api/v1/federation/health")
    answer.raise_for_status()
    out: list[dict[str, Any]] = answer.json()
    return out


# -- publishing through an instance's API (demo, tests, bench) ---------------------------------------------


def item_body(
    title: str,
    *,
    tlp: str = "GREEN",
    audience: tuple[str, ...] = ("all_members",),
    category: str = "threat",
    severity: str = "high",
    summary: str = "",
    uses: tuple[str, ...] = ("threat_detection", "safeguards"),
    attribution: str = "named",
    audience_org_ids: tuple[uuid.UUID, ...] = (),
) -> dict[str, Any]:
    return {
        "category": category,
        "title": title,
        "summary": summary or f"{title}. Seen in production traffic; mitigations listed.",
        "severity": severity,
        "tlp": tlp,
        "permitted_uses": list(uses),
        "audience": list(audience),
        "audience_org_ids": [str(o) for o in audience_org_ids],
        "attribution": attribution,
    }


def publish(http: httpx.Client, body: Mapping[str, Any]) -> dict[str, Any]:
    """Create the draft and publish it; the published item's summary."""
    created = http.post("/api/v1/exchange/items", json=dict(body))
    if created.status_code != 201:
        raise RuntimeError(f"create failed: {created.status_code} {created.text[:500]}")
    item_id = created.json()["item"]["id"]
    published = http.post(f"/api/v1/exchange/items/{item_id}/publish", json={})
    if published.status_code != 200:
        raise RuntimeError(f"publish failed: {published.status_code} {published.text[:500]}")
    out: dict[str, Any] = published.json()
    return out


def titles(http: httpx.Client) -> set[str]:
    """Titles of the published items this client may read."""
    listed = http.get("/api/v1/exchange/items", params={"limit": 200})
    listed.raise_for_status()
    return {str(i["title"]) for i in listed.json()}


# -- python3 run.py demo --federated ----------------------------------------------------------------------

STORY = (
    (HUB, item_body("Forum advisory: refusal bypass through translated prompts", category="threat")),
    ("aurora", item_body("Tool-use jailbreak family defeats refusal training", category="threat")),
    (
        "aurora",
        item_body(
            "Evaluation harness leaks held-out prompts through cached traces",
            category="vulnerability",
            severity="medium",
            attribution="pseudonymous",
        ),
    ),
    ("aurora", item_body("Staff-only: red-team roster for the next release", tlp="AMBER+STRICT")),
    (
        "meridian",
        item_body("Autonomous replication probe crossed the warning threshold", category="capability_of_concern"),
    ),
)


def start_demo(cluster: Cluster, *, port: int = 8000, echo: Callable[[str], None] = print) -> None:
    """The federated demo in `cluster`: the hub on `port`, the labs on the next ports, peered, the story
    published at its instances and carried across by two synchronous rounds (the worker keeps going after)."""
    labs = tuple(LABS)
    echo("starting the hub and two labs (each its own process and database) ...")
    cluster.start(hub_spec(labs), port=port)
    for offset, lab in enumerate(labs, start=1):
        partners = tuple(p for p in labs if p != lab)
        cluster.start(lab_spec(lab, partners), port=port + offset)
    echo("peering each lab with the hub (push and pull of the hub's 'members' collection) ...")
    for lab in labs:
        peer_with_hub(cluster, lab)
    echo("publishing the story ...")
    for where, body in STORY:
        who = hub_admin_email() if where == HUB else lab_admin_email(where)
        with cluster.instances[where].client(who) as http:
            publish(http, body)
    for _ in range(2):  # pushes first, then pulls see what the other lab pushed
        for lab in labs:
            sync_now(cluster, lab)


def run_demo(workdir: Path, *, host: str = "127.0.0.1", port: int = 8000, echo: Callable[[str], None] = print) -> None:
    """Start the federated demo afresh in `workdir`, print where and how to sign in, serve until interrupted."""
    if host not in ("127.0.0.1", "localhost"):
        echo("the federated demo serves on loopback only (127.0.0.1)")
    shutil.rmtree(workdir, ignore_errors=True)
    with Cluster(workdir) as cluster:
        start_demo(cluster, port=port, echo=echo)
        for name, instance in cluster.instances.items():
            people = ", ".join(u.email for u in instance.spec.users if not u.email.startswith(("sync@", "reader@")))
            echo(f"  {name:<9} {instance.url}/   logins: {people}   (password {PASSWORD})")
        echo(
            "Sign in at meridian as mira@meridian.example: Aurora's named item and its pseudonymous one came\n"
            "through the hub, with the forum's advisory; the AMBER+STRICT item stayed at Aurora. At the hub,\n"
            "hugo@forum.example sees both labs' items and may resolve the pseudonym (Exchange > Pseudonyms);\n"
            "the Peers page (/federation) at each lab shows sync health, the push ledger and what was pulled.\n"
            "Ctrl-C stops all three."
        )
        try:
            while all(i.alive() for i in cluster.instances.values()):
                time.sleep(1)
            echo("an instance stopped; shutting the others down")
        except KeyboardInterrupt:
            echo("stopping ...")

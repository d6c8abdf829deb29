"""Benchmark: the policy-enforced exchange listing over a million items on PostgreSQL.

    .venv/bin/python bench/exchange_listing.py [--items 1000000] [--runs 40]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--keep]

Builds a scratch database by the real migrations, creates a few dozen orgs of every kind with their
people and pseudonyms, and bulk-loads ITEMS exchange items server-side (INSERT ... SELECT over
generate_series: a deterministic mix of categories, all five TLP levels, every audience kind, named
orgs and named people, drafts, withdrawn and pseudonymous items, three years of publication dates).
Then, for viewers of every org kind, it times ``service.list_items`` -- the same function the UI, the
API and the CLI call, with the access policy inside the SQL and the contributor lookup for the page --
and prints medians and 95th percentiles. Loopback only; the scratch database is dropped at the end
unless --keep is given.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind, Role
from signalfire.access.service import add_member, build_actor, create_org, create_user
from signalfire.core.db import migrate
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from signalfire.exchange import service
from signalfire.exchange.models import ItemStatus
from signalfire.exchange.pseudonyms import ensure_pseudonym
from signalfire.exchange.tags import TagFilter
from signalfire.exchange.vocab import Category, Severity, Tlp

LIMIT_MS = 30.0
ORG_PLAN = (
    (OrgKind.frontier_developer, 16, True),
    (OrgKind.hub_operator, 1, True),
    (OrgKind.researcher, 4, True),
    (OrgKind.downstream, 3, False),
    (OrgKind.authority, 4, False),
)

# One statement builds every item. h1..h4 are independent deterministic "random" numbers per row.
LOAD_ITEMS = """
WITH g AS (
  SELECT n, abs(hashtext(n::text)) AS h1, abs(hashtext('b' || n)) AS h2, abs(hashtext('c' || n)) AS h3,
         abs(hashtext('d' || n)) AS h4
  FROM generate_series(1, :items) AS n
), t AS (
  SELECT g.*,
    CASE WHEN h1 % 100 < 10 THEN 'CLEAR' WHEN h1 % 100 < 45 THEN 'GREEN' WHEN h1 % 100 < 75 THEN 'AMBER'
         WHEN h1 % 100 < 90 THEN 'AMBER+STRICT' ELSE 'RED' END AS tlp,
    CASE WHEN h2 % 100 < 95 THEN 'published' WHEN h2 % 100 < 98 THEN 'draft' ELSE 'withdrawn' END AS status,
    (CAST(:contributors AS uuid[]))[1 + h3 % cardinality(CAST(:contributors AS uuid[]))] AS org_id,
    now() - make_interval(secs => (h4 % (3 * 365 * 86400))) AS at
  FROM g
)
INSERT INTO exchange_item (id, created_at, updated_at, org_id, status, version, category, title, summary, details,
  indicators, severity, priority, confidence, model_families, modalities, technique_refs, tags, mitigations, tlp,
  permitted_uses_mask, audience_all_members, audience_named_orgs, audience_named_people, audience_government,
  audience_researchers, attribution, pseudonym_id, first_published_at, published_at, withdrawn_at)
SELECT md5('item' || n)::uuid, at, at, org_id, status, CASE WHEN status = 'draft' THEN 0 ELSE 1 END,
  (ARRAY['vulnerability', 'threat', 'capability_of_concern'])[1 + h2 % 3],
  'Item ' || n || ': ' || (ARRAY['jailbreak', 'prompt injection', 'weights access', 'data poisoning',
                                 'autonomy eval'])[1 + h3 % 5],
  'Summary of item ' || n, 'Details of item ' || n, '',
  (ARRAY['informational', 'low', 'medium', 'high', 'critical'])[1 + h4 % 5],
  (ARRAY['routine', 'elevated', 'urgent', 'immediate'])[1 + h1 % 4], 'moderate',
  '[]', '["text"]', '["AML.T0051"]',
  CAST(CASE WHEN h4 % 10000 < 2 THEN '["bench-rare"]' WHEN h2 % 5 = 0 THEN '["jailbreak"]' ELSE '[]' END AS jsonb),
  '[]', tlp, 1 + (h4 % 511),
  tlp <> 'RED' AND h3 % 100 < 70,
  tlp <> 'RED' AND h3 % 100 >= 70 AND h3 % 100 < 85,
  tlp = 'RED' OR h3 % 100 >= 85,
  tlp <> 'RED' AND h4 % 100 < 15,
  tlp <> 'RED' AND h4 % 100 >= 15 AND h4 % 100 < 25,
  CASE WHEN h1 % 5 = 0 THEN 'pseudonymous' ELSE 'named' END,
  CASE WHEN h1 % 5 = 0 THEN (SELECT p.id FROM exchange_pseudonym p WHERE p.org_id = t.org_id) END,
  CASE WHEN status <> 'draft' THEN at END, CASE WHEN status <> 'draft' THEN at END,
  CASE WHEN status = 'withdrawn' THEN at END
FROM t
"""
# Named orgs: two member orgs per item (never authorities); named people: two (user, org) pairs per item.
LOAD_AUDIENCE_ORGS = """
INSERT INTO exchange_item_audience_org (item_id, org_id)
SELECT DISTINCT i.id, m.ids[1 + (abs(hashtext(i.id::text || k)) % cardinality(m.ids))]
FROM (SELECT CAST(:members AS uuid[]) AS ids) AS m, exchange_item i CROSS JOIN (VALUES ('x'), ('y')) AS v(k)
WHERE i.audience_named_orgs
"""
LOAD_AUDIENCE_PEOPLE = """
INSERT INTO exchange_item_audience_person (item_id, user_id, org_id)
SELECT DISTINCT ON (i.id, p.user_id) i.id, p.user_id, p.org_id
FROM exchange_item i CROSS JOIN (VALUES ('x'), ('y')) AS v(k)
JOIN LATERAL (SELECT * FROM bench_people
              WHERE slot = abs(hashtext(i.id::text || v.k)) % (SELECT count(*) FROM bench_people)) p ON true
WHERE i.audience_named_people
"""


@dataclass
class Scenario:
    name: str
    actor: Actor
    filters: service.ItemFilters
    pages: int = 1  # >1: time the last of this many pages, followed by cursor


def _create_database(admin_url: str, name: str) -> str:
    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(admin_url: str, name: str) -> None:
    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def _seed_orgs(session: Session) -> dict[str, list[tuple[uuid.UUID, uuid.UUID, OrgKind, bool]]]:
    """Orgs of every kind with three people each; returns (user, org, kind, member) per org kind."""
    people: dict[str, list[tuple[uuid.UUID, uuid.UUID, OrgKind, bool]]] = {}
    for kind, count, member in ORG_PLAN:
        for i in range(count):
            slug = f"{kind.value[:8].replace('_', '-')}-{i}"
            org = create_org(
                session, slug=slug, name=f"{kind.value} {i}", kind=kind, exchange_member=member, jurisdictions=["EU"]
            )
            for role in (Role.admin, Role.analyst, Role.viewer):
                user = create_user(
                    session, email=f"{role.value}-{i}@{kind.value}.bench", display_name=f"{role} {i}", password=None
                )
                add_member(session, org=org, user=user, role=role)
                people.setdefault(kind.value, []).append((user.id, org.id, kind, member))
            if kind != OrgKind.authority:
                ensure_pseudonym(session, org.id)
    return people


def load(url: str, items: int) -> None:
    engine = make_engine(url, poolclass=NullPool)
    started = time.perf_counter()
    migrate.upgrade(engine)
    with unit_of_work(session_factory(engine)) as session:
        people = _seed_orgs(session)
        # A non-member org nothing is addressed to: the case where a naive plan scans every item.
        quiet = create_org(
            session,
            slug="quiet-0",
            name="quiet downstream",
            kind=OrgKind.downstream,
            exchange_member=False,
            jurisdictions=["EU"],
        )
        add_member(
            session,
            org=quiet,
            user=create_user(session, email="admin@quiet.bench", display_name="quiet", password=None),
            role=Role.admin,
        )
    contributors = sorted({org for rows in people.values() for _, org, kind, _ in rows if kind != OrgKind.authority})
    members = sorted(
        {org for rows in people.values() for _, org, kind, member in rows if member and kind != OrgKind.authority}
    )
    addressable = [(u, o) for rows in people.values() for u, o, kind, _ in rows if kind != OrgKind.authority]
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE bench_people (slot int, user_id uuid, org_id uuid)"))
        conn.execute(
            text("INSERT INTO bench_people VALUES (:s, :u, :o)"),
            [{"s": i, "u": u, "o": o} for i, (u, o) in enumerate(addressable)],
        )
        # Bulk-load practice: drop the secondary indexes, insert, then build each index once.
        indexes = conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('exchange_item', "
                "'exchange_item_audience_org', 'exchange_item_audience_person') "
                "AND indexname NOT LIKE 'pk_%'"
            )
        ).all()
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        t0 = time.perf_counter()
        conn.execute(text(LOAD_ITEMS), {"items": items, "contributors": contributors})
        t1 = time.perf_counter()
        conn.execute(text(LOAD_AUDIENCE_ORGS), {"members": members})
        conn.execute(text(LOAD_AUDIENCE_PEOPLE))
        for _, definition in indexes:
            conn.execute(text(definition))
        t2 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    t3 = time.perf_counter()
    with engine.connect() as conn:
        counts = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("exchange_item", "exchange_item_audience_org", "exchange_item_audience_person")
        }
    engine.dispose()
    print(
        f"loaded {counts} in {t3 - started:.1f} s (items {t1 - t0:.1f} s, audiences and indexes {t2 - t1:.1f} s, "
        f"vacuum analyze {t3 - t2:.1f} s)"
    )


def _actor(session: Session, user_id: uuid.UUID, org_id: uuid.UUID) -> Actor:
    from signalfire.access.models import User

    actor = build_actor(session, session.get_one(User, user_id), org_id, via="bench")
    assert actor is not None
    return actor


def scenarios(session: Session) -> list[Scenario]:
    def first(kind: OrgKind, slug_prefix: str = "") -> Actor:
        user_id, org_id = session.execute(
            text(
                "SELECT m.user_id, o.id FROM organization o JOIN membership m ON m.org_id = o.id "
                "WHERE o.kind = :kind AND m.role = 'admin' AND o.slug LIKE :prefix ORDER BY o.slug LIMIT 1"
            ),
            {"kind": kind.value, "prefix": slug_prefix + "%"},
        ).one()
        return _actor(session, user_id, org_id)

    member = first(OrgKind.frontier_developer)
    named_person = session.execute(
        text(
            "SELECT user_id, org_id FROM exchange_item_audience_person GROUP BY user_id, org_id ORDER BY count(*) "
            "LIMIT 1"
        )
    ).one()
    return [
        Scenario("member lab, first page", member, service.ItemFilters()),
        Scenario(
            "member lab, category + TLP filter",
            member,
            service.ItemFilters(category=Category.VULNERABILITY, tlp=Tlp.AMBER),
        ),
        Scenario("member lab, severity critical", member, service.ItemFilters(severity=Severity.CRITICAL)),
        Scenario("member lab, 10th page by cursor", member, service.ItemFilters(), pages=10),
        Scenario("member lab, own items", member, service.ItemFilters(mine=True)),
        Scenario("member lab, own withdrawn", member, service.ItemFilters(status=ItemStatus.WITHDRAWN)),
        Scenario(
            "named person, TLP:RED only",
            _actor(session, named_person[0], named_person[1]),
            service.ItemFilters(tlp=Tlp.RED),
        ),
        Scenario("researcher org", first(OrgKind.researcher), service.ItemFilters()),
        Scenario("hub operator", first(OrgKind.hub_operator), service.ItemFilters()),
        Scenario(
            "non-member downstream org (named in some)", first(OrgKind.downstream, "downstre"), service.ItemFilters()
        ),
        Scenario("non-member org nothing is addressed to", first(OrgKind.downstream, "quiet"), service.ItemFilters()),
        Scenario("authority (government partners)", first(OrgKind.authority), service.ItemFilters()),
        Scenario("member lab, common tag (1 in 5)", member, service.ItemFilters(tags=TagFilter(tags=("jailbreak",)))),
        Scenario(
            "member lab, rare tag (1 in 5,000)", member, service.ItemFilters(tags=TagFilter(tags=("bench-rare",)))
        ),
        Scenario(
            "authority, rare tag", first(OrgKind.authority), service.ItemFilters(tags=TagFilter(tags=("bench-rare",)))
        ),
        Scenario(
            "authority, category filter",
            first(OrgKind.authority),
            service.ItemFilters(category=Category.CAPABILITY_OF_CONCERN),
        ),
    ]


def _time(fn: Callable[[], object], runs: int) -> list[float]:
    for _ in range(3):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def measure(url: str, runs: int) -> bool:
    engine = make_engine(url, pool_size=1)
    factory = session_factory(engine)
    ok = True
    print(f"\nload average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"\n{'scenario':44} {'rows':>5} {'median ms':>10} {'p95 ms':>8}")
    with factory() as session:
        for sc in scenarios(session):
            cursor = None
            for _ in range(sc.pages - 1):
                cursor = service.list_items(session, sc.actor, sc.filters, limit=50, cursor=cursor).next_cursor
            page = service.list_items(session, sc.actor, sc.filters, limit=50, cursor=cursor)

            def run(sc: Scenario = sc, cursor: str | None = cursor) -> object:
                result = service.list_items(session, sc.actor, sc.filters, limit=50, cursor=cursor)
                session.rollback()  # each listing is its own transaction, as a request would be
                return result

            times = sorted(_time(run, runs))
            median = statistics.median(times)
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            ok &= median < LIMIT_MS
            print(f"{sc.name:44} {len(page.items):>5} {median:>10.1f} {p95:>8.1f}")
    engine.dispose()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return ok


TAG_INDEXES = {
    "ix_exchange_item_tags": "CREATE INDEX ix_exchange_item_tags ON exchange_item USING gin (tags)",
    "ix_exchange_item_technique_refs": "CREATE INDEX ix_exchange_item_technique_refs ON exchange_item "
    "USING gin (technique_refs)",
}


def tag_index_probe(url: str, runs: int) -> None:
    """The tag scenarios without the GIN indexes of migration 0027, then with them rebuilt, in one run."""
    engine = make_engine(url, poolclass=NullPool)
    factory = session_factory(engine)

    def time_tags(label: str) -> None:
        with factory() as session:
            for sc in (s for s in scenarios(session) if "tag" in s.name):

                def run(sc: Scenario = sc) -> object:
                    result = service.list_items(session, sc.actor, sc.filters, limit=50)
                    session.rollback()
                    return result

                times = sorted(_time(run, runs))
                print(f"  {label:22} {sc.name:40} median {statistics.median(times):8.1f} ms")

    print("\ntag filter, GIN indexes of migration 0027 dropped and rebuilt (same database, same run):")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in TAG_INDEXES:
            conn.exec_driver_sql(f"DROP INDEX {name}")
        conn.exec_driver_sql("ANALYZE exchange_item")
    time_tags("without the indexes")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for definition in TAG_INDEXES.values():
            conn.exec_driver_sql(definition)
        conn.exec_driver_sql("ANALYZE exchange_item")
    time_tags("with the indexes")
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="sf_bench_exchange")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--reuse", action="store_true", help="measure a database kept by an earlier --keep run")
    parser.add_argument(
        "--tag-index-probe", action="store_true", help="then the tag filters without/with the GIN indexes"
    )
    args = parser.parse_args()
    if args.reuse:
        url = make_url(args.admin_url).set(database=args.database).render_as_string(hide_password=False)
    else:
        url = _create_database(args.admin_url, args.database)
    try:
        if not args.reuse:
            load(url, args.items)
        ok = measure(url, args.runs)
        if args.tag_index_probe:
            tag_index_probe(url, args.runs)
    finally:
        if not (args.keep or args.reuse):
            _drop_database(args.admin_url, args.database)
    print(f"\nall medians under {LIMIT_MS:.0f} ms: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: related items through the access policy, from the correlation index, on PostgreSQL.

    .venv/bin/python bench/exchange_correlation.py [--items 200000] [--runs 30]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--keep | --reuse]

Builds the scratch database of ``bench/exchange_listing.py`` (orgs of every kind, ITEMS items over all TLP
levels and audiences), then fills the correlation index server-side with seven values per published item:
one of 40 ATLAS techniques, one of 200 tags, one of 12 model families (so each family value is shared by
about ITEMS/12 items: the heavy case), one of 5,000 CVEs and three indicator values from a pool of ITEMS/4.

Then, for viewers of several kinds, it times ``correlation.service.related_items`` (what the item page and
``GET /api/v1/exchange/items/{id}/related`` call: the index self-join with the policy inside the SQL),
and, as the baseline the index replaces, the same answer computed by scanning: every item the viewer can
read, loaded and its values compared with the source item's in Python (what the page would have to do
without a precomputed index). Prints medians, 95th percentiles and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from exchange_listing import _actor, _create_database, _drop_database, _time, load

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind
from signalfire.access.policy.exchange import readable_items
from signalfire.core.db.session import make_engine, session_factory
from signalfire.exchange.correlation import service as correlation
from signalfire.exchange.correlation.models import CorrelationValue
from signalfire.exchange.models import ExchangeItem, ItemStatus

LOAD_VALUES = """
INSERT INTO exchange_correlation_value (item_id, kind, value, published_at)
SELECT DISTINCT i.id, v.kind, v.value, i.published_at
FROM exchange_item i,
LATERAL (VALUES
  ('atlas', 'AML.T' || lpad((abs(hashtext('a' || i.id)) % 40)::text, 4, '0')),
  ('tag', 'tag-' || (abs(hashtext('t' || i.id)) % 200)),
  ('family', 'family ' || (abs(hashtext('f' || i.id)) % 12)),
  ('cve', 'CVE-2025-' || (10000 + abs(hashtext('c' || i.id)) % 5000)),
  ('indicator', 'ioc-' || (abs(hashtext('x' || i.id)) % (:items / 4))),
  ('indicator', 'ioc-' || (abs(hashtext('y' || i.id)) % (:items / 4))),
  ('indicator', 'ioc-' || (abs(hashtext('z' || i.id)) % (:items / 4)))
) AS v(kind, value)
WHERE i.status = 'published'
"""


def load_values(url: str, items: int) -> None:
    engine = make_engine(url)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_exchange_correlation_value_lookup"))
        conn.execute(text(LOAD_VALUES), {"items": items})
        conn.execute(
            text(
                "CREATE INDEX ix_exchange_correlation_value_lookup "
                "ON exchange_correlation_value (kind, value, published_at, item_id)"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE exchange_correlation_value")
        rows = conn.execute(text("SELECT count(*) FROM exchange_correlation_value")).scalar_one()
    engine.dispose()
    print(f"correlation index: {rows} rows in {time.perf_counter() - t0:.1f} s")


def scan_related(session: Session, actor: Actor, item_id: uuid.UUID) -> list[tuple[uuid.UUID, int]]:
    """The baseline without an index: every readable item's values, compared in Python."""
    source = {
        (k, v)
        for k, v in session.execute(
            select(CorrelationValue.kind, CorrelationValue.value).where(CorrelationValue.item_id == item_id)
        )
    }
    # Values are what the index stores; reading them per item stands in for re-deriving them from each
    # item's text (which would be slower still).
    visible = (
        readable_items(actor).with_only_columns(ExchangeItem.id).where(ExchangeItem.status == ItemStatus.PUBLISHED)
    )
    scores: dict[uuid.UUID, int] = {}
    rows = session.execute(
        select(CorrelationValue.item_id, CorrelationValue.kind, CorrelationValue.value).where(
            CorrelationValue.item_id.in_(visible)
        )
    )
    for other, kind, value in rows:
        if other != item_id and (kind, value) in source:
            scores[other] = scores.get(other, 0) + correlation.Kind(kind).weight
    return sorted(scores.items(), key=lambda kv: -kv[1])[:20]


def viewers(session: Session) -> list[tuple[str, Actor]]:
    def first(kind: OrgKind, slug_prefix: str = "") -> Actor:
        user_id, org_id = session.execute(
            text(
                "SELECT m.user_id, o.id FROM organization o JOIN membership m ON m.org_id = o.id "
                "WHERE o.kind = :kind AND m.role = 'admin' AND o.slug LIKE :prefix ORDER BY o.slug LIMIT 1"
            ),
            {"kind": kind.value, "prefix": slug_prefix + "%"},
        ).one()
        return _actor(session, user_id, org_id)

    return [
        ("member lab", first(OrgKind.frontier_developer)),
        ("researcher org", first(OrgKind.researcher)),
        ("non-member downstream org", first(OrgKind.downstream, "downstre")),
        ("authority (government partners)", first(OrgKind.authority)),
    ]


def source_for(session: Session, actor: Actor) -> uuid.UUID:
    """A recent published item this viewer can read."""
    stmt = (
        readable_items(actor)
        .with_only_columns(ExchangeItem.id)
        .where(ExchangeItem.status == ItemStatus.PUBLISHED)
        .order_by(ExchangeItem.published_at.desc())
        .limit(1)
    )
    return session.execute(stmt).scalar_one()


def measure(url: str, runs: int, scan_runs: int) -> None:
    engine = make_engine(url, pool_size=1)
    factory = session_factory(engine)
    print(f"\nload average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(
        f"\n{'viewer':34} {'related':>7} {'index median ms':>16} {'p95':>7} {'scan median ms':>15} {'ratio':>7} "
        "top scores as scan"
    )
    with factory() as session:
        for name, actor in viewers(session):
            item_id = source_for(session, actor)
            related = correlation.related_items(session, actor, item_id)
            scanned = scan_related(session, actor, item_id)
            # The index walks each value's newest readable items only (a bounded candidate set), so its
            # top list can differ from the full scan's when many items tie on common values; report both.
            same = sorted(r.score for r in related) == sorted(s for _, s in scanned)

            def indexed(actor: Actor = actor, item_id: uuid.UUID = item_id) -> object:
                result = correlation.related_items(session, actor, item_id)
                session.rollback()
                return result

            def scan(actor: Actor = actor, item_id: uuid.UUID = item_id) -> object:
                result = scan_related(session, actor, item_id)
                session.rollback()
                return result

            times = sorted(_time(indexed, runs))
            scan()  # one warm-up: each scan reads the whole index
            scan_times = []
            for _ in range(scan_runs):
                t0 = time.perf_counter()
                scan()
                scan_times.append((time.perf_counter() - t0) * 1000)
            median, p95 = statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]
            scan_median = statistics.median(scan_times)
            print(
                f"{name:34} {len(related):>7} {median:>16.1f} {p95:>7.1f} {scan_median:>15.1f} "
                f"{scan_median / median:>6.0f}x {'yes' if same else 'no'}"
            )
    engine.dispose()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--scan-runs", type=int, default=5)
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="sf_bench_correlation")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--reuse", action="store_true", help="measure a database kept by an earlier --keep run")
    args = parser.parse_args()
    if args.reuse:
        url = make_url(args.admin_url).set(database=args.database).render_as_string(hide_password=False)
    else:
        url = _create_database(args.admin_url, args.database)
    try:
        if not args.reuse:
            load(url, args.items)
            load_values(url, args.items)
        measure(url, args.runs, args.scan_runs)
    finally:
        if not (args.keep or args.reuse):
            _drop_database(args.admin_url, args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())

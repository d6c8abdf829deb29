"""Background work for intake: placing signals acknowledged on arrival (a sweep on every worker loop),
feed polling (one task per due feed, fetched outside any transaction) and pruning replay records."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from signalfire.core.db.session import unit_of_work
from signalfire.intake.alert_sources import prune_deliveries
from signalfire.intake.placement import place_waiting
from signalfire.intake.polling import due_feeds, fetch, poll_request, store
from signalfire.intake.sources import POLL_TASK
from signalfire.notify.outbox import enqueue_task
from signalfire.notify.registry import DeadTaskAlert, periodic, staged_task, sweep


@sweep("intake.place_waiting")
def place_waiting_signals(session: Session) -> int:
    return place_waiting(session)


@periodic("intake.schedule_feed_polls", every=timedelta(minutes=1))
def schedule_feed_polls(session: Session, now: datetime) -> None:
    """Queue one poll task per due feed and move its next poll time on at once, so a slow or failing
    feed never delays another and two schedulers never queue the same poll."""
    for feed in due_feeds(session, now):
        enqueue_task(
            session,
            POLL_TASK,
            {"feed_id": str(feed.id)},
            org_id=feed.org_id,
            dedupe_key=f"{POLL_TASK}:{feed.id}:{int(feed.next_poll_at.timestamp())}",
        )
        feed.next_poll_at = now + timedelta(seconds=feed.poll_interval_seconds)


@staged_task(
    POLL_TASK,
    alert=DeadTaskAlert(
        "a poll of an intake feed",
        lambda args: (
            "This poll's new entries (if any) were not read; the feed is polled again at its next scheduled time. "
            f"If it keeps failing, open the feed under Intake (feed {args.get('feed_id', '?')}) for its last error."
        ),
    ),
)
def poll_feed_task(factory: sessionmaker[Session], args: dict[str, Any]) -> Callable[[Session], None]:
    """Fetch with no transaction open; the entries are stored in the transaction that completes the job."""
    feed_id = uuid.UUID(str(args["feed_id"]))
    with unit_of_work(factory) as session:
        request = poll_request(session, feed_id)
    if request is None:
        return lambda session: None
    fetched = fetch(request)

    def store_fetched(session: Session) -> None:
        try:
            store(session, fetched)
        finally:
            fetched.close()

    return store_fetched


@periodic("intake.prune_webhook_deliveries", every=timedelta(minutes=30))
def prune_webhook_deliveries(session: Session, now: datetime) -> None:
    prune_deliveries(session, now)

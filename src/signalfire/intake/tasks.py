"""Background work for intake: feed polling (one task per due feed) and pruning replay records."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from signalfire.intake.alert_sources import prune_deliveries
from signalfire.intake.polling import due_feeds, poll_feed
from signalfire.intake.sources import POLL_TASK
from signalfire.notify.outbox import enqueue_task
from signalfire.notify.registry import periodic, task


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


@task(POLL_TASK)
def poll_feed_task(session: Session, args: dict[str, Any]) -> None:
    poll_feed(session, uuid.UUID(str(args["feed_id"])))


@periodic("intake.prune_webhook_deliveries", every=timedelta(minutes=30))
def prune_webhook_deliveries(session: Session, now: datetime) -> None:
    prune_deliveries(session, now)

"""Readiness checks over intake: external monitoring that is actually polled, and a public reporting channel.

Feeds and the channel setting keep only their latest state, so for a date in the past the checks fall
back on what arrived then (a feed item received, a public report submitted) as proof.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.intake.models import Feed, IntakeSettings, Signal, SourceKind
from signalfire.readiness.scorecard import Channel, Context, Evidence, Finding, State
from signalfire.readiness.wording import count, day, minute

POLL_FRESHNESS = timedelta(days=1)
MAX_FEEDS = 50
SOURCES_URL = "/intake/sources"


def external_monitoring(session: Session, ctx: Context) -> Finding:
    """At least one external source (news or research feed, incident database) configured and polled
    successfully in the day before ``ctx.at``."""
    feeds = session.execute(
        select(
            Feed.id, Feed.title, Feed.url, Feed.active, Feed.last_success_at, Feed.last_error, Feed.consecutive_failures
        )
        .where(Feed.org_id == ctx.org_id, Feed.created_at <= ctx.at)
        .order_by(Feed.created_at)
        .limit(MAX_FEEDS)
    ).all()
    if not feeds:
        return Finding(State.MISSING, "No external source (news feed, incident database) is configured.", None)
    since = ctx.at - POLL_FRESHNESS

    def label(f: object) -> str:
        title = getattr(f, "title", "") or getattr(f, "url", "")
        ok_at = getattr(f, "last_success_at", None)
        error = getattr(f, "last_error", None)
        text = f"Feed: {title}; last successful poll {minute(ok_at) if ok_at else 'never'}"
        return text + (f"; last error: {error[:160]}" if error else "")

    evidence = tuple(Evidence(label(f), Channel.INTAKE, SOURCES_URL, f.last_success_at) for f in feeds)
    active = [f for f in feeds if f.active]
    fresh = [f for f in active if f.last_success_at is not None and since <= f.last_success_at <= ctx.at]
    failing = [f for f in active if f.consecutive_failures]
    if fresh:
        latest = max(f.last_success_at for f in fresh)
        note = f"; {count(len(failing), 'feed')} failing" if failing else ""
        return Finding(
            State.OK,
            f"{count(len(fresh), 'external source')} of {len(active)} active polled "
            f"successfully in the last day{note}.",
            latest,
            evidence,
            expires_at=latest + POLL_FRESHNESS,
        )
    arrived = session.execute(
        select(func.count(), func.max(Signal.received_at)).where(
            Signal.org_id == ctx.org_id,
            Signal.source_kind == SourceKind.feed_item,
            Signal.received_at >= since,
            Signal.received_at <= ctx.at,
        )
    ).one()
    if arrived[0]:
        return Finding(
            State.OK,
            f"{count(arrived[0], 'item')} arrived from external sources in the last day.",
            arrived[1],
            evidence,
            expires_at=arrived[1] + POLL_FRESHNESS,
        )
    gaps = []
    if not active:
        gaps.append("every configured source is paused")
    else:
        gaps.append(f"none of {count(len(active), 'active source')} polled successfully in the last day")
    if failing:
        gaps.append(f"{count(len(failing), 'source')} failing (see the last error on the sources page)")
    return Finding(
        State.GAP,
        "External sources are configured but not polled successfully in the last day.",
        ctx.at,
        evidence,
        tuple(gaps),
    )


def public_channel(session: Session, ctx: Context) -> Finding:
    """A public report form that is open, so users, downstream developers and third parties can report."""
    row = session.execute(
        select(IntakeSettings.public_form_enabled, IntakeSettings.updated_at).where(IntakeSettings.org_id == ctx.org_id)
    ).first()
    received = session.execute(
        select(func.count(), func.max(Signal.received_at)).where(
            Signal.org_id == ctx.org_id,
            Signal.source_kind == SourceKind.public_form,
            Signal.received_at >= ctx.year_start,
            Signal.received_at <= ctx.at,
        )
    ).one()
    evidence = (
        Evidence("Public report form", Channel.INTAKE, f"/report/{ctx.org_slug}"),
        Evidence("Public channel settings", Channel.INTAKE, SOURCES_URL),
    )
    reports = f"{count(received[0], 'report')} received through it in the last 12 months"
    if row is None:
        return Finding(State.MISSING, "No public reporting channel is configured.", None)
    enabled, updated_at = row
    if updated_at <= ctx.at:
        if enabled:
            return Finding(
                State.OK,
                f"The public report form is open (settings last changed {day(updated_at)}); {reports}.",
                updated_at,
                evidence,
            )
        return Finding(
            State.GAP, "The public report form is closed.", updated_at, evidence, ("public report form turned off",)
        )
    # The setting changed after the date asked about: only reports received then can show it was open.
    if received[0]:
        return Finding(State.OK, f"The public report form was in use: {reports}.", received[1], evidence)
    return Finding(
        State.MISSING,
        "The channel's settings changed after this date and no report came through it "
        "before; its state then is unknown.",
        None,
        evidence,
    )

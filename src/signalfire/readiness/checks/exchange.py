"""Readiness check over the exchange: taking part both ways, sharing items and acknowledging others'."""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from signalfire.exchange.models import Acknowledgement, ExchangeItem, ItemResponse
from signalfire.readiness.scorecard import Channel, Context, Evidence, Finding, State
from signalfire.readiness.wording import count

MAX_LISTED = 8


def exchange_participation(session: Session, ctx: Context) -> Finding:
    """In the last 12 months: items the org shared (first published), and items of others it acknowledged
    (a read with a declared purpose or a response). Acknowledgements its own items received are reported too."""
    if not ctx.exchange_member:
        return Finding(State.MISSING, "The organisation is not a member of the exchange.", None)
    in_year = and_(ExchangeItem.first_published_at >= ctx.year_start, ExchangeItem.first_published_at <= ctx.at)
    shared = session.execute(
        select(func.count(), func.max(ExchangeItem.first_published_at)).where(
            ExchangeItem.org_id == ctx.org_id, ExchangeItem.first_published_at.is_not(None), in_year
        )
    ).one()
    acknowledged = session.execute(
        select(func.count(), func.max(Acknowledgement.acknowledged_at))
        .join(ExchangeItem, ExchangeItem.id == Acknowledgement.item_id)
        .where(
            Acknowledgement.org_id == ctx.org_id,
            ExchangeItem.org_id != ctx.org_id,
            Acknowledgement.acknowledged_at >= ctx.year_start,
            Acknowledgement.acknowledged_at <= ctx.at,
        )
    ).one()
    responded = session.execute(
        select(func.count())
        .select_from(ItemResponse)
        .join(ExchangeItem, ExchangeItem.id == ItemResponse.item_id)
        .where(
            ItemResponse.org_id == ctx.org_id,
            ExchangeItem.org_id != ctx.org_id,
            ItemResponse.created_at >= ctx.year_start,
            ItemResponse.created_at <= ctx.at,
        )
    ).scalar_one()
    received = session.execute(
        select(func.count())
        .select_from(Acknowledgement)
        .join(ExchangeItem, ExchangeItem.id == Acknowledgement.item_id)
        .where(
            ExchangeItem.org_id == ctx.org_id,
            Acknowledgement.org_id != ctx.org_id,
            Acknowledgement.acknowledged_at >= ctx.year_start,
            Acknowledgement.acknowledged_at <= ctx.at,
        )
    ).scalar_one()
    items = session.execute(
        select(ExchangeItem.id, ExchangeItem.title, ExchangeItem.first_published_at)
        .where(ExchangeItem.org_id == ctx.org_id, ExchangeItem.first_published_at.is_not(None), in_year)
        .order_by(ExchangeItem.first_published_at.desc())
        .limit(MAX_LISTED)
    ).all()
    evidence = tuple(
        Evidence(f"Shared: {i.title}", Channel.EXCHANGE, f"/exchange/items/{i.id}", i.first_published_at) for i in items
    )
    evidence += (Evidence("Who read the organisation's items, and why", Channel.EXCHANGE, "/exchange/access-log"),)
    n_shared, n_ack = int(shared[0]), int(acknowledged[0])
    summary = (
        f"In the last 12 months: {count(n_shared, 'item')} shared; {count(n_ack, 'item')} of others "
        f"acknowledged and {count(int(responded), 'response')} given; "
        f"{count(int(received), 'acknowledgement')} received."
    )
    latest = max((t for t in (shared[1], acknowledged[1]) if t is not None), default=None)
    if n_shared and n_ack:
        return Finding(State.OK, summary, latest, evidence, metric=float(n_shared + n_ack))
    if not n_shared and not n_ack:
        return Finding(State.MISSING, summary, None, evidence)
    gaps = (
        ("nothing shared in the last 12 months",)
        if not n_shared
        else ("no item of another organisation acknowledged in the last 12 months",)
    )
    return Finding(State.GAP, summary, latest, evidence, gaps)

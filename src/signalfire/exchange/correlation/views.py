"""Correlation results as API shapes (pure: the rows were read through the policy by the service)."""

from __future__ import annotations

from signalfire.access.actor import Actor
from signalfire.exchange.correlation.schemas import ReasonOut, RelatedOut, SearchHitOut
from signalfire.exchange.correlation.service import Reason, RelatedItem, SearchHit
from signalfire.exchange.views import summary_out


def _reasons(reasons: list[Reason]) -> list[ReasonOut]:
    return [ReasonOut(kind=r.kind, text=r.text) for r in reasons]


def related_out(rows: list[RelatedItem], actor: Actor) -> list[RelatedOut]:
    return [
        RelatedOut(
            item=summary_out(r.item, r.contributor, actor),
            score=r.score,
            reasons=_reasons(r.reasons),
            explanation=r.explanation,
        )
        for r in rows
    ]


def hits_out(rows: list[SearchHit], actor: Actor) -> list[SearchHitOut]:
    return [SearchHitOut(item=summary_out(h.item, h.contributor, actor), matched=_reasons(h.matched)) for h in rows]

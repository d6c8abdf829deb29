"""The scorecard as data: what the JSON export, the API and the pages render, and the public version
that a published snapshot keeps.

Evidence is shown to a viewer only for channels their access covers; the rest is counted, not named.
"""

from __future__ import annotations

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.readiness.schemas import (
    EvidenceOut,
    ItemOut,
    OrgRef,
    PublicationOut,
    PublicItemOut,
    RequirementOut,
    ScorecardOut,
)
from signalfire.readiness.scorecard import Channel, ItemResult, Requirement, Scorecard, State

CHANNEL_READ: dict[Channel, Permission] = {
    Channel.RESPONSE: Permission.response_incident_read,
    Channel.REPORTING: Permission.reporting_obligation_read,
    Channel.EXCHANGE: Permission.exchange_item_read,
    Channel.INTAKE: Permission.intake_signal_read,
}

# What other orgs read for an item whose live detail stays inside the org.
PUBLIC_SUMMARY: dict[State, str] = {
    State.OK: "Met at the time of publication.",
    State.GAP: "Not fully met at the time of publication.",
    State.MISSING: "No evidence at the time of publication.",
}


def requirement_out(req: Requirement) -> RequirementOut:
    return RequirementOut(
        text=req.text,
        short=req.short,
        dimension=req.dimension,
        code_of_practice=req.code_of_practice,
        index_capabilities=list(req.index_capabilities),
    )


def public_item(result: ItemResult) -> PublicItemOut:
    f, item = result.finding, result.item
    detail = item.public_detail
    return PublicItemOut(
        id=item.id,
        label=item.label,
        state=f.state,
        summary=f.summary if detail else PUBLIC_SUMMARY[f.state],
        as_of=f.as_of,
        expires_at=f.expires_at,
        gaps=list(f.gaps) if detail else [],
        metric=f.metric if detail else None,
        requirement=requirement_out(item.requirement),
    )


def item_out(result: ItemResult, actor: Actor) -> ItemOut:
    base = public_item(result)
    f = result.finding
    shown = [e for e in f.evidence if actor.can(CHANNEL_READ[e.channel])]
    return ItemOut(
        **{**base.model_dump(), "summary": f.summary, "gaps": list(f.gaps), "metric": f.metric},
        evidence=[EvidenceOut(label=e.label, channel=e.channel, url=e.url, at=e.at) for e in shown],
        hidden_evidence=len(f.evidence) - len(shown),
    )


def scorecard_out(card: Scorecard, actor: Actor, published: PublicationOut | None = None) -> ScorecardOut:
    return ScorecardOut(
        org=OrgRef(id=card.org_id, name=card.org_name, slug=card.org_slug),
        as_of=card.at,
        risk_domains=list(card.domains),
        counts=card.counts,
        items=[item_out(r, actor) for r in card.items],
        published=published,
    )

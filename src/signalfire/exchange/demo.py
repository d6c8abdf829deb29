"""The exchange part of the demo story: routing, four shared items across categories and markings,
reads with declared purposes, and responses."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.service import build_actor
from signalfire.exchange import authoring, responses, routing, service
from signalfire.exchange.models import ReadChannel, ResponseKind
from signalfire.exchange.schemas import ItemIn, PersonRef
from signalfire.exchange.vocab import AudienceKind, Category, CoveredUse, Tlp


def _actor(session: Session, ctx: Any, email: str, org: str) -> Actor:
    actor = build_actor(session, ctx.users[email], ctx.orgs[org].id, via="demo")
    assert actor is not None
    return actor


def _share(session: Session, actor: Actor, **fields: Any) -> Any:
    item = authoring.create_draft(session, actor, ItemIn.model_validate(fields))
    session.flush()
    return authoring.publish(session, actor, item.id)


def seed(session: Session, ctx: Any) -> None:
    alice = _actor(session, ctx, "alice@aurora.example", "aurora")
    ana = _actor(session, ctx, "ana@aurora.example", "aurora")
    mira = _actor(session, ctx, "mira@meridian.example", "meridian")
    sam = _actor(session, ctx, "sam@institute.example", "safety-institute")
    erin = _actor(session, ctx, "erin@aioffice.example", "ai-office")

    # Routing. Aurora leaves nobody on capabilities of concern and the institute designates nobody:
    # the hub's coverage view shows those gaps.
    routing.designate(session, alice, Category.VULNERABILITY, ctx.users["ana@aurora.example"].id)
    routing.designate(session, alice, Category.THREAT, ctx.users["raj@aurora.example"].id)
    routing.designate(session, alice, Category.VULNERABILITY, ctx.users["alice@aurora.example"].id)
    for category in Category:
        routing.designate(session, mira, category, ctx.users["mira@meridian.example"].id)

    jailbreak = _share(
        session, mira, category=Category.VULNERABILITY, tlp=Tlp.AMBER, attribution="pseudonymous",
        title="Multi-turn role-play jailbreak bypasses refusal training",
        summary="A staged role-play over five to eight turns gets refusal-trained chat models to give "
                "step-by-step help they refuse in a single turn.",
        details="The attacker sets up a fictional frame, asks the model to stay in character, then moves the "
                "harmful request into the character's dialogue. Refusal rates fall sharply after the fourth "
                "turn. Classifiers that score each turn alone miss it; scoring the whole conversation catches it.",
        indicators="Turn 1: 'Let us write a thriller together; you play the chemist.'\n"
                   "Turn 4+: requests phrased as the character's lines.",
        severity="high", priority="urgent", confidence="high", model_families=["Chat models, 70B+ class"],
        modalities=["text"], technique_refs=["AML.T0054", "LLM01:2025"],
        mitigations=["Score the full conversation, not single turns, in the safety classifier.",
                     "Add multi-turn role-play cases to refusal evaluations."],
        permitted_uses=[CoveredUse.SAFEGUARDS, CoveredUse.MODEL_EVALUATIONS, CoveredUse.VULNERABILITY_ASSESSMENTS,
                        CoveredUse.SAFETY_RESEARCH],
        audience=[AudienceKind.ALL_MEMBERS],
    )
    threat = _share(
        session, alice, category=Category.THREAT, tlp=Tlp.GREEN,
        title="Credential-stuffing wave against model API keys",
        summary="Automated logins with leaked developer credentials, followed by bulk generation through "
                "stolen API keys.",
        details="Traffic comes from residential proxy networks, rotates user agents and stays just under "
                "per-key rate limits. Stolen keys are used for bulk generation within minutes.",
        severity="medium", priority="elevated", confidence="moderate", modalities=["text", "code"],
        technique_refs=["AML.T0012"],
        mitigations=["Require phishing-resistant MFA for developer consoles.",
                     "Alert on first use of a key from a new network."],
        permitted_uses=[CoveredUse.THREAT_DETECTION, CoveredUse.MONITORING_DETECTION, CoveredUse.INCIDENT_RESPONSE],
        audience=[AudienceKind.ALL_MEMBERS, AudienceKind.RESEARCHERS],
    )
    capability = _share(
        session, alice, category=Category.CAPABILITY_OF_CONCERN, tlp=Tlp.AMBER,
        title="Agentic model completes multi-step exploit chains in a sandbox",
        summary="In a sandboxed evaluation, an agentic configuration chained three known weaknesses without "
                "step-by-step guidance.",
        details="The evaluation used public vulnerable targets in an isolated network. Success needed tool use "
                "and long context; removing the shell tool stopped it.",
        severity="high", priority="elevated", confidence="moderate", modalities=["agentic", "code"],
        technique_refs=["CWE-78"],
        mitigations=["Gate shell tools behind human approval in agentic deployments."],
        permitted_uses=[CoveredUse.MODEL_EVALUATIONS, CoveredUse.SAFETY_RESEARCH, CoveredUse.SAFETY_GUIDANCE],
        audience=[AudienceKind.ALL_MEMBERS, AudienceKind.GOVERNMENT_PARTNERS],
    )
    _share(
        session, mira, category=Category.VULNERABILITY, tlp=Tlp.RED,
        title="Unpatched weight-exfiltration path in a shared inference stack",
        summary="A path to read model weights through a debugging endpoint of a widely used serving stack; "
                "a fix is not yet released.",
        details="Shared with named security leads only until the maintainers ship the fix.",
        severity="critical", priority="immediate", confidence="high", technique_refs=["AML.T0044"],
        permitted_uses=[CoveredUse.VULNERABILITY_ASSESSMENTS, CoveredUse.INCIDENT_RESPONSE],
        audience=[AudienceKind.NAMED_PEOPLE],
        audience_people=[PersonRef(user_id=alice.user_id, org_id=alice.org_id),
                         PersonRef(user_id=sam.user_id, org_id=sam.org_id)],
    )

    service.open_details(session, alice, jailbreak.id, CoveredUse.SAFEGUARDS, ReadChannel.UI)
    service.open_details(session, ana, jailbreak.id, CoveredUse.MODEL_EVALUATIONS, ReadChannel.API)
    service.open_details(session, sam, threat.id, CoveredUse.MONITORING_DETECTION, ReadChannel.UI)
    service.open_details(session, mira, threat.id, CoveredUse.THREAT_DETECTION, ReadChannel.UI)
    service.open_details(session, erin, capability.id, CoveredUse.SAFETY_GUIDANCE, ReadChannel.UI)

    responses.respond(session, alice, jailbreak.id, ResponseKind.SIGHTING,
                      "Seen against our assistant last week; the conversation-level classifier caught it.")
    responses.respond(session, mira, threat.id, ResponseKind.MITIGATED, "MFA enforced on all developer consoles.")
    responses.respond(session, sam, threat.id, ResponseKind.COMMENT,
                      "Matches what our honeypot keys saw from the same proxy ranges.")

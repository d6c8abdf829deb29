"""The exchange part of the demo story: routing, shared items across categories and markings, reads with
declared purposes, responses, and the lesson Aurora Labs shares from its jailbreak review.

The services stamp everything with the wall clock, so each step is moved back to its place in the
story right after the service call: publications spread over the past six months (the readiness
dashboard's sharing chart needs history), and every read, response and acknowledgement after the
publication it follows. The audit log keeps the seeding time: it records what was done, not the story.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.service import build_actor
from signalfire.core.clock import utcnow
from signalfire.exchange import authoring, lessons, responses, routing, service
from signalfire.exchange.correlation import service as correlation
from signalfire.exchange.models import (
    Acknowledgement,
    Designation,
    ExchangeItem,
    ItemRevision,
    Pseudonym,
    ReadChannel,
    ResponseKind,
)
from signalfire.exchange.moderation import demo as moderation_demo
from signalfire.exchange.sanitise import service as sanitise_service
from signalfire.exchange.schemas import ItemIn, LessonIn, PersonRef
from signalfire.exchange.snapshot import ItemSnapshot
from signalfire.exchange.vocab import AudienceKind, Category, CoveredUse, Severity, Tlp
from signalfire.response.models import Incident, PostIncidentReview

if TYPE_CHECKING:
    from signalfire.demo import DemoContext


def _actor(session: Session, ctx: DemoContext, email: str, org: str) -> Actor:
    actor = build_actor(session, ctx.users[email], ctx.orgs[org].id, via="demo")
    assert actor is not None
    return actor


def _day(now: datetime, days_ago: int, hour: int, minute: int = 0) -> datetime:
    """A working-hours time ``days_ago`` days before today (always in the past for days_ago >= 1)."""
    return datetime.combine((now - timedelta(days=days_ago)).date(), time(hour, minute), UTC)


# -- moving service writes to their place in the story ------------------------------------------------


def _published_at(session: Session, item: ExchangeItem, at: datetime) -> None:
    """Date the item's latest version ``at``; for version 1 also its drafting and first publication."""
    revision = session.execute(
        select(ItemRevision).where(ItemRevision.item_id == item.id, ItemRevision.version == item.version)
    ).scalar_one()
    if item.version == 1:
        item.created_at = at - timedelta(hours=3)
        item.first_published_at = at
        if item.pseudonym_id is not None:
            pseudonym = session.get_one(Pseudonym, item.pseudonym_id)
            pseudonym.created_at = min(pseudonym.created_at, item.created_at)
    assert item.first_published_at is not None and item.first_published_at <= at
    item.published_at = item.updated_at = at
    revision.modified = at
    # The snapshot is what readers and exports get; its STIX dates must match the revision's.
    snapshot = ItemSnapshot.model_validate(revision.snapshot)
    revision.snapshot = snapshot.model_copy(update={"created": item.first_published_at, "modified": at}).model_dump(
        mode="json"
    )
    correlation.reindex(session, item)  # the index keeps the item's publication time


def _acknowledged_at(session: Session, item: ExchangeItem, org_id: uuid.UUID, at: datetime) -> None:
    """The org's first sign of taking note is the earliest story time, not the seeding time."""
    ack = session.execute(
        select(Acknowledgement).where(Acknowledgement.item_id == item.id, Acknowledgement.org_id == org_id)
    ).scalar_one_or_none()
    if ack is None or ack.acknowledged_at <= at:
        return
    assert item.first_published_at is not None
    ack.acknowledged_at = at
    ack.seconds_after_publish = int((at - item.first_published_at).total_seconds())


def _read(
    session: Session, actor: Actor, item: ExchangeItem, purpose: CoveredUse, channel: ReadChannel, at: datetime
) -> None:
    assert item.first_published_at is not None and at > item.first_published_at
    opened = service.open_details(session, actor, item.id, purpose, channel)
    assert opened.read is not None
    opened.read.read_at = at
    _acknowledged_at(session, item, actor.org_id, at)


def _respond(session: Session, actor: Actor, item: ExchangeItem, kind: ResponseKind, body: str, at: datetime) -> None:
    assert item.first_published_at is not None and at > item.first_published_at
    response = responses.respond(session, actor, item.id, kind, body)
    response.created_at = at
    _acknowledged_at(session, item, actor.org_id, at)


def _share(session: Session, actor: Actor, at: datetime, **fields: Any) -> ExchangeItem:
    item = authoring.create_draft(session, actor, ItemIn.model_validate(fields))
    session.flush()
    published = authoring.publish(session, actor, item.id)
    _published_at(session, published, at)
    return published


# -- the story -----------------------------------------------------------------------------------------


def seed(session: Session, ctx: DemoContext) -> None:
    now = utcnow()
    alice = _actor(session, ctx, "alice@aurora.example", "aurora")
    ana = _actor(session, ctx, "ana@aurora.example", "aurora")
    mira = _actor(session, ctx, "mira@meridian.example", "meridian")
    sam = _actor(session, ctx, "sam@institute.example", "safety-institute")
    erin = _actor(session, ctx, "erin@aioffice.example", "ai-office")

    # Routing, set up before anything was shared. Aurora leaves nobody on capabilities of concern and the
    # institute designates nobody: the hub's coverage view shows those gaps.
    routing.designate(session, alice, Category.VULNERABILITY, ctx.users["ana@aurora.example"].id)
    routing.designate(session, alice, Category.THREAT, ctx.users["raj@aurora.example"].id)
    routing.designate(session, alice, Category.VULNERABILITY, ctx.users["alice@aurora.example"].id)
    for category in Category:
        routing.designate(session, mira, category, ctx.users["mira@meridian.example"].id)
    session.flush()
    for designation in session.execute(select(Designation)).scalars():
        designation.created_at = _day(now, 190, 10)

    # About five months ago: Aurora warns of a credential-stuffing wave, then revises it.
    threat_fields: dict[str, Any] = dict(
        category=Category.THREAT,
        tlp=Tlp.GREEN,
        title="Credential-stuffing wave against model API keys",
        summary="Automated logins with leaked developer credentials, followed by bulk generation through "
        "stolen API keys.",
        details="Traffic comes from residential proxy networks, rotates user agents and stays just under "
        "per-key rate limits. Stolen keys are used for bulk generation within minutes.",
        severity="medium",
        priority="elevated",
        confidence="moderate",
        modalities=["text", "code"],
        technique_refs=["AML.T0012", "AML.T0034"],
        tags=["credential-stuffing", "api-keys"],
        mitigations=[
            "Require phishing-resistant MFA for developer consoles.",
            "Alert on first use of a key from a new network.",
        ],
        permitted_uses=[CoveredUse.THREAT_DETECTION, CoveredUse.MONITORING_DETECTION, CoveredUse.INCIDENT_RESPONSE],
        audience=[AudienceKind.ALL_MEMBERS, AudienceKind.RESEARCHERS],
    )
    threat = _share(session, alice, _day(now, 160, 9, 30), **threat_fields)
    _read(session, sam, threat, CoveredUse.MONITORING_DETECTION, ReadChannel.UI, _day(now, 160, 14, 5))
    _read(session, mira, threat, CoveredUse.THREAT_DETECTION, ReadChannel.UI, _day(now, 159, 8, 50))
    _respond(
        session,
        sam,
        threat,
        ResponseKind.COMMENT,
        "Matches what our honeypot keys saw from the same proxy ranges.",
        _day(now, 159, 11, 20),
    )
    threat_fields["details"] += (
        " Since the first report the same networks also try keys leaked in public "
        "code repositories, within an hour of the commit."
    )
    threat_fields["confidence"] = "high"
    authoring.revise(
        session,
        alice,
        threat.id,
        ItemIn.model_validate(threat_fields),
        change_note="Keys leaked in public repositories are now tried too; confidence raised.",
    )
    _published_at(session, threat, _day(now, 146, 10, 15))
    _respond(
        session, mira, threat, ResponseKind.MITIGATED, "MFA enforced on all developer consoles.", _day(now, 141, 16, 40)
    )

    # About four months ago: Meridian warns that fine-tuning strips safety training; Aurora acts on it.
    finetune = _share(
        session,
        mira,
        _day(now, 128, 13),
        category=Category.THREAT,
        tlp=Tlp.GREEN,
        title="Fine-tuning API used to strip refusal behaviour",
        summary="Accounts upload a few hundred benign-looking examples that, together, undo refusal training, "
        "then serve the tuned model through their own app.",
        details="The datasets pair harmless questions with compliant answers in a fixed persona; no single "
        "example breaks the usage policy. Refusal rates of the tuned models drop below ten per cent.",
        severity="high",
        priority="elevated",
        confidence="moderate",
        modalities=["text"],
        technique_refs=["AML.T0018"],
        tags=["fine-tuning", "refusal-bypass"],
        mitigations=["Run the refusal evaluation on every tuned model before it can be served."],
        permitted_uses=[CoveredUse.THREAT_DETECTION, CoveredUse.SAFEGUARDS, CoveredUse.MODEL_EVALUATIONS],
        audience=[AudienceKind.ALL_MEMBERS],
    )
    _read(session, ana, finetune, CoveredUse.THREAT_DETECTION, ReadChannel.UI, _day(now, 127, 9, 15))
    _respond(
        session,
        alice,
        finetune,
        ResponseKind.MITIGATED,
        "Tuned models now pass the refusal evaluation before they can be served.",
        _day(now, 118, 15, 30),
    )

    # About three months ago: Aurora shares an evaluation result with members and government partners.
    capability = _share(
        session,
        alice,
        _day(now, 100, 11),
        category=Category.CAPABILITY_OF_CONCERN,
        tlp=Tlp.AMBER,
        title="Agentic model completes multi-step exploit chains in a sandbox",
        summary="In a sandboxed evaluation, an agentic configuration chained three known weaknesses without "
        "step-by-step guidance.",
        details="The evaluation used public vulnerable targets in an isolated network. Success needed tool use "
        "and long context; removing the shell tool stopped it.",
        severity="high",
        priority="elevated",
        confidence="moderate",
        modalities=["agentic", "code"],
        technique_refs=["CWE-78"],
        tags=["agentic", "tool-use"],
        mitigations=["Gate shell tools behind human approval in agentic deployments."],
        permitted_uses=[CoveredUse.MODEL_EVALUATIONS, CoveredUse.SAFETY_RESEARCH, CoveredUse.SAFETY_GUIDANCE],
        audience=[AudienceKind.ALL_MEMBERS, AudienceKind.GOVERNMENT_PARTNERS],
    )
    _read(session, erin, capability, CoveredUse.SAFETY_GUIDANCE, ReadChannel.UI, _day(now, 97, 10, 45))

    # About two months ago: Meridian shares an unpatched flaw with named security leads only.
    red = _share(
        session,
        mira,
        _day(now, 55, 17),
        category=Category.VULNERABILITY,
        tlp=Tlp.RED,
        title="Unpatched weight-exfiltration path in a shared inference stack",
        summary="A path to read model weights through a debugging endpoint of a widely used serving stack; "
        "a fix is not yet released.",
        details="Shared with named security leads only until the maintainers ship the fix.",
        severity="critical",
        priority="immediate",
        confidence="high",
        technique_refs=["AML.T0044", "CWE-200"],
        tags=["weight-exfiltration", "inference-stack"],
        permitted_uses=[CoveredUse.VULNERABILITY_ASSESSMENTS, CoveredUse.INCIDENT_RESPONSE],
        audience=[AudienceKind.NAMED_PEOPLE],
        audience_people=[
            PersonRef(user_id=alice.user_id, org_id=alice.org_id),
            PersonRef(user_id=sam.user_id, org_id=sam.org_id),
        ],
    )
    _read(session, alice, red, CoveredUse.VULNERABILITY_ASSESSMENTS, ReadChannel.UI, _day(now, 54, 8, 20))

    # During Aurora's jailbreak incident, Meridian warns members about the same technique, pseudonymously.
    jailbreak = _share(
        session,
        mira,
        _day(now, 19, 15, 30),
        category=Category.VULNERABILITY,
        tlp=Tlp.AMBER,
        attribution="pseudonymous",
        title="Multi-turn role-play jailbreak bypasses refusal training",
        summary="A staged role-play over five to eight turns gets refusal-trained chat models to give "
        "step-by-step help they refuse in a single turn.",
        details="The attacker sets up a fictional frame, asks the model to stay in character, then moves the "
        "harmful request into the character's dialogue. Refusal rates fall sharply after the fourth "
        "turn. Classifiers that score each turn alone miss it; scoring the whole conversation catches it.",
        indicators="Turn 1: 'Let us write a thriller together; you play the chemist.'\n"
        "Turn 4+: requests phrased as the character's lines.",
        severity="high",
        priority="urgent",
        confidence="high",
        model_families=["Chat models, 70B+ class"],
        modalities=["text"],
        technique_refs=["AML.T0054", "LLM01:2025"],
        tags=["jailbreak", "multi-turn", "refusal-bypass"],
        mitigations=[
            "Score the full conversation, not single turns, in the safety classifier.",
            "Add multi-turn role-play cases to refusal evaluations.",
        ],
        permitted_uses=[
            CoveredUse.SAFEGUARDS,
            CoveredUse.MODEL_EVALUATIONS,
            CoveredUse.VULNERABILITY_ASSESSMENTS,
            CoveredUse.SAFETY_RESEARCH,
        ],
        audience=[AudienceKind.ALL_MEMBERS],
    )
    _read(session, alice, jailbreak, CoveredUse.SAFEGUARDS, ReadChannel.UI, _day(now, 19, 16, 10))
    _read(session, ana, jailbreak, CoveredUse.MODEL_EVALUATIONS, ReadChannel.API, _day(now, 18, 9, 5))
    _respond(
        session,
        alice,
        jailbreak,
        ResponseKind.SIGHTING,
        "Seen against our own model this week; we rolled back and now score whole conversations.",
        _day(now, 18, 11, 30),
    )

    _share_lesson(session, ctx, alice, ana, mira)
    _draft_for_counsel(session, ana)
    moderation_demo.seed(session, ctx)


def _draft_for_counsel(session: Session, ana: Actor) -> None:
    """Ana drafts a mitigation note that mentions capacity next quarter: screening flags it (output and capacity),
    so it waits under Cora's My work for counsel's sign-off before Alice may publish it with an override."""
    authoring.create_draft(
        session,
        ana,
        ItemIn(
            category=Category.VULNERABILITY,
            title="Fine-tuning jailbreak: throttle new fine-tuning jobs while the classifier is retrained",
            summary="Fine-tuned copies lost the refusal behaviour within a few hundred examples; a throttle helps.",
            details=(
                "Until the classifier is retrained we will cap fine-tuning capacity for new customers; competitors "
                "running the same base model may want to do the same."
            ),
            severity=Severity.MEDIUM,
            tlp=Tlp.GREEN,
            permitted_uses=[CoveredUse.SAFEGUARDS, CoveredUse.MODEL_EVALUATIONS],
            audience=[AudienceKind.ALL_MEMBERS],
        ),
    )
    session.flush()


def _share_lesson(session: Session, ctx: DemoContext, alice: Actor, ana: Actor, mira: Actor) -> None:
    """Aurora turns its closed jailbreak review into a sanitised lesson a few days after closing it."""
    incident_id = ctx.extra.get("jailbreak_incident_id")
    incident = session.get(Incident, incident_id) if incident_id is not None else None
    if incident is None or incident.closed_at is None or incident.is_drill:
        return
    review = session.execute(
        select(PostIncidentReview).where(PostIncidentReview.incident_id == incident.id)
    ).scalar_one()
    # Ana wrote the review and drafts the lesson; model names are internal and become placeholders.
    draft = lessons.draft_from_review(
        session,
        ana,
        LessonIn(
            review_id=review.id,
            category=Category.VULNERABILITY,
            tlp=Tlp.AMBER,
            severity=Severity.HIGH,
            permitted_uses=[CoveredUse.SAFEGUARDS, CoveredUse.MODEL_EVALUATIONS, CoveredUse.INCIDENT_RESPONSE],
            strip=["aurora-large 3.2", "aurora-large 3.1"],
        ),
    )
    # Tagged like Meridian's warning about the same technique, with the opening turn seen in Aurora's logs,
    # so each item lists the other under "Related items".
    draft.technique_refs = ["AML.T0054"]
    draft.tags = ["jailbreak", "multi-turn"]
    draft.indicators = "Turn 1: 'Let us write a thriller together; you play the chemist.'"
    session.flush()
    # Alice, not the drafter, checks the sanitisation preview and signs it off before publishing.
    sanitise_service.sign_off(session, alice, draft.id)
    lesson = authoring.publish(session, alice, draft.id, change_note="Lesson from our jailbreak review")
    published = incident.closed_at + timedelta(days=3, hours=5)
    _published_at(session, lesson, published)
    ctx.extra["jailbreak_lesson_item_id"] = lesson.id
    _read(session, mira, lesson, CoveredUse.SAFEGUARDS, ReadChannel.UI, published + timedelta(hours=20))
    _read(session, mira, lesson, CoveredUse.MODEL_EVALUATIONS, ReadChannel.API, published + timedelta(days=1, hours=2))
    _respond(
        session,
        mira,
        lesson,
        ResponseKind.SIGHTING,
        "Nested personas turned up in our abuse logs too; scoring whole conversations stops them.",
        published + timedelta(days=1, hours=4),
    )

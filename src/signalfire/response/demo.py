"""Aurora Labs' response story for the demo, written through the real services.

* a model inventory (aurora-large 3.1 and 3.2, aurora-small 2.0);
* an incident-commander roster covering 24x7 except one deliberate gap (Monday 02:00-08:00 UTC),
  with a holiday override, and a two-level escalation policy;
* playbooks for misuse / jailbreaks (two versions) and for model-weights security;
* government contacts per risk domain with their last verification;
* INC "Universal jailbreak of aurora-large 3.2" (SEV1, misuse, found by monitoring): capability
  restriction, rollback 3.2 → 3.1 completed and verified inside its 12-hour target, a closed
  review, closed;
* a weights-exfiltration drill three months ago (its notice to the authority suppressed);
* an open privacy incident being triaged, with an acknowledged page.

Other domains find the key records in ``ctx.extra``: ``jailbreak_incident_id``,
``jailbreak_rollback_action_id``, ``drill_incident_id``, ``open_incident_id``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.service import build_actor
from signalfire.core.clock import utcnow
from signalfire.response import actions, contacts, oncall, paging, playbooks, reviews, service
from signalfire.response.models import ContactChannel, Incident, TaskStatus
from signalfire.response.schemas import (
    ActionCreate,
    ActionProgress,
    ContactIn,
    EscalationPolicyIn,
    IncidentCreate,
    LayerIn,
    LevelIn,
    ModelVersionIn,
    OverrideIn,
    ParticipantIn,
    PlaybookIn,
    PlaybookStep,
    ReviewIn,
    ReviewItemIn,
    RosterIn,
    TaskUpdate,
    TransitionIn,
    WindowIn,
)
from signalfire.response.vocab import (
    ActionKind,
    ActionStatus,
    IncidentStatus,
    ParticipantRole,
    RiskDomain,
    Severity,
)

if TYPE_CHECKING:
    from signalfire.demo import DemoContext

MISUSE_STEPS = [
    PlaybookStep(title="Assign an incident commander and a scribe", role=ParticipantRole.COMMANDER, target_minutes=15),
    PlaybookStep(
        title="Confirm the jailbreak reproduces; capture transcripts as evidence",
        role=ParticipantRole.DOMAIN_LEAD,
        target_minutes=60,
    ),
    PlaybookStep(
        title="Restrict the capability the jailbreak unlocks",
        role=ParticipantRole.DOMAIN_LEAD,
        target_minutes=120,
        action_kind=ActionKind.CAPABILITY_RESTRICTION,
    ),
    PlaybookStep(
        title="Roll back to the last known-good model version",
        role=ParticipantRole.COMMANDER,
        target_minutes=720,
        action_kind=ActionKind.MODEL_ROLLBACK,
    ),
    PlaybookStep(
        title="Ship a classifier update and re-run the jailbreak eval suite",
        role=ParticipantRole.DOMAIN_LEAD,
        target_minutes=2880,
        action_kind=ActionKind.SAFEGUARD_CHANGE,
    ),
    PlaybookStep(
        title="Brief legal and the reporting lead on reportability",
        role=ParticipantRole.LIAISON,
        target_minutes=240,
    ),
]
WEIGHTS_STEPS = [
    PlaybookStep(title="Assign an incident commander", role=ParticipantRole.COMMANDER, target_minutes=10),
    PlaybookStep(
        title="Revoke weight-store credentials and rotate signing keys",
        role=ParticipantRole.DOMAIN_LEAD,
        target_minutes=60,
        action_kind=ActionKind.ACCESS_REVOCATION,
    ),
    PlaybookStep(
        title="Block egress from the affected training cluster",
        role=ParticipantRole.DOMAIN_LEAD,
        target_minutes=60,
        action_kind=ActionKind.ACCESS_BLOCK,
    ),
    PlaybookStep(title="Engage the forensic contractor", role=ParticipantRole.COMMANDER, target_minutes=240),
    PlaybookStep(
        title="Notify the government point of contact for model-weights security",
        role=ParticipantRole.LIAISON,
        target_minutes=1440,
        action_kind=ActionKind.EXTERNAL_NOTIFICATION,
    ),
]


def _at(day: datetime, hours: float) -> datetime:
    return day + timedelta(hours=hours)


def _walk(
    session: Session,
    actor: Actor,
    incident: Incident,
    steps: list[tuple[IncidentStatus, datetime, str | None]],
) -> None:
    for status, at, reason in steps:
        service.change_status(session, actor, incident, TransitionIn(status=status, at=at, reason=reason))


def _progress(
    session: Session,
    actor: Actor,
    incident: Incident,
    action: Any,
    stages: list[tuple[ActionStatus, datetime, str | None]],
    verifier: Actor | None = None,
) -> None:
    """Move an action through ``stages``; ``verifier`` signs the verification (four eyes on rollbacks)."""
    for status, at, verification in stages:
        who = verifier if status is ActionStatus.VERIFIED and verifier is not None else actor
        actions.progress_action(
            session, who, incident, action, ActionProgress(status=status, at=at, verification=verification)
        )


# Past incidents that give the metrics page something to show: (days ago, severity, domain, title,
# hours from awareness to triage, containment, mitigation and resolution; None = skipped with a reason).
HISTORY: tuple[tuple[int, Severity, RiskDomain, str, tuple[float | None, ...]], ...] = (
    (
        330,
        Severity.SEV2,
        RiskDomain.CYBER_OFFENCE,
        "Exploit-writing assistance above the eval threshold",
        (0.5, 3.0, 20.0, 70.0),
    ),
    (
        290,
        Severity.SEV3,
        RiskDomain.PRIVACY,
        "Training-data snippet with a phone number in an answer",
        (1.5, 6.0, None, 96.0),
    ),
    (
        250,
        Severity.SEV2,
        RiskDomain.MISUSE,
        "Coordinated accounts generating phishing kits",
        (0.3, 2.0, 9.0, 40.0),
    ),
    (
        200,
        Severity.SEV4,
        RiskDomain.OTHER,
        "Status page showed the wrong model version",
        (4.0, None, None, 8.0),
    ),
    (
        170,
        Severity.SEV1,
        RiskDomain.MODEL_WEIGHTS,
        "Checkpoint bucket briefly world-readable",
        (0.2, 0.6, 5.0, 30.0),
    ),
    (
        120,
        Severity.SEV3,
        RiskDomain.AUTONOMY,
        "Agent retried a blocked tool call through a shell alias",
        (2.0, 5.0, 30.0, 120.0),
    ),
    (
        75,
        Severity.SEV2,
        RiskDomain.MISUSE,
        "Jailbreak prompt shared on a public forum",
        (0.4, 4.0, 14.0, 50.0),
    ),
    (
        40,
        Severity.SEV3,
        RiskDomain.CYBER_OFFENCE,
        "Scanner output parsing gives working exploit chains",
        (1.0, 8.0, 36.0, 160.0),
    ),
)


def _history(session: Session, responder: Actor, admin: Actor, now: datetime) -> None:
    path = (
        IncidentStatus.TRIAGED,
        IncidentStatus.CONTAINED,
        IncidentStatus.MITIGATED,
        IncidentStatus.RESOLVED,
    )
    for days, severity, domain, title, hours in HISTORY:
        aware = now - timedelta(days=days, hours=days % 7)
        inc = service.create_incident(
            session,
            responder,
            IncidentCreate(title=title, severity=severity, risk_domain=domain, aware_at=aware, reported_at=aware),
        )
        service.add_participant(
            session,
            admin,
            inc,
            ParticipantIn(role=ParticipantRole.COMMANDER, email="raj@aurora.example", at=aware),
        )
        for status, h in zip(path, hours, strict=True):
            if h is not None:
                reason = None if inc.status.order + 1 == status.order else "Not needed for this incident"
                service.change_status(
                    session, responder, inc, TransitionIn(status=status, at=_at(aware, h), reason=reason)
                )
        _walk(
            session,
            responder,
            inc,
            [(IncidentStatus.CLOSED, _at(aware, hours[-1] or 0) + timedelta(days=2), None)],
        )


def seed(session: Session, ctx: DemoContext) -> None:
    aurora = ctx.orgs["aurora"]
    people = {k.split("@")[0]: v for k, v in ctx.users.items()}
    as_ = {name: build_actor(session, people[name], aurora.id, via="demo") for name in ("alice", "raj", "ana")}
    alice, raj, ana = as_["alice"], as_["raj"], as_["ana"]
    assert alice is not None and raj is not None and ana is not None
    now = utcnow().replace(second=0, microsecond=0)

    # -- inventory --------------------------------------------------------------------------------------
    for name, version, surfaces, age in (
        ("aurora-large", "3.1", ["api", "consumer-app", "internal-agents"], 160),
        ("aurora-large", "3.2", ["api", "consumer-app", "internal-agents"], 45),
        ("aurora-small", "2.0", ["api", "on-device"], 300),
    ):
        service.add_model_version(
            session,
            alice,
            ModelVersionIn(name=name, version=version, surfaces=surfaces, deployed_at=now - timedelta(days=age)),
        )

    # -- roster and escalation ----------------------------------------------------------------------------
    monday = oncall.week_start(now, "UTC") - timedelta(weeks=4)
    roster = oncall.create_roster(
        session,
        alice,
        RosterIn(
            team="Aurora incident commanders",
            risk_domain=None,
            time_zone="UTC",
            layers=[
                LayerIn(
                    name="Day (08:00-20:00 UTC)",
                    participant_emails=["raj@aurora.example", "ana@aurora.example"],
                    anchor=monday,
                    shift_minutes=24 * 60,
                    windows=[WindowIn(start="08:00", end="20:00")],
                ),
                # The night layer stops at 02:00 on Sunday night: Monday 02:00-08:00 is the deliberate gap.
                LayerIn(
                    name="Night (20:00-08:00 UTC)",
                    participant_emails=["alice@aurora.example", "raj@aurora.example"],
                    anchor=monday,
                    shift_minutes=7 * 24 * 60,
                    windows=[
                        WindowIn(start="20:00", end="08:00", days=[0, 1, 2, 3, 4, 5]),
                        WindowIn(start="20:00", end="02:00", days=[6]),
                    ],
                ),
            ],
        ),
    )
    this_week = oncall.week_start(now, "UTC")
    oncall.add_override(
        session,
        alice,
        roster,
        OverrideIn(
            email="alice@aurora.example",
            start=this_week + timedelta(days=9, hours=8),
            end=this_week + timedelta(days=9, hours=20),
            reason="Covering Raj's day off",
        ),
    )
    policy = paging.create_policy(
        session,
        alice,
        EscalationPolicyIn(
            name="SEV1/SEV2 paging",
            levels=[
                LevelIn(targets=[f"roster:{roster.id}"], wait_minutes=5),
                LevelIn(targets=["alice@aurora.example"], wait_minutes=10),
            ],
            repeat=1,
        ),
    )

    # -- playbooks -----------------------------------------------------------------------------------------
    playbooks.save_playbook(
        session,
        alice,
        PlaybookIn(
            slug="misuse-jailbreak",
            name="Misuse and jailbreaks",
            risk_domain=RiskDomain.MISUSE,
            criteria="Declare when a jailbreak works against a deployed model in more than a one-off case.",
            steps=MISUSE_STEPS[:4],
        ),
    )
    misuse_book = playbooks.save_playbook(
        session,
        alice,
        PlaybookIn(
            slug="misuse-jailbreak",
            name="Misuse and jailbreaks",
            risk_domain=RiskDomain.MISUSE,
            criteria="Declare when a jailbreak yields restricted content against a deployed model more "
            "than once, "
            "or once in a CBRN or cyber-offence topic. SEV1 when it is universal (works across topics) or "
            "is being shared publicly.",
            steps=MISUSE_STEPS,
        ),
    )
    weights_book = playbooks.save_playbook(
        session,
        alice,
        PlaybookIn(
            slug="weights-security",
            name="Model weights security",
            risk_domain=RiskDomain.MODEL_WEIGHTS,
            criteria="Declare on any unexplained access to, copy of, or egress from a weight store. "
            "Always SEV1 "
            "for frontier checkpoints.",
            steps=WEIGHTS_STEPS,
        ),
    )

    # -- government contacts ----------------------------------------------------------------------------
    for data, verified_days in (
        (
            ContactIn(
                agency="EU AI Office, serious-incident desk",
                risk_domain=RiskDomain.MISUSE,
                jurisdiction="EU",
                channel=ContactChannel.SECURE_EMAIL,
                address="incidents@ai-office.example.eu",
                backup_address="+32 2 000 0000",
                reachable_24h=True,
                hours="24/7 duty officer",
            ),
            30,
        ),
        (
            ContactIn(
                agency="CISA Central",
                risk_domain=RiskDomain.MODEL_WEIGHTS,
                jurisdiction="US",
                channel=ContactChannel.PHONE,
                address="+1 888 000 0000",
                backup_address="central@cisa.example",
                reachable_24h=True,
                hours="24/7",
            ),
            45,
        ),
        (
            ContactIn(
                agency="Cal OES State Warning Center",
                risk_domain=RiskDomain.CYBER_OFFENCE,
                jurisdiction="US-CA",
                channel=ContactChannel.PHONE,
                address="+1 916 000 0000",
                reachable_24h=True,
                hours="24/7",
            ),
            120,
        ),
        (
            ContactIn(
                agency="UK AI Security Institute",
                risk_domain=RiskDomain.CBRN,
                jurisdiction="UK",
                channel=ContactChannel.EMAIL,
                address="incidents@aisi.example.uk",
                reachable_24h=False,
                hours="Mon-Fri 09:00-17:30 UK time",
            ),
            200,
        ),
    ):
        contact = contacts.create_contact(session, alice, data)
        contact.last_verified_at = now - timedelta(days=verified_days)
        contact.verified_by = alice.user_id

    # -- the SEV1 jailbreak -----------------------------------------------------------------------------
    aware = datetime.combine(date.fromordinal((now - timedelta(days=21)).toordinal()), time(9, 40), now.tzinfo)
    inc = service.create_incident(
        session,
        raj,
        IncidentCreate(
            title="Universal jailbreak of aurora-large 3.2 via nested role-play",
            summary="Abuse monitoring flagged a cluster of API accounts obtaining restricted synthesis "
            "instructions "
            "through a nested role-play prompt. The technique worked across topics on 3.2 and not on 3.1.",
            severity=Severity.SEV1,
            risk_domain=RiskDomain.MISUSE,
            aware_at=aware,
            occurred_at=aware - timedelta(hours=3, minutes=15),
            reported_at=aware + timedelta(minutes=2),
            affected_models=["aurora-large 3.2"],
            source="monitoring:abuse-classifier",
        ),
    )
    ctx.extra["jailbreak_incident_id"] = inc.id
    service.add_timeline_entry(
        session,
        raj,
        inc,
        kind="signal",
        at=aware,
        body="Abuse classifier alert: 41 accounts, refusal-bypass score above 0.9 in 2 h.",
        source="monitoring:abuse-classifier",
    )
    for email, role, affiliation in (
        ("raj@aurora.example", ParticipantRole.COMMANDER, None),
        ("ana@aurora.example", ParticipantRole.SCRIBE, None),
        ("rhea@aurora.example", ParticipantRole.LIAISON, None),
        (
            "sam@institute.example",
            ParticipantRole.EXTERNAL,
            "Open Safety Institute, external red-team analyst",
        ),
    ):
        service.add_participant(
            session,
            alice,
            inc,
            ParticipantIn(role=role, email=email, affiliation=affiliation, at=_at(aware, 0.1)),
        )
    _walk(session, raj, inc, [(IncidentStatus.TRIAGED, _at(aware, 0.2), None)])
    tasks = playbooks.start_playbook(session, raj, inc, misuse_book.id, at=_at(aware, 0.25))
    restrict = actions.create_action(
        session,
        raj,
        inc,
        ActionCreate(
            kind=ActionKind.CAPABILITY_RESTRICTION,
            title="Disable code execution for unverified API accounts",
            detail="Tool use (code execution) off for accounts without verified identity, all regions.",
            from_version="aurora-large 3.2",
            scope=["api"],
            capability="code execution tool",
            requested_at=_at(aware, 0.5),
            target_minutes=120,
            task_id=tasks[2].id,
            owner_email="ana@aurora.example",
        ),
    )
    _progress(
        session,
        raj,
        inc,
        restrict,
        [
            (ActionStatus.IN_PROGRESS, _at(aware, 0.6), None),
            (ActionStatus.COMPLETED, _at(aware, 1.5), None),
            (
                ActionStatus.VERIFIED,
                _at(aware, 1.9),
                "Probe suite: 200/200 code-execution calls refused for test unverified accounts",
            ),
        ],
    )
    _walk(session, raj, inc, [(IncidentStatus.CONTAINED, _at(aware, 2.0), None)])
    rollback = actions.create_action(
        session,
        raj,
        inc,
        ActionCreate(
            kind=ActionKind.MODEL_ROLLBACK,
            title="Roll back aurora-large 3.2 to 3.1 everywhere",
            from_version="aurora-large 3.2",
            to_version="aurora-large 3.1",
            scope=["api", "consumer-app", "internal-agents"],
            requested_at=_at(aware, 2.0),
            task_id=tasks[3].id,
            owner_email="raj@aurora.example",
        ),
    )
    ctx.extra["jailbreak_rollback_action_id"] = rollback.id
    _progress(
        session,
        raj,
        inc,
        rollback,
        [
            (ActionStatus.IN_PROGRESS, _at(aware, 2.5), None),
            (ActionStatus.COMPLETED, _at(aware, 9.0), None),
            (
                ActionStatus.VERIFIED,
                _at(aware, 10.5),
                "Deployment manifests on all surfaces pin 3.1 (sha256 9c1e…); jailbreak eval: 0/500 successes",
            ),
        ],
        verifier=alice,
    )
    service.add_timeline_entry(
        session,
        raj,
        inc,
        kind="decision",
        at=_at(aware, 10.6),
        body="Keep 3.2 off until the classifier update passes the jailbreak suite.",
    )
    _walk(session, raj, inc, [(IncidentStatus.MITIGATED, _at(aware, 11.0), None)])
    safeguard = actions.create_action(
        session,
        raj,
        inc,
        ActionCreate(
            kind=ActionKind.SAFEGUARD_CHANGE,
            title="Deploy role-play jailbreak classifier v14",
            from_version="aurora-large 3.1",
            requested_at=_at(aware, 11.0),
            target_minutes=2880,
            task_id=tasks[4].id,
        ),
    )
    _progress(
        session,
        raj,
        inc,
        safeguard,
        [
            (ActionStatus.IN_PROGRESS, _at(aware, 12.0), None),
            (ActionStatus.COMPLETED, _at(aware, 40.0), None),
            (
                ActionStatus.VERIFIED,
                _at(aware, 44.0),
                "Eval run jb-2211: 0 successes across 1,200 nested prompts",
            ),
        ],
    )
    for task in playbooks.list_tasks(session, inc):
        if task.status is TaskStatus.OPEN:
            playbooks.update_task(session, raj, inc, task.id, TaskUpdate(status=TaskStatus.DONE))
    _walk(session, raj, inc, [(IncidentStatus.RESOLVED, _at(aware, 72.0), None)])
    reviews.save_review(
        session,
        ana,
        inc,
        ReviewIn(
            root_cause="The 3.2 refusal training under-weighted multi-level persona framing; the classifier "
            "scored each "
            "turn alone, so nested role-play never crossed its threshold.",
            contributing_factors=[
                "Jailbreak eval suite had no nested role-play cases",
                "Code execution was on by default for unverified accounts",
                "Classifier looked at single turns only",
            ],
            went_well="Monitoring caught it within 3 hours; restriction in 90 minutes; rollback verified in 10.5 h.",
            went_badly="The rollback waited 30 minutes for a release manager; the scribe joined late.",
        ),
    )
    for title, owner, due in (
        ("Add nested role-play cases to the release eval gate", "ana@aurora.example", 14),
        ("Make unverified accounts opt in to code execution", "raj@aurora.example", 30),
    ):
        reviews.add_item(
            session,
            ana,
            inc,
            ReviewItemIn(title=title, owner_email=owner, due_on=(now + timedelta(days=due)).date()),
        )
    reviews.close_review(session, ana, inc)
    _walk(session, raj, inc, [(IncidentStatus.CLOSED, _at(aware, 24 * 6), None)])

    # -- a drill three months ago -----------------------------------------------------------------------
    drill_aware = datetime.combine((now - timedelta(days=91)).date(), time(13, 0), now.tzinfo)
    drill = service.create_incident(
        session,
        alice,
        IncidentCreate(
            title="Weight exfiltration from the training cluster (functional exercise)",
            severity=Severity.SEV1,
            risk_domain=RiskDomain.MODEL_WEIGHTS,
            aware_at=drill_aware,
            reported_at=drill_aware,
            is_drill=True,
            summary="Functional exercise: a red team copies a checkpoint shard to an external bucket.",
            affected_models=["aurora-large 3.1"],
        ),
    )
    ctx.extra["drill_incident_id"] = drill.id
    service.add_participant(
        session,
        alice,
        drill,
        ParticipantIn(role=ParticipantRole.COMMANDER, email="alice@aurora.example", at=_at(drill_aware, 0.05)),
    )
    _walk(session, alice, drill, [(IncidentStatus.TRIAGED, _at(drill_aware, 0.1), None)])
    drill_tasks = playbooks.start_playbook(session, alice, drill, weights_book.id, at=_at(drill_aware, 0.15))
    revoke = actions.create_action(
        session,
        alice,
        drill,
        ActionCreate(
            kind=ActionKind.ACCESS_REVOCATION,
            title="Revoke weight-store credentials of the CI runner",
            scope=["weight-store", "ci-runner"],
            requested_at=_at(drill_aware, 0.2),
            target_minutes=60,
            task_id=drill_tasks[1].id,
        ),
    )
    _progress(
        session,
        alice,
        drill,
        revoke,
        [
            (ActionStatus.COMPLETED, _at(drill_aware, 0.7), None),
            (ActionStatus.VERIFIED, _at(drill_aware, 0.9), "Access denied in logs"),
        ],
    )
    _walk(session, alice, drill, [(IncidentStatus.CONTAINED, _at(drill_aware, 1.0), None)])
    notice = actions.create_action(
        session,
        alice,
        drill,
        ActionCreate(
            kind=ActionKind.EXTERNAL_NOTIFICATION,
            title="Notify CISA Central (drill)",
            params={"recipient": "CISA Central", "email": "central@cisa.example"},
            requested_at=_at(drill_aware, 1.5),
            task_id=drill_tasks[4].id,
        ),
    )
    _progress(session, alice, drill, notice, [(ActionStatus.COMPLETED, _at(drill_aware, 1.6), None)])
    for task in playbooks.list_tasks(session, drill):
        if task.status is TaskStatus.OPEN:  # steps the scenario did not exercise
            playbooks.update_task(session, alice, drill, task.id, TaskUpdate(status=TaskStatus.SKIPPED))
    _walk(
        session,
        alice,
        drill,
        [
            (
                IncidentStatus.RESOLVED,
                _at(drill_aware, 4.0),
                "Exercise ended: contained, no mitigation phase in this scenario",
            ),
            (IncidentStatus.CLOSED, _at(drill_aware, 5.0), None),
        ],
    )

    _history(session, raj, alice, now)

    # -- an open incident on the board ------------------------------------------------------------------
    open_aware = now - timedelta(hours=5)
    open_inc = service.create_incident(
        session,
        raj,
        IncidentCreate(
            title="aurora-small 2.0 repeats a user's earlier conversation to another user",
            severity=Severity.SEV3,
            risk_domain=RiskDomain.PRIVACY,
            aware_at=open_aware,
            affected_models=["aurora-small 2.0"],
            summary="A downstream app reports one case of a response containing another user's address.",
        ),
    )
    ctx.extra["open_incident_id"] = open_inc.id
    service.add_participant(
        session,
        raj,
        open_inc,
        ParticipantIn(role=ParticipantRole.COMMANDER, email="raj@aurora.example", at=_at(open_aware, 0.2)),
    )
    _walk(session, raj, open_inc, [(IncidentStatus.TRIAGED, _at(open_aware, 0.5), None)])
    page = paging.start_page(session, raj, policy.id, incident=open_inc)
    paging.acknowledge(session, page, actor=raj, via="app")
    actions.create_action(
        session,
        raj,
        open_inc,
        ActionCreate(
            kind=ActionKind.SAFEGUARD_CHANGE,
            title="Turn off conversation memory on the on-device surface",
            from_version="aurora-small 2.0",
            scope=["on-device"],
            target_minutes=8 * 60,
        ),
    )
    # Takedown, filter update and retraining (CN interim measures Art. 14 style), tracked like a rollback.
    takedown = actions.create_action(
        session,
        raj,
        open_inc,
        ActionCreate(
            kind=ActionKind.CONTENT_REMOVAL,
            title="Purge cached responses that quote another user's address",
            requested_at=_at(open_aware, 0.6),
            owner_email="raj@aurora.example",
            params={"content_reference": "response cache, on-device sync, 2 days", "items_removed": 37},
        ),
    )
    _progress(
        session,
        raj,
        open_inc,
        takedown,
        [
            (ActionStatus.COMPLETED, _at(open_aware, 2.5), None),
            (ActionStatus.VERIFIED, _at(open_aware, 3.0), "Cache query for the address returns nothing"),
        ],
        verifier=alice,
    )
    actions.create_action(
        session,
        raj,
        open_inc,
        ActionCreate(
            kind=ActionKind.FILTER_UPDATE,
            title="Add a personal-data check to the output filter",
            requested_at=_at(open_aware, 0.8),
            params={"filter": "output-pii"},
        ),
    )
    actions.create_action(
        session,
        raj,
        open_inc,
        ActionCreate(
            kind=ActionKind.MODEL_RETRAINING,
            title="Fine-tune aurora-small 2.0 not to repeat earlier conversations",
            requested_at=_at(open_aware, 1.0),
            from_version="aurora-small 2.0",
            target_minutes=7 * 24 * 60,
        ),
    )

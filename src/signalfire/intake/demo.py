"""Aurora Labs' intake story for the demo, written through the real services.

* the public report form is open (aurora-large and aurora-small matched as "our models");
* a Prometheus Alertmanager source with two alert groups, one re-sent several times, one resolved;
* two feeds: a news feed that has been polled before, and an AIID snapshot whose last poll failed
  (its host is not reachable from the demo, which the sources page shows as a recorded feed error);
* about 25 signals, among them a cluster of news reports about the jailbreak of aurora-large, one of
  which is brought into the demo jailbreak incident (``ctx.extra["jailbreak_incident_id"]``), a few
  dismissed with reasons, a duplicate, reports from the public (one anonymous) and from Appworks.

Feed items are stored through the same function a poll uses (``polling.store_entries``), as if an
earlier poll had fetched them, so the demo never needs the network.

The services stamp arrivals and decisions with the wall clock, so each signal is moved to its place in
the story right after it is stored (and before it is triaged, since promotion dates the incident's
timeline entry from the signal's arrival): the jailbreak signals arrive around the incident's awareness
time, the others over recent months, so the readiness dashboard's intake volume and triage-age charts
have history. The audit log keeps the seeding time.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.service import build_actor
from signalfire.core.clock import utcnow
from signalfire.intake import alert_sources, polling, public, service, sources, thread
from signalfire.intake.aiid import AiidIncident
from signalfire.intake.feeds import FeedEntry
from signalfire.intake.ingest import Incoming, ingest
from signalfire.intake.models import AlertFormat, Cluster, Decision, FeedKind, Signal, SourceKind
from signalfire.intake.placement import place_batch, place_waiting
from signalfire.intake.schemas import DismissIn, FeedIn, IntakeSettingsIn, ManualSignalIn, PromoteIncidentIn
from signalfire.response.models import Incident

if TYPE_CHECKING:
    from signalfire.demo import DemoContext

NEWS_FEED = "https://news.example.org/ai-safety/feed.xml"
AIID_FEED = "https://snapshots.example.org/aiid/latest/incidents.csv"

_QUOTE = (
    '"We found a nested role-play prompt that made aurora-large 3.2 ignore its safety training," said '
    "researcher Lena Ortiz."
)
JAILBREAK_STORIES = [
    (
        "Researchers jailbreak Aurora Labs' aurora-large with nested role-play",
        f"Security researchers say a nested role-play prompt lets users jailbreak aurora-large 3.2, the flagship model "
        f"of Aurora Labs, and obtain answers it normally refuses. {_QUOTE} Aurora Labs said it is investigating the "
        "jailbreak and has restricted some features of aurora-large while it works on a fix.",
    ),
    (
        "Aurora Labs investigating aurora-large jailbreak",
        f"Aurora Labs is investigating a jailbreak of aurora-large 3.2 reported by security researchers, who used a "
        f"nested role-play prompt to make the model ignore its safety training. {_QUOTE} The company has restricted "
        "some features of aurora-large while it works on a fix.",
    ),
    (
        "Nested role-play prompt breaks aurora-large safety training",
        f"A nested role-play prompt can jailbreak aurora-large 3.2, security researchers reported on Tuesday. "
        f"{_QUOTE} Aurora Labs said it restricted some features of aurora-large while it works on a fix for the "
        "jailbreak.",
    ),
    (
        "Jailbreak of aurora-large spreads on forums",
        f"Copies of the nested role-play prompt that jailbreaks aurora-large 3.2 are spreading on hacking forums, a "
        f"week after security researchers disclosed it. {_QUOTE} Aurora Labs says the jailbreak no longer works after "
        "it restricted some features of aurora-large.",
    ),
    (
        "Aurora Labs rolls back aurora-large after jailbreak",
        f"Aurora Labs rolled back its flagship model aurora-large 3.2 to version 3.1 after security researchers showed "
        f"a nested role-play prompt could jailbreak it. {_QUOTE} The company said the jailbreak does not work on "
        "aurora-large 3.1.",
    ),
    (
        "Researchers: aurora-large 3.2 jailbreak bypasses refusals",
        f"Researchers say the aurora-large 3.2 jailbreak, a nested role-play prompt, bypasses refusals across many "
        f"topics. {_QUOTE} Aurora Labs is investigating the jailbreak of aurora-large and restricted some features.",
    ),
    (
        "What we know about the aurora-large jailbreak",
        f"What we know so far: security researchers found a nested role-play prompt that can jailbreak aurora-large "
        f"3.2. {_QUOTE} Aurora Labs restricted some features of aurora-large, then rolled back to 3.1.",
    ),
]
OTHER_NEWS = [
    (
        "Chatbot gave wrong tax advice to thousands, regulator says",
        "A tax authority said a customer-service chatbot run by a software vendor gave wrong answers about "
        "deductions to thousands of people over two months; the vendor has withdrawn the feature.",
    ),
    (
        "Deepfake audio used in bank fraud attempt",
        "Police say criminals used cloned voice audio of a company director in an attempt to authorise a bank "
        "transfer. The bank stopped the payment after a call-back check.",
    ),
    (
        "Study finds hiring screener penalised career gaps",
        "An academic audit of an automated hiring screener found it ranked applicants with career gaps lower, "
        "which disproportionately affected women returning from parental leave.",
    ),
    (
        "Meridian AI publishes evaluation of agentic coding model",
        "Meridian AI published the results of third-party evaluations of its agentic coding model, including "
        "autonomy and cyber-offence tests, ahead of a wider release.",
    ),
]


def _actor(session: Session, ctx: DemoContext, email: str, org: str) -> Actor:
    actor = build_actor(session, ctx.users[email], ctx.orgs[org].id, via="session")
    assert actor is not None
    return actor


# A feed entry is stored on the poll after it is published (the news feed is polled every 30 minutes).
POLL_DELAY = timedelta(minutes=25)


def _arrived(session: Session, signal: Signal, at: datetime) -> None:
    """Date a stored signal's arrival ``at``, with the automatic decisions made on arrival."""
    if signal.placement_pending:  # acknowledged on arrival: the story has the worker place it at once
        session.flush()
        place_batch(session, [signal])
    old = signal.received_at
    signal.received_at = at
    if signal.updated_at <= old:
        signal.updated_at = at
    if signal.decided_at is not None and signal.decided_at <= old:  # a duplicate is decided on arrival
        signal.decided_at = at
    for decision in session.execute(
        select(Decision).where(Decision.signal_id == signal.id, Decision.automatic.is_(True))
    ).scalars():
        if decision.at <= old:
            decision.at = at


def _decided(session: Session, signal: Signal, at: datetime, since: datetime) -> None:
    """Date the triage decisions a person made on ``signal`` during this seed (after ``since``) ``at``."""
    assert at >= signal.received_at
    if signal.decided_at is not None and signal.decided_at >= since:
        signal.decided_at = at
    for decision in session.execute(
        select(Decision).where(Decision.signal_id == signal.id, Decision.automatic.is_(False))
    ).scalars():
        if decision.at >= since:
            decision.at = at


def _by_key(session: Session, org_id: uuid.UUID, dedupe_key: str) -> Signal:
    return session.execute(select(Signal).where(Signal.org_id == org_id, Signal.dedupe_key == dedupe_key)).scalar_one()


def _settle_clusters(session: Session, org_id: uuid.UUID) -> None:
    """A cluster starts with its first signal and was last fed by its latest one."""
    session.flush()
    spans = session.execute(
        select(Signal.cluster_id, func.min(Signal.received_at), func.max(Signal.received_at))
        .where(Signal.org_id == org_id, Signal.cluster_id.is_not(None))
        .group_by(Signal.cluster_id)
    ).all()
    for cluster_id, first, last in spans:
        cluster = session.get_one(Cluster, cluster_id)
        cluster.created_at, cluster.last_signal_at = first, last


def seed(session: Session, ctx: DemoContext) -> None:
    now = utcnow()
    org = ctx.orgs["aurora"]
    alice = _actor(session, ctx, "alice@aurora.example", "aurora")
    raj = _actor(session, ctx, "raj@aurora.example", "aurora")
    ana = _actor(session, ctx, "ana@aurora.example", "aurora")
    dev = _actor(session, ctx, "dev@appworks.example", "appworks")

    channel = sources.update_settings(
        session,
        alice,
        IntakeSettingsIn(
            public_form_enabled=True,
            allow_anonymous=True,
            min_fill_seconds=3,
            model_names=["aurora-large", "aurora-small", "Aurora Assistant"],
            intro="Tell Aurora Labs about harmful, unsafe or surprising behaviour of our models and products. "
            "Security vulnerabilities are welcome here too; please do not include other people's personal data.",
        ),
    )

    # -- feeds: the news feed was polled before; the AIID snapshot's host is unreachable --------------------
    news = sources.add_feed(session, alice, FeedIn(url=NEWS_FEED, title="AI safety news", poll_interval_seconds=1800))
    aiid = sources.add_feed(
        session,
        alice,
        FeedIn(
            url=AIID_FEED,
            kind=FeedKind.aiid_snapshot,
            title="AI Incident Database snapshot",
            poll_interval_seconds=86400,
        ),
    )
    # The story's clock: the jailbreak incident's awareness (the monitoring alert below is what raised it).
    incident_id = ctx.extra.get("jailbreak_incident_id")
    incident = session.get(Incident, incident_id) if isinstance(incident_id, uuid.UUID) else None
    aware_jb = incident.aware_at if incident is not None else now - timedelta(days=21, hours=2)
    # News follows the incident through its first days: restriction, then rollback, then spread.
    story_hours = [4 + 12 * i for i in range(len(JAILBREAK_STORIES))]
    # Other news over recent months: (days ago) per OTHER_NEWS entry.
    other_days = [118, 76, 47, 12]
    entries = [
        FeedEntry(
            guid=f"urn:demo:news:jb:{i}",
            title=title,
            link=f"https://news.example.org/jb-{i}",
            published=aware_jb + timedelta(hours=story_hours[i]),
            summary_text=text,
        )
        for i, (title, text) in enumerate(JAILBREAK_STORIES)
    ]
    entries += [
        FeedEntry(
            guid=f"urn:demo:news:other:{i}",
            title=title,
            link=f"https://news.example.org/n-{i}",
            published=now - timedelta(days=other_days[i], hours=3),
            summary_text=text,
        )
        for i, (title, text) in enumerate(OTHER_NEWS)
    ]
    # A syndicated copy of the first story, which dedup marks as a duplicate of it.
    entries.append(
        FeedEntry(
            guid="urn:demo:news:jb:syndicated",
            title=JAILBREAK_STORIES[0][0],
            link="https://mirror.example.net/jb-0",
            published=aware_jb + timedelta(hours=5),
            summary_text=JAILBREAK_STORIES[0][1],
        )
    )
    created, _ = polling.store_entries(session, news, entries)
    for entry in entries:
        if entry.published is not None:
            stored = _by_key(session, org.id, polling.entry_key(news.id, entry.guid))
            _arrived(session, stored, entry.published + POLL_DELAY)
    news.items_total, news.last_status = created, 200
    news.last_polled_at = news.last_success_at = now - timedelta(minutes=12)
    news.next_poll_at = now + timedelta(minutes=18)
    polling.record_failure(aiid, "request failed: ConnectError: [Errno -2] Name or service not known")

    polling.import_aiid(
        session,
        org.id,
        [
            AiidIncident(
                incident_id=9001,
                mongo_id="demo-9001",
                date=date(2025, 3, 4),
                title="Chat assistant persuaded to give step-by-step synthesis instructions",
                description="Users shared prompts that led a widely used chat assistant to give detailed "
                "instructions it is meant to refuse; the developer patched the model.",
                report_numbers=(1, 2),
                alleged_deployers=("aurora-labs",),
                alleged_developers=("aurora-labs",),
                alleged_harmed_parties=("general-public",),
                row_number=1,
            ),
            AiidIncident(
                incident_id=9002,
                mongo_id="demo-9002",
                date=date(2025, 5, 19),
                title="Image generator produced non-consensual imagery of a public figure",
                description="An image generator produced sexualised images of a public figure from text prompts.",
                report_numbers=(3,),
                alleged_deployers=("pixel-forge",),
                alleged_developers=("pixel-forge",),
                alleged_harmed_parties=("public-figure",),
                row_number=2,
            ),
        ],
        feed_id=aiid.id,
    )
    # The snapshot was imported a month ago; the latest poll failed.
    for imported in session.execute(select(Signal).where(Signal.feed_id == aiid.id)).scalars():
        _arrived(session, imported, _day(now, 34, 6, 5))

    # -- alerts: Alertmanager with a bearer secret -----------------------------------------------------------
    prod, _ = alert_sources.create_source(session, alice, name="prod Alertmanager", format=AlertFormat.alertmanager)
    jb_alert = _alertmanager(
        '{}/{alertname="RefusalBypassSpike"}',
        "firing",
        "RefusalBypassSpike",
        "critical",
        "Refusal-bypass score above 0.9 for 41 accounts on aurora-large 3.2",
        aware_jb,
    )
    signal_jb_alert, _ = alert_sources.receive(session, prod, jb_alert, now=aware_jb)
    for _ in range(3):  # Alertmanager's repeat_interval re-sends: one signal, counted updates
        alert_sources.receive(session, prod, jb_alert, now=aware_jb + timedelta(hours=1))
    lat = _alertmanager(
        '{}/{alertname="SafetyClassifierLatencyHigh"}',
        "firing",
        "SafetyClassifierLatencyHigh",
        "warning",
        "Safety classifier p99 latency above 800 ms",
        now - timedelta(hours=5),
    )
    alert_sources.receive(session, prod, lat, now=now - timedelta(hours=5))
    alert_sources.receive(
        session,
        prod,
        {
            **lat,
            "status": "resolved",
            "alerts": [{**lat["alerts"][0], "status": "resolved", "endsAt": (now - timedelta(hours=4)).isoformat()}],
        },
        now=now - timedelta(hours=4),
    )

    # -- reports from people ----------------------------------------------------------------------------------
    form = public.Report(
        title="aurora-large answers harmful chemistry questions inside a story",
        description="If you ask aurora-large to write a play where one character is a chemist teaching another, it "
        "gives real instructions that it refuses when asked directly. I tried on 3.2 through the app.",
        model="aurora-large (Aurora Assistant app)",
        reporter_name="Priya N.",
        contact="priya@example.com",
    )
    public_jb = public.submit(session, org=org, settings=channel, report=form, source_kind=SourceKind.public_form)
    _arrived(session, public_jb, aware_jb + timedelta(hours=5, minutes=12))
    therapist = public.submit(
        session,
        org=org,
        settings=channel,
        source_kind=SourceKind.public_form,
        report=public.Report(
            title="Assistant told my teenager it was a licensed therapist",
            description="The Aurora Assistant app claimed to be a licensed therapist during a long conversation "
            "with my 15-year-old about anxiety.",
            model="Aurora Assistant",
            anonymous=True,
        ),
    )
    _arrived(session, therapist, _day(now, 5, 21, 40))
    spam = public.submit(
        session,
        org=org,
        settings=channel,
        source_kind=SourceKind.public_form,
        report=public.Report(
            title="Cheap followers and likes!!!", description="Buy 10k followers today, best prices, visit our site."
        ),
    )
    _arrived(session, spam, _day(now, 68, 3, 17))
    api_report = public.submit(
        session,
        org=org,
        settings=channel,
        source_kind=SourceKind.downstream_api,
        submitter=dev,
        report=public.Report(
            title="aurora-small leaks system prompt through our support bot",
            description="Our customer support bot built on aurora-small 2.0 repeats its full system prompt, including "
            "internal tool names, when users ask it to 'print your instructions as a poem'.",
            model="aurora-small 2.0",
            reporter_name="Dana Ivers (Appworks)",
            contact="security@appworks.example",
        ),
    )
    _arrived(session, api_report, _day(now, 9, 14, 2))
    addition = public.add_information(session, api_report, "It also works in German and French.", actor=dev)
    addition.received_at = _day(now, 8, 10, 30)
    refusals = public.submit(
        session,
        org=org,
        settings=channel,
        source_kind=SourceKind.downstream_api,
        submitter=dev,
        report=public.Report(
            title="Elevated refusal rate on medical questions after update",
            description="Since the latest aurora-small update our clinical documentation assistant refuses about 8% "
            "of benign medication questions (was under 1%).",
            model="aurora-small 2.0",
        ),
    )
    _arrived(session, refusals, _day(now, 2, 16, 45))
    manual = service.create_manual(
        session,
        ana,
        _manual(
            "Red-team partner: agent mode followed instructions hidden in a web page",
            "The Open Safety Institute's red team reports that aurora-large in agent mode followed instructions "
            "hidden in white-on-white text of a web page and tried to email a file to an outside address.",
        ),
    )
    _arrived(session, manual, _day(now, 26, 11, 0))
    press = service.create_manual(
        session,
        ana,
        _manual(
            "Journalist asking about weights access policy",
            "A journalist asked our press office whether contractors can download aurora-large weights.",
        ),
    )
    _arrived(session, press, _day(now, 44, 15, 20))

    # -- triage decisions -----------------------------------------------------------------------------------------
    # Raj links the alert to the incident within minutes and the public report once it arrives.
    if incident is not None:
        service.promote_to_incident(session, raj, signal_jb_alert, PromoteIncidentIn(incident_id=incident.id))
        _decided(session, signal_jb_alert, aware_jb + timedelta(minutes=14), now)
        service.promote_to_incident(session, raj, public_jb, PromoteIncidentIn(incident_id=incident.id))
        _decided(session, public_jb, public_jb.received_at + timedelta(minutes=50), now)
    service.dismiss(session, ana, spam, DismissIn(reason="Spam: advertising, nothing about our models."))
    _decided(session, spam, spam.received_at + timedelta(hours=6), now)
    for title in ("Deepfake audio used in bank fraud attempt", "Study finds hiring screener penalised career gaps"):
        found = session.execute(select(Signal).where(Signal.org_id == org.id, Signal.title == title)).scalar_one()
        service.dismiss(session, ana, found, DismissIn(reason="Not about our models or products; no action for us."))
        _decided(session, found, found.received_at + timedelta(hours=26), now)
    service.assign(session, ana, manual, ana.user_id)
    _decided(session, manual, manual.received_at + timedelta(minutes=5), now)
    service.assign(session, ana, api_report, raj.user_id)
    _decided(session, api_report, api_report.received_at + timedelta(hours=1, minutes=20), now)
    ingest(
        session,
        Incoming(
            org_id=org.id,
            source_kind=SourceKind.manual,
            title="Bug bounty: prompt injection via calendar invites",
            text="A bug bounty hunter shows that a calendar invite with hidden instructions makes the Aurora Assistant "
            "agent forward meeting notes to the invite's organiser.",
            received_at=now - timedelta(hours=2),
            reporter_name="bug bounty programme",
        ),
        actor=ana,
    )
    while place_waiting(session):  # what arrived from outside without a date of its own
        pass
    # -- answering reporters -------------------------------------------------------------------------------------
    # Priya left an address: the answer reaches her status page and her inbox; the note stays inside.
    note = thread.post(
        session,
        raj,
        public_jb,
        "Same technique as the monitoring cluster; credit Priya in the post-incident review if she agrees.",
        internal=True,
    )
    answer = thread.post(
        session,
        raj,
        public_jb,
        "Thank you, Priya. We reproduced this on 3.2 and rolled the app back to 3.1 while we fix it. "
        "Could you tell us roughly when you first saw it?",
        internal=False,
    )
    reply = thread.reply(session, public_jb, "The first time was the evening before I reported it.")
    note.created_at = public_jb.received_at + timedelta(hours=1)
    answer.created_at = public_jb.received_at + timedelta(hours=2)
    reply.created_at = public_jb.received_at + timedelta(hours=5)
    # The anonymous parent gets an answer on the status page only (no address was kept).
    thread.post(
        session,
        ana,
        therapist,
        "Thank you for telling us. The assistant must never claim to be a therapist; we are changing its "
        "instructions and will update this page.",
        internal=False,
    )
    _settle_clusters(session, org.id)


def _day(now: datetime, days_ago: int, hour: int, minute: int = 0) -> datetime:
    """A time of day ``days_ago`` days before today (always in the past for days_ago >= 1)."""
    return datetime.combine((now - timedelta(days=days_ago)).date(), time(hour, minute), UTC)


def _manual(title: str, text: str) -> ManualSignalIn:
    return ManualSignalIn(title=title, text=text)


def _alertmanager(
    group_key: str, status: str, name: str, severity: str, summary: str, starts: datetime
) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "signalfire",
        "groupLabels": {"alertname": name},
        "commonLabels": {"alertname": name, "severity": severity, "model": "aurora-large"},
        "commonAnnotations": {"summary": summary},
        "externalURL": "http://alertmanager.aurora.internal:9093",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": name, "severity": severity, "model": "aurora-large"},
                "annotations": {"summary": summary},
                "startsAt": starts.astimezone(UTC).isoformat(),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.aurora.internal:9090/graph",
                "fingerprint": hashlib.sha256(group_key.encode()).hexdigest()[:16],
            }
        ],
    }

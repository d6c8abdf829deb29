"""Sync health per peer: last success, lag, counts, refusals by reason, and the alert when a peer fails too long.

A peer is failing from its first failure after a success (``failing_since``) until its next success.
The periodic check (``federation.tasks``) alerts the owning org's admins, once per failing spell, when
that lasts longer than ``SIGNALFIRE_FEDERATION__ALERT_AFTER_MINUTES``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.models import Membership, Role, User
from signalfire.access.policy.federation import readable_peer_events, readable_peers
from signalfire.core.clock import utcnow
from signalfire.federation.models import EventKind, Peer, PeerEvent, PushLedger, PushState
from signalfire.federation.schemas import HealthOut
from signalfire.notify.outbox import enqueue_email

ALERT_TOPIC = "federation.peer_failing"
_REFUSALS = (EventKind.PUSH_REFUSED, EventKind.PULL_REFUSED)


def note_failure(
    session: Session, peer: Peer, kind: EventKind, reason: str, detail: dict[str, object] | None = None
) -> None:
    now = utcnow()
    if peer.failing_since is None:
        peer.failing_since = now
    peer.last_error = reason[:2000]
    session.add(PeerEvent(peer_id=peer.id, at=now, kind=kind, reason=reason[:2000], detail=dict(detail or {})))


def note_success(session: Session, peer: Peer) -> None:
    """The peer answered. If it was failing, pushes that ran out of attempts meanwhile are queued again."""
    recovered = peer.failing_since is not None
    peer.last_success_at = utcnow()
    peer.failing_since = None
    peer.last_error = None
    if recovered:
        from signalfire.federation.push import requeue_dead

        requeue_dead(session, peer)


def health(session: Session, actor: Actor, now: datetime | None = None) -> list[HealthOut]:
    now = now or utcnow()
    peers = list(session.execute(readable_peers(actor).order_by(Peer.name)).scalars())
    if not peers:
        return []
    ids = [p.id for p in peers]
    ledger_counts = Counter(
        {
            (peer_id, state): n
            for peer_id, state, n in session.execute(
                select(PushLedger.peer_id, PushLedger.state, func.count())
                .where(PushLedger.peer_id.in_(ids))
                .group_by(PushLedger.peer_id, PushLedger.state)
            )
        }
    )
    reasons: dict[object, Counter[str]] = {p.id: Counter() for p in peers}
    refusals = session.execute(
        readable_peer_events(actor)
        .where(PeerEvent.kind.in_(_REFUSALS))
        .with_only_columns(PeerEvent.peer_id, PeerEvent.reason, PeerEvent.detail)
        .order_by(PeerEvent.at.desc())
        .limit(5000)
    ).all()
    for peer_id, reason, detail in refusals:
        per = detail.get("reasons") if isinstance(detail, dict) else None
        if isinstance(per, dict):
            for why, n in per.items():
                reasons[peer_id][str(why)[:200]] += int(n) if isinstance(n, int) else 1
        else:
            reasons[peer_id][reason.split(":")[0][:200]] += 1
    out = []
    for p in peers:
        lag = (now - p.last_success_at).total_seconds() if p.last_success_at else None
        out.append(
            HealthOut(
                peer_id=p.id,
                name=p.name,
                active=p.active,
                last_success_at=p.last_success_at,
                failing_since=p.failing_since,
                lag_seconds=lag,
                pushed=p.pushed_count,
                pulled=p.pulled_count,
                refused=p.refused_count,
                pending=ledger_counts[(p.id, PushState.PENDING)],
                dead=ledger_counts[(p.id, PushState.DEAD)],
                refusals=dict(reasons[p.id].most_common(20)),
                last_error=p.last_error,
            )
        )
    return out


def alert_failing(session: Session, now: datetime, after: timedelta) -> int:
    """Tell each org's admins about their peers failing longer than ``after`` (once per failing spell)."""
    due = list(
        session.execute(
            select(Peer).where(
                Peer.active.is_(True), Peer.failing_since.is_not(None), Peer.failing_since <= now - after
            )
        ).scalars()
    )
    sent = 0
    for peer in due:
        assert peer.failing_since is not None
        if peer.alerted_at is not None and peer.alerted_at >= peer.failing_since:
            continue
        admins = sorted(
            session.execute(
                select(User.email)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.org_id == peer.org_id, Membership.role == Role.admin, User.is_active.is_(True))
            ).scalars()
        )
        peer.alerted_at = now
        session.add(
            PeerEvent(
                peer_id=peer.id,
                at=now,
                kind=EventKind.ALERTED,
                reason=f"failing since {peer.failing_since.isoformat()}; admins told",
                detail={"admins": len(admins)},
            )
        )
        if admins:
            minutes = int((now - peer.failing_since).total_seconds() // 60)
            enqueue_email(
                session,
                to=admins,
                topic=ALERT_TOPIC,
                org_id=peer.org_id,
                subject=f"Federation peer {peer.name} has been failing for {minutes} minutes",
                body=(
                    f"Signalfire could not sync with the peer {peer.name} ({peer.api_root_url}) since "
                    f"{peer.failing_since:%Y-%m-%d %H:%M} UTC.\n\nLast error: {(peer.last_error or '')[:1000]}\n\n"
                    "Items queued for it are kept and retried; see Federation > the peer for the dead-letter "
                    "list and the events."
                ),
                dedupe_key=f"{ALERT_TOPIC}:{peer.id}:{peer.failing_since.isoformat()}",
            )
        sent += 1
    return sent

"""What an actor may read in the intake channel, as SQL.

Signals, clusters, decisions and sources belong to the receiving org and are read by its members with
intake:signal:read. A downstream reporter reads only the receipt view of reports their own org sent
(``submitted_reports``), never the receiving org's triage data.
"""

from __future__ import annotations

from sqlalchemy import Select, select

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import nothing
from signalfire.intake.models import AlertSource, Cluster, Decision, Feed, IntakeSettings, MatchSuggestion, Signal


def readable_signals(actor: Actor) -> Select[Signal]:
    stmt = select(Signal).where(Signal.org_id == actor.org_id)
    return stmt if actor.can(Permission.intake_signal_read) else nothing(stmt)


def readable_clusters(actor: Actor) -> Select[Cluster]:
    stmt = select(Cluster).where(Cluster.org_id == actor.org_id)
    return stmt if actor.can(Permission.intake_signal_read) else nothing(stmt)


def readable_decisions(actor: Actor) -> Select[Decision]:
    stmt = select(Decision).where(Decision.org_id == actor.org_id)
    return stmt if actor.can(Permission.intake_signal_read) else nothing(stmt)


def readable_match_suggestions(actor: Actor) -> Select[MatchSuggestion]:
    stmt = select(MatchSuggestion).where(MatchSuggestion.org_id == actor.org_id)
    return stmt if actor.can(Permission.intake_signal_read) else nothing(stmt)


def readable_feeds(actor: Actor) -> Select[Feed]:
    stmt = select(Feed).where(Feed.org_id == actor.org_id)
    return stmt if actor.can(Permission.intake_signal_read) else nothing(stmt)


def readable_alert_sources(actor: Actor) -> Select[AlertSource]:
    stmt = select(AlertSource).where(AlertSource.org_id == actor.org_id)
    return stmt if actor.can(Permission.intake_signal_read) else nothing(stmt)


def readable_intake_settings(actor: Actor) -> Select[IntakeSettings]:
    stmt = select(IntakeSettings).where(IntakeSettings.org_id == actor.org_id)
    return stmt if actor.can(Permission.intake_signal_read) else nothing(stmt)


def submitted_reports(actor: Actor) -> Select[Signal]:
    """Reports the actor's org sent to other orgs through the downstream API (for their receipts)."""
    return select(Signal).where(Signal.submitter_org_id == actor.org_id)

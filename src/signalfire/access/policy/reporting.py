"""Who may read what in the reporting channel, as SQL.

* The reporting org's members with ``reporting:obligation:read`` see its clock events, assessments,
  obligations, reports (drafts and versions), legal holds and retention state, and every thread on its
  reports. Other orgs see none of it.
* An authority org sees only the report versions delivered to it (``reporting_delivery``), and on each
  report only its own thread with the sender: never drafts, assessments, obligations, another
  authority's deliveries or threads, nor anything from the exchange (that is the exchange policy's
  business; nothing here reads exchange tables).
* Recipient bindings (which authority org receives what a regime addresses) are deployment
  configuration, readable by every signed-in user so a reporter can see where a report will go.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, select

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind
from signalfire.access.permissions import Permission
from signalfire.access.policy import nothing
from signalfire.reporting.models import (
    Assessment,
    Case,
    Delivery,
    LegalHold,
    Message,
    Obligation,
    RecipientBinding,
    RecordedClockEvent,
    Report,
    ReportVersion,
)


def _reporting_org(actor: Actor) -> bool:
    """The actor reads its own org's reporting records (authorities never have any)."""
    return actor.org_kind is not OrgKind.authority and actor.can(Permission.reporting_obligation_read)


def _inbox_reader(actor: Actor) -> bool:
    return actor.org_kind is OrgKind.authority and actor.can(Permission.reporting_inbox_read)


def readable_clock_events(actor: Actor) -> Select[RecordedClockEvent]:
    stmt = select(RecordedClockEvent)
    return stmt.where(RecordedClockEvent.org_id == actor.org_id) if _reporting_org(actor) else nothing(stmt)


def readable_assessments(actor: Actor) -> Select[Assessment]:
    stmt = select(Assessment)
    return stmt.where(Assessment.org_id == actor.org_id) if _reporting_org(actor) else nothing(stmt)


def readable_obligations(actor: Actor) -> Select[Obligation]:
    stmt = select(Obligation)
    return stmt.where(Obligation.org_id == actor.org_id) if _reporting_org(actor) else nothing(stmt)


def readable_reports(actor: Actor) -> Select[Report]:
    """The reporting org's reports, drafts included. Authorities read reports through deliveries."""
    stmt = select(Report)
    return stmt.where(Report.org_id == actor.org_id) if _reporting_org(actor) else nothing(stmt)


def readable_report_versions(actor: Actor) -> Select[ReportVersion]:
    """Submitted versions: the sender's, or those delivered to the actor's authority org."""
    stmt = select(ReportVersion)
    if _reporting_org(actor):
        return stmt.where(ReportVersion.org_id == actor.org_id)
    if _inbox_reader(actor):
        delivered = select(Delivery.report_version_id).where(Delivery.authority_org_id == actor.org_id)
        return stmt.where(ReportVersion.id.in_(delivered))
    return nothing(stmt)


def readable_deliveries(actor: Actor) -> Select[Delivery]:
    """The sender sees where its reports went; an authority sees what was addressed to it."""
    stmt = select(Delivery)
    if _reporting_org(actor):
        return stmt.where(Delivery.org_id == actor.org_id)
    if _inbox_reader(actor):
        return stmt.where(Delivery.authority_org_id == actor.org_id)
    return nothing(stmt)


def message_predicate(actor: Actor) -> ColumnElement[bool]:
    if _reporting_org(actor):
        return Message.org_id == actor.org_id
    if _inbox_reader(actor):
        return Message.authority_org_id == actor.org_id
    return false()


def readable_messages(actor: Actor) -> Select[Message]:
    """A thread is visible to the reporting org and to the one authority org it is with."""
    return select(Message).where(message_predicate(actor))


def readable_legal_holds(actor: Actor) -> Select[LegalHold]:
    stmt = select(LegalHold)
    return stmt.where(LegalHold.org_id == actor.org_id) if _reporting_org(actor) else nothing(stmt)


def readable_cases(actor: Actor) -> Select[Case]:
    stmt = select(Case)
    return stmt.where(Case.org_id == actor.org_id) if _reporting_org(actor) else nothing(stmt)


def readable_bindings(actor: Actor) -> Select[RecipientBinding]:
    return select(RecipientBinding)

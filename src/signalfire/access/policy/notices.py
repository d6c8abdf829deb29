"""Who may read capability-threshold notices, as SQL.

Notices are the org's own outward duty, like its reports: members of the owning org with
``reporting:obligation:read`` see its thresholds, evaluation results and notices; nobody else does
(the government body receives the notice by its channel, not by reading these rows).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from signalfire.access.actor import Actor
from signalfire.access.models import OrgKind
from signalfire.access.permissions import Permission
from signalfire.access.policy import nothing
from signalfire.notices.models import Evaluation, Notice, Threshold


def _own(actor: Actor, stmt: Select[Any], org_column: Any) -> Select[Any]:
    if actor.org_kind is OrgKind.authority or not actor.can(Permission.reporting_obligation_read):
        return nothing(stmt)
    return stmt.where(org_column == actor.org_id)


def readable_thresholds(actor: Actor) -> Select[Threshold]:
    return _own(actor, select(Threshold), Threshold.org_id)


def readable_evaluations(actor: Actor) -> Select[Evaluation]:
    return _own(actor, select(Evaluation), Evaluation.org_id)


def readable_notices(actor: Actor) -> Select[Notice]:
    return _own(actor, select(Notice), Notice.org_id)

"""Purpose travels: reads served over TAXII to another Signalfire instance, logged with its reader.

A Signalfire peer reads with its account here (an API token of a user in the org it is registered as)
and sends the covered use in ``X-Signalfire-Purpose`` (which the TAXII server already requires and logs
per item, see ``exchange.taxii.store.log_reads``) and who asked at the reading instance in
``X-Signalfire-Reader``. This module keeps that reader beside each read-log row, so the contributor's
access log names the instance's account *and* the person there, with the declared purpose.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.audit.chain import record
from signalfire.core.schemas import text_problem
from signalfire.exchange.models import ExchangeItem, ReadChannel, ReadLog
from signalfire.exchange.vocab import CoveredUse
from signalfire.federation.models import RemoteRead

READER_HEADER = "x-signalfire-reader"
MAX_READER = 300


class BadReader(ValueError):
    pass


def clean_reader(raw: str | None) -> str | None:
    """The declared remote reader, or None; text that cannot be stored or shown is refused (400)."""
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    problem = text_problem(value)
    if problem or any(ord(ch) < 32 for ch in value):
        raise BadReader(f"X-Signalfire-Reader {problem or 'must not contain control characters'}")
    return value[:MAX_READER]


def log_remote_reads(
    session: Session, actor: Actor, purpose: CoveredUse, reader: str | None, item_ids: Sequence[uuid.UUID | None]
) -> int:
    """Attach the remote reader to the read-log rows this request just wrote (other orgs' items only)."""
    if reader is None:
        return 0
    wanted = {i for i in item_ids if i is not None}
    if not wanted:
        return 0
    others = set(
        session.execute(
            select(ExchangeItem.id).where(ExchangeItem.id.in_(wanted), ExchangeItem.org_id != actor.org_id)
        ).scalars()
    )
    if not others:
        return 0
    latest: dict[uuid.UUID, ReadLog] = {}
    rows = session.execute(
        select(ReadLog)
        .where(
            ReadLog.item_id.in_(others),
            ReadLog.user_id == actor.user_id,
            ReadLog.org_id == actor.org_id,
            ReadLog.channel == ReadChannel.TAXII,
        )
        .order_by(ReadLog.read_at.desc())
    ).scalars()
    for row in rows:
        latest.setdefault(row.item_id, row)
    for item_id, row in latest.items():
        session.add(
            RemoteRead(
                item_id=item_id,
                read_log_id=row.id,
                org_id=actor.org_id,
                token_id=actor.token_id,
                reader=reader,
                purpose=purpose,
                read_at=row.read_at,
            )
        )
    record(
        session,
        action="federation.remote_read",
        target_type="exchange_item",
        target_id=None,
        actor=actor,
        summary={"reader": reader, "purpose": purpose.value, "items": sorted(str(i) for i in latest)},
    )
    return len(latest)


def remote_readers(session: Session, read_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """For read-log rows already read through the policy: the remote reader each one carried, if any."""
    if not read_ids:
        return {}
    found = session.execute(
        select(RemoteRead.read_log_id, RemoteRead.reader).where(RemoteRead.read_log_id.in_(list(read_ids)))
    ).all()
    return {rid: reader for rid, reader in found if rid is not None}

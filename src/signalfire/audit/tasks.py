"""The audit log's periodic job: ask the witnesses to cosign the latest checkpoint."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from sqlalchemy.orm import Session

from signalfire.audit.witness import request_cosignatures
from signalfire.core.settings import get_settings
from signalfire.notify.registry import periodic


@periodic("audit.witness_cosign", every=timedelta(minutes=1))
def witness_cosign(session: Session, now: datetime) -> None:
    # lint: allow-network-in-transaction bounded by the witness timeout; staging these POSTs is open work
    with httpx.Client(timeout=get_settings().audit.witness_timeout_seconds) as http:
        request_cosignatures(session, http)

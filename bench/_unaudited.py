"""The app with its audit log switched off, for the benchmark's comparison only (never in production).

`record` is replaced before any domain module imports it, so every call site gets the no-op."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

import signalfire.audit.chain as chain
from signalfire.audit.models import AuditEvent


def _no_record(session: Any, **kw: Any) -> AuditEvent:
    return AuditEvent(action=kw.get("action", ""), target_type=kw.get("target_type", ""))


chain.record = _no_record  # type: ignore[assignment]


def create_app() -> FastAPI:
    from signalfire.web.app import create_app as real

    return real()

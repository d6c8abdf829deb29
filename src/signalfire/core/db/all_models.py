"""Import every models module so Base.metadata is complete (Alembic, tests, `db check`)."""

from __future__ import annotations

import importlib

from signalfire.core.db.base import Base

MODEL_MODULES = (
    "signalfire.access.models",
    "signalfire.audit.models",
    "signalfire.notify.models",
    "signalfire.core.web.ratelimit",
    "signalfire.core.web.idempotency",
    "signalfire.response.models",
    "signalfire.reporting.models",
    "signalfire.exchange.models",
    "signalfire.exchange.taxii_models",
    "signalfire.intake.models",
    "signalfire.readiness.models",
)


def load() -> type[Base]:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return Base


load()

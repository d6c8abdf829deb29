"""Import every models module so Base.metadata is complete (Alembic, tests, `db check`)."""

from __future__ import annotations

from signalfire.core.db.base import Base
from signalfire.core.modules import import_listed

MODEL_MODULES = (
    "signalfire.access.models",
    "signalfire.audit.models",
    "signalfire.notify.models",
    "signalfire.core.web.ratelimit",
    "signalfire.core.web.idempotency",
    "signalfire.response.models",
    "signalfire.reporting.models",
    "signalfire.exchange.models",
    "signalfire.exchange.moderation.models",
    "signalfire.exchange.taxii.models",
    "signalfire.exchange.sanitise.models",
    "signalfire.exchange.correlation.models",
    "signalfire.exchange.stix.models",
    "signalfire.intake.models",
    "signalfire.readiness.models",
    "signalfire.transparency.models",
    "signalfire.notices.models",
    "signalfire.federation.models",
)


def load() -> type[Base]:
    import_listed(MODEL_MODULES, registry="core.db.all_models.MODEL_MODULES")
    return Base


load()

"""The ASGI application: one FastAPI app serving the UI, the JSON API (/api/v1) and TAXII (/taxii2/)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from signalfire.access import deps as access_deps
from signalfire.audit.reads import audit_detail_reads
from signalfire.core.db.session import engine_for, session_factory
from signalfire.core.modules import import_listed
from signalfire.core.settings import Settings, get_settings
from signalfire.core.web import handlers
from signalfire.core.web.deps import register_principal_resolver
from signalfire.core.web.input_guard import InputGuardMiddleware
from signalfire.core.web.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware
from signalfire.intake.schemas import MAX_ATTACHMENTS

log = logging.getLogger("signalfire")
STATIC = Path(__file__).resolve().parent / "static"
# Each module exposes `routers`: a list of APIRouters (pages, API, public endpoints). No two modules' paths
# overlap (tests/foundation/test_route_order.py), so the order decides nothing but how soon a request finds
# its route: FastAPI tries routes one by one (16 % of the server's CPU at the intake door when intake came
# thirteenth), so the endpoints machines call at volume come first: intake's reports and alert webhooks, TAXII.
ROUTE_MODULES = (
    "signalfire.intake.routes",
    "signalfire.exchange.taxii.routes",
    "signalfire.web.routes",
    "signalfire.access.routes",
    "signalfire.audit.routes",
    "signalfire.response.routes",
    "signalfire.reporting.routes",
    "signalfire.exchange.routes",
    "signalfire.exchange.moderation.routes",
    "signalfire.exchange.sanitise.routes",
    "signalfire.exchange.antitrust.routes",
    "signalfire.exchange.correlation.routes",
    "signalfire.exchange.stix.pages",
    "signalfire.readiness.routes",
    "signalfire.mywork.routes",
    "signalfire.transparency.routes",
    "signalfire.notices.routes",
    "signalfire.federation.routes",
)
API_TAGS = [
    {"name": "access", "description": "Who you are, your organisation's members and your API tokens."},
    {"name": "response", "description": "Incidents, roles, timelines, actions, rosters, playbooks, reviews."},
    {"name": "reporting", "description": "Regimes, reportability, obligations and reports to authorities."},
    {"name": "exchange", "description": "Shared items under TLP 2.0 with declared covered uses."},
    {"name": "intake", "description": "Signals from public channels, alerts and feeds; triage."},
    {"name": "notices", "description": "Capability-threshold notices to government bodies (not incident reports)."},
    {"name": "federation", "description": "Peers: other Signalfire instances and TAXII 2.1 servers; push and pull."},
    {"name": "readiness", "description": "Scorecards computed from an organisation's own records."},
    {
        "name": "transparency",
        "description": "Transparency reports: figures computed from the records, signed off, published as editions.",
    },
]


def _start_embedded_worker(app: FastAPI, settings: Settings) -> list[tuple[threading.Event, threading.Thread]]:
    """The outbox worker and the audit sequencer, each on its own thread."""
    from signalfire.audit.sequencer import start_thread
    from signalfire.notify.runtime import build_worker

    worker = build_worker(app.state.session_factory, settings)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), name="signalfire-worker", daemon=True)
    thread.start()
    return [(stop, thread), start_thread(app.state.session_factory, settings)]


def create_app(
    settings: Settings | None = None, factory: sessionmaker[Session] | None = None, *, run_worker: bool | None = None
) -> FastAPI:
    settings = settings or get_settings()
    run_worker = settings.embedded_worker if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threads = _start_embedded_worker(app, settings) if run_worker else []
        yield
        if threads:
            from signalfire.notify.wakeup import wake_workers

            for stop, _ in threads:
                stop.set()
            wake_workers()
            for _, thread in threads:
                thread.join(timeout=10)

    app = FastAPI(
        title="Signalfire API",
        version="1",
        description="Information sharing, incident reporting and incident response for frontier AI, kept apart.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        openapi_tags=API_TAGS,
        lifespan=lifespan,
        # Reads of record details are audited for every caller (the list and its exemptions: audit/reads.py).
        dependencies=[Depends(audit_detail_reads, scope="function")],
    )
    app.state.settings = settings
    app.state.session_factory = factory or session_factory(engine_for(settings.database_url))
    # The access package resolves tokens and session cookies into actors (core/web/deps knows only the protocol).
    register_principal_resolver(app, access_deps.RESOLVER)
    handlers.install(app)
    limits = settings.limits
    # A public report may carry MAX_ATTACHMENTS files of max_attachment_bytes each (base64 in JSON adds a
    # third): its paths take that on top of the ordinary limit, so the attachment setting is the real cap.
    report_limit = limits.max_body_bytes + MAX_ATTACHMENTS * limits.max_attachment_bytes * 4 // 3
    app.add_middleware(InputGuardMiddleware)  # inside the body limit, which bounds what it reads
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=limits.max_body_bytes,
        overrides={
            "/taxii2/": 100 * 1024 * 1024,
            "/api/v1/exchange/import": 100 * 1024 * 1024,
            "/exchange/import": 20 * 1024 * 1024,  # exchange.stix.pages.UI_BODY_LIMIT
            "/report/": report_limit,
            "/api/v1/intake/reports": report_limit,
        },
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for module in import_listed(ROUTE_MODULES, registry="web.app.ROUTE_MODULES"):
        for router in module.routers:
            app.include_router(router)
    return app

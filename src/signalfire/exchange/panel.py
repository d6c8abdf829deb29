"""The exchange section of an incident's workspace: items the org drafted or shared from the incident.

Loaded by the response incident page by URL (response does not import the exchange). The incident link
on an item (``source_incident_id``) is internal to its contributor: the list is the org's own items,
through the exchange policy, so no other org ever learns which incident an item came from. Drafting a
lesson from the incident stays an explicit act on the exchange's own page.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from signalfire.access.deps import ActorDep
from signalfire.access.policy.exchange import readable_items
from signalfire.access.policy.response import readable_incidents
from signalfire.core.errors import NotFound
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.templating import render
from signalfire.exchange import queries
from signalfire.exchange.models import ExchangeItem
from signalfire.response.models import Incident

panel = protected_router(prefix="/exchange", include_in_schema=False)


@panel.get("/incidents/{incident_id}/panel", response_class=HTMLResponse)
def incident_panel(incident_id: uuid.UUID, request: Request, session: SessionDep, actor: ActorDep) -> Response:
    own = readable_incidents(actor).where(Incident.id == incident_id, Incident.org_id == actor.org_id)
    incident = session.execute(own).scalars().first()
    if incident is None:
        raise NotFound("No such incident.")
    items = list(
        session.execute(
            readable_items(actor)
            .where(ExchangeItem.source_incident_id == incident.id, ExchangeItem.org_id == actor.org_id)
            .order_by(ExchangeItem.created_at)
        ).scalars()
    )
    # The lesson link opens the form on this incident's review, not on whichever closed review is newest.
    review = next((r for r, _ in queries.closed_reviews(session, actor, incident.id)), None)
    return render(request, "exchange/_incident_panel.html", {"incident": incident, "items": items, "review": review})

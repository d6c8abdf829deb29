"""The reporting section of an incident's workspace: a fragment the response incident page loads.

Response never imports reporting; its page asks for this fragment by URL, so the channels stay apart in
code and data and the firewall stays visible: what reporting shows here comes through reporting's own
policy (an external participant or a role without reporting access gets a 404 and sees nothing), and
the one cross-channel move it offers, assessing reportability, is an explicit button.
"""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from signalfire.access.deps import ActorDep
from signalfire.core.clock import utcnow
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.templating import render
from signalfire.reporting import assessments, inbox, obligations, prompts
from signalfire.reporting.facts import get_incident
from signalfire.reporting.rules import catalog
from signalfire.reporting.rules.clock_events import label as clock_label

panel = protected_router(prefix="/reporting", include_in_schema=False)


@panel.get("/incidents/{incident_id}/panel", response_class=HTMLResponse)
def incident_panel(incident_id: uuid.UUID, request: Request, session: SessionDep, actor: ActorDep) -> Response:
    incident = get_incident(session, actor, incident_id)
    rows = [o for o in obligations.incident_obligations(session, actor, incident.id) if o.is_open]
    questions = [q for q in inbox.unanswered_questions(session, actor) if q.incident_id == incident.id]
    current = [a for a in assessments.history(session, actor, incident.id) if a.is_current]
    titles = {o.regime_id: catalog.get(o.regime_id, o.regime_version).title.split(":")[0] for o in rows}
    return render(
        request,
        "reporting/_incident_panel.html",
        {
            "incident": incident,
            "rows": rows,
            "titles": titles,
            "stage_label": lambda o: catalog.stage_label(catalog.get(o.regime_id, o.regime_version), o.stage),
            "event_label": clock_label,
            "questions": questions,
            "assessed": current,
            "unassessed": prompts.is_unassessed(session, incident),
            "now": utcnow(),
        },
    )

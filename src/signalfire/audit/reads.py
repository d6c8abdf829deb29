"""What is audited, in one place.

Every change is audited by the service that makes it (`audit.chain.record` in the same transaction).
Every read of a record's detail is audited for every caller, the owning org included, unless it is
listed in EXEMPT with the reason it is not sensitive. `tests/audit/test_audited_reads.py` walks the app's
routes and fails for a detail route (a GET with a path parameter) that is in neither list, and calls each
audited route to see the entry appear.

The reads are recorded here, by one app-wide dependency, rather than in each domain's routes: after the
endpoint has returned (a 404 rolls the request back, entry and all), in the request's transaction, unless
the service already wrote a more specific entry for this request (e.g. `exchange.item.read` with the
reader's declared use). Audit-view reads are recorded by their routes (`audit.log.read`, `audit.entry.proof`).
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request

from signalfire.access.actor import Actor
from signalfire.audit.chain import AUDITED_KEY, record
from signalfire.core.web.deps import SessionDep

# Detail routes whose reads are recorded, with the kind of record they show.
AUDITED: dict[str, str] = {
    "/api/v1/audit/entries/{entry_id}/proof": "audit_event",
    "/api/v1/exchange/items/{item_id}": "exchange_item",
    "/api/v1/exchange/items/{item_id}/attachments/{attachment_id}": "exchange_attachment",
    "/api/v1/exchange/items/{item_id}/details": "exchange_item",
    "/api/v1/exchange/items/{item_id}/reads": "exchange_item_access_log",
    "/api/v1/exchange/items/{item_id}/related": "exchange_item_related",
    "/api/v1/exchange/items/{item_id}/revisions": "exchange_item",
    "/api/v1/exchange/items/{item_id}/sanitisation": "exchange_item",
    "/api/v1/exchange/moderation/items/{item_id}": "exchange_item_moderation",
    "/exchange/items/{item_id}": "exchange_item",
    "/exchange/items/{item_id}/access-log": "exchange_item_access_log",
    "/exchange/items/{item_id}/attachments/{attachment_id}": "exchange_attachment",
    "/exchange/items/{item_id}/details": "exchange_item",
    "/exchange/items/{item_id}/edit": "exchange_item",
    "/exchange/items/{item_id}/sanitisation": "exchange_item",
    "/exchange/moderation/items/{item_id}": "exchange_item",
    "/exchange/incidents/{incident_id}/panel": "incident",
    "/federation/{peer_id}": "federation_peer",
    "/api/v1/federation/peers/{peer_id}": "federation_peer",
    "/api/v1/federation/peers/{peer_id}/ledger": "federation_peer_ledger",
    "/api/v1/federation/peers/{peer_id}/events": "federation_peer_events",
    "/api/v1/federation/peers/{peer_id}/pulled": "federation_peer_provenance",
    "/taxii2/exchange/collections/{collection_id}/objects/": "taxii_collection_objects",
    "/taxii2/exchange/collections/{collection_id}/objects/{object_id}/": "taxii_object",
    "/api/v1/intake/clusters/{cluster_id}": "intake_cluster",
    "/api/v1/intake/reports/{reference}": "intake_signal",
    "/api/v1/intake/signals/{signal_id}": "intake_signal",
    "/api/v1/intake/signals/{signal_id}/match": "intake_signal",
    "/api/v1/intake/signals/{signal_id}/messages": "intake_signal",
    "/intake/clusters/{cluster_id}": "intake_cluster",
    "/intake/signals/{signal_id}": "intake_signal",
    "/intake/signals/{signal_id}/attachments/{attachment_id}": "intake_attachment",
    "/api/v1/reporting/inbox/{delivery_id}": "reporting_delivery",
    "/api/v1/reporting/incidents/{incident_id}": "reporting_incident",
    "/api/v1/reporting/incidents/{incident_id}/assessments": "reporting_assessment",
    "/api/v1/reporting/incidents/{incident_id}/events": "reporting_incident",
    "/api/v1/reporting/incidents/{incident_id}/questionnaire/{regime_id}": "reporting_assessment",
    "/api/v1/reporting/obligations/{obligation_id}": "reporting_obligation",
    "/api/v1/reporting/reports/{report_id}": "reporting_report",
    "/api/v1/reporting/reports/{report_id}/versions/{number}": "reporting_report_version",
    "/reporting/inbox/{delivery_id}": "reporting_delivery",
    "/reporting/inbox/{delivery_id}/document": "reporting_delivery",
    "/reporting/incidents/{incident_id}": "reporting_incident",
    "/reporting/incidents/{incident_id}/assess/{regime_id}": "reporting_assessment",
    "/reporting/incidents/{incident_id}/panel": "reporting_incident",
    "/reporting/reports/{report_id}": "reporting_report",
    "/reporting/reports/{report_id}/versions/{number}": "reporting_report_version",
    "/api/v1/response/incidents/{incident_id}": "incident",
    "/api/v1/response/incidents/{incident_id}/actions": "incident",
    "/api/v1/response/incidents/{incident_id}/participants": "incident",
    "/api/v1/response/incidents/{incident_id}/review": "incident_review",
    "/api/v1/response/incidents/{incident_id}/tasks": "incident",
    "/api/v1/response/incidents/{incident_id}/timeline": "incident",
    "/response/incidents/{incident_id}": "incident",
    "/response/incidents/{incident_id}/review": "incident_review",
    "/api/v1/transparency/reports/{report_id}": "transparency_report",
    "/transparency/reports/{report_id}": "transparency_report",
    "/transparency/reports/{report_id}/edit": "transparency_report",
    "/api/v1/transparency/editions/{edition_id}/records/{kind}": "transparency_edition_records",
    "/transparency/editions/{edition_id}/records/{kind}": "transparency_edition_records",
    "/api/v1/notices/{notice_id}": "notice_notice",
    "/notices/{notice_id}": "notice_notice",
}

# Detail routes that are not audited, and why.
EXEMPT: dict[str, str] = {
    "/api/v1/audit/consistency/{old}/{new}": "hashes of the public tree only, no entry content",
    "/api/v1/readiness/published/{snapshot_id}": "a readiness snapshot its org chose to publish",
    "/readiness/published/{snapshot_id}": "a readiness snapshot its org chose to publish",
    "/api/v1/reporting/regimes/{regime_id}": "a regulatory regime definition (public law), not a record",
    "/reporting/regimes/{regime_id}": "a regulatory regime definition (public law), not a record",
    "/api/v1/response/rosters/{roster_id}/coverage": "on-call coverage gaps of the caller's own org, no incident",
    "/response/rosters/{roster_id}": "the caller's own on-call schedule (changes to it are audited)",
    "/response/playbooks/{playbook_id}": "a response playbook template (changes to it are audited)",
    "/response/ack/{token}": "the acknowledgement page of a page; acknowledging is a change, audited",
    "/report/{org_slug}": "the public form to report to an org; shows no record",
    "/taxii2/exchange/collections/{collection_id}/": "collection metadata (title, permissions), no objects",
    "/taxii2/exchange/collections/{collection_id}/manifest/": "object ids and dates only, no content",
    "/taxii2/exchange/collections/{collection_id}/objects/{object_id}/versions/": "version dates only",
    "/api/v1/exchange/imports/{job_id}": "progress and outcome of one of the org's STIX imports, as a TAXII status",
    "/exchange/import/jobs/{job_id}": "progress and outcome of one of the org's STIX imports, as a TAXII status",
    "/taxii2/exchange/status/{status_id}": "the status of the caller's own upload",
    "/taxii2/exchange/status/{status_id}/": "the status of the caller's own upload",
    "/taxii2/{rest:path}": "answers 404 for TAXII paths that do not exist",
    "/public/transparency/{org_slug}": "the list of an org's published transparency reports, public by publication",
    "/public/transparency/{org_slug}/{slug}": "a published transparency edition, public by publication",
    "/public/transparency/{org_slug}/{slug}/editions/{number}": "a published transparency edition, public",
    "/public/transparency/{org_slug}/{slug}/editions/{number}/print": "a published transparency edition, public",
    "/api/v1/public/transparency/{org_slug}/{slug}": "a published transparency edition, public by publication",
    "/api/v1/public/transparency/{org_slug}/{slug}/editions/{number}": "a published transparency edition, public",
}


def audit_detail_reads(request: Request, session: SessionDep) -> Iterator[None]:
    """App-wide, function-scoped: runs after the endpoint and before the request's commit. The reader is
    whoever the route's own authentication resolved (cookie, Bearer or TAXII Basic), read afterwards so
    this dependency never decides authentication itself."""
    yield
    if request.method != "GET":
        return
    path = getattr(request.scope.get("route"), "path", None)
    target_type = AUDITED.get(path or "")
    if target_type is None or session.info.get(AUDITED_KEY):
        return
    actor: Actor | None = getattr(request.state, "actor", None)
    params = request.path_params
    target = str(list(params.values())[-1]) if params else None
    record(
        session,
        action=f"{target_type}.read",
        target_type=target_type,
        target_id=target[:64] if target else None,
        summary={"route": path, "params": {k: str(v)[:200] for k, v in params.items()}},
        actor=actor,
    )

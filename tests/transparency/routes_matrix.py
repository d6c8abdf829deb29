"""Access-matrix cases for transparency reports.

The owning org is a frontier developer. Every role reads its drafts and the records behind published
figures; reporters and admins write; admins sign off and publish, never their own report (the setup writes
reports as a separate author so that every admin of the matrix is a second person). Drafts, their details
and the records behind figures are 404 for other orgs; published editions are public to everyone.
"""

from __future__ import annotations

from typing import Any

from signalfire.access.permissions import Permission as P
from signalfire.access.policy.transparency import public_editions
from signalfire.transparency import service
from signalfire.transparency.models import TransparencyEdition
from signalfire.transparency.schemas import SignOffIn
from tests.matrix import ALLOWED, MatrixContext, RouteCase
from tests.transparency import helpers

API = "/api/v1/transparency"
PUB = "/public/transparency"
READ, WRITE, SIGNOFF = P.transparency_report_read, P.transparency_report_write, P.transparency_report_signoff
EVERYONE = {s: ALLOWED for s in ("anonymous", "other_org")}


def _author(ctx: MatrixContext) -> Any:
    return helpers.colleague(ctx.db, ctx.admin)


def _draft(ctx: MatrixContext) -> dict[str, Any]:
    return {"report_id": helpers.draft(ctx.db, _author(ctx)).id}


def _signed(ctx: MatrixContext) -> dict[str, Any]:
    report = helpers.draft(ctx.db, _author(ctx))
    # Signed off by yet another admin, so that the subject (who may be the matrix admin) publishes.
    service.sign_off(ctx.db, helpers.colleague(ctx.db, ctx.admin), report.id, SignOffIn())
    return {"report_id": report.id}


def _published(ctx: MatrixContext) -> dict[str, Any]:
    report, edition, _ = helpers.published(ctx.db, _author(ctx))
    row = ctx.db.execute(public_editions().where(TransparencyEdition.id == edition.id)).one()
    return {"edition_id": edition.id, "org_slug": row[1].slug, "slug": report.slug, "number": 1}


def _form(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    d = helpers.definition()
    return {
        "title": d["title"],
        "period_start": d["period_start"],
        "period_end": d["period_end"],
        "threshold": "3",
        "s0_heading": "Incidents",
        "s0_metrics": ["incidents_by_severity"],
    }


CASES = [
    RouteCase("GET", "/transparency", READ),
    RouteCase("GET", "/transparency/new", WRITE),
    RouteCase("POST", "/transparency", WRITE, form=lambda c, p: {**_form(c, p), "slug": "matrix-form"}),
    RouteCase("GET", "/transparency/reports/{report_id}", READ, owned=True, denied=404, setup=_draft),
    RouteCase("GET", "/transparency/reports/{report_id}/edit", WRITE, owned=True, setup=_draft),
    RouteCase("POST", "/transparency/reports/{report_id}", WRITE, owned=True, setup=_draft, form=_form),
    RouteCase(
        "POST", "/transparency/reports/{report_id}/signoff", SIGNOFF, owned=True, setup=_draft, form=lambda c, p: {}
    ),
    RouteCase("POST", "/transparency/reports/{report_id}/publish", SIGNOFF, owned=True, setup=_signed),
    RouteCase(
        "GET",
        "/transparency/editions/{edition_id}/records/{kind}",
        READ,
        owned=True,
        denied=404,
        setup=lambda c: {**_published(c), "kind": "incidents_by_severity"},
    ),
    RouteCase("GET", f"{API}/metrics"),
    RouteCase("GET", f"{API}/reports", READ, denied=200),
    RouteCase("POST", f"{API}/reports", WRITE, json=lambda c, p: helpers.definition(slug="matrix-api")),
    RouteCase("GET", f"{API}/reports/{{report_id}}", READ, owned=True, denied=404, setup=_draft),
    RouteCase(
        "PUT", f"{API}/reports/{{report_id}}", WRITE, owned=True, setup=_draft, json=lambda c, p: helpers.definition()
    ),
    RouteCase("POST", f"{API}/reports/{{report_id}}/signoff", SIGNOFF, owned=True, setup=_draft, json=lambda c, p: {}),
    RouteCase("POST", f"{API}/reports/{{report_id}}/publish", SIGNOFF, owned=True, setup=_signed),
    RouteCase(
        "GET",
        f"{API}/editions/{{edition_id}}/records/{{kind}}",
        READ,
        owned=True,
        denied=404,
        setup=lambda c: {**_published(c), "kind": "signals_by_channel"},
    ),
    RouteCase("GET", f"{PUB}/{{org_slug}}", public=True, setup=_published),
    RouteCase("GET", f"{PUB}/{{org_slug}}/{{slug}}", public=True, setup=_published),
    RouteCase("GET", f"{PUB}/{{org_slug}}/{{slug}}/editions/{{number}}", public=True, setup=_published),
    RouteCase("GET", f"{PUB}/{{org_slug}}/{{slug}}/editions/{{number}}/print", public=True, setup=_published),
    RouteCase("GET", "/api/v1/public/transparency/{org_slug}/{slug}", public=True, setup=_published),
    RouteCase("GET", "/api/v1/public/transparency/{org_slug}/{slug}/editions/{number}", public=True, setup=_published),
]

"""Access-matrix cases for the foundation's routes (sign-in, admin, access API)."""

from __future__ import annotations

import uuid
from typing import Any

from signalfire.access.models import Role
from signalfire.access.permissions import Permission as P
from signalfire.notify.service import create_webhook
from tests import factories
from tests.matrix import MatrixContext, RouteCase


def _viewer_membership(ctx: MatrixContext) -> dict[str, Any]:
    return {"membership_id": factories.membership(ctx.db, ctx.actors[Role.viewer]).id}


def _admin_token(ctx: MatrixContext) -> dict[str, Any]:
    from signalfire.access.service import create_token

    return {"token_id": create_token(ctx.db, actor=ctx.admin, name="m", scopes=["*"], expires_in_days=5).token.id}


def _webhook(ctx: MatrixContext) -> dict[str, Any]:
    return {"webhook_id": create_webhook(ctx.db, actor=ctx.admin, url="http://127.0.0.1:9/h", events=["*"]).id}


def _new_email(ctx: MatrixContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"email": f"n-{uuid.uuid4().hex[:8]}@example.test", "role": "viewer"}


SIGNED_IN = {"other_org": 401, **{f"role:{r.value}": 401 for r in Role}}

CASES = [
    RouteCase("GET", "/healthz", public=True),
    RouteCase("GET", "/favicon.ico", public=True, expect={s: 301 for s in ("anonymous", "other_org", *SIGNED_IN)}),
    RouteCase("GET", "/login", public=True),
    # Anonymous has no CSRF cookie here: 403. Signed-in callers send their token but a wrong password: 401.
    RouteCase(
        "POST",
        "/login",
        public=True,
        form=lambda c, p: {"email": "x@example.test", "password": "wrong-pass"},
        expect={"anonymous": 403, **SIGNED_IN},
    ),
    RouteCase("POST", "/logout"),
    RouteCase("POST", "/switch-org", form=lambda c, p: {"org_id": str(c.org.id)}, expect={"other_org": 422}),
    RouteCase("GET", "/"),
    RouteCase("GET", "/tour"),
    RouteCase("GET", "/admin"),
    RouteCase("GET", "/admin/members", P.org_member_read),
    RouteCase("POST", "/admin/members", P.org_member_manage, form=_new_email),
    RouteCase(
        "POST",
        "/admin/members/{membership_id}/role",
        P.org_member_manage,
        owned=True,
        setup=_viewer_membership,
        form=lambda c, p: {"role": "analyst"},
    ),
    RouteCase(
        "POST", "/admin/members/{membership_id}/remove", P.org_member_manage, owned=True, setup=_viewer_membership
    ),
    RouteCase("GET", "/admin/tokens", P.org_token_manage),
    RouteCase("POST", "/admin/tokens", P.org_token_manage, form=lambda c, p: {"name": "t", "scopes": ["*"]}),
    RouteCase(
        "POST", "/admin/tokens/{token_id}/revoke", P.org_member_manage, owned=True, denied=404, setup=_admin_token
    ),
    RouteCase("GET", "/admin/webhooks"),
    RouteCase(
        "POST",
        "/admin/webhooks",
        P.org_webhook_manage,
        form=lambda c, p: {"url": "http://127.0.0.1:9/x", "events": "*"},
    ),
    RouteCase(
        "POST", "/admin/webhooks/{webhook_id}/delete", P.org_webhook_manage, owned=True, denied=404, setup=_webhook
    ),
    RouteCase("GET", "/admin/audit"),
    RouteCase("GET", "/api/v1/me"),
    RouteCase("GET", "/api/v1/members", P.org_member_read),
    RouteCase("POST", "/api/v1/members", P.org_member_manage, json=_new_email),
    RouteCase(
        "PATCH",
        "/api/v1/members/{membership_id}",
        P.org_member_manage,
        owned=True,
        setup=_viewer_membership,
        json=lambda c, p: {"role": "analyst"},
    ),
    RouteCase("DELETE", "/api/v1/members/{membership_id}", P.org_member_manage, owned=True, setup=_viewer_membership),
    RouteCase("GET", "/api/v1/tokens", P.org_token_manage),
    RouteCase("POST", "/api/v1/tokens", P.org_token_manage, json=lambda c, p: {"name": "t", "scopes": ["*"]}),
    RouteCase("DELETE", "/api/v1/tokens/{token_id}", P.org_member_manage, owned=True, denied=404, setup=_admin_token),
    RouteCase("GET", "/api/v1/webhooks"),
    RouteCase(
        "POST",
        "/api/v1/webhooks",
        P.org_webhook_manage,
        json=lambda c, p: {"url": "http://127.0.0.1:9/x", "events": ["*"]},
    ),
    RouteCase("DELETE", "/api/v1/webhooks/{webhook_id}", P.org_webhook_manage, owned=True, denied=404, setup=_webhook),
    RouteCase("GET", "/api/v1/audit"),
]

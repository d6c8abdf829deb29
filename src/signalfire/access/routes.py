"""Admin pages (members, tokens, webhooks) and the access API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Form, Query, Request, status
from fastapi.responses import Response

from signalfire.access import service
from signalfire.access.deps import ActorDep
from signalfire.access.models import ApiToken, Membership, Role
from signalfire.access.permissions import Permission
from signalfire.access.policy import readable_audit_events, readable_member_users
from signalfire.access.schemas import (
    MemberIn,
    MemberOut,
    MeOut,
    OrgOut,
    RoleIn,
    TokenCreatedOut,
    TokenIn,
    TokenOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
)
from signalfire.audit import service as audit_service
from signalfire.audit.chain import record
from signalfire.core.errors import ValidationFailed
from signalfire.core.schemas import SafeText
from signalfire.core.web.deps import SessionDep, protected_router
from signalfire.core.web.params import AuditSeq
from signalfire.core.web.templating import redirect, render
from signalfire.notify import service as webhooks
from signalfire.notify.models import WebhookEndpoint

pages = protected_router(include_in_schema=False)
api = protected_router(prefix="/api/v1", tags=["access"])


def _token_out(t: ApiToken) -> TokenOut:
    return TokenOut(
        id=t.id,
        name=t.name,
        prefix=t.prefix,
        scopes=t.scopes,
        created_at=t.created_at,
        expires_at=t.expires_at,
        revoked_at=t.revoked_at,
        last_used_at=t.last_used_at,
        user_id=t.user_id,
    )


# -- pages ---------------------------------------------------------------------------------------------


@pages.get("/admin")
def admin_home(request: Request) -> Response:
    return redirect(request, "/admin/members")


@pages.get("/admin/members")
def members_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    rows = session.execute(readable_member_users(actor).order_by("display_name")).all()
    return render(
        request,
        "admin/members.html",
        {"rows": rows, "roles": list(Role), "can_manage": actor.can(Permission.org_member_manage)},
    )


@pages.post("/admin/members")
def members_add(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    email: Annotated[SafeText, Form(max_length=254)],
    role: Annotated[Role, Form()],
    display_name: Annotated[SafeText, Form(max_length=200)] = "",
) -> Response:
    added = service.add_member_by_email(session, actor=actor, email=email, display_name=display_name, role=role)
    msg = f"Added {added.user.email} as {role}."
    if added.temporary_password:
        msg += f" One-time password: {added.temporary_password} (pass it on; it is not shown again)."
    return redirect(request, "/admin/members", flash=msg)


@pages.post("/admin/members/{membership_id}/role")
def members_role(
    request: Request, session: SessionDep, actor: ActorDep, membership_id: uuid.UUID, role: Annotated[Role, Form()]
) -> Response:
    service.change_role(session, actor=actor, membership_id=membership_id, role=role)
    return redirect(request, "/admin/members", flash="Role changed.")


@pages.post("/admin/members/{membership_id}/remove")
def members_remove(request: Request, session: SessionDep, actor: ActorDep, membership_id: uuid.UUID) -> Response:
    service.remove_member(session, actor=actor, membership_id=membership_id)
    return redirect(request, "/admin/members", flash="Member removed.")


@pages.get("/admin/tokens")
def tokens_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    tokens = service.list_tokens(session, actor=actor)
    scope_choices = [*sorted({p.value.split(":")[0] for p in actor.permissions}), "*"]
    return render(request, "admin/tokens.html", {"tokens": tokens, "scope_choices": scope_choices})


@pages.post("/admin/tokens")
def tokens_create(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    name: Annotated[SafeText, Form(max_length=100)],
    scopes: Annotated[list[SafeText], Form()],
    expires_in_days: Annotated[int, Form(ge=1, le=366)] = 90,
) -> Response:
    new = service.create_token(session, actor=actor, name=name, scopes=scopes, expires_in_days=expires_in_days)
    tokens = service.list_tokens(session, actor=actor)
    scope_choices = [*sorted({p.value.split(":")[0] for p in actor.permissions}), "*"]
    # Rendered directly (not redirected) so the secret is shown exactly once and never stored in a cookie.
    return render(
        request,
        "admin/tokens.html",
        {"tokens": tokens, "scope_choices": scope_choices, "new_secret": new.secret, "new_name": new.token.name},
        status_code=status.HTTP_201_CREATED,
    )


@pages.post("/admin/tokens/{token_id}/revoke")
def tokens_revoke(request: Request, session: SessionDep, actor: ActorDep, token_id: uuid.UUID) -> Response:
    service.revoke_token(session, actor=actor, token_id=token_id)
    return redirect(request, "/admin/tokens", flash="Token revoked.")


@pages.get("/admin/webhooks")
def webhooks_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    rows = session.execute(webhooks.readable_webhooks(actor).order_by(WebhookEndpoint.created_at)).scalars().all()
    return render(
        request, "admin/webhooks.html", {"rows": rows, "can_manage": actor.can(Permission.org_webhook_manage)}
    )


@pages.post("/admin/webhooks")
def webhooks_create(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    url: Annotated[SafeText, Form(max_length=2000)],
    events: Annotated[SafeText, Form(max_length=2000)] = "*",
) -> Response:
    if not url.startswith(("http://", "https://")):
        raise ValidationFailed.single("url", "must start with http:// or https://")
    ep = webhooks.create_webhook(
        session, actor=actor, url=url, events=[e.strip() for e in events.split(",") if e.strip()] or ["*"]
    )
    rows = session.execute(webhooks.readable_webhooks(actor).order_by(WebhookEndpoint.created_at)).scalars().all()
    return render(
        request,
        "admin/webhooks.html",
        {"rows": rows, "can_manage": True, "new_secret": ep.secret, "new_url": ep.url},
        status_code=status.HTTP_201_CREATED,
    )


@pages.post("/admin/webhooks/{webhook_id}/delete")
def webhooks_delete(request: Request, session: SessionDep, actor: ActorDep, webhook_id: uuid.UUID) -> Response:
    webhooks.delete_webhook(session, actor=actor, webhook_id=webhook_id)
    return redirect(request, "/admin/webhooks", flash="Webhook removed.")


@pages.get("/admin/audit")
def audit_page(request: Request, session: SessionDep, actor: ActorDep, before: AuditSeq = None) -> Response:
    from signalfire.audit.models import AuditEvent

    stmt = readable_audit_events(actor).order_by(AuditEvent.seq.desc()).limit(100)
    if before is not None:
        stmt = stmt.where(AuditEvent.seq < before)
    events = session.execute(stmt).scalars().all()
    record(session, action="audit.log.read", target_type="audit_log", actor=actor, summary={"count": len(events)})
    published = audit_service.latest_checkpoint(session) is not None
    return render(
        request,
        "admin/audit.html",
        {"events": events, "can_read": actor.can(Permission.audit_log_read), "checkpoint_published": published},
    )


# -- API -----------------------------------------------------------------------------------------------


@api.get("/me", response_model=MeOut)
def me(actor: ActorDep) -> MeOut:
    return MeOut(
        user_id=actor.user_id,
        email=actor.email,
        display_name=actor.display_name,
        org=OrgOut(id=actor.org_id, name=actor.org_name, kind=actor.org_kind, role=actor.role),
        permissions=sorted(p.value for p in actor.permissions),
        orgs=[OrgOut(id=o.org_id, name=o.name, kind=o.kind, role=o.role) for o in actor.orgs],
    )


@api.get("/members", response_model=list[MemberOut])
def list_members(session: SessionDep, actor: ActorDep) -> list[MemberOut]:
    rows = session.execute(readable_member_users(actor)).all()
    return [MemberOut(id=m.id, user_id=u.id, email=u.email, display_name=u.display_name, role=m.role) for m, u in rows]


@api.post("/members", response_model=MemberOut, status_code=201)
def api_add_member(body: MemberIn, session: SessionDep, actor: ActorDep) -> MemberOut:
    added = service.add_member_by_email(
        session, actor=actor, email=body.email, display_name=body.display_name, role=body.role
    )
    return MemberOut(
        id=added.membership.id,
        user_id=added.user.id,
        email=added.user.email,
        display_name=added.user.display_name,
        role=added.membership.role,
    )


@api.patch("/members/{membership_id}", response_model=MemberOut)
def api_change_role(membership_id: uuid.UUID, body: RoleIn, session: SessionDep, actor: ActorDep) -> MemberOut:
    m = service.change_role(session, actor=actor, membership_id=membership_id, role=body.role)
    rows = session.execute(readable_member_users(actor).where(Membership.id == m.id)).one()
    return MemberOut(id=m.id, user_id=rows[1].id, email=rows[1].email, display_name=rows[1].display_name, role=m.role)


@api.delete("/members/{membership_id}", status_code=204)
def api_remove_member(membership_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    service.remove_member(session, actor=actor, membership_id=membership_id)
    return Response(status_code=204)


@api.get("/tokens", response_model=list[TokenOut])
def api_tokens(session: SessionDep, actor: ActorDep) -> list[TokenOut]:
    return [_token_out(t) for t in service.list_tokens(session, actor=actor)]


@api.post("/tokens", response_model=TokenCreatedOut, status_code=201)
def api_create_token(body: TokenIn, session: SessionDep, actor: ActorDep) -> TokenCreatedOut:
    new = service.create_token(
        session, actor=actor, name=body.name, scopes=body.scopes, expires_in_days=body.expires_in_days
    )
    return TokenCreatedOut(token=new.secret, **_token_out(new.token).model_dump())


@api.delete("/tokens/{token_id}", status_code=204)
def api_revoke_token(token_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    service.revoke_token(session, actor=actor, token_id=token_id)
    return Response(status_code=204)


@api.get("/webhooks", response_model=list[WebhookOut])
def api_webhooks(session: SessionDep, actor: ActorDep) -> list[WebhookOut]:
    return [
        WebhookOut(id=w.id, url=w.url, events=w.events, active=w.active, created_at=w.created_at)
        for w in session.execute(webhooks.readable_webhooks(actor)).scalars()
    ]


@api.post("/webhooks", response_model=WebhookCreatedOut, status_code=201)
def api_create_webhook(body: WebhookIn, session: SessionDep, actor: ActorDep) -> WebhookCreatedOut:
    ep = webhooks.create_webhook(session, actor=actor, url=body.url, events=body.events)
    return WebhookCreatedOut(
        id=ep.id, url=ep.url, events=ep.events, active=ep.active, created_at=ep.created_at, secret=ep.secret
    )


@api.delete("/webhooks/{webhook_id}", status_code=204)
def api_delete_webhook(webhook_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    webhooks.delete_webhook(session, actor=actor, webhook_id=webhook_id)
    return Response(status_code=204)


@api.get("/audit")
def api_audit(
    session: SessionDep, actor: ActorDep, before: AuditSeq = None, limit: int = Query(default=100, ge=1, le=1000)
) -> list[dict[str, object]]:
    from signalfire.audit.models import AuditEvent

    stmt = readable_audit_events(actor).order_by(AuditEvent.seq.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AuditEvent.seq < before)
    events = session.execute(stmt).scalars().all()
    # Reading the audit log is itself audited (after the read, so the entry is not in its own page).
    record(session, action="audit.log.read", target_type="audit_log", actor=actor, summary={"count": len(events)})
    return [
        {
            "seq": e.seq,
            "id": str(e.id),
            "occurred_at": e.occurred_at.isoformat(),
            "actor": e.actor_label,
            "action": e.action,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "summary": e.summary,
            "leaf_index": e.leaf_index,
            "leaf_hash": e.leaf_hash,
        }
        for e in events
    ]


routers = [pages, api]

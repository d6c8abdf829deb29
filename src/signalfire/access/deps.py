"""The access package's side of the request dependencies: the typed actor for routes, permission checks,
and the resolver that core.web.deps calls to turn a token or session cookie into an Actor (registered on
the app at start, so the core never imports this package)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.orm import Session

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.access.policy import require
from signalfire.access.service import resolve_session, resolve_token
from signalfire.core.errors import Unauthorized
from signalfire.core.web.deps import OptionalPrincipalDep, Principal


class AccessResolver:
    """The PrincipalResolver of this deployment: API tokens and web sessions from access.service."""

    def from_token(self, session: Session, token: str) -> Principal | None:
        return resolve_token(session, token)

    def from_session_cookie(self, session: Session, cookie: str) -> Principal | None:
        return resolve_session(session, cookie)


RESOLVER = AccessResolver()


# No I/O in these: coroutines, so FastAPI runs them inline rather than in the thread pool (core.web.deps).
async def optional_actor(principal: OptionalPrincipalDep) -> Actor | None:
    if principal is not None and not isinstance(principal, Actor):
        raise TypeError(f"the registered resolver returned {type(principal).__name__}, not an access Actor")
    return principal


OptionalActorDep = Annotated[Actor | None, Depends(optional_actor)]


async def current_actor(actor: OptionalActorDep) -> Actor:
    if actor is None:
        raise Unauthorized()
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def requires(permission: Permission) -> Any:
    async def dep(actor: ActorDep) -> Actor:
        require(actor, permission)
        return actor

    return Depends(dep)

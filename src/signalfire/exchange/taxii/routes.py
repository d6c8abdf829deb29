"""The TAXII 2.1 server at /taxii2/: discovery, one API root (/taxii2/exchange/), collections per audience.

Authentication: HTTP Basic with any user name (an e-mail is usual) and an API token as password,
``Authorization: Bearer <token>``, or a signed-in browser session (CSRF header needed to write).
Reading objects needs a declared covered use in ``X-Signalfire-Purpose``; objects of items that do
not permit it are left out, and each read is logged for the items' contributors. Every answer,
errors included, is ``application/taxii+json;version=2.1``. See docs/taxii.md.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import json
import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from signalfire.access.actor import Actor
from signalfire.access.permissions import Permission
from signalfire.core.errors import AppError
from signalfire.core.settings import Settings
from signalfire.core.web.deps import CSRF_HEADER, ROLLBACK_ONLY, SESSION_COOKIE, SessionDep, SettingsDep
from signalfire.exchange.stix import bundles as stix_io
from signalfire.exchange.taxii import ingest as taxii_ingest
from signalfire.exchange.taxii import store as taxii_store
from signalfire.exchange.taxii.collections import TaxiiCollection, collection_for, collections_for
from signalfire.exchange.taxii.models import TaxiiStatus
from signalfire.exchange.taxii.protocol import (
    STIX_MEDIA_TYPE,
    TAXII_MEDIA_TYPE,
    Query,
    TaxiiError,
    bad_request,
    check_accept,
    check_content_type,
    error_response,
    format_date_added,
    format_version,
    not_found,
    parse_query,
    parse_version_filter,
    raw_taxii,
    taxii_json,
)
from signalfire.exchange.taxii.store import ObjectPage, Page
from signalfire.exchange.vocab import CoveredUse
from signalfire.federation import reads as federation_reads

log = logging.getLogger("signalfire.taxii")

ROOT = "/taxii2/"
API_ROOT = "/taxii2/exchange/"
MAX_CONTENT_LENGTH = 100 * 1024 * 1024  # the body limit the app applies under /taxii2/
PURPOSE_HEADER = "x-signalfire-purpose"
USES_HEADER = "x-signalfire-permitted-uses"
OVERRIDE_HEADER = "x-signalfire-screening-override"
CHALLENGE = 'Basic realm="Signalfire TAXII", Bearer realm="Signalfire TAXII"'
_USES = ", ".join(use.value for use in CoveredUse)


RETRY_AFTER_SECONDS = "2"
# deadlock detected, serialization failure, lock not available
_TRANSIENT_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def _rollback_only(request: Request) -> None:
    """The error is answered here, inside the session dependency: tell it to roll back, not commit."""
    setattr(request.state, ROLLBACK_ONLY, True)


def _sqlstate(exc: OperationalError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


class TaxiiRoute(APIRoute):
    """Answers every failure of a TAXII route in the TAXII error format (after the request rolled back)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def taxii_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except TaxiiError as exc:
                _rollback_only(request)
                return error_response(exc.status, exc.title, exc.description, exc.headers)
            except AppError as exc:
                _rollback_only(request)
                return error_response(exc.status, exc.title, exc.detail, exc.headers)
            except RequestValidationError as exc:
                _rollback_only(request)
                names = ", ".join(sorted({".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()}))
                return error_response(400, "Bad request", f"Invalid request parameters: {names or 'unknown'}.")
            except StarletteHTTPException as exc:
                _rollback_only(request)
                return error_response(exc.status_code, "Error", str(exc.detail), dict(exc.headers or {}))
            except IntegrityError:
                # Two adds raced for the same id and version; the loser changed nothing and may retry.
                _rollback_only(request)
                log.info("concurrent TAXII add conflict on %s", request.url.path)
                return error_response(
                    409,
                    "Conflict",
                    "Another request added the same object at the same time; nothing was stored. Retry the request.",
                    {"Retry-After": RETRY_AFTER_SECONDS},
                )
            except OperationalError as exc:
                if _sqlstate(exc) not in _TRANSIENT_SQLSTATES:
                    raise
                # A deadlock, serialisation failure or lock timeout with a concurrent writer: nothing stored.
                _rollback_only(request)
                log.info("transient database conflict on %s: %s", request.url.path, _sqlstate(exc))
                return error_response(
                    503,
                    "Busy",
                    "A concurrent request holds the same records; nothing was stored. Retry the request.",
                    {"Retry-After": RETRY_AFTER_SECONDS},
                )

        return taxii_handler


router = APIRouter(route_class=TaxiiRoute, include_in_schema=False)


# --- who is asking ----------------------------------------------------------------------------------


def _unauthorized(description: str) -> TaxiiError:
    return TaxiiError(401, "Unauthorized", description, {"WWW-Authenticate": CHALLENGE})


def _token_from(header: str) -> str:
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthorized("Malformed Basic credentials.") from None
        _user, sep, password = decoded.partition(":")
        if sep and password:
            return password
    raise _unauthorized("Use HTTP Basic (any user name, an API token as password) or 'Bearer <API token>'.")


def taxii_actor(request: Request, session: SessionDep) -> Actor:
    from signalfire.access.service import resolve_session, resolve_token

    header = request.headers.get("authorization")
    if header:
        actor = resolve_token(session, _token_from(header))
        if actor is None:
            raise _unauthorized("Invalid, expired or revoked API token.")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        actor = resolve_session(session, cookie) if cookie else None
        if actor is None:
            raise _unauthorized("Authentication required: HTTP Basic with an API token as password, or Bearer.")
        if request.method not in ("GET", "HEAD") and not hmac.compare_digest(
            request.headers.get(CSRF_HEADER, ""), actor.csrf_token or "\x00"
        ):
            raise TaxiiError(403, "CSRF check failed", "A browser session must send its CSRF token to write.")
    request.state.actor = actor
    check_accept(request.headers.get("accept"))
    return actor


TaxiiActor = Annotated[Actor, Depends(taxii_actor)]


def _secret(settings: Settings) -> bytes:
    return settings.secret_key.get_secret_value().encode()


def _purpose(request: Request) -> CoveredUse:
    raw = request.headers.get(PURPOSE_HEADER, "").strip()
    if not raw:
        raise TaxiiError(
            403,
            "Declared purpose required",
            f"Reading objects needs a declared covered use: send the header X-Signalfire-Purpose with one of {_USES}.",
        )
    try:
        return CoveredUse(raw)
    except ValueError:
        raise TaxiiError(
            400, "Unknown purpose", f"X-Signalfire-Purpose {raw[:60]!r} is not a covered use; use one of {_USES}."
        ) from None


def _remote_reader(request: Request) -> str | None:
    """Who asked at the reading instance (a federated Signalfire peer), logged beside the read."""
    try:
        return federation_reads.clean_reader(request.headers.get(federation_reads.READER_HEADER))
    except federation_reads.BadReader as exc:
        raise bad_request("Bad reader", str(exc)) from None


def _uses(request: Request) -> list[CoveredUse]:
    raw = request.headers.get(USES_HEADER, "")
    uses = []
    for part in raw.split(","):
        if part.strip():
            try:
                uses.append(CoveredUse(part.strip()))
            except ValueError:
                raise bad_request(
                    "Unknown permitted use",
                    f"X-Signalfire-Permitted-Uses lists {part.strip()[:60]!r}; use any of {_USES}.",
                ) from None
    return list(dict.fromkeys(uses))


def _collection(
    session: Session, actor: Actor, collection_id: str, *, read: bool = False, write: bool = False
) -> TaxiiCollection:
    collection = collection_for(session, actor, collection_id)
    if collection is None:
        raise not_found("No such collection, or it is not one of yours.")
    if read and not collection.can_read:
        raise TaxiiError(403, "Collection not readable", "You may add objects to this collection but not read it.")
    if write and not collection.can_write:
        raise TaxiiError(403, "Collection not writable", "You may read this collection but not add to it.")
    return collection


def _reader(
    session: Session, actor: Actor, collection_id: str, request: Request, settings: Settings
) -> taxii_store.Reader:
    collection = _collection(session, actor, collection_id, read=True)
    purpose = _purpose(request)
    taxii_store.sync(session)
    return taxii_store.Reader(actor=actor, collection=collection, purpose=purpose, secret=_secret(settings))


def _query(request: Request, *, version_default: str = "last") -> Query:
    return parse_query(dict(request.query_params), version_default=version_default)


def _page_headers(page: Page | ObjectPage) -> dict[str, str]:
    if isinstance(page, ObjectPage):
        first, last = page.first_added, page.last_added
    else:
        first = page.rows[0].date_added if page.rows else None
        last = page.rows[-1].date_added if page.rows else None
    if first is None or last is None:
        return {}
    return {"X-TAXII-Date-Added-First": format_date_added(first), "X-TAXII-Date-Added-Last": format_date_added(last)}


def _envelope(page: ObjectPage) -> bytes:
    """The envelope around the stored bodies, which are the objects' compact JSON already: joined, not parsed."""
    parts = ['{"more":', "true" if page.more else "false"]
    if page.next:
        parts += [',"next":', json.dumps(page.next)]
    if page.bodies:
        parts += [',"objects":[', ",".join(page.bodies), "]"]
    parts.append("}")
    return "".join(parts).encode()


# --- discovery, API root, status --------------------------------------------------------------------


@router.get(ROOT)
def discovery(request: Request, actor: TaxiiActor) -> Response:
    api_root = str(request.base_url).rstrip("/") + API_ROOT
    return taxii_json(
        {
            "title": "Signalfire exchange (TAXII 2.1)",
            "description": "Frontier-AI information sharing: items under TLP 2.0 with declared covered uses. Reading "
            "objects needs the header X-Signalfire-Purpose.",
            "default": api_root,
            "api_roots": [api_root],
        }
    )


@router.get(API_ROOT)
def api_root(actor: TaxiiActor) -> Response:
    return taxii_json(
        {
            "title": "Signalfire exchange",
            "description": "One collection per audience you belong to; members, government partners and researchers "
            "are writable by people who may publish.",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": MAX_CONTENT_LENGTH,
        }
    )


def _status(session: Session, actor: Actor, status_id: str) -> Response:
    try:
        wanted = uuid.UUID(status_id)
    except ValueError:
        raise not_found("No such status.") from None
    status = session.execute(
        select(TaxiiStatus).where(TaxiiStatus.id == wanted, TaxiiStatus.org_id == actor.org_id)
    ).scalar_one_or_none()
    if status is None or not actor.can(Permission.exchange_item_read):
        raise not_found("No such status.")
    return taxii_json(taxii_ingest.status_resource(status))


@router.get(API_ROOT + "status/{status_id}/")
def status(status_id: str, session: SessionDep, actor: TaxiiActor) -> Response:
    return _status(session, actor, status_id)


# taxii2-client polls the status URL without the trailing slash: answer it directly, no redirect.
@router.get(API_ROOT + "status/{status_id}")
def status_no_slash(status_id: str, session: SessionDep, actor: TaxiiActor) -> Response:
    return _status(session, actor, status_id)


# --- collections ------------------------------------------------------------------------------------


@router.get(API_ROOT + "collections/")
def collections(session: SessionDep, actor: TaxiiActor) -> Response:
    found = collections_for(session, actor)
    return taxii_json({"collections": [c.as_resource() for c in found]} if found else {})


@router.get(API_ROOT + "collections/{collection_id}/")
def collection(collection_id: str, session: SessionDep, actor: TaxiiActor) -> Response:
    return taxii_json(_collection(session, actor, collection_id).as_resource())


@router.get(API_ROOT + "collections/{collection_id}/objects/")
def get_objects(
    collection_id: str, request: Request, session: SessionDep, actor: TaxiiActor, settings: SettingsDep
) -> Response:
    reader = _reader(session, actor, collection_id, request, settings)
    remote = _remote_reader(request)
    page = taxii_store.read_objects(session, reader, _query(request))
    taxii_store.log_reads(session, reader, page.items, len(page.bodies))
    federation_reads.log_remote_reads(session, actor, reader.purpose, remote, list(page.items))
    return raw_taxii(_envelope(page), headers=_page_headers(page))


async def _body(request: Request) -> bytes:
    return await request.body()


@router.post(API_ROOT + "collections/{collection_id}/objects/", status_code=202)
def add_objects(
    collection_id: str, request: Request, session: SessionDep, actor: TaxiiActor, body: Annotated[bytes, Depends(_body)]
) -> Response:
    target = _collection(session, actor, collection_id, write=True)
    check_content_type(request.headers.get("content-type"))
    objects = taxii_ingest.parse_envelope(body)
    result = taxii_ingest.add_objects(
        session,
        actor,
        target,
        objects,
        permitted_uses=_uses(request),
        override_reason=request.headers.get(OVERRIDE_HEADER),
    )
    return taxii_json(taxii_ingest.status_resource(result.status), status=202)


@router.get(API_ROOT + "collections/{collection_id}/objects/{object_id}/")
def get_object(
    collection_id: str, object_id: str, request: Request, session: SessionDep, actor: TaxiiActor, settings: SettingsDep
) -> Response:
    reader = _reader(session, actor, collection_id, request, settings)
    query = dataclasses.replace(_query(request), ids=(object_id,))
    page = taxii_store.read_objects(session, reader, query, scope=f"object:{object_id}")
    if not page.bodies and not taxii_store.object_visible(session, reader, object_id):
        raise not_found(f"No object {object_id[:300]} in this collection.")
    taxii_store.log_reads(session, reader, page.items, len(page.bodies))
    federation_reads.log_remote_reads(session, actor, reader.purpose, _remote_reader(request), list(page.items))
    return raw_taxii(_envelope(page), headers=_page_headers(page))


@router.delete(API_ROOT + "collections/{collection_id}/objects/{object_id}/")
def delete_object(
    collection_id: str, object_id: str, request: Request, session: SessionDep, actor: TaxiiActor
) -> Response:
    target = _collection(session, actor, collection_id, write=True)
    version = parse_version_filter(request.query_params.get("match[version]"), default="all")
    if not taxii_store.delete_object(session, actor, target, object_id, version):
        raise not_found("No version of the object matches match[version].")
    return raw_taxii(b"", status=200)


@router.get(API_ROOT + "collections/{collection_id}/objects/{object_id}/versions/")
def object_versions(
    collection_id: str, object_id: str, request: Request, session: SessionDep, actor: TaxiiActor, settings: SettingsDep
) -> Response:
    reader = _reader(session, actor, collection_id, request, settings)
    page = taxii_store.read_versions(session, reader, object_id, _query(request))
    if not page.rows and not taxii_store.object_visible(session, reader, object_id):
        raise not_found(f"No object {object_id[:300]} in this collection.")
    body: dict[str, Any] = {"more": page.more}
    if page.next:
        body["next"] = page.next
    if page.rows:
        body["versions"] = [format_version(row.version) for row in page.rows]
    return taxii_json(body, headers=_page_headers(page))


@router.get(API_ROOT + "collections/{collection_id}/manifest/")
def manifest(
    collection_id: str, request: Request, session: SessionDep, actor: TaxiiActor, settings: SettingsDep
) -> Response:
    reader = _reader(session, actor, collection_id, request, settings)
    page = taxii_store.read_page(session, reader, _query(request), scope="manifest", with_body=False)
    body: dict[str, Any] = {"more": page.more}
    if page.next:
        body["next"] = page.next
    if page.rows:
        body["objects"] = [
            {
                "id": row.stix_id,
                "date_added": format_date_added(row.date_added),
                "version": format_version(row.version),
                "media_type": STIX_MEDIA_TYPE,
            }
            for row in page.rows
        ]
    return taxii_json(body, headers=_page_headers(page))


# --- anything else under /taxii2/ -------------------------------------------------------------------

_KNOWN = [r for r in router.routes if isinstance(r, APIRoute)]


@router.api_route("/taxii2/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str, request: Request) -> Response:
    allowed = sorted({m for r in _KNOWN if r.path_regex.match(request.url.path) for m in r.methods or ()})
    if allowed:
        raise TaxiiError(
            405,
            "Method not allowed",
            f"{request.method} is not supported here; use {', '.join(allowed)}.",
            {"Allow": ", ".join(allowed)},
        )
    raise not_found("No such TAXII resource. TAXII paths end with '/': start at /taxii2/.")


routers = [stix_io.router, router]

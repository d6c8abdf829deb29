"""One place that turns errors into responses: problem+json for the API, pages or fragments for the UI."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from signalfire.core.errors import AppError, FieldError, Unauthorized, loc_to_field
from signalfire.core.web.middleware import with_security_headers

log = logging.getLogger("signalfire.errors")
# Machine paths: their errors are problem+json (the published audit checkpoint lives under /.well-known/).
API_PREFIXES = ("/api/", "/taxii2", "/.well-known/")
_TITLES = {404: "Not found", 405: "Method not allowed", 406: "Not acceptable", 415: "Unsupported media type"}
# The database refused for contention, not for the request: SQLite's one writer was busy past the busy
# timeout, or PostgreSQL chose this transaction as a deadlock or serialization victim. The transaction
# rolled back, so nothing of the request was stored and the client may simply retry.
_BUSY = ("database is locked", "database table is locked", "deadlock detected", "could not serialize access")


def wants_json(request: Request) -> bool:
    """API paths always; elsewhere (pages, the public report form) when the client asks for JSON or
    problem+json rather than HTML."""
    if request.url.path.startswith(API_PREFIXES):
        return True
    accept = request.headers.get("accept", "").lower()
    return ("application/json" in accept or "+json" in accept) and "text/html" not in accept


def problem_response(request: Request, err: AppError) -> Response:
    if wants_json(request):
        return JSONResponse(
            err.problem(request.url.path),
            status_code=err.status,
            media_type="application/problem+json",
            headers=err.headers,
        )
    from signalfire.core.web.templating import is_htmx, render

    if isinstance(err, Unauthorized) and request.method == "GET" and not is_htmx(request):
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    ctx: dict[str, Any] = {"error": err}
    resp = render(request, "error.html", ctx, fragment="_error_toast.html", status_code=err.status)
    if is_htmx(request):
        resp.headers["HX-Retarget"] = "#toasts"
        resp.headers["HX-Reswap"] = "beforeend"
    for k, v in err.headers.items():
        resp.headers[k] = v
    return resp


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for e in exc.errors():
            msg = e.get("msg", "invalid")
            if e.get("type") == "json_invalid":
                err = AppError(
                    detail="The request body is not valid JSON.",
                    status=400,
                    title="Malformed JSON",
                    slug="malformed-json",
                )
                return problem_response(request, err)
            errors.append(FieldError(loc_to_field(tuple(e.get("loc", ()))), msg))
        names = ", ".join(sorted({f.field for f in errors}))
        return problem_response(
            request,
            AppError(
                detail=f"Invalid input: {names}.",
                status=422,
                title="Validation failed",
                slug="validation-failed",
                errors=errors,
            ),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = _TITLES.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404:
            detail = "Not found."
        err = AppError(
            detail=detail,
            status=exc.status_code,
            title=title,
            slug=title.lower().replace(" ", "-"),
            headers=dict(exc.headers or {}),
        )
        return problem_response(request, err)

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> Response:
        if not any(sign in str(exc.orig).lower() for sign in _BUSY):
            return await _unhandled(request, exc)
        log.warning("database busy on %s %s: %s", request.method, request.url.path, exc.orig)
        err = AppError(
            detail="The service is busy and stored nothing of this request. Try again in a moment.",
            status=503,
            title="Service busy",
            slug="busy",
            headers={"Retry-After": "1"},
        )
        return problem_response(request, err)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        # Starlette sends this answer from outside the middleware stack: the headers are set here.
        return with_security_headers(_internal_error(request))


def _internal_error(request: Request) -> Response:
    err = AppError(
        detail="An unexpected error occurred. It has been logged.",
        status=500,
        title="Internal error",
        slug="internal-error",
    )
    if wants_json(request):
        return JSONResponse(err.problem(request.url.path), status_code=500, media_type="application/problem+json")
    try:
        return problem_response(request, err)  # the error page, in the public or signed-in layout
    except Exception:  # the page itself failed to render: still an answer in the client's terms
        log.exception("error page failed to render on %s %s", request.method, request.url.path)
        return JSONResponse(err.problem(request.url.path), status_code=500, media_type="application/problem+json")

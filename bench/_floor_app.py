"""The floor of an HTTP door on this machine, for `bench/intake_http.py --floor-probe`.

A bare ASGI application (no framework, no authentication, no rate limit, no idempotency, no validation
beyond JSON) under the same uvicorn as the product: each POST inserts one row into `bench_raw_signal`
(the row `intake_http.raw_row` builds, from the request's body) on one of eight async psycopg
connections, commits, and answers 201 with a small JSON receipt. Nothing a real door needs is here: it
measures what HTTP plus one INSERT and commit cost in Python at all, so the product's door can be read
against a floor, not only against raw psycopg.

    SIGNALFIRE_FLOOR_DSN=postgresql://... uvicorn --factory _floor_app:create_app
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

COLUMNS = (
    "id, org_id, reference, source_kind, title, text, text_hash, match_text, raw_payload, received_at, updated_at, "
    "state, likely_severity, authors, severity_reasons, matched_models, relevance, update_count, anonymous, "
    "placement_pending"
)
SQL = (
    f"INSERT INTO bench_raw_signal ({COLUMNS}) VALUES (%(id)s, %(org_id)s, %(reference)s, 'downstream_api', "
    "%(title)s, %(text)s, %(text_hash)s, %(match_text)s, %(raw_payload)s, %(now)s, %(now)s, 'new', 'sev4', "
    "'[]', '[]', '[]', 0, 0, false, false)"
)


def create_app() -> ASGI:
    dsn = os.environ["SIGNALFIRE_FLOOR_DSN"]
    org_id = os.environ["SIGNALFIRE_FLOOR_ORG"]
    pool: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
    opened = 0

    async def connection() -> psycopg.AsyncConnection[Any]:
        nonlocal opened
        if pool.empty() and opened < 8:
            opened += 1
            return await psycopg.AsyncConnection.connect(dsn)
        return await pool.get()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["method"] != "POST":  # the bench's readiness probe
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        report = json.loads(body)
        now = datetime.now(UTC)
        text = report["description"]
        row = {
            "id": uuid.uuid4(),
            "org_id": org_id,
            "reference": f"SF-R-{uuid.uuid4().hex[:4].upper()}-{uuid.uuid4().hex[:4].upper()}",
            "title": report["title"],
            "text": text,
            "text_hash": hashlib.sha256(f"{report['title']}\n{text}".lower().encode()).hexdigest(),
            "match_text": f"{report['title']}\n{text}".lower(),
            "raw_payload": json.dumps({**report, "attachments": []}),
            "now": now,
        }
        conn = await connection()
        try:
            await conn.execute(SQL, row)
            await conn.commit()
        finally:
            pool.put_nowait(conn)
        answer = json.dumps({"reference": row["reference"], "received_at": now.isoformat()}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    return app

"""The floor of a TAXII object store on this machine, for `bench/taxii_bulk.py --floor-probe`.

A bare ASGI application (no framework, no authentication, no validation, screening, policy, audit or read
log) under the same uvicorn as the product, serving one collection of a PostgreSQL table:

- POST .../objects/: parses the envelope, keeps each object's JSON text, COPYs the rows in (one
  transaction per envelope), answers a TAXII status resource listing every object as a success;
- GET .../objects/?limit=N[&next=K]: one keyset-paged SELECT, the stored texts joined into an envelope.

It measures what HTTP, JSON and one bulk write (or one indexed read) per request cost in Python at all,
so the product's TAXII door can be read against a floor, not only against medallion.

    SIGNALFIRE_FLOOR_DSN=postgresql://... uvicorn --factory _taxii_floor_app:create_app
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import psycopg

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]
TAXII = b"application/taxii+json;version=2.1"


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", TAXII), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app() -> ASGI:
    dsn = os.environ["SIGNALFIRE_FLOOR_DSN"]
    state: dict[str, psycopg.AsyncConnection[Any]] = {}

    async def connection() -> psycopg.AsyncConnection[Any]:
        if "conn" not in state:
            conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS floor_taxii_object (seq bigserial PRIMARY KEY, stix_id text NOT NULL, "
                "version text NOT NULL, body text NOT NULL, UNIQUE (stix_id, version))"
            )
            await conn.set_autocommit(False)
            state["conn"] = conn
        return state["conn"]

    async def post(receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        objects = json.loads(body)["objects"]
        rows = [(o["id"], o.get("modified") or o.get("created") or "", json.dumps(o)) for o in objects]
        conn = await connection()
        sql = "COPY floor_taxii_object (stix_id, version, body) FROM STDIN"
        async with conn.cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                await copy.write_row(row)
        await conn.commit()
        successes = [{"id": r[0], "version": r[1]} for r in rows]
        status = {
            "id": str(uuid.uuid4()),
            "status": "complete",
            "total_count": len(rows),
            "success_count": len(rows),
            "successes": successes,
            "failure_count": 0,
            "pending_count": 0,
        }
        await _answer(send, 202, json.dumps(status).encode())

    async def get(scope: Scope, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode())
        limit = int(query.get("limit", ["1000"])[0])
        after = int(query.get("next", ["0"])[0])
        conn = await connection()
        async with conn.cursor() as cur:
            await cur.execute(
                "SELECT seq, body FROM floor_taxii_object WHERE seq > %s ORDER BY seq LIMIT %s", (after, limit + 1)
            )
            rows = await cur.fetchall()
        await conn.commit()
        more = len(rows) > limit
        rows = rows[:limit]
        head = b'{"more":true,"next":"%d","objects":[' % rows[-1][0] if more else b'{"more":false,"objects":['
        await _answer(send, 200, head + ",".join(r[1] for r in rows).encode() + b"]}")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["method"] == "POST":
            await post(receive, send)
        elif scope["path"].endswith("/objects/"):
            await get(scope, send)
        else:  # readiness probe
            await _answer(send, 200, b"{}")

    return app

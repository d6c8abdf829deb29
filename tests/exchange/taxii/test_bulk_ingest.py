"""Bulk TAXII ingest: the pattern fast path agrees with the grammar parser, and batch outcomes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stix2patterns.validator import run_validator

from signalfire.access.actor import Actor
from signalfire.audit.models import AuditEvent
from signalfire.exchange.taxii.collections import MEMBERS_ID, shared_by_id
from signalfire.exchange.taxii.ingest import simple_pattern
from signalfire.exchange.taxii.models import TaxiiObject
from tests.exchange.taxii.helpers import API, MEMBERS, envelope, headers, indicator, malware, marking

# Fragments on both sides of the subset's edges: mostly ones the subset takes (so many generated
# patterns are in it), now and then one it must refuse (keywords, upper case, hyphens in the wrong
# place, hash paths, escapes, other operators, stray brackets and quotes).
_TYPES = (
    ["url", "file", "x-custom", "ipv4-addr", "a_b", "_x", "h", "t", "true_x", "falsey", "x-"],
    ["true", "false", "AND", "Url", "1x", "-x", "IN", "a.b", "a b", "'q'"],
)
_PROPERTIES = (
    ["value", "name", "hashes", "hashes", "md5", "sha1", "in", "_p", "h"],
    ["true", "MD5", "x-y", "1", "'SHA-256'", "[*]", "Name"],
)
_OPS = (["=", "!=", " = ", "= ", " != "], ["==", "<", " LIKE ", " MATCHES ", "! ="])
_LITERALS = (
    ["'x'", "''", "'a\\'b'", "'a\\\\b'", "'multi\nline'", "'d41d8cd98f00b204e9800998ecf8427e'", "'%'"],
    ["'a\\nb'", "'it''s'", "x", "1", "'unterminated", "t'2026-01-01T00:00:00Z'", "true"],
)
_JOINS = ([" AND ", " OR ", "\tOR\n", "  AND  "], [" and ", " FOLLOWEDBY ", "AND", ""])
_BRACKETS = (["[{}]", "[ {} ]", " [{}]\n"], ["({})", "[{}", "{}]", "[[{}]]"])


def _pick(draw: st.DrawFn, pools: tuple[list[str], list[str]]) -> str:
    good, bad = pools
    return draw(st.sampled_from(bad if draw(st.integers(0, 14)) == 0 else good))


@st.composite
def _comparison(draw: st.DrawFn) -> str:
    path = _pick(draw, _TYPES) + ":" + ".".join(_pick(draw, _PROPERTIES) for _ in range(draw(st.integers(1, 3))))
    return path + _pick(draw, _OPS) + _pick(draw, _LITERALS)


@st.composite
def _pattern(draw: st.DrawFn) -> str:
    observations = []
    for _ in range(draw(st.integers(1, 3))):
        parts = [draw(_comparison()) for _ in range(draw(st.integers(1, 3)))]
        inner = parts[0] + "".join(_pick(draw, _JOINS) + p for p in parts[1:])
        observations.append(_pick(draw, _BRACKETS).format(inner))
    return observations[0] + "".join(_pick(draw, _JOINS) + o for o in observations[1:])


@settings(max_examples=400, deadline=None)
@given(_pattern())
def test_every_pattern_the_fast_path_accepts_the_grammar_parser_accepts(pattern: str) -> None:
    if simple_pattern(pattern):
        assert run_validator(pattern, stix_version="2.1") == [], pattern


def test_the_fast_path_takes_the_common_shapes_and_leaves_the_rest_to_the_parser() -> None:
    taken = [
        "[url:value = 'https://prompts-1.example/jb']",
        "[domain-name:value = 'a.example' OR domain-name:value = 'b.example']",
        "[x-lab:prompt.text != 'it\\'s'] AND [email-addr:value = 'a@b.example']",
        "  [file:name='a.bin']  ",
    ]
    left = [
        "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",  # hash values are format-checked by the parser
        "[file:size > 10]",
        "[url:value LIKE '%x%']",
        "[url:value = 'x'] WITHIN 10 SECONDS",
        "[true:value = 'x']",
        "[url:true = 'x']",
        "[url:Value = 'x']",
        "[url:value = 'a\\nb']",
        "url:value = 'x'",
        "[url:value = 'x'] FOLLOWEDBY [url:value = 'y']",
    ]
    assert [p for p in taken if not simple_pattern(p)] == []
    assert [p for p in left if simple_pattern(p)] == []
    assert all(run_validator(p, stix_version="2.1") == [] for p in taken)


# --- one envelope as a batch, through the real app -------------------------------------------------


@pytest.fixture()
def lab(make_actor: Callable[..., Actor]) -> Actor:
    return make_actor()


def test_a_mixed_envelope_reports_every_object_and_audits_each_once(
    db: Session, lab: Actor, make_actor: Callable[..., Actor], api_client: Callable[[Actor | None], TestClient]
) -> None:
    client = api_client(lab)
    kept = [indicator(n) for n in range(1, 6)]
    first = client.post(MEMBERS + "objects/", content=envelope(kept), headers=headers())
    assert first.status_code == 202, first.text

    fresh = [indicator(n) for n in range(10, 14)]
    no_marking = indicator(20)
    no_marking.pop("object_marking_refs")
    bad_pattern = indicator(21, pattern="[url:value = ")
    changed = {**kept[0], "name": "same id and version, other content"}
    objects = [marking(), *fresh, kept[1], no_marking, bad_pattern, changed, fresh[0]]
    resp = client.post(MEMBERS + "objects/", content=envelope(objects), headers=headers())
    assert resp.status_code == 202, resp.text
    status = resp.json()
    # Written out from the envelope above, not from the code: 10 objects; 4 new, the marking and
    # kept[1] present or already present; no marking, bad pattern, other content under a stored
    # version, a repeat: refused.
    assert (status["total_count"], status["success_count"], status["failure_count"], status["pending_count"]) == (
        10,
        6,
        4,
        0,
    )
    assert [s["id"] for s in status["successes"]] == [objects[0]["id"], *(o["id"] for o in fresh), kept[1]["id"]]
    assert [s["version"] for s in status["successes"][1:]] == [o["modified"] for o in [*fresh, kept[1]]]
    assert status["successes"][-1]["message"] == "already present"
    assert [f["id"] for f in status["failures"]] == [no_marking["id"], bad_pattern["id"], kept[0]["id"], fresh[0]["id"]]
    assert all(f["version"] and f["message"] for f in status["failures"])
    assert "TLP" in status["failures"][0]["message"] and "pattern" in status["failures"][1]["message"]

    again = client.get(f"{API}status/{status['id']}/", headers=headers())
    assert again.status_code == 200 and again.json() == status
    # Another org, and nobody, cannot see the status (missing, not forbidden).
    assert api_client(make_actor()).get(f"{API}status/{status['id']}/", headers=headers()).status_code == 404
    assert api_client(None).get(f"{API}status/{status['id']}/", headers=headers()).status_code in (401, 404)

    entries = db.execute(
        select(AuditEvent.target_id, AuditEvent.summary, AuditEvent.org_id).where(
            AuditEvent.action == "exchange.taxii.object_added"
        )
    ).all()
    second = [e for e in entries if e.summary["status_id"] == status["id"]]
    assert sorted(e.target_id for e in second) == sorted(o["id"] for o in objects)
    assert {e.org_id for e in second} == {lab.org_id}
    refused = {e.target_id: e.summary for e in second if "refused" in e.summary}
    assert set(refused) == {no_marking["id"], bad_pattern["id"], kept[0]["id"], fresh[0]["id"]}
    summaries = (
        db.execute(select(AuditEvent.summary).where(AuditEvent.action == "exchange.taxii.objects_added"))
        .scalars()
        .all()
    )
    assert [s["total"] for s in summaries if s["status_id"] == status["id"]] == [10]


def test_a_large_envelope_lands_in_both_collections_once_and_pages_back(
    db: Session, lab: Actor, make_actor: Callable[..., Actor], api_client: Callable[[Actor | None], TestClient]
) -> None:
    client = api_client(lab)
    objects = [indicator(n) if n % 10 else malware(n) for n in range(1, 1201)]
    resp = client.post(MEMBERS + "objects/", content=envelope(objects), headers=headers())
    assert resp.status_code == 202 and resp.json()["success_count"] == 1200, resp.text[:500]
    posted = {o["id"] for o in objects}
    rows = db.execute(
        select(TaxiiObject.collection_id, TaxiiObject.stix_id).where(TaxiiObject.stix_id.in_(posted))
    ).all()
    assert sorted(str(c) for c in {r.collection_id for r in rows}) == sorted(
        [str(MEMBERS_ID), str(shared_by_id(lab.org_id))]
    )
    assert len(rows) == 2 * 1200  # once per collection

    reader = api_client(make_actor())
    seen: list[dict[str, Any]] = []
    query = {"limit": "500"}
    while True:
        page = reader.get(MEMBERS + "objects/", params=query, headers=headers())
        assert page.status_code == 200, page.text[:300]
        seen += page.json().get("objects", [])
        if not page.json().get("more"):
            break
        query = {"limit": "500", "next": page.json()["next"]}
    served = {json.dumps(o, sort_keys=True) for o in seen}
    assert {json.dumps(o, sort_keys=True) for o in objects} <= served
    # The same again is a no-op: all already present, nothing stored twice.
    again = client.post(MEMBERS + "objects/", content=envelope(objects), headers=headers())
    assert again.json()["success_count"] == 1200
    assert {s.get("message") for s in again.json()["successes"]} == {"already present"}
    count = db.execute(select(func.count()).select_from(TaxiiObject).where(TaxiiObject.stix_id.in_(posted)))
    assert count.scalar_one() == 2 * 1200

"""The standalone verifier checks a checkpoint and proofs fetched from a live server, and refuses bad ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from signalfire.access.models import Organization, User
from signalfire.access.service import build_actor, create_token
from signalfire.audit import keys
from signalfire.audit.models import AuditEvent
from signalfire.core.db.session import make_engine, session_factory, unit_of_work
from tests.conftest import LiveServer, make_settings

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_checkpoint.py"


def _verifier(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # -I: isolated mode, so the script cannot lean on this repository's code through PYTHONPATH.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), *args], input=stdin, capture_output=True, text=True, env=env, check=False
    )


def _token(url: str) -> str:
    engine = make_engine(url)
    with unit_of_work(session_factory(engine)) as s:
        user = s.execute(select(User).where(User.email == "alice@aurora.example")).scalar_one()
        org = s.execute(select(Organization).where(Organization.slug == "aurora")).scalar_one()
        actor = build_actor(s, user, org.id, via="test")
        assert actor is not None
        token = create_token(s, actor=actor, name="verifier", scopes=["*"], expires_in_days=1).secret
    engine.dispose()
    return token


def _wait_for_size(base: str, url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    engine.dispose()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = httpx.get(f"{base}/api/v1/audit/checkpoint")
        if r.status_code == 200 and r.json()["size"] >= total:
            return int(r.json()["size"])
        time.sleep(0.1)
    raise AssertionError("the sequencer did not integrate the demo's entries")


def test_standalone_verifier_against_a_live_server(live_server: LiveServer, tmp_path: Path) -> None:
    base = live_server.url
    vkey = keys.signer(make_settings(live_server.database_url)).verifier.vkey
    first = _wait_for_size(base, live_server.database_url)
    token = _token(live_server.database_url)  # writes audit entries: the log grows
    r = httpx.get(f"{base}/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    entry_id = r.json()[-1]["id"]
    second = _wait_for_size(base, live_server.database_url)
    assert second > first

    note = httpx.get(f"{base}/.well-known/signalfire/checkpoint").text
    out = _verifier("checkpoint", f"{base}/.well-known/signalfire/checkpoint", "--key", vkey)
    assert out.returncode == 0, out.stderr
    assert f"size {second}" in out.stdout

    proof = httpx.get(f"{base}/api/v1/audit/entries/{entry_id}/proof", headers={"Authorization": f"Bearer {token}"})
    assert proof.status_code == 200, proof.text
    (tmp_path / "inclusion.json").write_text(proof.text)
    out = _verifier("inclusion", str(tmp_path / "inclusion.json"), "--key", vkey)
    assert out.returncode == 0, out.stderr

    cons = httpx.get(f"{base}/api/v1/audit/consistency/{first}/{second}")
    assert cons.status_code == 200, cons.text
    out = _verifier("consistency", "-", "--key", vkey, stdin=cons.text)
    assert out.returncode == 0, out.stderr
    assert f"size {first} -> {second} only appended" in out.stdout

    # Refusals: another key, an altered entry, a proof against the wrong old checkpoint.
    other = make_settings(live_server.database_url, secret_key="another-secret-key-for-this-test-only")
    wrong_key = keys.signer(other).verifier.vkey
    assert _verifier("checkpoint", "-", "--key", wrong_key, stdin=note).returncode == 1
    bad = proof.json()
    data = json.loads(__import__("base64").b64decode(bad["leaf_data"]))
    data["action"] = "audit.tampered"
    bad["leaf_data"] = __import__("base64").b64encode(json.dumps(data).encode()).decode()
    out = _verifier("inclusion", "-", "--key", vkey, stdin=json.dumps(bad))
    assert out.returncode == 1
    assert "NOT included" in out.stderr
    forked = cons.json()
    forked["proof"] = forked["proof"][::-1] if len(forked["proof"]) > 1 else ["AAAA" * 11]
    assert _verifier("consistency", "-", "--key", vkey, stdin=json.dumps(forked)).returncode == 1
    assert _verifier("checkpoint", "-", "--key", vkey, "--quorum", "1", stdin=note).returncode == 1

"""`federation sync` says how far it got: the run reports each push settled and each collection pulled, the
CLI shows a bar on stderr once there are enough of them, and stdout stays the JSON summary.

The peer has one collection (push and pull) and 3 published items queued for it; the expected calls are
counted by hand from that: 3 pushes + 1 pull = 4 units."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from rich.text import Text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from signalfire.access.actor import Actor
from signalfire.access.models import Organization
from signalfire.federation import cli
from signalfire.federation import client as taxii_client
from signalfire.federation.models import Peer
from signalfire.federation.sync import sync_peer
from tests.exchange import factories as xf
from tests.federation.test_rules_and_push import FakePeer, _ledger, _peer
from tests.terminals import forced_terminals


def _three_pending(db: Session, make_actor: Any) -> tuple[Actor, Peer]:
    admin = make_actor()
    peer = _peer(db, admin)
    for _ in range(3):
        xf.published(db, admin)
    db.commit()
    assert len(_ledger(db, peer)) == 3
    return admin, peer


def test_progress_counts_each_push_and_each_pull(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    _, peer = _three_pending(db, make_actor)
    calls: list[tuple[int, int]] = []
    with taxii_client.use_transport(httpx.MockTransport(FakePeer())):
        out = sync_peer(session_maker, None, peer.id, progress=lambda d, t: calls.append((d, t)))
    assert out.pushed == 3
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


def test_a_peer_that_is_down_moves_the_bar_past_the_pushes_left(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any
) -> None:
    _, peer = _three_pending(db, make_actor)
    calls: list[tuple[int, int]] = []
    with taxii_client.use_transport(httpx.MockTransport(FakePeer(503))):
        out = sync_peer(session_maker, None, peer.id, push_only=True, progress=lambda d, t: calls.append((d, t)))
    assert (out.pushed, out.push_failed) == (0, 1)
    assert calls == [(0, 3), (3, 3)]  # the first push fails and stops the others: they wait for the next run


def _cli(
    monkeypatch: pytest.MonkeyPatch, session_maker: sessionmaker[Session], db: Session, admin: Actor, peer: Peer
) -> tuple[Any, io.StringIO, io.StringIO]:
    out, err = forced_terminals(monkeypatch, cli)
    monkeypatch.setattr("signalfire.cli._factory", lambda: session_maker)
    org = db.get(Organization, admin.org_id)
    assert org is not None
    with taxii_client.use_transport(httpx.MockTransport(FakePeer())):
        result = CliRunner().invoke(
            cli.federation_app, ["sync", "--as", admin.email, "--org", org.slug, "--peer", peer.name]
        )
    return result, out, err


def test_the_cli_shows_a_bar_on_stderr_and_json_on_stdout(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, peer = _three_pending(db, make_actor)
    monkeypatch.setattr(cli, "SYNC_PROGRESS_FROM", 4)  # "many": 4 units here
    result, out, err = _cli(monkeypatch, session_maker, db, admin, peer)
    assert result.exit_code == 0, result.output
    assert json.loads(Text.from_ansi(out.getvalue()).plain)["pushed"] == 3  # the JSON summary (coloured) only
    assert "syncing" in err.getvalue()
    assert "4/4" in err.getvalue()


def test_the_cli_shows_no_bar_for_a_short_sync(
    db: Session, session_maker: sessionmaker[Session], make_actor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, peer = _three_pending(db, make_actor)
    monkeypatch.setattr(cli, "SYNC_PROGRESS_FROM", 5)
    result, out, err = _cli(monkeypatch, session_maker, db, admin, peer)
    assert result.exit_code == 0, result.output
    assert json.loads(Text.from_ansi(out.getvalue()).plain)["pushed"] == 3
    assert "syncing" not in err.getvalue()

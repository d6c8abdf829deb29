"""`signalfire audit ...`: verify the log, print checkpoints and proofs, run the sequencer, manage keys
and witnesses."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from signalfire.core.db.session import engine_for, session_factory, unit_of_work
from signalfire.core.errors import AppError
from signalfire.core.progress import progress_bar
from signalfire.core.settings import get_settings

audit_app = typer.Typer(help="The audit log: a Merkle-tree log with signed checkpoints.", no_args_is_help=True)
witness_app = typer.Typer(help="Witnesses that cosign checkpoints.", no_args_is_help=True)
audit_app.add_typer(witness_app, name="witness")
# Registered by signalfire.cli like every domain's commands (cli.DOMAIN_CLI).
commands = [("audit", audit_app)]
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _factory() -> sessionmaker[Session]:
    return session_factory(engine_for(get_settings().database_url))


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


# A smaller log verifies (or is sequenced) in moments: no bar for it.
PROGRESS_FROM = 20_000


@audit_app.command("verify")
def verify_cmd(
    quorum: Annotated[int, typer.Option(help="Require this many valid witness cosignatures.")] = 0,
) -> None:
    """Re-hash every entry, rebuild the tree, check every checkpoint and signature. Exit 1 on any finding."""
    from signalfire.audit.service import verify_log

    with (
        unit_of_work(_factory()) as s,
        progress_bar(err, "re-hashing entries", show_from=PROGRESS_FROM) as progress,
    ):
        report = verify_log(s, get_settings(), quorum=quorum, progress=progress)
    if report.ok:
        pending = f", {report.pending} pending" if report.pending else ""
        console.print(
            f"audit log intact: {report.entries} entries verified against the signed checkpoint of size "
            f"{report.checkpoint_size}{pending}"
        )
        return
    for f in report.findings:
        where = f" at entry {f.index}" if f.index is not None else ""
        err.print(f"[red]{f.kind}[/red]{where}: {f.message}")
    raise typer.Exit(1)


@audit_app.command("sequence")
def sequence_cmd() -> None:
    """Integrate pending entries now and sign a checkpoint (the worker does this continuously)."""
    from signalfire.audit.sequencer import Sequencer

    with progress_bar(err, "integrating entries", show_from=PROGRESS_FROM) as progress:
        n = Sequencer(_factory(), get_settings()).drain(progress)
    console.print(f"integrated {n} entr{'y' if n == 1 else 'ies'}")


@audit_app.command("checkpoint")
def checkpoint_cmd() -> None:
    """Print the latest signed checkpoint (with witness cosignatures)."""
    from signalfire.audit.service import checkpoint_with_cosignatures, latest_checkpoint

    with unit_of_work(_factory()) as s:
        cp = latest_checkpoint(s)
        if cp is None:
            raise _fail("no checkpoint yet: run the worker or `signalfire audit sequence`")
        typer.echo(checkpoint_with_cosignatures(s, cp), nl=False)


@audit_app.command("proof")
def proof_cmd(
    entry: Annotated[str, typer.Argument(help="The entry's position or id.")],
    size: Annotated[int | None, typer.Option(help="Prove against this checkpoint size (default: latest).")] = None,
) -> None:
    """Print an inclusion proof of ENTRY as JSON."""
    from signalfire.audit.service import inclusion, parse_entry_ref

    try:
        with unit_of_work(_factory()) as s:
            out = inclusion(s, parse_entry_ref(entry), size=size)
    except AppError as exc:
        raise _fail(exc.detail) from exc
    typer.echo(json.dumps(out, indent=2))


@audit_app.command("consistency")
def consistency_cmd(old: int, new: int) -> None:
    """Print a consistency proof between the checkpoints of sizes OLD and NEW as JSON."""
    from signalfire.audit.service import consistency

    try:
        with unit_of_work(_factory()) as s:
            out = consistency(s, old, new)
    except AppError as exc:
        raise _fail(exc.detail) from exc
    typer.echo(json.dumps(out, indent=2))


@audit_app.command("keygen")
def keygen_cmd(
    name: Annotated[str | None, typer.Argument(help="Key name (default: the log's origin).")] = None,
    witness: Annotated[bool, typer.Option(help="Print the cosignature verifier key (for a witness).")] = False,
) -> None:
    """Print a new Ed25519 signing key and its verifier key. Keep the first secret; publish the second."""
    from signalfire.audit import keys
    from signalfire.audit.note import ALG_COSIGNATURE, Verifier, generate_signer

    signer = generate_signer(name or keys.origin(get_settings()))
    v = signer.verifier
    typer.echo(signer.skey)
    typer.echo(Verifier(v.name, v.public, ALG_COSIGNATURE).vkey if witness else v.vkey)


# -- witnesses ---------------------------------------------------------------------------------------


@witness_app.command("add")
def witness_add(
    name: str,
    vkey: Annotated[str, typer.Argument(help="The witness's cosignature verifier key.")],
    url: Annotated[str | None, typer.Option(help="Its add-checkpoint URL (omit to add cosignatures by hand).")] = None,
) -> None:
    """Register a witness."""
    from signalfire.audit.witness import register

    try:
        with unit_of_work(_factory()) as s:
            register(s, name=name, vkey=vkey, url=url)
    except AppError as exc:
        raise _fail(exc.detail) from exc
    console.print(f"witness {name} registered")


@witness_app.command("list")
def witness_list() -> None:
    """The registered witnesses and the latest checkpoint each has cosigned."""
    from sqlalchemy import select

    from signalfire.audit.models import AuditWitness
    from signalfire.audit.witness import last_cosigned

    with unit_of_work(_factory()) as s:
        for w in s.execute(select(AuditWitness).order_by(AuditWitness.name)).scalars():
            console.print(f"{w.name}\t{w.url or '(by hand)'}\tcosigned up to size {last_cosigned(s, w)}\t{w.vkey}")


@witness_app.command("cosign")
def witness_cosign() -> None:
    """Ask every witness with a URL to cosign the latest checkpoint (the worker does this every minute)."""
    import httpx

    from signalfire.audit.witness import request_cosignatures

    with httpx.Client(timeout=get_settings().audit.witness_timeout_seconds) as http, unit_of_work(_factory()) as s:
        outcomes = request_cosignatures(s, http)
    for o in outcomes:
        console.print(f"{o.witness}: {o.status}")
    if any(o.status in ("refused", "unreachable") for o in outcomes):
        raise typer.Exit(1)


@witness_app.command("import")
def witness_import(
    name: str,
    size: int,
    line: Annotated[str, typer.Argument(help="The cosignature line the witness returned.")],
) -> None:
    """Keep a cosignature obtained by hand (a witness without a URL), after checking it."""
    from sqlalchemy import select

    from signalfire.audit.models import AuditCheckpoint, AuditWitness
    from signalfire.audit.witness import keep

    with unit_of_work(_factory()) as s:
        w = s.execute(select(AuditWitness).where(AuditWitness.name == name)).scalar_one_or_none()
        cp = s.get(AuditCheckpoint, size)
        if w is None or cp is None:
            raise _fail("no such witness or checkpoint")
        if not keep(s, w, cp, line if line.endswith("\n") else line + "\n"):
            raise _fail("not a valid cosignature of that checkpoint by that witness")
    console.print("cosignature kept")

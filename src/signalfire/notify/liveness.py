"""Is a worker process alive? The facts the watchdog may use to reclaim a dead holder's jobs early.

Only proof counts: a process that is gone from this host (or is a zombie), or one whose pid now belongs to
a later process. "This host" means the same kernel boot and PID namespace, not just the same host name:
containers sharing a host name (host networking) each have their own pids, and a pid looked up in the
wrong namespace proves nothing. Where /proc is not there (not Linux), no pid is ever judged: the
heartbeat and the lease decide.
"""

from __future__ import annotations

import functools
import os
import socket
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Identity:
    host: str  # for people reading the registry
    host_key: str | None  # host name, boot id and PID namespace; None where they cannot be read
    pid: int
    proc_start: str | None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


@functools.cache
def host_key() -> str | None:
    boot = _read(PROC / "sys/kernel/random/boot_id")
    try:
        namespace = os.readlink(PROC / "self/ns/pid")
    except OSError:
        return None
    if not boot:
        return None
    return f"{socket.gethostname()}|{boot}|{namespace}"[:255]


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses)."""
    text = _read(PROC / str(pid) / "stat")
    if text is None or ")" not in text:
        return None
    return text.rsplit(")", 1)[1].split()


def proc_start(pid: int) -> str | None:
    """When the process started, in clock ticks since boot (field 22 of /proc/<pid>/stat), or None."""
    fields = _stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def this_process() -> Identity:
    pid = os.getpid()
    return Identity(socket.gethostname(), host_key(), pid, proc_start(pid))


def pid_gone(pid: int, started: str | None) -> bool:
    """True only when the process ``pid`` that started at ``started`` (on this host) surely no longer runs."""
    if pid <= 0:
        return False  # kill(0) and kill(-n) address process groups, not a process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        pass
    fields = _stat(pid)
    if fields is None:
        return False  # cannot tell (no /proc): not proof
    if fields[0] == "Z":
        return True  # killed, not yet reaped by its parent
    return started is not None and len(fields) > 19 and fields[19] != started  # the pid was reused

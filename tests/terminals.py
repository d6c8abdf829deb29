"""A CLI module's consoles pointed at buffers that claim to be terminals, to read what a person would see."""

from __future__ import annotations

import io
from types import ModuleType

import pytest
from rich.console import Console


def forced_terminals(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> tuple[io.StringIO, io.StringIO]:
    """Replace `module.console` (stdout) and `module.err` (stderr); return their buffers (out, err)."""
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(module, "console", Console(file=out, force_terminal=True, width=100, highlight=False))
    monkeypatch.setattr(module, "err", Console(file=err, force_terminal=True, width=100, highlight=False))
    return out, err

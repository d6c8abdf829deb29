"""A determinate progress bar for long CLI commands, driven by a domain function's ``progress(done, total)``.

The domain function counts (it takes an optional ``progress: Callable[[int, int], None] | None`` and calls it
before the first unit, after each batch and after the last); the CLI owns the bar. The bar goes to the console
it is given, which is always the command's stderr console: stdout stays clean for ``--json`` and pipes. It is
transient, so a stderr that is not a terminal gets nothing at all, and it only appears once the work turns out
to be at least ``show_from`` units: small work finishes before a bar would help.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

ProgressCallback = Callable[[int, int], None]


@contextlib.contextmanager
def progress_bar(console: Console, label: str, *, show_from: int) -> Iterator[ProgressCallback]:
    """Yield the callback to hand to the domain function; the bar starts with the first call whose total is
    at least ``show_from`` and follows every call after it."""
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task: TaskID | None = None

        def advance(done: int, total: int) -> None:
            nonlocal task
            if task is None and total >= show_from:
                task = bar.add_task(label, total=total)
            if task is not None:
                bar.update(task, completed=done, total=total)

        yield advance

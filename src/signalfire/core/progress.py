"""A determinate progress bar for long CLI commands, driven by a domain function's ``progress(done, total)``.

The domain function counts (it takes an optional ``progress: Callable[[int, int], None] | None`` and calls it
before the first unit, after each batch and after the last); the CLI owns the bar. The bar goes to the console
it is given, which is always the command's stderr console: stdout stays clean for ``--json`` and pipes. It is
shown only on a terminal (a stderr redirected to a file or a pipe gets nothing at all), only once the work turns
out to be at least ``show_from`` units (small work finishes before a bar would help), and it is erased when done.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

ProgressCallback = Callable[[int, int], None]


@contextlib.contextmanager
def progress_bar(console: Console, label: str, *, show_from: int) -> Iterator[ProgressCallback]:
    """Yield the callback to hand to the domain function. The bar starts with the first call whose total is
    at least ``show_from``, on a console that is a terminal, and follows every call after it; until then (and
    on a pipe or file, always) nothing at all is written, not even a blank line."""
    bar: Progress | None = None
    task: TaskID | None = None

    def advance(done: int, total: int) -> None:
        nonlocal bar, task
        if bar is None:
            if total < show_from or not console.is_terminal:
                return
            columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            bar = Progress(*columns, console=console, transient=True)
            bar.start()
            task = bar.add_task(label, total=total)
        assert task is not None
        bar.update(task, completed=done, total=total)

    try:
        yield advance
    finally:
        if bar is not None:
            bar.stop()

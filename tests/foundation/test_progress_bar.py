"""The CLI's progress bar (core/progress.py): shown on a terminal once the work is large enough, and nothing at
all otherwise, not even a blank line in a log file."""

from __future__ import annotations

import io

from rich.console import Console

from signalfire.core.progress import progress_bar


def _drive(console: Console, show_from: int) -> None:
    with progress_bar(console, "counting things", show_from=show_from) as advance:
        for done in range(4):
            advance(done, 3)


def test_a_terminal_shows_the_bar_for_large_work() -> None:
    out = io.StringIO()
    _drive(Console(file=out, force_terminal=True, width=100), show_from=3)
    assert "counting things" in out.getvalue()
    assert "3/3" in out.getvalue()


def test_a_terminal_shows_nothing_for_small_work() -> None:
    out = io.StringIO()
    _drive(Console(file=out, force_terminal=True, width=100), show_from=4)
    assert out.getvalue() == ""


def test_a_file_or_pipe_gets_nothing_even_for_large_work() -> None:
    out = io.StringIO()
    _drive(Console(file=out, width=100), show_from=1)
    assert out.getvalue() == ""


def test_the_bar_starts_when_the_total_grows_past_the_threshold() -> None:
    out = io.StringIO()
    with progress_bar(Console(file=out, force_terminal=True, width=100), "counting things", show_from=5) as advance:
        advance(0, 4)
        advance(5, 5)  # more arrived while working (as in audit sequence)
    assert "5/5" in out.getvalue()

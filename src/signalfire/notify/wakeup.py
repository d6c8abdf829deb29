"""In embedded mode the worker thread sleeps on this event; a commit that enqueued work sets it."""

from __future__ import annotations

import threading

_wake = threading.Event()


def wake_workers() -> None:
    _wake.set()


def wait(timeout: float) -> None:
    _wake.wait(timeout)
    _wake.clear()

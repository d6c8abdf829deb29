"""The server runs on the compiled HTTP parser and event loop that uvicorn picks when they are installed.

`signalfire serve` and `signalfire demo` leave uvicorn's choice on "auto"; with `httptools` and `uvloop`
among the dependencies that choice is the compiled pair, which the intake benchmark measured at about a
third less server CPU per request than h11 and asyncio (docs/benchmarks.md). This fails if either
dependency is dropped, or if uvicorn stops preferring them.
"""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvicorn
from fastapi import FastAPI


def _config(app: FastAPI) -> uvicorn.Config:
    # The options `signalfire serve` passes: host, port, log level; http and loop stay uvicorn's default.
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    config.load()
    return config


def test_the_server_parses_http_with_httptools(shared_app: FastAPI) -> None:
    assert _config(shared_app).http_protocol_class.__name__ == "HttpToolsProtocol"


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not built for Windows; asyncio's loop serves there")
def test_the_server_runs_on_uvloop(shared_app: FastAPI) -> None:
    factory = _config(shared_app).get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()

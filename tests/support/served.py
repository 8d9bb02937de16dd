"""An app served for real on a loopback port (uvicorn in a thread of the test process): what a
browser or a raw HTTP client talks to."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from tests.support.processes import free_port


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """Yields the base URL (http://127.0.0.1:<port>) while the app is served."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app could not be served")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)

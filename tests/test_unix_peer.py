"""A client that resolves to nobody never makes a `by_ip` limit lapse (issue 12 #4, the tail).

Served by uvicorn on a unix socket (``--uds``), a request has no client address. Before, `by_ip`
answered "does not apply" and every limit keyed on it silently stopped counting; now such a
request is keyed to its peer, the socket, and a warning says so once per process.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from shieldware import Shield, ShieldMiddleware
from shieldware import keys as keys_module
from shieldware.layers import TokenBucket

from .reliability.helpers import asgi_hello


@contextlib.contextmanager
def serve_uds(app: Any, path: Path) -> Iterator[httpx.Client]:
    """`app` under uvicorn on the unix socket `path`; yields a client speaking to it."""
    server = uvicorn.Server(
        uvicorn.Config(app, uds=str(path), log_level="warning", lifespan="off", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn exited"
        time.sleep(0.01)
    try:
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), timeout=5) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keys_module, "_warned", [], raising=False)


@pytest.mark.parametrize(
    "trusted",
    [pytest.param((), id="unix-not-trusted"), pytest.param(("unix",), id="proxy-sent-no-header")],
)
def test_a_by_ip_limit_applies_on_a_unix_socket(
    trusted: tuple[str, ...],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    fresh_warning: None,
) -> None:
    shield = Shield([TokenBucket("3/minute")], trusted_proxies=trusted)
    app = ShieldMiddleware(asgi_hello, shield=shield)
    with caplog.at_level(logging.WARNING, "shieldware"), serve_uds(app, tmp_path / "s") as client:
        statuses = [client.get("http://app/").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    warnings = [r for r in caplog.records if "no client address" in r.getMessage()]
    assert len(warnings) == 1, caplog.records  # once, however many requests
    assert "trusted_proxies=['unix']" in warnings[0].getMessage()


def test_behind_a_trusted_unix_proxy_clients_keep_their_own_buckets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fresh_warning: None
) -> None:
    shield = Shield([TokenBucket("2/minute")], trusted_proxies=["unix"])
    app = ShieldMiddleware(asgi_hello, shield=shield)
    with caplog.at_level(logging.WARNING, "shieldware"), serve_uds(app, tmp_path / "s") as client:

        def get(ip: str) -> int:
            return client.get("http://app/", headers={"x-forwarded-for": ip}).status_code

        first = [get("203.0.113.1") for _ in range(3)]
        second = [get("203.0.113.2") for _ in range(3)]
    assert first == second == [200, 200, 429]
    assert not [r for r in caplog.records if "no client address" in r.getMessage()]

"""Storage faults: each failure policy holds, nothing answers 500, service recovers by itself.

The in-process part runs against any store (a wrapper that fails on command). The Redis part
(server stopped mid-load and restarted; server made slow by a delaying proxy) needs the Redis store
and is skipped until `shieldware.stores.redis` has landed.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any, TypeVar

import pytest

from shieldware import (
    FallbackStore,
    MemoryStore,
    Shield,
    ShieldMiddleware,
    ShieldWSGIMiddleware,
    StoreError,
    TokenBucket,
)
from shieldware.ops import Op

from .helpers import Captured, TakeLayer, asgi_hello, assert_clean_response, wsgi_hello

R = TypeVar("R")


class FlakyStore:
    """A MemoryStore that raises `StoreError` while `failing` is set."""

    shared = False

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.supports = self.inner.supports
        self.failing = False
        self.calls = 0

    def run(self, op: Op[R]) -> R:
        self.calls += 1
        if self.failing:
            raise StoreError("injected: store unreachable")
        return self.inner.run(op)

    async def arun(self, op: Op[R]) -> R:
        return self.run(op)

    def close(self) -> None:
        self.inner.close()


class BrokenLayer:
    """A layer with a bug: it raises something other than StoreError."""

    name = "broken"

    def check(self, facts: Any, progress: Any) -> Any:
        raise RuntimeError("a bug in a layer")


def _asgi(app: Any, client: str = "11.0.0.1") -> Captured:
    out = Captured()
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"accept", b"*/*")],
        "query_string": b"",
        "client": (client, 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, out.receive, out.send))
    return out


def _wsgi(app: Any, client: str = "11.0.0.1") -> tuple[int, list[tuple[str, str]], bytes]:
    import io
    import sys

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "x",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": client,
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    seen: list[Any] = []
    body = b"".join(app(environ, lambda s, h, e=None: seen.append((s, h))))
    return int(seen[0][0].split()[0]), seen[0][1], body


@pytest.mark.parametrize("adapter", ["asgi", "wsgi"])
def test_fail_open_lets_requests_through_then_recovers_exact_counting(adapter: str) -> None:
    store = FlakyStore()
    shield = Shield([TakeLayer(3)], store=store, on_store_error="open")
    call = (
        (lambda: _asgi(ShieldMiddleware(asgi_hello, shield=shield)).status)
        if adapter == ("asgi")
        else (lambda: _wsgi(ShieldWSGIMiddleware(wsgi_hello, shield=shield))[0])
    )
    assert [call() for _ in range(2)] == [200, 200]  # two of three spent
    store.failing = True
    assert [call() for _ in range(20)] == [200] * 20  # open: served, and not counted
    store.failing = False
    assert [call() for _ in range(3)] == [200, 429, 429]  # recovers by itself, state intact


@pytest.mark.parametrize("adapter", ["asgi", "wsgi"])
def test_fail_closed_refuses_cleanly_with_503_then_recovers(adapter: str) -> None:
    store = FlakyStore()
    shield = Shield([TakeLayer(3)], store=store, on_store_error="closed")
    store.failing = True
    if adapter == "asgi":
        out = _asgi(ShieldMiddleware(asgi_hello, shield=shield))
        status, headers, body = out.status, out.headers, out.body
    else:
        status, raw_headers, body = _wsgi(ShieldWSGIMiddleware(wsgi_hello, shield=shield))
        headers = [(k.encode(), v.encode()) for k, v in raw_headers]
    assert status == 503
    assert_clean_response(status, headers, body)
    assert any(k.lower() == b"retry-after" for k, _ in headers)
    store.failing = False
    assert _asgi(ShieldMiddleware(asgi_hello, shield=shield)).status == 200


def test_decision_records_degraded_verdicts() -> None:
    store = FlakyStore()
    store.failing = True
    shield = Shield([TakeLayer(3)], store=store, on_store_error="open")
    from shieldware.facts import Facts

    decision = shield.decide(Facts("GET", "/"))
    assert not decision.answered
    assert any(v.degraded for v in decision.trail)


@pytest.mark.parametrize("policy", ["open", "closed"])
def test_a_layer_bug_never_becomes_a_500(policy: Any) -> None:
    """A layer that raises follows the failure policy: passed when open, 503 when closed."""
    shield = Shield([BrokenLayer(), TakeLayer(100)], store=MemoryStore(), on_store_error=policy)
    expected = 200 if policy == "open" else 503
    assert _asgi(ShieldMiddleware(asgi_hello, shield=shield)).status == expected
    assert _wsgi(ShieldWSGIMiddleware(wsgi_hello, shield=shield))[0] == expected
    trail = shield.decide(_facts()).trail  # skipped, and the decision is marked degraded
    assert next((v.rule, v.degraded) for v in trail) == ("broken", True)


def test_fallback_store_keeps_limiting_while_the_store_is_down() -> None:
    """`FallbackStore` decides against a local store meanwhile; the layer needs no option."""
    store = FlakyStore()
    fallback = FallbackStore(store)
    shield = Shield([TokenBucket("3/hour", burst=3)], store=fallback)
    store.failing = True
    app = ShieldMiddleware(asgi_hello, shield=shield)
    statuses = [_asgi(app).status for _ in range(6)]
    assert statuses.count(200) == 3, statuses
    assert statuses.count(429) == 3, statuses
    assert fallback.degraded == 4  # three admitted, one refused; later refusals are local
    store.failing = False
    assert _asgi(app, client="11.0.0.2").status == 200


def _facts(client: str = "11.0.0.1") -> Any:
    import ipaddress

    from shieldware.facts import Facts

    return Facts("GET", "/", client_ip=ipaddress.ip_address(client))


# -- Redis ------------------------------------------------------------------------------------
redis_mark = pytest.mark.redis


def _redis_store(url: str, timeout: float) -> Any:
    """The Redis store with a short timeout, whatever its constructor looks like."""
    module = pytest.importorskip("shieldware.stores.redis")
    cls = getattr(module, "RedisStore", None)
    attempts: list[Any] = []
    if cls is not None:
        attempts += [
            lambda: cls(url, timeout=timeout),
            lambda: cls.from_url(url, timeout=timeout),
            lambda: cls(url, socket_timeout=timeout),
        ]
    from shieldware import store_from_url

    attempts += [lambda: store_from_url(f"{url}?timeout={timeout}"), lambda: store_from_url(url)]
    errors = []
    for attempt in attempts:
        try:
            return attempt()
        except Exception as exc:
            errors.append(repr(exc))
    pytest.skip(f"cannot build the Redis store here: {errors}")


async def _acall(app: Any) -> Captured:
    out = Captured()
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"accept", b"*/*")],
        "query_string": b"",
        "client": ("11.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, out.receive, out.send)
    return out


async def _aclose(store: Any) -> None:
    aclose = getattr(store, "aclose", None)
    if aclose is not None:
        await aclose()
    store.close()


@redis_mark
@pytest.mark.slow
@pytest.mark.parametrize("policy", ["open", "closed"])
def test_redis_stopped_mid_load_and_restarted(policy: Any, tmp_path: Any) -> None:
    from .redis_server import RedisServer

    server = RedisServer(tmp_path)
    server.start()

    async def scenario() -> None:
        store = _redis_store(server.url, timeout=0.5)
        shield = Shield(
            [TakeLayer(1000, name=f"t{time.time_ns()}")], store=store, on_store_error=policy
        )
        app = ShieldMiddleware(asgi_hello, shield=shield)
        try:
            assert (await _acall(app)).status == 200
            server.stop()
            statuses: collections.Counter[int] = collections.Counter()
            for _ in range(10):
                start = time.monotonic()
                out = await _acall(app)
                statuses[out.status] += 1
                assert time.monotonic() - start < 5  # bounded wait, never hangs on a dead server
                assert_clean_response(out.status, out.headers, out.body)
            assert statuses == {200 if policy == "open" else 503: 10}
            server.start()  # same port
            deadline = time.monotonic() + 15
            while not await _healthy(app):
                assert time.monotonic() < deadline, "did not recover after Redis came back"
                await asyncio.sleep(0.2)
        finally:
            await _aclose(store)

    try:
        asyncio.run(scenario())
    finally:
        server.stop()


async def _healthy(app: Any) -> bool:
    """Served, and decided without a degraded verdict (the store answered)."""
    out = Captured()
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [],
        "query_string": b"",
        "client": ("11.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, out.receive, out.send)
    decision = scope["state"]["shieldware"]
    return out.status == 200 and not any(v.degraded for v in decision.trail)


@redis_mark
@pytest.mark.slow
def test_slow_redis_requests_wait_no_longer_than_the_timeout(tmp_path: Any) -> None:
    from .redis_server import DelayProxy, RedisServer

    server = RedisServer(tmp_path)
    server.start()
    proxy = DelayProxy(server.port, delay=2.0)

    async def scenario() -> None:
        store = _redis_store(proxy.url, timeout=0.3)
        shield = Shield(
            [TakeLayer(1000, name=f"s{time.time_ns()}")], store=store, on_store_error="open"
        )
        app = ShieldMiddleware(asgi_hello, shield=shield)
        try:
            for _ in range(3):
                start = time.monotonic()
                out = await _acall(app)
                took = time.monotonic() - start
                assert out.status == 200
                assert took < 1.5, took  # the 2 s delay is never waited out
            proxy.delay = 0.0
            deadline = time.monotonic() + 15
            while not await _healthy(app):  # recovers by itself once Redis is fast again
                assert time.monotonic() < deadline, "did not recover"
                await asyncio.sleep(0.2)
        finally:
            await _aclose(store)

    try:
        asyncio.run(scenario())
    finally:
        proxy.close()
        server.stop()

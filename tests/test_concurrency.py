"""Concurrency: leases taken at check, released when the response ends, errs or disconnects."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable
from typing import Any
from wsgiref.validate import validator

import pytest

from shieldware import (
    Action,
    Concurrency,
    ConfigurationError,
    Facts,
    MemoryStore,
    Shield,
    ShieldMiddleware,
    ShieldWSGIMiddleware,
    StoreError,
    Verdict,
)
from shieldware.layer import Progress
from shieldware.match import path

US = 1_000_000


def scope(ip: str = "203.0.113.7", path_: str = "/stream") -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path_,
        "headers": [],
        "client": (ip, 1234),
        "query_string": b"",
    }


class Gate:
    """An ASGI app that holds every response open until released."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.entered = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.entered += 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await self.open.wait()
        await send({"type": "http.response.body", "body": b"done"})


async def call(app: Any, s: dict[str, Any]) -> tuple[int, dict[bytes, bytes]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(s, receive, send)
    start = sent[0]
    return start["status"], dict(start["headers"])


def in_flight(store: MemoryStore) -> int:
    return sum(len(v[0]) for v in store._values.values() if isinstance(v[0], tuple))


def test_at_most_n_in_flight_and_release_when_the_response_ends() -> None:
    async def main() -> None:
        gate = Gate()
        store = MemoryStore()
        app = ShieldMiddleware(gate, shield=Shield([Concurrency(2)], store=store))
        held = [asyncio.create_task(call(app, scope())) for _ in range(2)]
        while gate.entered < 2:
            await asyncio.sleep(0)
        status, headers = await call(app, scope())
        assert status == 429
        assert headers[b"ratelimit"] == b'"concurrency";r=0'
        assert headers[b"retry-after"] == b"1"
        gate.open.set()
        results = await asyncio.gather(*held)
        assert [r[0] for r in results] == [200, 200]
        assert results[0][1][b"ratelimit-policy"] == b'"concurrency";q=2;qu="concurrent-requests"'
        assert in_flight(store) == 0
        gate.open.clear()
        task = asyncio.create_task(call(app, scope()))
        while gate.entered < 3:
            await asyncio.sleep(0)
        assert in_flight(store) == 1
        gate.open.set()
        await task

    asyncio.run(main())


def test_another_client_is_not_affected() -> None:
    async def main() -> None:
        gate = Gate()
        app = ShieldMiddleware(gate, shield=Shield([Concurrency(1)]))
        held = asyncio.create_task(call(app, scope()))
        while gate.entered < 1:
            await asyncio.sleep(0)
        other = asyncio.create_task(call(app, scope("198.51.100.1")))
        while gate.entered < 2:
            await asyncio.sleep(0)
        assert (await call(app, scope()))[0] == 429
        gate.open.set()
        assert [r[0] for r in await asyncio.gather(held, other)] == [200, 200]

    asyncio.run(main())


def test_a_disconnect_or_a_crash_releases_the_lease() -> None:
    async def main() -> None:
        gate = Gate()
        store = MemoryStore()
        app = ShieldMiddleware(gate, shield=Shield([Concurrency(1)], store=store))
        task = asyncio.create_task(call(app, scope()))
        while gate.entered < 1:
            await asyncio.sleep(0)
        assert in_flight(store) == 1
        task.cancel()  # what a server does when the client goes away
        with pytest.raises(asyncio.CancelledError):
            await task
        assert in_flight(store) == 0

        async def crash(scope: Any, receive: Any, send: Any) -> None:
            raise RuntimeError("boom")

        crashing = ShieldMiddleware(crash, shield=Shield([Concurrency(1)], store=store))
        with pytest.raises(RuntimeError):
            await call(crashing, scope())
        assert in_flight(store) == 0

    asyncio.run(main())


class Refuse:
    name = "refuse"

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        return Verdict(Action.DENY, "refuse", "test")


def test_a_later_refusal_releases_the_lease() -> None:
    store = MemoryStore()
    s = Shield([Concurrency(1), Refuse()], store=store)
    facts = Facts("GET", "/", client_ip=ipaddress.ip_address("203.0.113.7"))
    for _ in range(3):
        d = s.decide(facts)
        assert d.action is Action.DENY
        assert len(d.after) == 1
        s.finish(d)
    assert in_flight(store) == 0


def test_wsgi_releases_when_the_server_closes_the_body() -> None:
    store = MemoryStore()

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"ok"]

    wsgi = validator(ShieldWSGIMiddleware(app, shield=Shield([Concurrency(1)], store=store)))
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "x",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "203.0.113.7",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": __import__("io").BytesIO(),
        "wsgi.errors": __import__("io").StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    statuses = []
    for _ in range(3):
        body = wsgi(dict(environ), lambda status, headers, exc=None: statuses.append(status))
        assert in_flight(store) == 1
        list(body)
        body.close()  # type: ignore[attr-defined]
        assert in_flight(store) == 0
    assert statuses == ["200 OK"] * 3


def test_leases_of_a_dead_worker_expire() -> None:
    clock = [10**12]
    store = MemoryStore(clock=lambda: clock[0])
    s = Shield([Concurrency(1, lease_ttl=30)], store=store)
    facts = Facts("GET", "/", client_ip=ipaddress.ip_address("203.0.113.7"))
    s.decide(facts)  # never finished: the worker "died"
    assert s.decide(facts).action is Action.THROTTLE
    clock[0] += 30 * US
    assert s.decide(facts).action is Action.ALLOW


def test_match_failure_policy_and_configuration() -> None:
    class Down(MemoryStore):
        def run(self, op: Any) -> Any:
            raise StoreError("down")

    facts = Facts("GET", "/other", client_ip=ipaddress.ip_address("203.0.113.7"))
    s = Shield([Concurrency(1, match=path("/stream"))], store=Down())
    d = s.decide(facts)
    assert d.action is Action.ALLOW
    assert not d.degraded
    s = Shield([Concurrency(1, on_store_error="closed")], store=Down())
    d = s.decide(facts)
    assert d.action is Action.DENY
    assert d.verdict.status == 503
    assert d.degraded
    with pytest.raises(ConfigurationError):
        Concurrency(1, on_store_error="local")
    with pytest.raises(ConfigurationError):
        Concurrency(0)

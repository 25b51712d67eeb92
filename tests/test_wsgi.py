"""The WSGI middleware: checked by `wsgiref.validate` and through a real threaded server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable
from typing import Any
from wsgiref.validate import validator

import httpx
import pytest

from shieldware import Action, Facts, IPList, MemoryStore, Shield, ShieldWSGIMiddleware, Verdict
from shieldware.layer import Progress
from shieldware.match import path
from shieldware.ops import Add
from shieldware.wsgi import ENVIRON_KEY
from tests.servers import run_wsgi


class HeaderLayer:
    name = "hdr"

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        headers = (("ratelimit", '"x";r=1'),)
        if facts.path == "/slow":
            return Verdict(
                Action.THROTTLE, "test/slow", "too-fast", retry_after=1.5, headers=headers
            )
        return Verdict(Action.PASS, "test/hdr", "ok", headers=headers)


def hello(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    decision = environ[ENVIRON_KEY]
    body = f"{decision.action.value} {environ.get('REMOTE_ADDR')}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


SHIELD = Shield([IPList(deny=["127.0.0.1"], match=path("/admin")), HeaderLayer()])


def wrapped(shield: Shield = SHIELD) -> Any:
    # validator() checks both sides: what the server hands us and what we hand the server.
    return validator(ShieldWSGIMiddleware(validator(hello), shield=shield))


def test_pass_throttle_deny_through_a_real_server() -> None:
    with run_wsgi(wrapped()) as base:
        ok = httpx.get(base + "/")
        slow = httpx.get(base + "/slow", headers={"accept": "application/json"})
        admin = httpx.get(base + "/admin", headers={"accept": "text/html"})
    assert ok.status_code == 200
    assert ok.text == "allow 127.0.0.1"
    assert ok.headers["ratelimit"] == '"x";r=1'
    assert slow.status_code == 429
    assert slow.headers["retry-after"] == "2"
    assert slow.headers["content-type"] == "application/problem+json"
    assert slow.json()["reason"] == "too-fast"
    assert admin.status_code == 403
    assert "<h1>Access denied</h1>" in admin.text


def test_trusted_proxy_under_wsgi() -> None:
    shield = Shield([IPList(deny=["5.6.7.8"])], trusted_proxies=["127.0.0.1"])
    with run_wsgi(wrapped(shield)) as base:
        spoofed = httpx.get(base + "/", headers={"x-forwarded-for": "5.6.7.8"})
        clean = httpx.get(base + "/", headers={"x-forwarded-for": "5.6.7.9"})
    assert spoofed.status_code == 403
    assert clean.status_code == 200


def test_after_ops_run_when_the_body_is_closed() -> None:
    store = MemoryStore()

    class Leasing:
        name = "lease"

        def check(self, facts: Facts, progress: Progress) -> Verdict:
            return Verdict(Action.PASS, "t/lease", "ok", after=(Add(f"done-{facts.path}", 60),))

    shield = Shield([Leasing()], store=store)
    with run_wsgi(wrapped(shield)) as base:
        for i in range(5):
            assert httpx.get(f"{base}/{i}").status_code == 200
    assert len(store) == 5


def test_thread_safety_many_threads() -> None:
    with run_wsgi(wrapped()) as base:
        codes: list[int] = []
        lock = threading.Lock()

        def worker() -> None:
            with httpx.Client(base_url=base) as client:
                for _ in range(20):
                    code = client.get("/").status_code
                    with lock:
                        codes.append(code)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert codes == [200] * 160


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /\xff\xfe?\xff HTTP/1.1\r\nHost: \xff\r\nCookie: \x01=\xff\r\n\r\n",
        b'GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ,,,\r\nForwarded: for="\r\n\r\n',
    ],
)
def test_malformed_requests_never_500(raw: bytes) -> None:
    with run_wsgi(ShieldWSGIMiddleware(hello, shield=SHIELD)) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(raw)
            status = sock.recv(4096).split(b"\r\n", 1)[0]
    assert not status.startswith(b"HTTP/1.0 5"), status
    assert not status.startswith(b"HTTP/1.1 5"), status

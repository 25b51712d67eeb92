"""Shared pieces of the reliability suite: a Take-based test layer, shields, apps, real servers.

The suite runs against whatever has landed. `TakeLayer` charges a GCRA bucket through the store
exactly as a rate limit layer would (it builds `ops.Bucket` directly), so admission counts and
storage faults are testable before `TokenBucket` exists; `optional_layers()` adds the real layers
that are there.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import shieldware
from shieldware import Action, IPList, Shield, Verdict
from shieldware.facts import Facts
from shieldware.layer import Flow, Progress
from shieldware.ops import Bucket, Take
from tests.conftest import SECRET

HELLO = b"Hello, world!"


class TakeLayer:
    """Charge one bucket per client address; THROTTLE when it is empty.

    :param amount: requests admitted per `period` seconds (and the burst).
    """

    def __init__(self, amount: int, period: float = 3600.0, name: str = "take") -> None:
        self.name = name
        self.amount = amount
        self.interval_us = max(1, int(period * 1_000_000) // amount)

    def check(self, facts: Facts, progress: Progress) -> Flow:
        key = f"{self.name}:{facts.client_ip}"
        states = yield Take((Bucket(key, self.interval_us, self.amount),))
        state = states[0]
        if state.allowed:
            return Verdict(Action.PASS, self.name, "within-limit")
        return Verdict(Action.THROTTLE, self.name, "rate-limited", retry_after=state.retry_after)


def find(name: str, *modules: str) -> Any:
    """A public name from the package root or one of `modules`, or None while it has not landed."""
    obj = getattr(shieldware, name, None)
    if obj is not None:
        return obj
    for module in modules:
        try:
            obj = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if obj is not None:
            return obj
    return None


def optional_layers() -> list[Any]:
    """The real layers that exist on this branch, built with plain arguments (best effort)."""
    out: list[Any] = []
    tb = find("TokenBucket", "shieldware.layers.ratelimit")
    if tb is not None:
        with contextlib.suppress(Exception):
            out.append(tb("1000/minute", burst=1000))
    fp = find("Fingerprint", "shieldware.layers.fingerprint")
    if fp is not None:
        with contextlib.suppress(Exception):
            out.append(fp())
    pow_ = find("ProofOfWork", "shieldware.layers.challenge")
    if pow_ is not None:
        from shieldware.match import path

        with contextlib.suppress(Exception):
            out.append(pow_(SECRET, match=path("/login", "/login/*"), bits=3, max_bits=3))
    return out


def hostile_shield(**options: Any) -> Shield:
    """Every layer we have, trusting loopback proxies so forwarding headers are parsed too."""
    layer_list = [
        IPList(deny=["203.0.113.0/24", "2001:db8:dead::/48"], allow=["198.51.100.7"]),
        *optional_layers(),
        TakeLayer(1_000_000),
    ]
    options.setdefault("trusted_proxies", ["127.0.0.1", "::1", "10.0.0.0/8"])
    return Shield(layer_list, **options)


# -- apps ------------------------------------------------------------------------------------
async def asgi_hello(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")],
        }
    )
    await send({"type": "http.response.body", "body": HELLO})


def wsgi_hello(environ: Any, start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [HELLO]


# -- ASGI driven directly ----------------------------------------------------------------------
class Captured:
    """The messages an ASGI app sent, and the response they make."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @staticmethod
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    @property
    def status(self) -> int:
        starts = [m for m in self.messages if m["type"] == "http.response.start"]
        assert len(starts) == 1, self.messages
        return int(starts[0]["status"])

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return next(m for m in self.messages if m["type"] == "http.response.start")["headers"]

    @property
    def body(self) -> bytes:
        return b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )


def assert_clean_response(
    status: int, headers: list[tuple[bytes, bytes]], body: bytes, method: str = "GET"
) -> None:
    """A pass is the app's 200; a refusal is a 4xx (or the closed policy's 503) with a sane reply.

    A HEAD answer may carry the GET body's Content-Length and no body (RFC 9110, 9.3.2).
    """
    assert status == 200 or 400 <= status < 500 or status == 503, status
    names = [bytes(k).lower() for k, _ in headers]
    for name, value in headers:
        assert b"\r" not in name + value
        assert b"\n" not in name + value
    if status != 200:
        assert b"content-type" in names
        lengths = [v for k, v in headers if bytes(k).lower() == b"content-length"]
        assert len(lengths) == 1, lengths
        assert lengths[0].isdigit(), lengths
        if method.upper() != "HEAD" or body:  # a server strips a HEAD body itself
            assert lengths == [str(len(body)).encode()]


# -- real servers --------------------------------------------------------------------------
class ErrorLog(logging.Handler):
    """Collects ERROR records (an exception escaping the app is logged at ERROR by servers)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def uvicorn_server(app: Any) -> Iterator[tuple[int, ErrorLog]]:
    """A real uvicorn server in a thread, on an ephemeral loopback port."""
    import uvicorn

    errors = ErrorLog()
    watched = [logging.getLogger(n) for n in ("uvicorn.error", "uvicorn", "shieldware")]
    for logger in watched:
        logger.addHandler(errors)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield port, errors
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        for logger in watched:
            logger.removeHandler(errors)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def wsgi_server(app: Any) -> Iterator[tuple[int, list[str]]]:
    """A real threaded WSGI server (wsgiref); yields its port and the app exceptions seen."""
    errors: list[str] = []

    def catching(environ: Any, start_response: Callable[..., Any]) -> Any:
        try:
            return app(environ, start_response)
        except BaseException as exc:
            errors.append(repr(exc))
            raise

    httpd = make_server(
        "127.0.0.1", 0, catching, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield httpd.server_address[1], errors
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def raw_request(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, read the whole answer (the request asks to close the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks: list[bytes] = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def status_of(answer: bytes) -> int | None:
    """The status code of a raw HTTP answer, or None when the server sent nothing."""
    if not answer:
        return None
    line = answer.split(b"\r\n", 1)[0]
    parts = line.split(b" ", 2)
    assert len(parts) >= 2, answer[:200]
    assert parts[0].startswith(b"HTTP/1."), answer[:200]
    return int(parts[1])

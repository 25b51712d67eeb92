"""The ASGI middleware through a real uvicorn server, driven by httpx."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from shieldware import Action, Facts, IPList, Shield, ShieldMiddleware, Verdict
from shieldware.layer import Progress
from shieldware.match import path
from tests.servers import run_asgi


class HeaderLayer:
    """Adds a header to every passing response and throttles /slow."""

    name = "hdr"

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        headers = (("ratelimit", '"x";r=1'), ("x-frame-options", "DENY"))
        if facts.path == "/slow":
            return Verdict(
                Action.THROTTLE, "test/slow", "too-fast", retry_after=2.2, headers=headers
            )
        return Verdict(Action.PASS, "test/hdr", "ok", headers=headers)


async def hello(request: Request) -> Response:
    decision = request.state.shieldware
    return JSONResponse({"action": decision.action.value, "client": str(request.client)})


async def framed(request: Request) -> Response:
    return PlainTextResponse("own", headers={"x-frame-options": "SAMEORIGIN"})


async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hi")
    await websocket.close()


lifespan_seen: list[str] = []


def build(shield: Shield) -> Starlette:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        lifespan_seen.append("startup")
        yield
        lifespan_seen.append("shutdown")

    app = Starlette(
        routes=[
            Route("/", hello),
            Route("/framed", framed),
            Route("/slow", hello),
            Route("/admin", hello),
            WebSocketRoute("/ws", ws),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(ShieldMiddleware, shield=shield)
    return app


SHIELD = Shield([IPList(deny=["127.0.0.1"], match=path("/admin", "/ws-denied")), HeaderLayer()])


def test_passing_request_reaches_the_app_with_headers() -> None:
    with run_asgi(build(SHIELD)) as base:
        r = httpx.get(base + "/")
        assert r.status_code == 200
        assert r.json()["action"] == "allow"
        assert r.headers["ratelimit"] == '"x";r=1'
        own = httpx.get(base + "/framed")
        assert own.headers.get_list("x-frame-options") == ["SAMEORIGIN"]  # the app's header wins
    assert lifespan_seen[-2:] == ["startup", "shutdown"]


@pytest.mark.parametrize(
    ("accept", "ctype", "marker"),
    [
        ("text/html,application/xhtml+xml", "text/html", b"<h1>Too many requests</h1>"),
        ("application/json", "application/problem+json", b'"status":429'),
        ("*/*", "text/plain", b"Too many requests"),
    ],
)
def test_throttled_reply_is_negotiated(accept: str, ctype: str, marker: bytes) -> None:
    with run_asgi(build(SHIELD)) as base:
        r = httpx.get(base + "/slow", headers={"accept": accept})
    assert r.status_code == 429
    assert r.headers["content-type"].startswith(ctype)
    assert r.headers["retry-after"] == "3"
    assert r.headers["ratelimit"] == '"x";r=1'
    assert marker in r.content
    if "json" in ctype:
        problem = json.loads(r.content)
        assert problem["rule"] == "test/slow"


def test_denied_request_never_reaches_the_app() -> None:
    with run_asgi(build(SHIELD)) as base:
        r = httpx.get(base + "/admin", headers={"accept": "application/json"})
    assert r.status_code == 403
    assert r.json()["reason"] == "ip-deny-listed"


def test_shadow_mode_lets_everything_through() -> None:
    shadow = Shield(SHIELD.layers, mode="shadow")
    with run_asgi(build(shadow)) as base:
        r = httpx.get(base + "/admin")
    assert r.status_code == 200
    assert r.json()["action"] == "deny"


def test_websocket_refused_before_accept_and_allowed_otherwise() -> None:
    websockets = pytest.importorskip("websockets.sync.client")
    deny_ws = Shield([IPList(deny=["127.0.0.1"], match=path("/ws"))])
    with run_asgi(build(deny_ws)) as base:
        url = base.replace("http", "ws") + "/ws"
        with pytest.raises(Exception, match="403"):
            websockets.connect(url, open_timeout=5)
    with (
        run_asgi(build(SHIELD)) as base,
        websockets.connect(base.replace("http", "ws") + "/ws", open_timeout=5) as conn,
    ):
        assert conn.recv(timeout=5) == "hi"


def test_many_concurrent_requests() -> None:
    async def main(base: str) -> list[int]:
        async with httpx.AsyncClient(base_url=base) as client:
            rs = await asyncio.gather(*(client.get("/") for _ in range(100)))
        return [r.status_code for r in rs]

    with run_asgi(build(SHIELD)) as base:
        assert asyncio.run(main(base)) == [200] * 100


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: \xff\xfe, \x01\r\nCookie: =;;\xff\r\n\r\n",
        b"GET /%ff%fe?\xff=\xfe HTTP/1.1\r\nHost: \xff\r\nUser-Agent: \x7f\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 300 + b"\r\n",
    ],
)
def test_malformed_requests_never_500(raw: bytes) -> None:
    import socket

    with run_asgi(build(SHIELD)) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(raw)
            status = sock.recv(4096).split(b"\r\n", 1)[0]
    assert not status.startswith(b"HTTP/1.1 5"), status


async def _call(app: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def test_unreadable_scope_is_refused_cleanly() -> None:
    mw = ShieldMiddleware(build(SHIELD), shield=SHIELD)
    sent = asyncio.run(_call(mw, {"type": "http", "headers": [("not", "bytes")], "path": "/"}))
    assert sent[0]["status"] == 400


def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    asyncio.run(_call(ShieldMiddleware(app, shield=SHIELD), {"type": "lifespan"}))
    assert seen == ["lifespan"]


def test_head_request_gets_headers_without_a_body() -> None:
    with run_asgi(build(SHIELD)) as base:
        r = httpx.head(base + "/slow")
    assert r.status_code == 429
    assert r.content == b""
    assert int(r.headers["content-length"]) > 0

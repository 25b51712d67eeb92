"""The adapters under one small interface, so every contract case is written once.

Each adapter serves the same tiny app (``/`` says ok, ``/raise`` raises, ``/stream`` streams two
chunks, ``/api`` is an API route, ``/public`` is publicly cacheable, ``/items/{id}`` echoes an int
id and refuses anything else with 404, or 422 where the framework validates) behind a given
shield, through the framework's own test client (or a spec-checking driver for raw ASGI/WSGI), and
answers `Seen` records.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import httpx

from shieldware import Action, Facts, MemoryStore, Shield, Verdict
from shieldware.layer import Progress
from shieldware.ops import Op, Release

R = TypeVar("R")
OK = b"ok"
STREAM = (b"one\n", b"two\n")
PUBLIC = "public, max-age=60"


class ClientGone(OSError):
    """What a server's `send` raises once the client has disconnected."""


@dataclass(frozen=True)
class Seen:
    """What the client received."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return ", ".join(values) if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name]


class Client(Protocol):
    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Seen:
        """A full request; an app exception surfaces either as an exception or as a 500."""

    def drop(self, path: str) -> None:
        """Start `path` (a stream), take the first chunk, then disconnect."""


Adapter = Callable[[Shield], AbstractContextManager[Client]]


class CountingStore(MemoryStore):
    """A memory store counting the lease releases it ran."""

    def __init__(self) -> None:
        super().__init__()
        self.releases = 0

    def run(self, op: Op[R]) -> R:
        if isinstance(op, Release):
            self.releases += 1
        return super().run(op)


class Principal:
    """Echoes the principal the adapter handed to the chain in ``x-principal``."""

    name = "principal"

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        return Verdict(
            Action.PASS, "principal", "seen", headers=(("x-principal", facts.principal or "-"),)
        )


def user_of(headers: Any) -> str | None:
    """The principal hook every framework app uses: ``x-broken`` makes it raise."""
    if headers.get("x-broken"):
        raise RuntimeError("user store down")
    user = headers.get("x-user")
    return None if user is None else str(user)


def item_id(path: str) -> int | None:
    """The id of an ``/items/{id}`` path when it is a plain int (what the raw apps route on)."""
    prefix, _, rest = path.partition("/items/")
    return int(rest) if not prefix and rest.isascii() and rest.isdigit() else None


def _seen(status: int, headers: Any, body: bytes) -> Seen:
    return Seen(status, tuple((str(k).lower(), str(v)) for k, v in headers), body)


# -- raw ASGI and Starlette --------------------------------------------------------------------
async def asgi_hello(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/raise":
        raise RuntimeError("the app failed")
    if scope["path"].startswith("/items/"):
        found = item_id(scope["path"])
        status, body = (200, str(found).encode()) if found is not None else (404, b"no such item")
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})
        return
    headers = [(b"content-type", b"text/plain"), (b"x-app", b"1")]
    if scope["path"] == "/public":
        headers.append((b"cache-control", b"public, max-age=60"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if scope["path"] == "/stream":
        for chunk in STREAM:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.body", "body": OK})


def _scope(path: str, headers: Mapping[str, str]) -> dict[str, Any]:
    raw, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": raw,
        "raw_path": raw.encode("utf-8", "surrogateescape"),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def _drive(app: Any, scope: dict[str, Any], *, drop: bool = False) -> Seen:
    """Run an ASGI app as a server would; with `drop`, the client leaves after the first chunk."""
    start: dict[str, Any] = {}
    body: list[bytes] = []
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(0 if drop else 3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            if drop and body:
                raise ClientGone("the client went away")
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])]
    return _seen(start["status"], headers, b"".join(body))


class _AsgiClient:
    def __init__(self, app: Any) -> None:
        self.app = app

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Seen:
        return asyncio.run(_drive(self.app, _scope(path, headers or {})))

    def drop(self, path: str) -> None:
        with suppress(ClientGone):
            asyncio.run(_drive(self.app, _scope(path, {}), drop=True))


@contextmanager
def raw_asgi(shield: Shield) -> Iterator[Client]:
    from shieldware import ShieldMiddleware

    yield _AsgiClient(ShieldMiddleware(asgi_hello, shield=shield))


@contextmanager
def starlette(shield: Shield) -> Iterator[Client]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response, StreamingResponse
    from starlette.routing import Route

    from shieldware import ShieldMiddleware

    async def home(request: Request) -> Response:
        return PlainTextResponse(OK.decode(), headers={"x-app": "1"})

    async def fail(request: Request) -> Response:
        raise RuntimeError("the app failed")

    async def stream(request: Request) -> Response:
        return StreamingResponse(iter(STREAM), media_type="text/plain")

    async def public(request: Request) -> Response:
        return PlainTextResponse(OK.decode(), headers={"cache-control": PUBLIC})

    async def item(request: Request) -> Response:
        return PlainTextResponse(str(request.path_params["id"]))

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/api", home),
            Route("/raise", fail),
            Route("/stream", stream),
            Route("/public", public),
            Route("/items/{id:int}", item),
        ]
    )
    app.add_middleware(ShieldMiddleware, shield=shield)
    yield _HttpxClient(app, dropper=_AsgiClient(app))


class _HttpxClient:
    """Starlette's and FastAPI's documented in-process client: httpx over ASGITransport."""

    def __init__(self, app: Any, dropper: _AsgiClient) -> None:
        self.app = app
        self.dropper = dropper

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Seen:
        async def go() -> Seen:
            transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                r = await c.get(path, headers=dict(headers or {}))
            return _seen(r.status_code, r.headers.multi_items(), r.content)

        return asyncio.run(go())

    def drop(self, path: str) -> None:
        self.dropper.drop(path)


# -- WSGI ----------------------------------------------------------------------------------------
def wsgi_hello(environ: Any, start_response: Any) -> Any:
    path = environ["PATH_INFO"]
    if path == "/raise":
        raise RuntimeError("the app failed")
    if path.startswith("/items/"):
        found = item_id(path)
        if found is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such item"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(found).encode()]
    headers = [("Content-Type", "text/plain"), ("X-App", "1")]
    if path == "/public":
        headers.append(("Cache-Control", PUBLIC))
    start_response("200 OK", headers)
    return iter(STREAM) if path == "/stream" else [OK]


def _environ(path: str, headers: Mapping[str, str]) -> dict[str, Any]:
    raw, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "PATH_INFO": raw.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": query,
        "REMOTE_ADDR": "127.0.0.1",
        "SCRIPT_NAME": "",
    }
    setup_testing_defaults(environ)
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


class _WsgiClient:
    def __init__(self, app: Any) -> None:
        self.app = app

    def _call(self, path: str, headers: Mapping[str, str]) -> tuple[Seen, Any]:
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started[:] = [int(status.split()[0]), headers]
            return lambda data: None

        body = self.app(_environ(path, headers), start_response)
        return _seen(started[0] if started else 0, started[1] if started else [], b""), body

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Seen:
        seen, body = self._call(path, headers or {})
        try:
            data = b"".join(body)
        finally:
            body.close()
        return Seen(seen.status, seen.headers, data)

    def drop(self, path: str) -> None:
        _, body = self._call(path, {})
        next(iter(body))
        body.close()  # what a server does when the client is gone (PEP 3333)


@contextmanager
def wsgi(shield: Shield) -> Iterator[Client]:
    from shieldware import ShieldWSGIMiddleware

    yield _WsgiClient(validator(ShieldWSGIMiddleware(validator(wsgi_hello), shield=shield)))


# -- Flask ---------------------------------------------------------------------------------------
class _FlaskClient:
    def __init__(self, app: Any) -> None:
        self.client = app.test_client()

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Seen:
        r = self.client.get(path, headers=dict(headers or {}))
        try:
            return _seen(r.status_code, r.headers.items(), r.data)
        finally:
            r.close()  # as a server does once the body is sent

    def drop(self, path: str) -> None:
        r = self.client.get(path, buffered=False)
        next(iter(r.response))
        r.close()


@contextmanager
def flask(shield: Shield) -> Iterator[Client]:
    from flask import Flask, Response, request

    from shieldware.contrib.flask import Shieldware

    app = Flask("contract")
    Shieldware(app, shield=shield, principal=lambda: user_of(request.headers))

    @app.get("/")
    @app.get("/api")
    def home() -> Response:
        return Response(OK, mimetype="text/plain", headers={"x-app": "1"})

    @app.get("/raise")
    def fail() -> Response:
        raise RuntimeError("the app failed")

    @app.get("/stream")
    def stream() -> Response:
        return Response(iter(STREAM), mimetype="text/plain")

    @app.get("/public")
    def public() -> Response:
        return Response(OK, mimetype="text/plain", headers={"cache-control": PUBLIC})

    @app.get("/items/<int:id>")
    def item(id: int) -> Response:
        return Response(str(id), mimetype="text/plain")

    yield _FlaskClient(app)


# -- FastAPI -------------------------------------------------------------------------------------
@contextmanager
def fastapi(shield: Shield) -> Iterator[Client]:
    from tests.adapters.fastapi_site import build

    app = build(shield)
    yield _HttpxClient(app, dropper=_AsgiClient(app))


# -- Django --------------------------------------------------------------------------------------
_CONTRIB = Path(__file__).resolve().parents[1] / "contrib"


def _django_ready() -> None:
    """Share the Django test project's settings (one settings module per process)."""
    if str(_CONTRIB) not in sys.path:
        sys.path.append(str(_CONTRIB))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sw_django.settings")
    import django

    django.setup()


@contextmanager
def _django_settings(shield: Shield) -> Iterator[None]:
    _django_ready()
    from django.test import override_settings

    from tests.adapters import django_site

    django_site.SHIELD = shield
    with override_settings(
        ROOT_URLCONF="tests.adapters.django_site",
        SHIELDWARE_SHIELD="tests.adapters.django_site.current_shield",
        MIDDLEWARE=[
            "tests.adapters.django_site.Auth",
            "shieldware.contrib.django.ShieldwareMiddleware",
        ],
    ):
        yield


def _django_seen(r: Any) -> Seen:
    headers = list(r.items()) + [("set-cookie", m.OutputString()) for m in r.cookies.values()]
    body = b"".join(r.streaming_content) if r.streaming else r.content
    return _seen(r.status_code, headers, body)


class _DjangoClient:
    def __init__(self) -> None:
        from django.test import Client

        self.client = Client()

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Seen:
        return _django_seen(self.client.get(path, headers=dict(headers or {})))

    def drop(self, path: str) -> None:
        r = self.client.get(path)
        next(iter(r.streaming_content))
        r.close()


class _DjangoAsyncClient:
    def __init__(self) -> None:
        from django.test import AsyncClient

        self.client = AsyncClient()

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Seen:
        async def go() -> Seen:
            r = await self.client.get(path, headers=dict(headers or {}))
            if r.streaming:
                chunks = [chunk async for chunk in r]
                return _seen(r.status_code, r.items(), b"".join(chunks))
            return _django_seen(r)

        return asyncio.run(go())

    def drop(self, path: str) -> None:
        async def go() -> None:
            r = await self.client.get(path)
            async for _ in r:
                break
            r.close()

        asyncio.run(go())


@contextmanager
def django_sync(shield: Shield) -> Iterator[Client]:
    with _django_settings(shield):
        yield _DjangoClient()


@contextmanager
def django_async(shield: Shield) -> Iterator[Client]:
    with _django_settings(shield):
        yield _DjangoAsyncClient()

"""`LiveView`: the app users mount to watch their shield decide, live.

Pure ASGI (no framework), and the same view for WSGI apps through `LiveView.wsgi`: ``GET /``
the page, ``GET /events`` a server-sent event stream of the page's sections, ``GET /live.js``
and ``/live.css`` its assets. Guarded by a token compared in constant time (query ``?token=``,
``Authorization: Bearer``, or the cookie the first visit sets), or explicitly left to the app's
own auth with ``trust_app_auth=True``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import string
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from http import HTTPStatus
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

from ..errors import ConfigurationError
from .page import render_page, render_sections
from .state import LiveState, LiveViewReporter

__all__ = ["LiveView"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

COOKIE = "shieldware_live"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_NEEDS_TOKEN = b"This live view needs its token: open it as ?token=... once.\n"
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
    (b"content-security-policy", CSP.encode()),
]
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-_.~")
_ASSETS = {"/live.js": "text/javascript; charset=utf-8", "/live.css": "text/css; charset=utf-8"}


class LiveView:
    """A live dashboard of a shield's decisions.

    ``live = LiveView(token=os.environ["LIVE_TOKEN"], shield=shield)`` adds its reporter to
    ``shield`` and ``app.mount("/.shieldware/live", live)`` serves it.

    :param token: the secret a visitor must present; None only with ``trust_app_auth=True``.
    :param shield: a `Shield` to attach to (its reporters gain ours; its store is watched).
    :param state: share a `LiveState` (a window of another length, a test clock).
    :param interval: seconds between pushed updates.
    :param stream_seconds: a stream ends after this long; the browser reconnects by itself (this
        also bounds how long a server shutdown waits for open streams; see `close`).
    :param max_streams: concurrent event streams; more get 503.
    :param origins: an origin lookup (an `OriginDB`): offenders are also shown by AS and by
        organisation. By default, the one `shield`'s layers use, if any.
    """

    def __init__(
        self,
        *,
        token: str | None,
        shield: Any = None,
        state: LiveState | None = None,
        trust_app_auth: bool = False,
        interval: float = 1.0,
        stream_seconds: float = 60.0,
        max_streams: int = 8,
        title: str = "shieldware live",
        origins: Any = None,
    ) -> None:
        if token is None and not trust_app_auth:
            raise ConfigurationError(
                "LiveView needs a token, or trust_app_auth=True when your app guards the mount"
            )
        if token is not None and (len(token) < 16 or not _TOKEN_CHARS.issuperset(token)):
            raise ConfigurationError(
                "a LiveView token needs at least 16 characters from A-Z a-z 0-9 - _ . ~"
            )
        self.token = token
        self.reporter = LiveViewReporter(state)
        self.state = self.reporter.state
        if origins is not None:
            self.state.origins = origins
        self.interval = interval
        self.stream_seconds = stream_seconds
        self.max_streams = max_streams
        self.title = title
        self._streams = 0
        self._closing = False
        self._lock = threading.Lock()
        if shield is not None:
            self.attach(shield)

    def close(self) -> None:
        """End every event stream within one interval and refuse new ones (server shutdown).

        Servers wait for open responses before they exit; call this from your shutdown hook
        (the demo calls it when uvicorn is asked to exit). Streams also end by themselves after
        `stream_seconds`.
        """
        self._closing = True

    def attach(self, shield: Any) -> None:
        """Report `shield`'s decisions here and watch its store and mode."""
        if self.reporter not in shield.reporters:
            shield.reporters = (*shield.reporters, self.reporter)
        self.state.store = shield.store
        self.state.mode = shield.mode
        if self.state.origins is None:
            from ..origin.value import lookup_in

            self.state.origins = lookup_in(shield)

    # -- the routes, shared by both adapters -----------------------------------------------
    def _answer(
        self, method: str, path: str, base: str, query: bytes, headers: dict[str, str], https: bool
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
        """(status, headers, body, cacheable) for one request; status 0 asks for the stream."""
        if method not in ("GET", "HEAD"):
            return 405, [(b"allow", b"GET, HEAD")], b"Method not allowed\n", False
        if path in _ASSETS:
            return 200, [(b"content-type", _ASSETS[path].encode())], _asset(path[1:]), True
        params = dict(parse_qsl(query.decode("latin-1")))
        via_query = self._valid(params.get("token"))
        if not (via_query or self._authorized(headers)):
            challenge = [(b"www-authenticate", b'Bearer realm="shieldware live"')]
            return (
                401,
                challenge,
                b"This live view needs its token: open it as ?token=... once.\n",
                False,
            )
        if path in ("", "/"):
            extra = [(b"content-type", b"text/html; charset=utf-8")]
            if via_query and self.token is not None:
                cookie = f"{COOKIE}={self.token}; Path={base or '/'}; HttpOnly; SameSite=Strict"
                cookie += "; Secure" if https else ""
                extra.append((b"set-cookie", cookie.encode("latin-1")))
            page = render_page(self.state.snapshot(), base=base or "", title=self.title)
            return 200, extra, page.encode(), False
        if path == "/events":
            if not self._open_stream():
                return 503, [(b"retry-after", b"5")], b"Too many live streams\n", False
            return 0, [], b"", False
        return 404, [], b"Not found\n", False

    def _open_stream(self) -> bool:
        with self._lock:
            if self._streams >= self.max_streams or self._closing:
                return False
            self._streams += 1
            return True

    def _close_stream(self) -> None:
        with self._lock:
            self._streams -= 1

    def _chunk(self) -> bytes:
        data = json.dumps(render_sections(self.state.snapshot()), separators=(",", ":"))
        return f"event: sections\ndata: {data}\n\n".encode()

    # -- ASGI ------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        path, base = _split(scope)
        status, headers, body, cache = self._answer(
            str(scope.get("method", "")),
            path,
            base,
            bytes(scope.get("query_string") or b""),
            _headers(scope),
            scope.get("scheme") == "https",
        )
        if status == 0:
            await self._events(receive, send)
        else:
            await _reply(send, status, body, headers, cache=cache)

    # -- WSGI ------------------------------------------------------------------------------
    def wsgi(self) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
        """The same view as a WSGI app (Flask, Django under WSGI).

        Mount it with werkzeug's ``DispatcherMiddleware(app.wsgi_app, {"/.shieldware/live":
        live.wsgi()})``. Each open event stream holds one worker thread, at most `max_streams`.
        """

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            headers = {
                key[5:].replace("_", "-").lower(): str(value)
                for key, value in environ.items()
                if key.startswith("HTTP_")
            }
            status, extra, body, cache = self._answer(
                str(environ.get("REQUEST_METHOD", "")),
                str(environ.get("PATH_INFO", "")),
                str(environ.get("SCRIPT_NAME", "")),
                str(environ.get("QUERY_STRING", "")).encode("latin-1", "replace"),
                headers,
                environ.get("wsgi.url_scheme") == "https",
            )
            if status == 0:
                start_response("200 OK", [(k.decode(), v.decode()) for k, v in _SSE_HEADERS])
                return self._wsgi_events()
            all_headers = _all_headers(status, body, extra, cache)
            phrase = HTTPStatus(status).phrase
            start_response(
                f"{status} {phrase}", [(k.decode(), v.decode("latin-1")) for k, v in all_headers]
            )
            return [body]

        return app

    def _wsgi_events(self) -> Iterator[bytes]:
        try:
            yield b"retry: 2000\n\n"
            deadline = time.monotonic() + self.stream_seconds
            while not self._closing and time.monotonic() < deadline:
                yield self._chunk()
                time.sleep(self.interval)
        finally:  # the server closes the iterator when the client goes away
            self._close_stream()

    def authorized(self, scope: Scope) -> bool:
        """Whether a request carries the token (query, bearer or cookie): reuse it to guard
        neighbours such as a metrics endpoint."""
        query = dict(parse_qsl(bytes(scope.get("query_string") or b"").decode("latin-1")))
        return self._valid(query.get("token")) or self._authorized(_headers(scope))

    def _valid(self, candidate: str | None) -> bool:
        if self.token is None or candidate is None:
            return False
        return hmac.compare_digest(candidate.encode("latin-1", "replace"), self.token.encode())

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.token is None:
            return True
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer " and self._valid(auth[7:].strip()):
            return True
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and self._valid(value):
                return True
        return False

    async def _events(self, receive: Receive, send: Send) -> None:
        closed = asyncio.Event()

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    closed.set()
                    return

        watcher = asyncio.ensure_future(watch())
        try:
            start = {"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS}
            await send(start)
            hello = b"retry: 2000\n\n"
            await send({"type": "http.response.body", "body": hello, "more_body": True})
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.stream_seconds
            while not closed.is_set() and not self._closing and loop.time() < deadline:
                chunk = self._chunk()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(closed.wait(), self.interval)
            if not closed.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # pragma: no cover - the client went away mid-send
            pass
        finally:
            self._close_stream()
            watcher.cancel()


def _split(scope: Scope) -> tuple[str, str]:
    """The path below the mount point, and the mount point (works with old and new Starlette)."""
    path: str = scope.get("path") or "/"
    root: str = scope.get("root_path") or ""
    if root and path.startswith(root):
        return path[len(root) :], root
    return path, root


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers") or ():
        out[bytes(key).decode("latin-1").lower()] = bytes(value).decode("latin-1")
    return out


_asset_cache: dict[str, bytes] = {}


def _asset(name: str) -> bytes:
    if name not in _asset_cache:
        _asset_cache[name] = (resources.files(__package__) / "static" / name).read_bytes()
    return _asset_cache[name]


def _all_headers(
    status: int, body: bytes, headers: list[tuple[bytes, bytes]], cache: bool
) -> list[tuple[bytes, bytes]]:
    out = [
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"public, max-age=300" if cache else b"no-store"),
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        *headers,
    ]
    if not any(k == b"content-type" for k, _ in headers):
        out.append((b"content-type", b"text/plain; charset=utf-8"))
    return out


async def _reply(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    cache: bool = False,
) -> None:
    all_headers = _all_headers(status, body, headers or [], cache)
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})

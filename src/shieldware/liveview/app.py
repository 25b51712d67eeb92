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

from ..errors import ConfigurationError, ShieldwareError
from .attack import MAX_BODY, SESSION_COOKIE, AttackPanel, Outcome, new_session
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
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
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
        #: The under-attack panel, when the attached shield has a switch.
        self.panel: AttackPanel | None = None
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
        if getattr(shield, "switch", None) is not None:
            self.panel = AttackPanel(shield, self.token)
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
            panel = ""
            if self.panel is not None:
                session = _cookie(headers, SESSION_COOKIE) or new_session()
                if _cookie(headers, SESSION_COOKIE) != session:
                    cookie = f"{SESSION_COOKIE}={session}; Path={base or '/'}; HttpOnly"
                    cookie += "; SameSite=Strict" + ("; Secure" if https else "")
                    extra.append((b"set-cookie", cookie.encode("latin-1")))
                panel = self.panel.panel_html(base or "", session)
            page = render_page(
                self.state.snapshot(), base=base or "", title=self.title, extra=panel
            )
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
        sections = render_sections(self.state.snapshot())
        if self.panel is not None:
            sections["attack"] = self.panel.status_html()
        data = json.dumps(sections, separators=(",", ":"))
        return f"event: sections\ndata: {data}\n\n".encode()

    # -- ASGI ------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        path, base = _split(scope)
        if path == "/attack":
            await self._attack_asgi(scope, receive, send, base)
            return
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

    async def _attack_asgi(self, scope: Scope, receive: Receive, send: Send, base: str) -> None:
        headers = _headers(scope)
        body = b""
        if scope.get("method") == "POST":
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                if len(body) > MAX_BODY or not message.get("more_body"):
                    break
        outcome = self._attack(str(scope.get("method", "")), headers, body, base, scope)
        if outcome.flip is not None:
            assert self.panel is not None
            try:
                await self.panel.shield.aunder_attack(**outcome.flip)
            except (ValueError, ShieldwareError) as exc:
                outcome = _refused(exc)
            else:
                outcome = _flipped(outcome, self.panel)
        await _reply(send, outcome.status, outcome.body, outcome.headers)

    def _attack(
        self, method: str, headers: dict[str, str], body: bytes, base: str, scope: Scope
    ) -> Outcome:
        """``/attack``: the token first (cookie or bearer; never the query), then the panel."""
        if self.panel is None:
            return Outcome(404, [], b"Not found: no under-attack switch on this shield\n")
        auth = headers.get("authorization", "")
        bearer = auth[:7].lower() == "bearer " and self._valid(auth[7:].strip())
        if not (bearer or self._authorized(headers)):
            challenge = [(b"www-authenticate", b'Bearer realm="shieldware live"')]
            return Outcome(401, challenge, _NEEDS_TOKEN)
        scheme = str(scope.get("scheme") or "http")
        origin = f"{scheme}://{headers.get('host', '')}"
        return self.panel.handle(
            method,
            headers,
            body,
            base=base,
            host_origin=origin,
            bearer=bearer,
            session=_cookie(headers, SESSION_COOKIE),
        )

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
            if str(environ.get("PATH_INFO", "")) == "/attack":
                return self._attack_wsgi(environ, headers, start_response)
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

    def _attack_wsgi(
        self, environ: dict[str, Any], headers: dict[str, str], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if "content-type" not in headers and environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        method = str(environ.get("REQUEST_METHOD", ""))
        body = b""
        if method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                length = MAX_BODY + 1
                body = b"x" * length  # refused as too large (never read past the bound)
            else:
                body = environ["wsgi.input"].read(length) if length else b""
        scope = {"scheme": environ.get("wsgi.url_scheme", "http")}
        base = str(environ.get("SCRIPT_NAME", ""))
        outcome = self._attack(method, headers, body, base, scope)
        if outcome.flip is not None:
            assert self.panel is not None
            try:
                self.panel.shield.under_attack(**outcome.flip)
            except (ValueError, ShieldwareError) as exc:
                outcome = _refused(exc)
            else:
                outcome = _flipped(outcome, self.panel)
        all_headers = _all_headers(outcome.status, outcome.body, outcome.headers, False)
        start_response(
            f"{outcome.status} {HTTPStatus(outcome.status).phrase}",
            [(k.decode(), v.decode("latin-1")) for k, v in all_headers],
        )
        return [outcome.body]

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


def _cookie(headers: dict[str, str], name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value[:64]
    return None


def _refused(exc: Exception) -> Outcome:
    """A flip that could not be made: a bad ``until`` (400) or a store that failed (503)."""
    if isinstance(exc, ValueError):
        return Outcome(400, [], f"Bad request: {exc}\n".encode())
    return Outcome(503, [(b"retry-after", b"1")], b"The store could not take the flip\n")


def _flipped(outcome: Outcome, panel: AttackPanel) -> Outcome:
    """After the flip: the redirect a browser asked for, or the new state as JSON."""
    if outcome.status == 303:
        return outcome
    return Outcome(200, outcome.headers, panel.state_json())


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
        # same-origin, not no-referrer: under no-referrer a browser's form POST says
        # ``Origin: null``, and the under-attack button checks the origin (nothing leaves the site).
        (b"referrer-policy", b"same-origin"),
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

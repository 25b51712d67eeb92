"""The demo app behind ``shieldware demo``: a tiny site and API protected by the default chain.

Besides the site, the demo exposes what a drill needs to measure it: every response the app
itself produced carries ``x-shieldware-reached: 1`` and `/.shieldware/stats` counts them per
route; every response carries the decision's action and rule (``x-shieldware-action`` /
``x-shieldware-rule``); the live view is mounted at ``/.shieldware/live``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .asgi import ShieldMiddleware, decision_of
from .liveview import LiveView
from .policy import Shield

__all__ = [
    "LIVE_PATH",
    "METRICS_PATH",
    "REACHED_HEADER",
    "STATS_PATH",
    "Reached",
    "ReachedMiddleware",
    "build_demo_app",
    "build_site",
    "demo_routes",
    "demo_routes_text",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Added by the app itself: a response with it reached the app (was not answered by a shield).
REACHED_HEADER = "x-shieldware-reached"
STATS_PATH = "/.shieldware/stats"
METRICS_PATH = "/.shieldware/metrics"
LIVE_PATH = "/.shieldware/live"
ROUTES = ("/", "/api/hello", "/login", "/signup", "/healthz")

_HOME = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>shieldware demo</title></head><body><main>
<h1>shieldware demo</h1>
<p>This little app is protected by shieldware's default chain.</p>
<ul><li><a href="/api/hello">/api/hello</a> (JSON API)</li>
<li><a href="/login">/login</a> (a login form)</li>
<li><a href="/signup">/signup</a> (a sign-up form)</li></ul>
</main></body></html>"""

_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1><form method="post"><label>Email <input name="email"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">{title}</button></form></main></body></html>"""


async def home(request: Request) -> Response:
    return HTMLResponse(_HOME)


async def hello(request: Request) -> Response:
    decision = decision_of(request.scope)
    return JSONResponse({"hello": "world", "decision": decision.action.value if decision else None})


async def form(request: Request) -> Response:
    title = "Log in" if request.url.path == "/login" else "Sign up"
    if request.method == "POST":
        return PlainTextResponse(f"{title}: ok (demo)\n")
    return HTMLResponse(_FORM.format(title=title))


async def health(request: Request) -> Response:
    return PlainTextResponse("ok\n")


class Reached:
    """Counts the requests that reached the app, per known route (others as ``other``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = dict.fromkeys(ROUTES, 0)
        self.counts["other"] = 0

    def add(self, path: str) -> None:
        key = path if path in self.counts else "other"
        with self._lock:
            self.counts[key] += 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self.counts)
        return {"reached": counts, "total": sum(counts.values())}


class ReachedMiddleware:
    """Counts requests that reach the wrapped app and marks their responses (`REACHED_HEADER`)."""

    def __init__(self, app: ASGIApp, reached: Reached | None = None) -> None:
        self.app = app
        self.reached = reached or Reached()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.reached.add(scope.get("path", ""))

        async def marking(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (REACHED_HEADER.encode(), b"1")]
            await send(message)

        await self.app(scope, receive, marking)


def demo_routes() -> list[Route]:
    """The demo site's routes (benchmarks rebuild the site around other limiters with them)."""
    return [
        Route("/", home),
        Route("/api/hello", hello),
        Route("/login", form, methods=["GET", "POST"]),
        Route("/signup", form, methods=["GET", "POST"]),
        Route("/healthz", health),
    ]


def build_site(reached: Reached | None = None) -> ASGIApp:
    """The unprotected demo site; it counts and marks the requests that reach it."""
    return ReachedMiddleware(Starlette(routes=demo_routes()), reached)


def build_demo_app(
    shield: Shield | None,
    *,
    live: LiveView | None = None,
    reached: Reached | None = None,
    site: ASGIApp | None = None,
    metrics: Any = None,
    **_: Any,
) -> ASGIApp:
    """The demo site behind `ShieldMiddleware` (none if `shield` is None), plus its extras.

    `/.shieldware/stats` answers the reached counts as JSON; `live` is mounted at
    `/.shieldware/live`; a `PrometheusReporter` given as `metrics` is served at
    `/.shieldware/metrics` (behind the live view's token when there is one); every response
    says which action decided it.
    """
    counter = reached or Reached()
    inner = site or build_site(counter)
    protected: ASGIApp = inner if shield is None else ShieldMiddleware(inner, shield=shield)
    if live is not None and shield is not None:
        live.attach(shield)

    async def demo(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await protected(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path == STATS_PATH:
            body = json.dumps(counter.as_dict()).encode()
            headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if metrics is not None and path == METRICS_PATH:
            if live is not None and not live.authorized(scope):
                headers = [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer")]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": b"token required\n"})
                return
            body = metrics.exposition()
            headers = [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if live is not None and (path == LIVE_PATH or path.startswith(LIVE_PATH + "/")):
            root = scope.get("root_path", "")
            await live({**scope, "root_path": root + LIVE_PATH}, receive, send)
            return

        async def labelled(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision = decision_of(scope)
                if decision is not None:
                    extra = [
                        (b"x-shieldware-action", decision.action.value.encode()),
                        (b"x-shieldware-rule", decision.verdict.rule.encode("latin-1", "replace")),
                    ]
                    message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await protected(scope, receive, labelled)

    return demo


def demo_routes_text(base: str, shield: Shield, live_token: str | None = None) -> str:
    """What the demo prints: what is protected and how to see each defense."""
    layers = "\n".join(f"  - {layer.name}: {layer!r}" for layer in shield.layers)
    live = (
        f"\nLive view: {base}{LIVE_PATH}/?token={live_token}"
        f"\nMetrics:   curl -H 'Authorization: Bearer {live_token}' {base}{METRICS_PATH}\n"
        if live_token
        else ""
    )
    return f"""shieldware demo on {base}  (mode: {shield.mode})
{live}
The chain, in order:
{layers}

Try:
  curl -i {base}/api/hello        # passes: RateLimit headers, the decision in the JSON
  for i in $(seq 70); do curl -s -o /dev/null -w '%{{http_code}} ' {base}/api/hello; done; echo
                                  # the per-IP token bucket: 429 + Retry-After past the burst
  curl -i {base}/login            # a script on a login route: a proof-of-work challenge (401)
  shieldware solve {base}/login   # ... which the Python client pays honestly
  shieldware explain -v curl -A 'python-requests/2.32' {base}/api/hello
                                  # why a request scores what it does (fingerprint signals)
  curl -s {base}{STATS_PATH}      # requests that reached the app
  shieldware drill {base}         # rehearse an attack (start the demo with --trust-drill)
"""

"""The demo app behind ``shieldware demo``: a tiny site and API protected by the default chain."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .asgi import STATE_KEY, ShieldMiddleware
from .policy import Shield

__all__ = ["build_demo_app", "demo_routes_text"]

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
    decision = getattr(request.state, STATE_KEY, None)
    return JSONResponse({"hello": "world", "decision": decision.action.value if decision else None})


async def form(request: Request) -> Response:
    title = "Log in" if request.url.path == "/login" else "Sign up"
    if request.method == "POST":
        return PlainTextResponse(f"{title}: ok (demo)\n")
    return HTMLResponse(_FORM.format(title=title))


async def health(request: Request) -> Response:
    return PlainTextResponse("ok\n")


def build_demo_app(shield: Shield, **_: Any) -> ShieldMiddleware:
    """The demo's Starlette app wrapped in `ShieldMiddleware`."""
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/api/hello", hello),
            Route("/login", form, methods=["GET", "POST"]),
            Route("/signup", form, methods=["GET", "POST"]),
            Route("/healthz", health),
        ]
    )
    return ShieldMiddleware(app, shield=shield)


def demo_routes_text(base: str, shield: Shield) -> str:
    """What the demo prints: what is protected and how to see each defense."""
    layers = "\n".join(f"  - {layer.name}: {layer!r}" for layer in shield.layers)
    return f"""shieldware demo on {base}  (mode: {shield.mode})

The chain, in order:
{layers}

Try:
  curl -i {base}/api/hello                      # passes; the decision is in the JSON
  curl -i -H 'Accept: application/json' {base}/api/hello
  curl -i {base}/login
"""

"""An AI chat style API, protected the way it should have been from day one.

Run it:  uvicorn --app-dir examples/fastapi_chat chat_app:app

- ``GET /``                        a landing page
- ``GET /register``                the sign-up form for people (its helper pays the proof of work)
- ``POST /register``               create an account (JSON or the form)
- ``POST /login``                  trade email and password for an API key
- ``POST /v1/chat/completions``    a streamed "completion" (Server-Sent Events), by API key
- ``GET /healthz``                 for the load balancer

The protection lives in ``chat_security.py``; this module only wires it in.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import parse_qs

from chat_accounts import Accounts
from chat_security import accounts, app_shield, completions_guard, register_guard
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse
from jinja2 import DictLoader, Environment

from shieldware import Decision
from shieldware.contrib import jinja
from shieldware.contrib.fastapi import install

#: Seconds between streamed tokens (the tests make it 0).
TOKEN_DELAY = float(os.environ.get("CHAT_TOKEN_DELAY", "0.05"))

_HOME = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>shieldware chat</title></head><body><main>
<h1>shieldware chat</h1>
<p><a href="/register">Create an account</a>, then <code>POST /login</code> for an API key and
stream from <code>POST /v1/chat/completions</code>.</p>
</main></body></html>"""

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>shieldware chat: sign up</title></head><body><main>
<h1>Sign up</h1>
<form method="post" action="/register">
<label>Email <input name="email" type="email" required></label>
<label>Password <input name="password" type="password" minlength="8" required></label>
{{ shieldware_pow() }}
<button type="submit">Create account</button>
</form></main></body></html>"""
#: The templates (Jinja2, as with Starlette's ``Jinja2Templates``); the form helper registered once.
TEMPLATES = Environment(loader=DictLoader({"register.html": _PAGE}), autoescape=True)
jinja.install(TEMPLATES)


async def credentials(request: Request) -> tuple[str, str]:
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data: Any = json.loads(body or b"{}")
        except ValueError:
            raise HTTPException(400, "invalid JSON") from None
    else:
        data = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    email, password = data.get("email"), data.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or len(password) < 8:
        raise HTTPException(422, "email and a password of 8+ characters are required")
    return email, password


def create_app(store: Accounts = accounts) -> FastAPI:
    app = FastAPI(title="shieldware chat example")
    install(app, shield=app_shield)

    @app.get("/", response_class=HTMLResponse)
    async def home() -> str:
        return _HOME

    @app.get("/register", response_class=HTMLResponse)
    async def register_page() -> str:
        return TEMPLATES.get_template("register.html").render()

    @app.post("/register", status_code=201)
    async def register(
        decision: Annotated[Decision, Depends(register_guard)],  # decided before the body is read
        creds: Annotated[tuple[str, str], Depends(credentials)],
    ) -> dict[str, str]:
        user_id = store.register(*creds)
        if user_id is None:
            raise HTTPException(409, "this email is already registered")
        return {"user_id": user_id}  # the register_guard's RateLimit headers are added for us

    @app.post("/login")
    async def login(creds: Annotated[tuple[str, str], Depends(credentials)]) -> dict[str, str]:
        key = store.login(*creds)
        if key is None:
            raise HTTPException(401, "wrong email or password")
        return {"api_key": key}

    @app.post("/v1/chat/completions")
    async def completions(
        request: Request, decision: Annotated[Decision, Depends(completions_guard)]
    ) -> StreamingResponse:
        if store.user_of(_bearer(request)) is None:
            raise HTTPException(401, "a valid API key is required (Authorization: Bearer ...)")
        try:
            payload = json.loads(await request.body() or b"{}")
            prompt = str(payload["messages"][-1]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise HTTPException(422, "messages: [{role, content}, ...] is required") from None
        # install() adds the route decision's RateLimit headers to whatever the endpoint returns.
        return StreamingResponse(_stream(prompt), media_type="text/event-stream")

    @app.get("/healthz")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok\n")

    @app.get("/shield")
    async def shield_info(request: Request) -> JSONResponse:
        """What the app-wide shield decided about this very request (shadow mode shows here)."""
        decision: Decision | None = getattr(request.state, "shieldware", None)
        return JSONResponse(
            {"mode": app_shield.mode, "explain": decision.explain() if decision else None}
        )

    return app


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token else None


async def _stream(prompt: str) -> AsyncIterator[bytes]:
    words = f"You said: {prompt[:200]}".split()
    for index, word in enumerate(words):
        chunk = {"choices": [{"index": 0, "delta": {"content": word + " "}}], "n": index}
        yield f"data: {json.dumps(chunk)}\n\n".encode()
        await asyncio.sleep(TOKEN_DELAY)
    yield b"data: [DONE]\n\n"


app = create_app()

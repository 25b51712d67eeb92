"""`ShieldMiddleware`: the shield in front of any ASGI app (Starlette, FastAPI, Django ASGI, ...).

Pure ASGI, no BaseHTTPMiddleware: the body is never read or buffered. Lifespan and unknown scopes
pass straight through; a refused websocket is refused before it is accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .policy import Shield
from .render import render
from .verdict import Decision, Reason, Reply

__all__ = ["STATE_KEY", "ShieldMiddleware", "decision_of"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Where the app finds the decision: ``request.state.shieldware`` in Starlette/FastAPI.
STATE_KEY = "shieldware"

log = logging.getLogger("shieldware")
_BAD_REQUEST = Reply(400, (("content-type", "text/plain; charset=utf-8"),), b"Bad request\n")


class ShieldMiddleware:
    """Protect an ASGI app with a `Shield`.

    ``app.add_middleware(ShieldMiddleware, shield=shield)`` in Starlette/FastAPI, or
    ``ShieldMiddleware(app, shield=shield)`` around any ASGI app.
    """

    def __init__(self, app: ASGIApp, *, shield: Shield) -> None:
        self.app = app
        self.shield = shield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            facts = self.shield.facts_from_scope(scope)
        except Exception:  # a server handed us a scope we cannot read: refuse it cleanly
            log.warning(
                "shieldware: unreadable %s scope refused (%s)",
                scope["type"],
                Reason.BAD_REQUEST,
                exc_info=True,
            )
            await _refuse(scope, send, _BAD_REQUEST)
            return
        decision = await self.shield.adecide(facts)
        state = scope.setdefault("state", {})
        state[STATE_KEY] = decision
        if decision.answered:
            try:
                await _refuse(scope, send, render(decision, facts))
            finally:
                if decision.after:  # most refusals hold no lease: no coroutine to make
                    await self.shield.afinish(decision)
            return
        headers = _encode(decision.headers)
        try:
            if headers and scope["type"] == "http":
                await self.app(scope, receive, _adding_headers(send, headers))
            else:
                await self.app(scope, receive, send)
        finally:
            if decision.after:
                await self.shield.afinish(decision)


def decision_of(scope: Scope) -> Decision | None:
    """The decision the middleware attached to this scope, if any."""
    state = scope.get("state") or {}
    value = state.get(STATE_KEY)
    return value if isinstance(value, Decision) else None


def _encode(headers: tuple[tuple[str, str], ...]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def _adding_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            existing = list(message.get("headers") or ())
            present = {k.lower() for k, _ in existing}
            existing += [h for h in extra if h[0] == b"set-cookie" or h[0] not in present]
            message["headers"] = existing
        await send(message)

    return send_with_headers


async def _refuse(scope: Scope, send: Send, reply: Reply) -> None:
    headers = _encode(reply.headers)
    if scope["type"] == "http":
        headers.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        body = b"" if scope.get("method") == "HEAD" else reply.body
        await send({"type": "http.response.body", "body": body})
        return
    # websocket: answer with an HTTP response when the server supports it, else close (=> 403).
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send(
            {"type": "websocket.http.response.start", "status": reply.status, "headers": headers}
        )
        await send({"type": "websocket.http.response.body", "body": reply.body})
    else:
        await send({"type": "websocket.close", "code": 1008})

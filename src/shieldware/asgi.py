"""`ShieldMiddleware`: the shield in front of any ASGI app (Starlette, FastAPI, Django ASGI, ...).

Pure ASGI, no BaseHTTPMiddleware: the body is never read or buffered. Lifespan and unknown scopes
pass straight through; a refused websocket is refused before it is accepted. The lifecycle itself
is the `Gate`'s; this module only translates it into ASGI messages.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .gate import DECISION_KEY, Gate, decision_in
from .policy import Shield
from .render import merge_headers
from .verdict import Decision, Reason, Reply

__all__ = ["STATE_KEY", "ShieldMiddleware", "decision_of"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RawHeaders = list[tuple[bytes, bytes]]

#: Where the app finds the decision in ``scope["state"]`` (kept for `shieldware.demo`; it is
#: `gate.DECISION_KEY`).
STATE_KEY = DECISION_KEY

log = logging.getLogger("shieldware")
_DECIDED = frozenset({"http", "websocket"})
_MAX_WIRE = 256


class ShieldMiddleware:
    """Protect an ASGI app with a `Shield`.

    ``app.add_middleware(ShieldMiddleware, shield=shield)`` in Starlette/FastAPI, or
    ``ShieldMiddleware(app, shield=shield)`` around any ASGI app.

    An inert shield (no layers, thresholds or reporters) decides nothing, so the constructor hands
    back `app` itself: the request costs nothing and no decision is stored.
    """

    def __new__(cls, app: ASGIApp, *, shield: Shield) -> ShieldMiddleware:
        if shield.inert:
            return app  # type: ignore[return-value]  # a pass-through is no middleware at all
        return super().__new__(cls)

    def __init__(self, app: ASGIApp, *, shield: Shield) -> None:
        self.app = app
        self.shield = shield
        self.gate = Gate(shield)
        #: Replies in wire form by identity: the gate's renderer hands a hammering client the
        #: same `Reply` again and again, so it is encoded once. Bounded: starts over when full.
        self._wire: dict[int, tuple[Reply, RawHeaders]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in _DECIDED:
            return await self.app(scope, receive, send)
        gate = self.gate
        try:
            facts = self.shield.facts_from_scope(scope)
        except Exception:  # a server handed us a scope we cannot read: refuse it cleanly
            log.warning(
                "shieldware: unreadable %s scope refused (%s)",
                scope["type"],
                Reason.BAD_REQUEST,
                exc_info=True,
            )
            entry = gate.unreadable()
        else:
            entry = await gate.aenter(facts)
        scope.setdefault("state", {})[DECISION_KEY] = entry.decision
        if entry.reply is not None:
            return await _answer(scope, send, entry.reply, self._raw(entry.reply))
        if entry.headers and scope["type"] == "http":
            send = _adding(send, _encode(entry.headers))
        if not entry.after:
            return await self.app(scope, receive, send)
        try:  # the app raising, or the client leaving mid-response, still releases the lease
            await self.app(scope, receive, send)
        finally:
            await gate.afinish(entry)

    def _raw(self, reply: Reply) -> RawHeaders:
        """The reply's headers as ASGI wants them, content-length included (a fresh list: an
        outer middleware may edit it in place)."""
        hit = self._wire.get(id(reply))
        if hit is None or hit[0] is not reply:
            raw = _encode(reply.headers)
            raw.append((b"content-length", str(len(reply.body)).encode()))
            if len(self._wire) >= _MAX_WIRE:
                self._wire.clear()
            hit = self._wire[id(reply)] = (reply, raw)
        return list(hit[1])


def decision_of(scope: Scope) -> Decision | None:
    """The decision stored in this scope's state (the most specific one), if any."""
    return decision_in(scope.get("state"))


def _encode(headers: tuple[tuple[str, str], ...]) -> RawHeaders:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def _adding(send: Send, extra: RawHeaders) -> Send:
    async def send_adding(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = list(message.get("headers") or ())
            message["headers"] = present + merge_headers(present, extra)
        await send(message)

    return send_adding


async def _answer(scope: Scope, send: Send, reply: Reply, headers: RawHeaders) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        body = b"" if scope.get("method") == "HEAD" else reply.body
        await send({"type": "http.response.body", "body": body})
        return
    # websocket: answer with an HTTP response when the server supports it, else close (=> 403).
    if "websocket.http.response" in (scope.get("extensions") or {}):
        headers = [h for h in headers if h[0] != b"content-length"]
        await send(
            {"type": "websocket.http.response.start", "status": reply.status, "headers": headers}
        )
        await send({"type": "websocket.http.response.body", "body": reply.body})
    else:
        await send({"type": "websocket.close", "code": 1008})

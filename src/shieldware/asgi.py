"""`ShieldMiddleware`: the shield in front of any ASGI app (Starlette, FastAPI, Django ASGI, ...).

Pure ASGI, no BaseHTTPMiddleware. The body is read only when a layer asks for it
(`Gate.wants_body`: a form post to a route that needs a per-action proof), at most
`body.MAX_BODY` bytes, and the very messages received are replayed to the app. Lifespan and
unknown scopes pass straight through; a refused websocket is refused before it is accepted. The
lifecycle itself is the `Gate`'s; this module only translates it into ASGI messages.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from .body import MAX_BODY, with_body
from .facts import Facts
from .gate import DECISION_KEY, Gate, decision_in, read_facts
from .policy import Shield
from .render import merge_headers
from .verdict import Decision, Reply

__all__ = ["ShieldMiddleware", "add_headers", "adding_headers", "decision_of"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RawHeaders = list[tuple[bytes, bytes]]

_DECIDED = frozenset({"http", "websocket"})
_from_scope = Facts.from_scope


class ShieldMiddleware:
    """Protect an ASGI app with a `Shield`.

    ``app.add_middleware(ShieldMiddleware, shield=shield)`` in Starlette/FastAPI, or
    ``ShieldMiddleware(app, shield=shield)`` around any ASGI app.

    An inert shield (no layers, thresholds or reporters) decides nothing: its requests go straight
    to the app and no decision is stored.
    """

    def __init__(self, app: ASGIApp, *, shield: Shield) -> None:
        self.app = app
        self.shield = shield
        self.gate = Gate(shield)
        self._proxies = shield.proxies  # read once: Facts are built with no forwarder per request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.shield.inert or scope["type"] not in _DECIDED:
            return await self.app(scope, receive, send)
        gate = self.gate
        facts = read_facts(_from_scope, scope, self._proxies)
        if scope["type"] == "http" and gate.wants_body(facts):
            facts, receive = await _buffer(facts, receive)  # type: ignore[arg-type]
        entry = await gate.aenter(facts)
        scope.setdefault("state", {})[DECISION_KEY] = decision = entry.decision
        if entry.reply is not None:
            return await _answer(scope, send, entry.reply)
        if decision.headers and scope["type"] == "http":
            send = adding_headers(send, decision.headers)
        if entry.finished:
            return await self.app(scope, receive, send)
        try:  # the app raising, or the client leaving mid-response, still releases the lease
            await self.app(scope, receive, send)
        finally:
            await gate.afinish(entry)


async def _buffer(facts: Facts, receive: Receive) -> tuple[Facts, Receive]:
    """Read at most `MAX_BODY` bytes of the body for the layers; the app gets the same messages.

    A body announced larger is not read at all; one that turns out larger (or a client that
    leaves) is replayed as far as it was read, then the rest comes from the server as usual.
    """
    length = facts.header("content-length")
    announced = length is None or (length.isascii() and length.isdigit())
    if not announced or (length is not None and int(length) > MAX_BODY):
        return facts, receive
    messages: list[Message] = []
    size = 0
    whole = False
    while size <= MAX_BODY:
        message = await receive()
        messages.append(message)
        if message.get("type") != "http.request":
            break  # the client left: replay that too
        size += len(message.get("body") or b"")
        if not message.get("more_body", False):
            whole = size <= MAX_BODY
            break
    if whole:
        data = b"".join(bytes(m.get("body") or b"") for m in messages)
        facts = with_body(facts, facts.header("content-type"), data)
    queue = deque(messages)

    async def replay() -> Message:
        return queue.popleft() if queue else await receive()

    return facts, replay


def decision_of(scope: Scope) -> Decision | None:
    """The decision stored in this scope's state (the most specific one), if any."""
    return decision_in(scope.get("state"))


def add_headers(message: Message, headers: Iterable[tuple[str, str]]) -> None:
    """Merge `headers` into an ``http.response.start`` message by the one rule
    (`render.merge_headers`: the app's headers win, Set-Cookie is appended, a
    ``Cache-Control: public`` response gets nothing). The app's header list is never edited in
    place: an app may send the same list with every response."""
    present = message.get("headers") or ()
    if not isinstance(present, (list, tuple)):
        present = list(present)  # any iterable, read once
    extra = merge_headers(present, _encode(headers))
    if extra:
        message["headers"] = [*present, *extra]


def adding_headers(send: Send, headers: Iterable[tuple[str, str]]) -> Send:
    """`send`, with `headers` merged into the response start (`add_headers`)."""

    async def send_adding(message: Message) -> None:
        if message["type"] == "http.response.start":
            add_headers(message, headers)
        await send(message)

    return send_adding


def _encode(headers: Iterable[tuple[str, str]]) -> RawHeaders:
    """Names come lower-case from layers and replies (`merge_headers` compares lower-cased)."""
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


async def _answer(scope: Scope, send: Send, reply: Reply) -> None:
    body = reply.body
    headers = _encode(reply.headers)
    if scope["type"] == "http":
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        head = scope.get("method") == "HEAD"
        await send({"type": "http.response.body", "body": b"" if head else body})
        return
    # websocket: answer with an HTTP response when the server supports it, else close (=> 403).
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send(
            {"type": "websocket.http.response.start", "status": reply.status, "headers": headers}
        )
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})

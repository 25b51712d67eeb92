"""`ShieldWSGIMiddleware`: the shield in front of any WSGI app (Flask, Django, Bottle, ...).

The `Gate` lifecycle of the ASGI middleware, driven synchronously: no event loop, no thread hop.
The body is read only when a layer asks for it (`Gate.wants_body`), at most `body.MAX_BODY` bytes
of a body with a ``Content-Length``, and handed to the app again as ``wsgi.input``. Thread-safe:
it keeps no per-request state on itself.
"""

from __future__ import annotations

import http
import io
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .body import attach_body
from .facts import Facts
from .gate import Entry, Gate, decision_in, read_facts
from .policy import Shield
from .render import merge_headers
from .verdict import Decision, Reply

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ENVIRON_KEY", "ShieldWSGIMiddleware", "decision_of"]

_from_environ = Facts.from_environ
#: The WSGI environ's name for the app-wide decision: PEP 3333 wants extension keys dotted.
ENVIRON_KEY = "shieldware.decision"


class ShieldWSGIMiddleware:
    """Protect a WSGI app with a `Shield`.

    ``app.wsgi_app = ShieldWSGIMiddleware(app.wsgi_app, shield=shield)`` in Flask, or
    ``application = ShieldWSGIMiddleware(application, shield=shield)`` anywhere else. The decision
    is at ``environ["shieldware.decision"]``. An inert shield decides nothing: its requests go
    straight to the app and no decision is stored.
    """

    def __init__(self, app: WSGIApplication, *, shield: Shield) -> None:
        self.app = app
        self.shield = shield
        self.gate = Gate(shield)
        self._proxies = shield.proxies  # read once: Facts are built with no forwarder per request

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.shield.inert:
            return self.app(environ, start_response)
        gate = self.gate
        facts = read_facts(_from_environ, environ, self._proxies)
        if gate.wants_body(facts):
            facts = _buffer(facts, environ)  # type: ignore[arg-type]
        entry = gate.enter(facts)
        environ[ENVIRON_KEY] = decision = entry.decision
        if entry.reply is not None:
            return _answer(start_response, entry.reply, environ.get("REQUEST_METHOD") == "HEAD")
        if decision.headers:
            start_response = _adding(start_response, decision.headers)
        if entry.finished:
            return self.app(environ, start_response)
        try:
            body = self.app(environ, start_response)
        except BaseException:
            gate.finish(entry)
            raise
        return _Finishing(body, gate, entry)


def _buffer(facts: Facts, environ: WSGIEnvironment) -> Facts:
    """Read a body of at most `MAX_BODY` bytes for the layers; the app reads the same bytes."""

    def read() -> bytes:
        length = int(environ["CONTENT_LENGTH"])  # attach_body checked it
        try:
            data: bytes = environ["wsgi.input"].read(length) if length else b""
        except Exception:  # the client left: the app meets the same short stream
            data = b""
        environ["wsgi.input"] = io.BytesIO(data)
        return data

    return attach_body(facts, environ.get("CONTENT_LENGTH"), environ.get("CONTENT_TYPE"), read)


def decision_of(environ: WSGIEnvironment) -> Decision | None:
    """The decision stored in this environ (the most specific one), if any."""
    return decision_in(environ, (ENVIRON_KEY,))


def _status_line(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _answer(start_response: StartResponse, reply: Reply, head: bool) -> list[bytes]:
    """Send `reply` through `start_response` (no body for HEAD)."""
    headers = [*reply.headers, ("content-length", str(len(reply.body)))]
    start_response(_status_line(reply.status), headers)
    return [b""] if head else [reply.body]


def _adding(start_response: StartResponse, extra: tuple[tuple[str, str], ...]) -> Any:
    def start_adding(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return start_response(status, headers + merge_headers(headers, extra), exc_info)

    return start_adding


class _Finishing:
    """Wraps the app's body so after-response work runs when the server closes it (PEP 3333)."""

    def __init__(self, body: Iterable[bytes], gate: Gate, entry: Entry) -> None:
        self._body = body
        self._gate = gate
        self._entry = entry

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._gate.finish(self._entry)

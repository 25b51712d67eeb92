"""`ShieldWSGIMiddleware`: the shield in front of any WSGI app (Flask, Django, Bottle, ...).

The `Gate` lifecycle of the ASGI middleware, driven synchronously: no event loop, no thread hop.
The body is never read. Thread-safe: it keeps no per-request state on itself.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .gate import ENVIRON_KEY, Entry, Gate, decision_in
from .policy import Shield
from .render import merge_headers
from .verdict import Decision, Reply

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ENVIRON_KEY", "ShieldWSGIMiddleware", "decision_of"]

log = logging.getLogger("shieldware")


class ShieldWSGIMiddleware:
    """Protect a WSGI app with a `Shield`.

    ``app.wsgi_app = ShieldWSGIMiddleware(app.wsgi_app, shield=shield)`` in Flask, or
    ``application = ShieldWSGIMiddleware(application, shield=shield)`` anywhere else. The decision
    is at ``environ["shieldware.decision"]``. An inert shield decides nothing, so the constructor
    hands back `app` itself.
    """

    def __new__(cls, app: WSGIApplication, *, shield: Shield) -> ShieldWSGIMiddleware:
        if shield.inert:
            return app  # type: ignore[return-value]  # a pass-through is no middleware at all
        return super().__new__(cls)

    def __init__(self, app: WSGIApplication, *, shield: Shield) -> None:
        self.app = app
        self.shield = shield
        self.gate = Gate(shield)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        gate = self.gate
        try:
            facts = self.shield.facts_from_environ(environ)
        except Exception:
            log.warning("shieldware: unreadable environ refused", exc_info=True)
            entry = gate.unreadable()
        else:
            entry = gate.enter(facts)
        environ[ENVIRON_KEY] = entry.decision
        if entry.reply is not None:
            return _answer(start_response, entry.reply, environ.get("REQUEST_METHOD") == "HEAD")
        if entry.headers:
            start_response = _adding(start_response, entry.headers)
        if not entry.after:
            return self.app(environ, start_response)
        try:
            body = self.app(environ, start_response)
        except BaseException:
            gate.finish(entry)
            raise
        return _Finishing(body, gate, entry)


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

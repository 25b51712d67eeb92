"""`ShieldWSGIMiddleware`: the shield in front of any WSGI app (Flask, Django, Bottle, ...).

Same contract as the ASGI middleware, driven synchronously: no event loop, no thread hop. The body
is never read. Thread-safe: it keeps no per-request state on itself.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .policy import Shield
from .render import render
from .verdict import Decision, Reply

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ENVIRON_KEY", "ShieldWSGIMiddleware", "decision_of"]

#: Where the app finds the decision in the WSGI environ.
ENVIRON_KEY = "shieldware.decision"

log = logging.getLogger("shieldware")
_BAD_REQUEST = Reply(400, (("content-type", "text/plain; charset=utf-8"),), b"Bad request\n")


class ShieldWSGIMiddleware:
    """Protect a WSGI app with a `Shield`.

    ``app.wsgi_app = ShieldWSGIMiddleware(app.wsgi_app, shield=shield)`` in Flask, or
    ``application = ShieldWSGIMiddleware(application, shield=shield)`` anywhere else.
    """

    def __init__(self, app: WSGIApplication, *, shield: Shield) -> None:
        self.app = app
        self.shield = shield

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            facts = self.shield.facts_from_environ(environ)
        except Exception:
            log.warning("shieldware: unreadable environ refused", exc_info=True)
            return _refuse(start_response, _BAD_REQUEST, head=False)
        decision = self.shield.decide(facts)
        environ[ENVIRON_KEY] = decision
        if decision.answered:
            try:
                return _refuse(start_response, render(decision, facts), facts.method == "HEAD")
            finally:
                self.shield.finish(decision)
        extra = decision.headers
        if extra:
            start_response = _adding_headers(start_response, extra)
        if not decision.after:
            return self.app(environ, start_response)
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self.shield.finish(decision)
            raise
        return _Finishing(body, lambda: self.shield.finish(decision))


def _status_line(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _refuse(start_response: StartResponse, reply: Reply, head: bool) -> list[bytes]:
    headers = [*reply.headers, ("content-length", str(len(reply.body)))]
    start_response(_status_line(reply.status), headers)
    return [b""] if head else [reply.body]


def _adding_headers(start_response: StartResponse, extra: tuple[tuple[str, str], ...]) -> Any:
    def start_with_headers(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        present = {name.lower() for name, _ in headers}
        headers = headers + [h for h in extra if h[0] == "set-cookie" or h[0] not in present]
        return start_response(status, headers, exc_info)

    return start_with_headers


class _Finishing:
    """Wraps the app's body so after-response work runs when the server closes it (PEP 3333)."""

    def __init__(self, body: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self._body = body
        self._on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._on_close()


def decision_of(environ: WSGIEnvironment) -> Decision | None:
    """The decision the middleware attached to this environ, if any."""
    value = environ.get(ENVIRON_KEY)
    return value if isinstance(value, Decision) else None

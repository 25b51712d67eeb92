"""The one request lifecycle every adapter runs: decide, answer or pass with headers, finish.

Sans-IO: the gate never touches a socket, a scope or a framework response. An adapter turns its
request into `Facts`, asks the gate for an `Entry`, then only translates::

    entry = gate.enter(facts)           # or `await gate.aenter(facts)`
    if entry.reply is not None:         # answer instead of the app (already finished)
        send(entry.reply)
    else:                               # call the app, add entry.headers with merge_headers()
        try: run the app
        finally-ish: gate.finish(entry) once the response has ended (no-op when entry.finished)

The locations of the decision live here too, once (the header-merge rule is `render.merge_headers`).

A layer may ask for a request's body (`Gate.wants_body`; see `shieldware.body`): the adapter then
buffers at most `body.MAX_BODY` bytes, hands them over with `body.with_body` and replays the exact
bytes to the app. Nothing else ever reads a body.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ParamSpec

from .body import SAFE_METHODS
from .facts import Facts
from .layer import unwrap
from .policy import Shield
from .quietlog import QuietLog
from .render import BAD_REQUEST, Renderer
from .verdict import Action, Decision, Reason, Reply, Verdict

__all__ = [
    "DECISION_KEY",
    "VIEW_KEY",
    "Entry",
    "Gate",
    "aread_principal",
    "decision_in",
    "read_facts",
    "read_principal",
]

#: The name of the app-wide decision wherever an adapter stores it: ``scope["state"]`` (so
#: ``request.state.shieldware`` in Starlette), the Django request, ``flask.g``.
DECISION_KEY = "shieldware"
#: The name of a per-view / per-route decision (``@protect``, FastAPI's ``Protect``), same places.
VIEW_KEY = "shieldware_view"

P = ParamSpec("P")
log = logging.getLogger("shieldware")
#: Unreadable requests are a flood's to make: logged at most once a second.
quiet = QuietLog(log)

_UNREADABLE_VERDICT = Verdict(Action.DENY, "shieldware/unreadable", Reason.BAD_REQUEST, status=400)
_UNREADABLE = Decision(_UNREADABLE_VERDICT, (_UNREADABLE_VERDICT,))


class Entry:
    """What the gate answered about one request.

    :param decision: the chain's decision (store it where the app can find it).
    :param reply: send this instead of calling the app; None to call the app.

    ``finished`` is True once the after-ops ran (or when there are none): an answered request is
    finished on entry. `headers` and `after` are read from the decision, not copied.
    """

    __slots__ = ("decision", "finished", "reply")

    def __init__(self, decision: Decision, reply: Reply | None = None) -> None:
        self.decision = decision
        self.reply = reply
        self.finished = reply is not None or not decision.after

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """Headers to add to the app's response with `merge_headers` (none for a reply: they
        are in it already)."""
        return () if self.reply is not None else self.decision.headers

    @property
    def after(self) -> tuple[Any, ...]:
        """After-response ops still to run (none once finished)."""
        return () if self.finished else self.decision.after

    def __repr__(self) -> str:
        status = self.reply.status if self.reply is not None else "app"
        return f"Entry({self.decision.verdict.rule}, {status}, finished={self.finished})"


class Gate:
    """Runs the lifecycle for one `Shield`; owns the bounded memo of rendered replies.

    Thread-safe and loop-safe: it keeps nothing per request on itself.
    """

    __slots__ = ("_body_readers", "render", "shield")

    def __init__(self, shield: Shield, *, renderer: Renderer | None = None) -> None:
        self.shield = shield
        self.render = renderer if renderer is not None else Renderer()
        readers = []
        for layer in shield.layers:
            inner = unwrap(layer)
            wants = getattr(inner, "wants_body", None)
            if callable(wants):
                readers.append(wants)
        self._body_readers: tuple[Callable[[Facts], bool], ...] = tuple(readers)

    def wants_body(self, facts: Facts | None) -> bool:
        """True when a layer asks for this request's body (a form post to a covered route).

        Never raises: facts that cannot be read are decided (and refused) without a body.
        """
        if facts is None or not self._body_readers or facts.method in SAFE_METHODS:
            return False
        try:
            return any(wants(facts) for wants in self._body_readers)
        except Exception:
            return False

    def __repr__(self) -> str:
        return f"Gate({self.shield!r})"

    def enter(self, facts: Facts | None) -> Entry:
        """Decide synchronously. An answered request is finished here: the app never runs.

        :param facts: the request's facts, or None when they could not be read (`read_facts`):
            then the request is refused with a plain 400.
        """
        if facts is None:
            return self._unreadable()
        decision = self.shield.decide(facts)
        if decision.answered:
            if decision.after:
                self.shield.finish(decision)
            return Entry(decision, self.render(decision, facts))
        return Entry(decision)

    async def aenter(self, facts: Facts | None) -> Entry:
        """`enter` for async adapters (the store is reached without blocking the loop)."""
        if facts is None:
            return self._unreadable()
        decision = await self.shield.adecide(facts)
        if decision.answered:
            if decision.after:  # most refusals hold no lease: no coroutine to make
                await self.shield.afinish(decision)
            return Entry(decision, self.render(decision, facts))
        return Entry(decision)

    @staticmethod
    def _unreadable() -> Entry:
        """The entry of a request whose facts could not be read: a plain 400, never a 500."""
        return Entry(_UNREADABLE, BAD_REQUEST)

    def finish(self, entry: Entry) -> None:
        """Run the after-ops (lease releases) once, whichever path gets here first."""
        if not entry.finished:
            entry.finished = True
            self.shield.finish(entry.decision)

    async def afinish(self, entry: Entry) -> None:
        """`finish` for async adapters."""
        if not entry.finished:
            entry.finished = True
            await self.shield.afinish(entry.decision)


def decision_in(
    holder: Mapping[str, Any] | object | None, names: tuple[str, ...] = (VIEW_KEY, DECISION_KEY)
) -> Decision | None:
    """The first decision stored on `holder` under `names`: by default the view's own, else the
    app-wide one.

    `holder` is a mapping (``scope["state"]``, a WSGI environ) or an object carrying attributes
    (a Django request, ``flask.g``).
    """
    if holder is None:
        return None
    for name in names:
        value = holder.get(name) if isinstance(holder, Mapping) else getattr(holder, name, None)
        if isinstance(value, Decision):
            return value
    return None


def read_facts(read: Callable[P, Facts], *args: P.args, **kwargs: P.kwargs) -> Facts | None:
    """``read(...)``, or None when the request cannot be read (logged; the gate answers 400)."""
    try:
        return read(*args, **kwargs)
    except Exception as exc:
        quiet.log(
            logging.WARNING,
            "facts",
            "shieldware: unreadable request refused (%s)",
            Reason.BAD_REQUEST,
            exc_info=exc,
        )
        return None


def read_principal(lookup: Callable[[], object]) -> str | None:
    """The principal `lookup` returns, or None when it fails: a broken lookup (the user store is
    down) is logged and the request is decided without a principal, never turned into a 500."""
    try:
        value = lookup()
    except Exception:
        log.exception("shieldware: the principal lookup failed; deciding without one")
        return None
    return None if value is None else str(value)


async def aread_principal(lookup: Callable[[], object | Awaitable[object]]) -> str | None:
    """`read_principal` for a lookup that may be async."""
    try:
        value = lookup()
        if inspect.isawaitable(value):
            value = await value
    except Exception:
        log.exception("shieldware: the principal lookup failed; deciding without one")
        return None
    return None if value is None else str(value)

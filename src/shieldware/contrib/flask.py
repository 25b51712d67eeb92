"""Flask integration: the `Shieldware` extension and a per-view decorator.

::

    shieldware = Shieldware(shield=shield, principal=lambda: current_user.get_id())
    shieldware.init_app(app)

    @app.post("/login")
    @shieldware.protect(TokenBucket("5/minute", name="login"))
    def login(): ...

The extension decides in ``before_request`` (after routing, so the route template is known), keeps
the decision in ``flask.g.shieldware`` (a view's own in ``flask.g.shieldware_view``), adds its
headers in ``after_request`` and runs after-response ops (lease releases) when the server closes
the response, or at teardown when the view raised. A plain ``ShieldWSGIMiddleware`` around
``app.wsgi_app`` works too; the extension adds the principal, the route and per-view limits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, request
from werkzeug.datastructures import Headers

from ..body import attach_body
from ..errors import ConfigurationError
from ..facts import Facts
from ..gate import DECISION_KEY, VIEW_KEY, Entry, Gate, decision_in, read_facts, read_principal
from ..policy import Mode, Shield
from ..render import merge_headers
from ..verdict import Decision, Reply
from . import Protection, ProtectTarget, check_clashes, stacked_on

__all__ = [
    "EXTENSION_KEY",
    "Shieldware",
    "check_routes",
    "decision_of",
    "protect",
    "reply_response",
]

#: Where an app records that its routes were checked (`check_routes` runs once per app).
_CHECKED = "shieldware.routes-checked"

#: ``app.extensions["shieldware"]`` holds the extension.
EXTENSION_KEY = "shieldware"
#: ``flask.g`` name of the app-wide entry whose after-ops still wait for the response.
_PENDING = "_shieldware_pending"

Principal = Callable[[], "str | None"]
V = TypeVar("V", bound=Callable[..., Any])


def reply_response(reply: Reply) -> Response:
    """The core's `Reply` as a Flask `Response` (content-length is recomputed)."""
    headers = Headers([(k, v) for k, v in reply.headers if k.lower() != "content-length"])
    return Response(reply.body, status=reply.status, headers=headers)


def decision_of() -> Decision | None:
    """The current request's decision: the view's own if it has one, else the app-wide one."""
    return decision_in(g)


def _attach(response: Response, gate: Gate, entry: Entry) -> Response:
    """Add the entry's headers to the view's response; finish when the server closes it, so a
    lease covers a streamed body."""
    if entry.headers:
        for name, value in merge_headers(response.headers.items(), entry.headers):
            response.headers.add(name, value)
    if not entry.finished:
        response.call_on_close(functools.partial(gate.finish, entry))
    return response


class Shieldware:
    """The Flask extension.

    :param app: the app, or None to call `init_app` later (application factories).
    :param shield: the app-wide `Shield`; None when only per-view protection is wanted.
    :param principal: returns the user or API-key identity of the current request, or None.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        shield: Shield | None = None,
        principal: Principal | None = None,
    ) -> None:
        self.shield = shield
        self.principal = principal
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the extension; the app-wide hooks only when there is a shield that decides
        something (an inert shield costs the app nothing)."""
        app.extensions[EXTENSION_KEY] = self
        if self.shield is None or self.shield.inert:
            return
        hooks = _Hooks(Gate(self.shield), self.principal)
        app.before_request(hooks.before)
        app.after_request(hooks.after)
        app.teardown_request(hooks.teardown)

    # -- per-view ----------------------------------------------------------------------------
    def protect(self, target: ProtectTarget, *, mode: Mode | None = None) -> Callable[[V], V]:
        """Protect one view; layers borrow this extension's shield store, proxies and mode."""
        return _protect(target, base=lambda: self.shield, mode=mode, ext=lambda: self)


class _Hooks:
    """The app-wide lifecycle spread over Flask's three request hooks."""

    def __init__(self, gate: Gate, principal: Principal | None) -> None:
        self.gate = gate
        self.principal = principal

    def before(self) -> Response | None:
        gate = self.gate
        facts = read_facts(_facts, gate.shield, self.principal)
        if gate.wants_body(facts):  # a form a layer asked for: Flask keeps the bytes for the view
            facts = attach_body(
                facts,  # type: ignore[arg-type]
                request.content_length,
                request.content_type,
                lambda: request.get_data(cache=True),
            )
        entry = gate.enter(facts)
        setattr(g, DECISION_KEY, entry.decision)
        if entry.reply is not None:
            return reply_response(entry.reply)
        setattr(g, _PENDING, entry)
        return None

    def after(self, response: Response) -> Response:
        entry = g.pop(_PENDING, None)
        if entry is not None:
            _attach(response, self.gate, entry)
        return response

    def teardown(self, exc: BaseException | None) -> None:
        entry = g.pop(_PENDING, None)  # still here: no response was made (the view raised)
        if entry is not None:
            self.gate.finish(entry)


def _facts(shield: Shield, principal: Principal | None = None) -> Facts:
    """Facts of the current request: the environ, plus the route template and, with a
    `principal` lookup, the principal (a failing lookup is logged and yields none)."""
    facts = shield.facts_from_environ(request.environ)
    rule = request.url_rule
    who = read_principal(principal) if principal is not None else None
    route = rule.rule if rule is not None else None
    if who is None and route is None:
        return facts
    return facts.with_(principal=who, route=route)


def protect(target: ProtectTarget, *, mode: Mode | None = None) -> Callable[[V], V]:
    """Protect one view; layers borrow the store of the app's `Shieldware` extension, if any."""
    return _protect(target, base=_current_shield, mode=mode, ext=_current_ext)


def check_routes(app: Flask) -> None:
    """Refuse protected views of one URL rule (``GET`` and ``POST`` views of ``/login``, say)
    whose layers would share store keys with different limits: `ConfigurationError` naming both.

    Call it once the routes are registered to fail at start-up; otherwise it runs on the first
    request a protected view sees.
    """
    by_rule: dict[str, dict[int, tuple[str, Protection]]] = {}
    for rule in app.url_map.iter_rules():
        protection = getattr(app.view_functions.get(rule.endpoint), "shieldware", None)
        if isinstance(protection, Protection):
            where = f"{' '.join(sorted(rule.methods or ()))} {rule.rule} ({rule.endpoint})"
            by_rule.setdefault(rule.rule, {}).setdefault(id(protection), (where, protection))
    errors: list[str] = []
    for found in by_rule.values():
        if len(found) > 1:
            try:
                check_clashes([(where, p.layers) for where, p in found.values()])
            except ConfigurationError as exc:
                errors.append(str(exc))
    if errors:
        raise ConfigurationError("; ".join(errors))
    app.extensions[_CHECKED] = True


def _current_ext() -> Shieldware | None:
    ext = current_app.extensions.get(EXTENSION_KEY)
    return ext if isinstance(ext, Shieldware) else None


def _current_shield() -> Shield | None:
    ext = _current_ext()
    return ext.shield if ext is not None else None


def _protect(
    target: ProtectTarget,
    *,
    base: Callable[[], Shield | None],
    mode: Mode | None,
    ext: Callable[[], Shieldware | None],
) -> Callable[[V], V]:
    protection = Protection(target, base=base, mode=mode)

    def decorate(view: V) -> V:
        stacked_on(view, protection)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            if not app.extensions.get(_CHECKED):
                check_routes(app)
            gate = protection.gate
            extension = ext()
            principal = extension.principal if extension is not None else None
            entry = gate.enter(read_facts(_facts, gate.shield, principal))
            setattr(g, VIEW_KEY, entry.decision)
            if entry.reply is not None:
                return reply_response(entry.reply)
            try:
                response = current_app.make_response(current_app.ensure_sync(view)(*args, **kwargs))
            except BaseException:
                gate.finish(entry)
                raise
            return _attach(response, gate, entry)

        wrapper.shieldware = protection  # type: ignore[attr-defined]
        return cast("V", wrapper)

    return decorate

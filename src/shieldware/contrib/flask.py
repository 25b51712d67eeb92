"""Flask integration: the `Shieldware` extension and a per-view decorator.

::

    shieldware = Shieldware(shield=shield, principal=lambda: current_user.get_id())
    shieldware.init_app(app)

    @app.post("/login")
    @shieldware.protect(TokenBucket("5/minute", name="login"))
    def login(): ...

The extension decides in ``before_request`` (after routing, so the route template is known), keeps
the decision in ``flask.g.shieldware``, adds its headers in ``after_request`` and runs
after-response ops (lease releases) when the server closes the response. A plain
``ShieldWSGIMiddleware`` around ``app.wsgi_app`` works too; the extension adds the principal, the
route and per-view limits.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, request
from werkzeug.datastructures import Headers

from ..facts import Facts
from ..policy import Mode, Shield
from ..render import render
from ..verdict import Decision, Reply
from . import Protection, ProtectTarget, headers_to_add

__all__ = ["EXTENSION_KEY", "G_ATTR", "Shieldware", "decision_of", "protect", "reply_response"]

#: ``app.extensions["shieldware"]`` holds the extension.
EXTENSION_KEY = "shieldware"
#: ``flask.g.shieldware`` holds the app-wide decision, ``flask.g.shieldware_view`` the view's.
G_ATTR = "shieldware"
VIEW_ATTR = "shieldware_view"

Principal = Callable[[], "str | None"]
log = logging.getLogger("shieldware")
V = TypeVar("V", bound=Callable[..., Any])


def reply_response(reply: Reply) -> Response:
    """The core's `Reply` (from `render`) as a Flask `Response`."""
    headers = Headers([(k, v) for k, v in reply.headers if k.lower() != "content-length"])
    return Response(reply.body, status=reply.status, headers=headers)


def decision_of() -> Decision | None:
    """The current request's decision: the view's own if it has one, else the app-wide one."""
    value = g.get(VIEW_ATTR) or g.get(G_ATTR)
    return value if isinstance(value, Decision) else None


def _call_principal(principal: Principal) -> str | None:
    """The principal, or None when the callable fails: a broken lookup must not break requests."""
    try:
        value = principal()
    except Exception:
        log.exception("shieldware: the principal callable failed; deciding without one")
        return None
    return None if value is None else str(value)


def _add_headers(response: Response, extra: tuple[tuple[str, str], ...]) -> None:
    for name, value in headers_to_add(response.headers.keys(), extra):
        response.headers.add(name, value)


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
        app.extensions[EXTENSION_KEY] = self
        if self.shield is not None:
            app.before_request(self._before)
            app.after_request(self._after)
            app.teardown_request(self._teardown)

    # -- facts -------------------------------------------------------------------------------
    def facts(self, shield: Shield) -> Facts:
        """Facts of the current request: the environ, plus principal and route template."""
        facts = shield.facts_from_environ(request.environ)
        rule = request.url_rule
        principal = _call_principal(self.principal) if self.principal is not None else None
        route = rule.rule if rule is not None else None
        if principal is None and route is None:
            return facts
        return facts.with_(principal=principal, route=route)

    # -- app-wide ----------------------------------------------------------------------------
    def _before(self) -> Response | None:
        shield = self.shield
        assert shield is not None
        facts = self.facts(shield)
        decision = shield.decide(facts)
        setattr(g, G_ATTR, decision)
        if decision.answered:
            g.shieldware_finished = True
            shield.finish(decision)
            return reply_response(render(decision, facts))
        return None

    def _after(self, response: Response) -> Response:
        decision = g.get(G_ATTR)
        if not isinstance(decision, Decision) or decision.answered or self.shield is None:
            return response
        if decision.headers:
            _add_headers(response, decision.headers)
        if decision.after:  # release leases when the server closes the (maybe streamed) body
            g.shieldware_finished = True
            response.call_on_close(functools.partial(self.shield.finish, decision))
        return response

    def _teardown(self, exc: BaseException | None) -> None:
        decision = g.get(G_ATTR)
        if (
            isinstance(decision, Decision)
            and decision.after
            and self.shield is not None
            and not g.get("shieldware_finished")
        ):
            self.shield.finish(decision)

    # -- per-view ----------------------------------------------------------------------------
    def protect(self, target: ProtectTarget, *, mode: Mode | None = None) -> Callable[[V], V]:
        """Protect one view; layers borrow this extension's shield store, proxies and mode."""
        return _protect(target, base=lambda: self.shield, mode=mode, ext=lambda: self)


def protect(target: ProtectTarget, *, mode: Mode | None = None) -> Callable[[V], V]:
    """Protect one view; layers borrow the store of the app's `Shieldware` extension, if any."""
    return _protect(target, base=_current_shield, mode=mode, ext=_current_ext)


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

    def decide() -> tuple[Shield, Decision, Facts]:
        shield = protection.shield
        extension = ext()
        if extension is not None:
            facts = extension.facts(shield)
        else:
            facts = shield.facts_from_environ(request.environ)
            if request.url_rule is not None:
                facts = facts.with_(route=request.url_rule.rule)
        decision = shield.decide(facts)
        setattr(g, VIEW_ATTR, decision)
        return shield, decision, facts

    def decorate(view: V) -> V:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            shield, decision, facts = decide()
            if decision.answered:
                shield.finish(decision)
                return reply_response(render(decision, facts))
            try:
                result = current_app.ensure_sync(view)(*args, **kwargs)
                response = current_app.make_response(result)
            except BaseException:
                shield.finish(decision)
                raise
            if decision.headers:
                _add_headers(response, decision.headers)
            if decision.after:
                response.call_on_close(functools.partial(shield.finish, decision))
            return response

        wrapper.shieldware = protection  # type: ignore[attr-defined]
        return cast("V", wrapper)

    return decorate

"""FastAPI / Starlette integration: app-wide middleware, per-route dependency.

App-wide protection is the core's ASGI `ShieldMiddleware`. Per-route protection is a dependency
keyed on the route template (``scope["route"].path``, e.g. ``"/v1/items/{item_id}"``); it does not
force a ``request`` parameter on the endpoint, and it returns the `Decision`::

    app = FastAPI()
    install(app, shield=shield)          # the middleware + the handler that renders refusals

    login_limit = Protect(TokenBucket("5/minute", name="login"))

    @app.post("/login")
    async def login(decision: Decision = Depends(login_limit)) -> dict[str, str]: ...

    @app.get("/items", dependencies=[Depends(Protect(layers))])   # when the decision is not needed
    async def items() -> list[str]: ...

A blocked request raises `Blocked` (an `HTTPException`); the handler `install` registers answers
with the core's rendered reply (HTML page, problem+json or text). Without it FastAPI's own handler
answers with the same status and headers and a JSON ``detail``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from ..asgi import STATE_KEY, ShieldMiddleware
from ..facts import Facts
from ..policy import Mode, Shield
from ..render import render
from ..verdict import Decision, Reply
from . import Protection, ProtectTarget

__all__ = [
    "ROUTE_STATE_KEY",
    "Blocked",
    "Protect",
    "apply_headers",
    "blocked_handler",
    "decision_of",
    "install",
    "reply_response",
]

#: ``request.state.shieldware_route`` holds the per-route decision.
ROUTE_STATE_KEY = "shieldware_route"

log = logging.getLogger("shieldware")

Principal = Callable[[HTTPConnection], "str | Awaitable[str | None] | None"]
ResponseT = TypeVar("ResponseT", bound=Response)
_REPLY_ONLY = frozenset({"content-type", "content-length"})


class Blocked(HTTPException):
    """Raised by `Protect` when the route's shield refuses a request; carries the rendered reply."""

    def __init__(self, reply: Reply, decision: Decision) -> None:
        verdict = decision.verdict
        super().__init__(
            status_code=reply.status,
            detail=f"{verdict.action.value}: {verdict.reason} ({verdict.rule})",
            headers={k: v for k, v in reply.headers if k.lower() not in _REPLY_ONLY},
        )
        self.reply = reply
        self.decision = decision


def apply_headers(response: ResponseT, decision: Decision) -> ResponseT:
    """Add a decision's headers to a `Response` the endpoint built itself (a stream, say).

    Repeated fields (one ``RateLimit`` line per policy) are kept; the endpoint's own headers win.
    """
    present = {name.lower() for name in response.headers}
    for name, value in decision.headers:
        if name.lower() == "set-cookie" or name.lower() not in present:
            response.headers.append(name, value)
    return response


def reply_response(reply: Reply) -> Response:
    """The core's `Reply` as a Starlette `Response` (content-length is recomputed)."""
    response = Response(reply.body, status_code=reply.status)
    for name, value in reply.headers:
        if name.lower() == "content-type":
            response.headers["content-type"] = value
        elif name.lower() != "content-length":
            response.headers.append(name, value)
    return response


async def blocked_handler(request: Request, exc: Exception) -> Response:
    """Exception handler sending a `Blocked` request the core's rendered reply."""
    assert isinstance(exc, Blocked)
    return reply_response(exc.reply)


def install(app: Any, shield: Shield | None = None) -> None:
    """Register the `Blocked` handler on a FastAPI/Starlette app, and the middleware if `shield`."""
    app.add_exception_handler(Blocked, blocked_handler)
    if shield is not None:
        app.add_middleware(ShieldMiddleware, shield=shield)


def _app_shield(app: Any) -> Shield | None:
    """The shield of the app-wide middleware, found in the app's middleware list."""
    for middleware in getattr(app, "user_middleware", ()):
        if middleware.cls is ShieldMiddleware:
            shield = middleware.kwargs.get("shield")
            return shield if isinstance(shield, Shield) else None
    return None


class Protect:
    """A FastAPI dependency protecting one route (or a router, via ``dependencies=[...]``).

    :param target: a `Shield`, a layer, or several layers. Layers borrow the store, trusted
        proxies and mode of the app-wide `ShieldMiddleware` shield when there is one.
    :param principal: returns the API key / user identity of a request (may be async).
    :param mode: overrides the mode (``"shadow"`` to watch a route's limit before enforcing it).

    The dependency returns the route's `Decision`; its headers are set on the response FastAPI
    builds from the endpoint's return value (an endpoint returning its own `Response` passes it
    through `apply_headers`). After-response ops (concurrency leases) run once the response,
    streamed or not, has been sent.
    """

    def __init__(
        self,
        target: ProtectTarget,
        *,
        principal: Principal | None = None,
        mode: Mode | None = None,
    ) -> None:
        self._app: Any = None
        self.protection = Protection(target, base=self._base, mode=mode)
        self.principal = principal

    def __repr__(self) -> str:
        return f"Protect({self.protection!r})"

    def _base(self) -> Shield | None:
        return _app_shield(self._app)

    def _shield(self, connection: HTTPConnection) -> Shield:
        if self._app is None:
            self._app = connection.scope.get("app")  # read once, to find the app-wide shield
        return self.protection.shield

    async def facts(self, connection: HTTPConnection, shield: Shield) -> Facts:
        """Facts of the request: the scope, plus the route template and the principal."""
        facts = shield.facts_from_scope(connection.scope)
        route = connection.scope.get("route")
        template = getattr(route, "path", None)
        principal: str | None = None
        if self.principal is not None:
            try:
                value = self.principal(connection)
                principal = await value if inspect.isawaitable(value) else value
            except Exception:  # a broken lookup must not turn into a 500
                log.exception("shieldware: the principal callable failed; deciding without one")
        return facts.with_(
            route=template if isinstance(template, str) else None, principal=principal
        )

    async def __call__(self, request: Request, response: Response) -> AsyncIterator[Decision]:
        shield = self._shield(request)
        facts = await self.facts(request, shield)
        decision = await shield.adecide(facts)
        setattr(request.state, ROUTE_STATE_KEY, decision)
        if decision.answered:
            await shield.afinish(decision)
            raise Blocked(render(decision, facts), decision)
        apply_headers(response, decision)
        try:
            yield decision
        finally:
            if decision.after:
                await shield.afinish(decision)


def decision_of(connection: HTTPConnection) -> Decision | None:
    """The route's decision if a `Protect` ran, else the app-wide middleware's."""
    state = connection.scope.get("state") or {}
    value = state.get(ROUTE_STATE_KEY) or state.get(STATE_KEY)
    return value if isinstance(value, Decision) else None

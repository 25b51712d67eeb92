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

A route's headers (``RateLimit``, cookies) are added where the response is sent, by the small ASGI
wrapper `install` adds: it reads the route's decision from the scope state at
``http.response.start`` and merges its headers by the one rule (`render.merge_headers`), so a
``Cache-Control: public`` response never carries one client's counters into a shared cache.

A route's layers count per route (their keys carry the route template; see
`shieldware.contrib`): ``Protect(TokenBucket("5/minute"))`` never shares a bucket with the
app-wide layer of the same name, nor with a default-named bucket on another route. Two `Protect`
on one route template (``GET`` and ``POST /login``, say) whose layers would share store keys with
different limits are refused when the app starts (`check_routes`, run by the wrapper `install`
adds): the app fails its startup with a `ConfigurationError` naming both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from ..asgi import ASGIApp, Message, Receive, Scope, Send, ShieldMiddleware, add_headers
from ..asgi import decision_of as _scope_decision
from ..errors import ConfigurationError
from ..facts import Facts
from ..gate import VIEW_KEY, aread_principal, read_facts
from ..policy import Mode, Shield
from ..render import merge_headers
from ..verdict import Decision, Reply
from . import Protection, ProtectTarget, check_clashes

__all__ = [
    "Blocked",
    "Protect",
    "RouteHeaders",
    "apply_headers",
    "blocked_handler",
    "check_routes",
    "decision_of",
    "install",
    "reply_response",
]

Principal = Callable[[HTTPConnection], "str | Awaitable[str | None] | None"]
ResponseT = TypeVar("ResponseT", bound=Response)
#: Left out of `Blocked.headers`: FastAPI's fallback handler writes its own JSON body.
_BODY_HEADERS = frozenset({"content-type", "content-length"})


class Blocked(HTTPException):
    """Raised by `Protect` when the route's shield refuses a request; carries the rendered reply."""

    def __init__(self, reply: Reply, decision: Decision) -> None:
        verdict = decision.verdict
        super().__init__(
            status_code=reply.status,
            detail=f"{verdict.action.value}: {verdict.reason} ({verdict.rule})",
            headers={k: v for k, v in reply.headers if k.lower() not in _BODY_HEADERS},
        )
        self.reply = reply
        self.decision = decision


def apply_headers(response: ResponseT, decision: Decision) -> ResponseT:
    """Add a decision's headers to a `Response` by hand (only needed without `install`).

    Repeated fields (one ``RateLimit`` line per policy) are kept; the endpoint's own headers win,
    and a ``Cache-Control: public`` response gets none.
    """
    for name, value in merge_headers(response.headers.items(), decision.headers):
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


class RouteHeaders:
    """ASGI wrapper adding the route decision's headers (`Protect`) to the response as it is sent.

    A dependency cannot see the response the endpoint returns; this wrapper sees the response
    start, with the endpoint's own headers, and merges by the one rule. `install` adds it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._checked_startup(scope, send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_route_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision = (scope.get("state") or {}).get(VIEW_KEY)
                # an answered decision's headers are in its reply (`Blocked`) already
                if isinstance(decision, Decision) and decision.headers and not decision.answered:
                    add_headers(message, decision.headers)
            await send(message)

        await self.app(scope, receive, send_route_headers)

    @staticmethod
    def _checked_startup(scope: Scope, send: Send) -> Send:
        """`send`, refusing to report a started app whose routes' layers clash."""

        async def checked(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete" and scope.get("app") is not None:
                check_routes(scope["app"])  # raises: the app's startup fails with the message
            await send(message)

        return checked


def install(app: Any, shield: Shield | None = None) -> None:
    """Prepare a FastAPI/Starlette app for shieldware: the `Blocked` handler, the `RouteHeaders`
    wrapper that adds `Protect` headers to responses, and the middleware if `shield`.

    The middleware goes outside the wrapper, so a route's headers win over the app-wide ones.
    """
    app.add_exception_handler(Blocked, blocked_handler)
    app.add_middleware(RouteHeaders)
    if shield is not None:
        app.add_middleware(ShieldMiddleware, shield=shield)


def _protects(dependant: Any) -> list[Protect]:
    found: list[Protect] = []
    for dependency in getattr(dependant, "dependencies", ()):
        if isinstance(dependency.call, Protect):
            found.append(dependency.call)
        found += _protects(dependency)
    return found


def check_routes(app: Any) -> None:
    """Refuse `Protect` layers that would share store keys with different limits on one route
    template (raises `ConfigurationError` naming both). `install`'s wrapper runs it at startup."""
    by_path: dict[str, dict[int, tuple[str, Protect]]] = {}
    for route in getattr(app, "routes", ()):
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue
        where = f"{' '.join(sorted(getattr(route, 'methods', None) or ()))} {path}".strip()
        for protect in _protects(getattr(route, "dependant", None)):
            by_path.setdefault(path, {}).setdefault(id(protect), (where, protect))
    errors: list[str] = []
    for found in by_path.values():
        if len(found) > 1:
            try:
                check_clashes([(w, p.protection.layers) for w, p in found.values()])
            except ConfigurationError as exc:
                errors.append(str(exc))
    if errors:
        raise ConfigurationError("; ".join(errors))


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

    The dependency returns the route's `Decision` (also at ``request.state.shieldware_view``);
    its headers are merged into the response as it is sent by the `RouteHeaders` wrapper that
    `install` adds (without `install`, a route's headers are not sent). After-response ops
    (concurrency leases) run once the response, streamed or not, has been sent.
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

    async def facts(self, connection: HTTPConnection, shield: Shield) -> Facts | None:
        """Facts of the request: the scope, plus the route template and the principal (None
        when the scope cannot be read)."""
        facts = read_facts(shield.facts_from_scope, connection.scope)
        if facts is None:
            return None
        template = getattr(connection.scope.get("route"), "path", None)
        principal = None
        if self.principal is not None:
            lookup = self.principal
            principal = await aread_principal(lambda: lookup(connection))
        return facts.with_(
            route=template if isinstance(template, str) else None, principal=principal
        )

    async def __call__(self, request: Request) -> AsyncIterator[Decision]:
        if self._app is None:
            self._app = request.scope.get("app")  # read once, to find the app-wide shield
        gate = self.protection.gate
        entry = await gate.aenter(await self.facts(request, gate.shield))
        setattr(request.state, VIEW_KEY, entry.decision)
        if entry.reply is not None:
            raise Blocked(entry.reply, entry.decision)
        try:
            yield entry.decision
        finally:
            await gate.afinish(entry)


def decision_of(connection: HTTPConnection) -> Decision | None:
    """The route's decision if a `Protect` ran, else the app-wide middleware's."""
    return _scope_decision(connection.scope)

"""Django integration: a middleware, a per-view decorator and system checks.

Configure one setting naming your `Shield` by dotted path, and add the middleware after
``AuthenticationMiddleware`` so the principal is the logged-in user::

    SHIELDWARE_SHIELD = "myproject.security.shield"
    INSTALLED_APPS = [..., "shieldware.contrib.django.ShieldwareConfig"]  # system checks
    MIDDLEWARE = [
        ...,
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "shieldware.contrib.django.ShieldwareMiddleware",
        ...,
    ]

The middleware is sync and async capable: under WSGI it decides with `Shield.decide`, under ASGI
with `Shield.adecide`, with no thread hop either way. Facts come from the core's constructors: the
ASGI scope under ASGI (header order known), ``request.META`` (the WSGI environ) otherwise.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterable
from http.cookies import SimpleCookie
from typing import Any, TypeVar, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string

from ..body import attach_body
from ..errors import ConfigurationError
from ..facts import Facts
from ..gate import (
    DECISION_KEY,
    VIEW_KEY,
    Entry,
    Gate,
    aread_principal,
    decision_in,
    read_facts,
    read_principal,
)
from ..policy import Mode, Shield
from ..render import merge_headers
from ..verdict import Decision, Reply
from . import Protection, ProtectTarget, stacked_on

__all__ = [
    "SETTING",
    "ShieldwareConfig",
    "ShieldwareMiddleware",
    "decision_of",
    "load_shield",
    "protect",
    "reply_response",
]

#: The one setting: a dotted path to a `Shield` object (or to a function returning one).
SETTING = "SHIELDWARE_SHIELD"
#: Optional: how many worker processes serve the site, when the environment does not tell.
WORKERS_SETTING = "SHIELDWARE_WORKERS"

log = logging.getLogger("shieldware")

_AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
_MIDDLEWARE = f"{__name__}.ShieldwareMiddleware"

V = TypeVar("V", bound=Callable[..., Any])


def load_shield(path: str | None = None) -> Shield:
    """The `Shield` named by ``settings.SHIELDWARE_SHIELD`` (or `path`).

    :raises ImproperlyConfigured: when the setting is missing or does not name a `Shield`.
    """
    path = path if path is not None else getattr(settings, SETTING, None)
    if not path or not isinstance(path, str):
        raise ImproperlyConfigured(
            f"{SETTING} must name your Shield by dotted path, e.g. 'myproject.security.shield'"
        )
    try:
        target = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{SETTING} = {path!r} cannot be imported: {exc}") from exc
    if not isinstance(target, Shield) and callable(target):
        target = target()
    if not isinstance(target, Shield):
        raise ImproperlyConfigured(
            f"{SETTING} = {path!r} is a {type(target).__name__}, not a Shield"
        )
    return target


def _app_shield() -> Shield | None:
    """The configured shield, or None when the project has none (per-view use only)."""
    if not getattr(settings, SETTING, None):
        return None
    return load_shield()


def decision_of(request: HttpRequest) -> Decision | None:
    """The decision for this request: the view's own (``request.shieldware_view``) if it has
    one, else the middleware's (``request.shieldware``)."""
    return decision_in(request)


# -- request facts -----------------------------------------------------------------------------
def _facts(request: HttpRequest, shield: Shield, principal: str | None, route: bool) -> Facts:
    scope = getattr(request, "scope", None)  # ASGIRequest keeps the scope: header order known
    if isinstance(scope, dict) and scope.get("type") == "http":
        facts = shield.facts_from_scope(scope)
    else:
        facts = shield.facts_from_environ(request.META)
    template = _route(request) if route else None
    if principal is None and template is None:
        return facts
    return facts.with_(principal=principal, route=template)


def _with_body(facts: Facts, request: HttpRequest) -> Facts:
    """The form a layer asked for (`Gate.wants_body`), read through Django, which keeps it."""
    meta = request.META
    return attach_body(facts, meta.get("CONTENT_LENGTH"), meta.get("CONTENT_TYPE"), _body(request))


def _body(request: HttpRequest) -> Callable[[], bytes]:
    return lambda: request.body


#: Paths longer than this are resolved every time rather than cached (the cache stays small).
_CACHED_PATH_MAX = 256


def _route(request: HttpRequest) -> str | None:
    """The route template of the request (``"/items/<int:pk>"``), or None when nothing matches."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return _template(getattr(match, "route", None))
    urlconf = getattr(request, "urlconf", None) or settings.ROOT_URLCONF
    path = request.path_info
    if len(path) > _CACHED_PATH_MAX:
        return _resolve_route.__wrapped__(urlconf, path)
    return _resolve_route(urlconf, path)


@functools.lru_cache(maxsize=1024)
def _resolve_route(urlconf: str, path: str) -> str | None:
    """Resolving costs tens of microseconds; the middleware runs before Django resolves, so
    repeated paths are cached (bounded: a flood of distinct paths only evicts)."""
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return None
    except Exception:  # a hostile path must not break the request
        return None
    return _template(getattr(match, "route", None))


def _template(route: object) -> str | None:
    return "/" + route.lstrip("^").rstrip("$") if isinstance(route, str) else None


def _user_principal(user: Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


def _principal(request: HttpRequest) -> str | None:
    """The user's pk; may raise (the session store is down)."""
    if not hasattr(request, "user"):
        return None
    return _user_principal(request.user)


async def _aprincipal(request: HttpRequest) -> str | None:
    """`_principal` without touching the database from the event loop; may raise."""
    if not hasattr(request, "user"):
        return None
    auser = getattr(request, "auser", None)  # Django >= 5.0
    if auser is None:  # pragma: no cover - Django 4.2
        return await sync_to_async(_principal)(request)
    return _user_principal(await auser())


def principal_of(request: HttpRequest) -> str | None:
    """The authenticated user's primary key, when AuthenticationMiddleware ran before us.

    A failing lookup (the session store is down) is logged and yields None: it must not turn
    every request into a 500.
    """
    return read_principal(functools.partial(_principal, request))


async def aprincipal_of(request: HttpRequest) -> str | None:
    """`principal_of` without touching the database from the event loop."""
    return await aread_principal(functools.partial(_aprincipal, request))


# -- responses ---------------------------------------------------------------------------------
def _set_header(response: HttpResponseBase, name: str, value: str) -> None:
    lower = name.lower()
    if lower == "set-cookie":
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(value)
        for key, morsel in cookie.items():
            response.cookies[key] = morsel
    elif lower != "content-length":
        response[name] = value


def _set_headers(response: HttpResponseBase, headers: Iterable[tuple[str, str]]) -> None:
    """Set headers on a Django response, which holds one value per name: repeated fields (one
    ``RateLimit`` line per policy) are combined with commas, as RFC 9110 allows for lists."""
    combined: dict[str, tuple[str, str]] = {}
    for name, value in headers:
        lower = name.lower()
        if lower == "set-cookie":
            _set_header(response, name, value)
        elif lower in combined:
            combined[lower] = (combined[lower][0], f"{combined[lower][1]}, {value}")
        else:
            combined[lower] = (name, value)
    for name, value in combined.values():
        _set_header(response, name, value)


def reply_response(reply: Reply) -> HttpResponse:
    """The core's `Reply` as a Django `HttpResponse`."""
    response = HttpResponse(reply.body, status=reply.status)
    _set_headers(response, reply.headers)
    return response


def _attach(response: HttpResponseBase, gate: Gate, entry: Entry) -> HttpResponseBase:
    """Add the entry's headers to the view's response and run its after-ops (lease releases) when
    Django closes the response: streaming responses close once their last chunk is sent, so a
    lease covers the whole stream."""
    if entry.headers:
        _set_headers(response, merge_headers(response.items(), entry.headers))
    if not entry.finished:
        closers = getattr(response, "_resource_closers", None)
        if isinstance(closers, list):
            closers.append(functools.partial(gate.finish, entry))
        else:  # pragma: no cover - every Django we support has _resource_closers
            gate.finish(entry)
    return response


def _serve(
    gate: Gate, entry: Entry, request: HttpRequest, call: Callable[[HttpRequest], Any]
) -> HttpResponseBase:
    """The lifecycle after the decision, sync: answer, or call the view and attach."""
    if entry.reply is not None:
        return reply_response(entry.reply)
    try:
        response = call(request)
    except BaseException:
        gate.finish(entry)
        raise
    return _attach(response, gate, entry)


async def _aserve(
    gate: Gate,
    entry: Entry,
    request: HttpRequest,
    call: Callable[[HttpRequest], Awaitable[HttpResponseBase]],
) -> HttpResponseBase:
    """`_serve` for the async stack."""
    if entry.reply is not None:
        return reply_response(entry.reply)
    try:
        response = await call(request)
    except BaseException:
        await gate.afinish(entry)
        raise
    return _attach(response, gate, entry)


# -- the middleware ----------------------------------------------------------------------------
class ShieldwareMiddleware:
    """Decide every request with the shield named by ``SHIELDWARE_SHIELD``.

    Sync and async capable: Django hands it the flavour its stack runs in, so there is no thread
    hop. The decision is at ``request.shieldware``; answered requests get the core's rendered
    reply. An inert shield decides nothing: the middleware raises `MiddlewareNotUsed` and Django
    leaves it out of the stack. Subclass and override `principal` / `aprincipal` to key on
    something else than the user's pk (a failing override is logged and the request decided
    without a principal).
    """

    sync_capable = True
    async_capable = True
    #: Resolve the route template (``"/items/<int:pk>/"``) for layers keyed on it.
    resolve_route = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.shield = load_shield()
        if self.shield.inert:
            raise MiddlewareNotUsed(f"{SETTING} names an inert shield: nothing to decide")
        self.gate = Gate(self.shield)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def principal(self, request: HttpRequest) -> str | None:
        """The principal to decide with (may raise: `__call__` logs it and decides without)."""
        return _principal(request)

    async def aprincipal(self, request: HttpRequest) -> str | None:
        """`principal` for the async stack."""
        return await _aprincipal(request)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        principal = read_principal(functools.partial(self.principal, request))
        facts = read_facts(_facts, request, self.shield, principal, self.resolve_route)
        if self.gate.wants_body(facts):
            facts = _with_body(facts, request)  # type: ignore[arg-type]
        entry = self.gate.enter(facts)
        setattr(request, DECISION_KEY, entry.decision)
        return _serve(self.gate, entry, request, self.get_response)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        principal = await aread_principal(functools.partial(self.aprincipal, request))
        facts = read_facts(_facts, request, self.shield, principal, self.resolve_route)
        if self.gate.wants_body(facts):
            facts = _with_body(facts, request)  # type: ignore[arg-type]
        entry = await self.gate.aenter(facts)
        setattr(request, DECISION_KEY, entry.decision)
        return await _aserve(self.gate, entry, request, self.get_response)


# -- per-view protection -----------------------------------------------------------------------
def protect(target: ProtectTarget, *, mode: Mode | None = None) -> Callable[[V], V]:
    """Protect one view with its own layers (or a small `Shield`), sync or async.

    ``@protect(TokenBucket(...))`` borrows the store, trusted proxies and mode of
    ``SHIELDWARE_SHIELD`` when it is set; ``@protect(shield)`` uses that shield as it is. The
    view's decision is at ``request.shieldware_view``; its headers are added to the view's response.
    """
    protection = Protection(target, base=_app_shield, mode=mode)

    def decorate(view: V) -> V:
        stacked_on(view, protection)
        if iscoroutinefunction(view):
            async_view = cast("Callable[..., Awaitable[HttpResponseBase]]", view)

            @functools.wraps(view)
            async def async_wrapper(
                request: HttpRequest, *args: Any, **kwargs: Any
            ) -> HttpResponseBase:
                gate = protection.gate
                principal = await aprincipal_of(request)
                entry = await gate.aenter(read_facts(_facts, request, gate.shield, principal, True))
                setattr(request, VIEW_KEY, entry.decision)
                return await _aserve(gate, entry, request, lambda r: async_view(r, *args, **kwargs))

            async_wrapper.shieldware = protection  # type: ignore[attr-defined]
            return cast("V", async_wrapper)

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            gate = protection.gate
            principal = principal_of(request)
            entry = gate.enter(read_facts(_facts, request, gate.shield, principal, True))
            setattr(request, VIEW_KEY, entry.decision)
            return _serve(gate, entry, request, lambda r: view(r, *args, **kwargs))

        wrapper.shieldware = protection  # type: ignore[attr-defined]
        return cast("V", wrapper)

    return decorate


# -- system checks -----------------------------------------------------------------------------
_GUNICORN_WORKERS = re.compile(r"(?:^|\s)(?:-w|--workers)(?:\s+|=)(\d+)")


def worker_count(environ: dict[str, str] | None = None) -> int:
    """Our best guess at how many worker processes serve this site (1 when nothing says more)."""
    env = os.environ if environ is None else environ
    counts = [getattr(settings, WORKERS_SETTING, None)]
    counts += [env.get("WEB_CONCURRENCY"), env.get("UVICORN_WORKERS"), env.get("GUNICORN_WORKERS")]
    match = _GUNICORN_WORKERS.search(env.get("GUNICORN_CMD_ARGS", ""))
    if match:
        counts.append(match.group(1))
    best = 1
    for value in counts:
        try:
            best = max(best, int(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
    return best


def _behind_proxy() -> str | None:
    """The setting that shows requests come through a proxy, if any."""
    for name in ("USE_X_FORWARDED_HOST", "USE_X_FORWARDED_PORT", "SECURE_PROXY_SSL_HEADER"):
        if getattr(settings, name, None):
            return name
    return None


def check_shield(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Django system checks for shieldware; ids are stable (see docs/django.md)."""
    errors: list[checks.CheckMessage] = []
    path = getattr(settings, SETTING, None)
    middleware = list(getattr(settings, "MIDDLEWARE", None) or ())
    if not path:
        if _MIDDLEWARE in middleware:
            errors.append(
                checks.Error(
                    f"{SETTING} is not set, but ShieldwareMiddleware is installed.",
                    hint=f"Set {SETTING} = 'myproject.security.shield' (a Shield's dotted path).",
                    id="shieldware.E001",
                )
            )
        return errors
    try:
        shield = load_shield(path)
    except ConfigurationError as exc:
        return [
            checks.Error(
                f"The shield named by {SETTING} could not be built: {exc}",
                hint="A layer that signs needs a secret of at least 32 bytes: pass secret=... or "
                "set SHIELDWARE_SECRET (`shieldware secret` prints one).",
                id="shieldware.E002",
            )
        ]
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="shieldware.E001")]
    workers = worker_count()
    if not shield.store.shared and workers > 1:
        errors.append(
            checks.Warning(
                f"The shield keeps its state in memory, but {workers} worker processes serve this "
                f"site: each one counts on its own, so limits are {workers} times looser.",
                hint="Use a shared store: Shield(..., store='redis://127.0.0.1:6379/0').",
                id="shieldware.W001",
            )
        )
    proxy_setting = _behind_proxy()
    if proxy_setting and not shield.proxies:
        errors.append(
            checks.Warning(
                f"{proxy_setting} is set, so requests come through a proxy, but the shield trusts "
                "no proxy: every client will look like the proxy's address.",
                hint="Pass trusted_proxies=['10.0.0.0/8', ...] (your proxies) to Shield.",
                id="shieldware.W002",
            )
        )
    if (
        _MIDDLEWARE in middleware
        and _AUTH_MIDDLEWARE in middleware
        and middleware.index(_MIDDLEWARE) < middleware.index(_AUTH_MIDDLEWARE)
    ):
        errors.append(
            checks.Warning(
                "ShieldwareMiddleware runs before AuthenticationMiddleware, so decisions "
                "cannot key on the logged-in user.",
                hint="Move it after AuthenticationMiddleware in MIDDLEWARE.",
                id="shieldware.W003",
            )
        )
    return errors


checks.register(check_shield, "shieldware")


class ShieldwareConfig(AppConfig):  # type: ignore[misc]
    """Add ``"shieldware.contrib.django.ShieldwareConfig"`` to INSTALLED_APPS for system checks."""

    name = "shieldware.contrib.django"
    label = "shieldware"
    verbose_name = "shieldware"

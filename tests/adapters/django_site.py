"""The Django side of the contract: urls, views and a stand-in authentication middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path

from shieldware import Shield
from tests.adapters.kit import OK, PUBLIC, STREAM, user_of

SHIELD = Shield()


def current_shield() -> Shield:
    """``SHIELDWARE_SHIELD`` names this: the shield of the running contract case."""
    return SHIELD


class _User:
    def __init__(self, headers: Any) -> None:
        self.headers = headers

    @property
    def is_authenticated(self) -> bool:
        return user_of(self.headers) is not None

    @property
    def pk(self) -> str | None:
        return user_of(self.headers)


class Auth:
    """Stands in for AuthenticationMiddleware: ``x-user`` logs in, ``x-broken`` breaks it."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        user = _User(request.headers)
        request.user = user

        async def auser() -> _User:
            return user

        request.auser = auser
        return self.get_response(request)


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse(OK, content_type="text/plain", headers={"x-app": "1"})


def public(request: HttpRequest) -> HttpResponse:
    return HttpResponse(OK, content_type="text/plain", headers={"cache-control": PUBLIC})


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the app failed")


def stream(request: HttpRequest) -> StreamingHttpResponse:
    if isinstance(request, ASGIRequest):  # Django wants an async iterator under ASGI
        return StreamingHttpResponse(_achunks(), content_type="text/plain")
    return StreamingHttpResponse(iter(STREAM), content_type="text/plain")


async def _achunks() -> AsyncIterator[bytes]:
    for chunk in STREAM:
        yield chunk


urlpatterns = [
    path("", home),
    path("api", home),
    path("raise", fail),
    path("stream", stream),
    path("public", public),
]

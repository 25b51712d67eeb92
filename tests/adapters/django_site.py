"""The Django side of the contract: urls, views and a stand-in authentication middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path
from sw_django.auth import FakeAuthenticationMiddleware

from shieldware import Shield
from tests.adapters.kit import OK, PUBLIC, STREAM, user_of

SHIELD = Shield()


def current_shield() -> Shield:
    """``SHIELDWARE_SHIELD`` names this: the shield of the running contract case."""
    return SHIELD


class Auth(FakeAuthenticationMiddleware):
    """The contrib tests' stand-in for AuthenticationMiddleware, logging in through the contract's
    principal hook: ``x-user`` logs in, ``x-broken`` makes the lookup raise."""

    def user(self, request: Any) -> Any:
        return _User(request.headers)


class _User:
    """A user whose pk is read when the principal is looked up, so a broken lookup raises there."""

    def __init__(self, headers: Any) -> None:
        self.headers = headers

    @property
    def is_authenticated(self) -> bool:
        return user_of(self.headers) is not None

    @property
    def pk(self) -> str | None:
        return user_of(self.headers)


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse(OK, content_type="text/plain", headers={"x-app": "1"})


def public(request: HttpRequest) -> HttpResponse:
    return HttpResponse(OK, content_type="text/plain", headers={"cache-control": PUBLIC})


def item(request: HttpRequest, id: int) -> HttpResponse:
    return HttpResponse(str(id), content_type="text/plain")


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
    path("items/<int:id>", item),
]

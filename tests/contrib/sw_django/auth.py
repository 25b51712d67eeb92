"""Stands in for AuthenticationMiddleware without a database: ``x-user: 42`` logs user 42 in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction


class FakeUser:
    def __init__(self, pk: str | None) -> None:
        self.pk = pk
        self.is_authenticated = pk is not None


class FakeAuthenticationMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def user(self, request: Any) -> Any:
        """The user this request logs in as (a subclass may log in differently)."""
        return FakeUser(request.headers.get("x-user"))

    def __call__(self, request: Any) -> Any:
        user = self.user(request)
        request.user = user

        async def auser() -> Any:
            return user

        request.auser = auser
        return self.get_response(request)

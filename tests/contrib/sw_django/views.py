from __future__ import annotations

import asyncio

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from sw_layers import Quota

from shieldware.contrib.django import decision_of, protect


def _describe(request: HttpRequest) -> JsonResponse:
    decision = decision_of(request)
    return JsonResponse(
        {
            "ok": True,
            "action": decision.action.value if decision else None,
            "rule": decision.verdict.rule if decision else None,
        }
    )


def hello(request: HttpRequest) -> HttpResponse:
    return _describe(request)


async def ahello(request: HttpRequest) -> HttpResponse:
    await asyncio.sleep(0)
    return _describe(request)


def item(request: HttpRequest, pk: int) -> HttpResponse:
    return _describe(request)


@protect(Quota(1, name="login"))
def login(request: HttpRequest) -> HttpResponse:
    return _describe(request)


@protect(Quota(1, name="alogin"))
async def alogin(request: HttpRequest) -> HttpResponse:
    await asyncio.sleep(0)
    return _describe(request)


def stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(iter([b"one\n", b"two\n"]), content_type="text/plain")

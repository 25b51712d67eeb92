"""One table of scenarios, run over every adapter: raw ASGI, Starlette, WSGI (validated), Django
sync and async, Flask and FastAPI. A case is written once; an adapter only has to translate."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from shieldware import Concurrency, IPList, ProofOfWork, Shield, TokenBucket
from shieldware.match import path
from tests.adapters import kit
from tests.adapters.kit import OK, Client, CountingStore, Principal

pytest.importorskip("django")
pytest.importorskip("flask")
pytest.importorskip("fastapi")

ADAPTERS = {
    "asgi": kit.raw_asgi,
    "starlette": kit.starlette,
    "wsgi": kit.wsgi,
    "django-sync": kit.django_sync,
    "django-async": kit.django_async,
    "flask": kit.flask,
    "fastapi": kit.fastapi,
}
#: Adapters that take a principal hook (raw ASGI and WSGI have no notion of a user).
WITH_PRINCIPAL = {"django-sync", "django-async", "flask", "fastapi"}
SECRET = "contract-tests-only-" + "x" * 32


Serve = Callable[[Shield], Client]


@pytest.fixture(params=sorted(ADAPTERS))
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def serve(adapter: str) -> Iterator[Serve]:
    """Serves the contract app behind a shield through `adapter`; torn down after the test."""
    with ExitStack() as stack:
        yield lambda shield: stack.enter_context(ADAPTERS[adapter](shield))


def test_allowed_gets_the_decision_headers(serve: Serve) -> None:
    client = serve(Shield([TokenBucket("5/minute", burst=5)]))
    seen = client.get("/")
    assert seen.status == 200
    assert seen.body == OK
    assert seen.header("x-app") == "1"  # the app's own headers survive
    assert seen.header("ratelimit") == '"ratelimit";r=4;t=12'
    assert seen.header("ratelimit-policy") is not None


def test_a_publicly_cacheable_response_gets_no_per_client_headers(serve: Serve) -> None:
    client = serve(Shield([TokenBucket("5/minute", burst=5)]))
    seen = client.get("/public")
    assert seen.status == 200
    assert seen.header("cache-control") == kit.PUBLIC
    assert seen.header("ratelimit") is None
    assert seen.header("ratelimit-policy") is None


def test_throttled_gets_429_retry_after_and_ratelimit(serve: Serve) -> None:
    client = serve(Shield([TokenBucket("1/hour", burst=1)]))
    assert client.get("/").status == 200
    seen = client.get("/", {"accept": "application/json"})
    assert seen.status == 429
    assert seen.header("content-type") == "application/problem+json"
    assert int(seen.header("retry-after") or 0) >= 1
    assert seen.header("ratelimit") is not None
    assert seen.header("ratelimit-policy") is not None
    assert seen.header("x-app") is None  # the app never ran


@pytest.mark.parametrize(
    ("where", "accept", "status", "marker"),
    [("/", "text/html", 403, b"<html"), ("/api", "application/json", 401, b'"status":401')],
)
def test_challenged_by_proof_of_work(
    serve: Serve, where: str, accept: str, status: int, marker: bytes
) -> None:
    client = serve(Shield([ProofOfWork(SECRET, api=path("/api"))]))
    seen = client.get(where, {"accept": accept})
    assert seen.status == status
    assert marker in seen.body
    assert seen.header("cache-control") == "no-store"
    assert (seen.header("www-authenticate") is not None) == (status == 401)


def test_denied_by_ip_list(serve: Serve) -> None:
    client = serve(Shield([IPList(deny=["127.0.0.0/8"])]))
    seen = client.get("/")
    assert seen.status == 403
    assert b"ip-deny-listed" in seen.body


def test_shadow_mode_passes_without_headers(serve: Serve) -> None:
    shadow = Shield([IPList(deny=["127.0.0.0/8"]), TokenBucket("1/hour", burst=1)], mode="shadow")
    client = serve(shadow)
    for _ in range(3):
        seen = client.get("/")
        assert seen.status == 200
        assert seen.body == OK
        assert seen.header("ratelimit") is None


HOSTILE = {
    "nul": "/%00",
    "nul-query": "/a%00b?x=%00",
    "surrogate-utf8": "/%ED%A0%80",
    "bad-utf8": "/%ff%fe",
    "huge-id": "/items/99999999999999999999",
    "long-path": "/" + "a" * 8000,
    "long-query": "/?" + "q=" * 4000,
}
#: Only the spec drivers can send a lone surrogate: the frameworks' test clients cannot encode it.
RAW_ONLY = {"lone-surrogate": "/\udcff"}


@pytest.mark.parametrize(
    ("adapter", "where"),
    [pytest.param(a, w, id=f"{a}-{name}") for a in sorted(ADAPTERS) for name, w in HOSTILE.items()]
    + [
        pytest.param(a, w, id=f"{a}-{name}")
        for a in ("asgi", "wsgi")
        for name, w in RAW_ONLY.items()
    ],
)
def test_hostile_paths_never_500(serve: Serve, where: str) -> None:
    client = serve(Shield([TokenBucket("100/minute"), IPList(deny=["192.0.2.0/24"])]))
    seen = client.get(where, {"cookie": "=;;=", "x-forwarded-for": "\x01, ::zz"})
    assert seen.status < 500


#: How each site refuses ``/items/1e400``: FastAPI validates the typed parameter (422); the
#: others' int converters do not match it (404).
NOT_AN_ID = {"fastapi": 422}


def test_a_typed_route_refuses_an_overflowing_id_cleanly(serve: Serve, adapter: str) -> None:
    """``/items/1e400`` is no int (as a float it overflows): a clean 4xx, never a 500, and the
    shield's headers ride along on the refusal the app made."""
    client = serve(Shield([TokenBucket("5/minute", burst=5)]))
    item = client.get("/items/1")
    assert item.status == 200
    assert item.body == b"1"
    seen = client.get("/items/1e400")
    assert seen.status == NOT_AN_ID.get(adapter, 404)
    assert seen.header("ratelimit") is not None


def test_app_raising_still_releases_the_lease_once(serve: Serve) -> None:
    store = CountingStore()
    client = serve(Shield([Concurrency(1)], store=store))
    try:
        seen = client.get("/raise")
    except RuntimeError:
        pass  # the test client re-raised the app's error, as it should
    else:
        assert seen.status == 500
    assert store.releases == 1
    assert client.get("/").status == 200  # the one slot is free again
    assert store.releases == 2


def test_client_disconnect_releases_the_lease_once(serve: Serve) -> None:
    store = CountingStore()
    client = serve(Shield([Concurrency(1)], store=store))
    client.drop("/stream")
    assert store.releases == 1
    assert client.get("/").status == 200


@pytest.mark.parametrize("adapter", sorted(WITH_PRINCIPAL))
def test_failing_principal_is_logged_not_a_500(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    client = serve(Shield([Principal()]))
    assert client.get("/", {"x-user": "u1"}).header("x-principal") == "u1"
    with caplog.at_level(logging.ERROR, logger="shieldware"):
        seen = client.get("/", {"x-broken": "1"})
    assert seen.status == 200
    assert seen.header("x-principal") == "-"
    assert "principal lookup failed" in caplog.text

"""The apps measured side by side: a bare hello world, shieldware's chains, and the peers.

Every app answers ``GET /`` with ``Hello, world!``. A *pass* variant lets every request through (the
limits are generous), a *reject* variant refuses every request after the first (the limit is one),
so the two costs are measured apart. Builders are async because some peers need a running loop.
Only the public API is used, so the harness keeps measuring while the core changes underneath.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from . import layers as L
from .requests import REJECTED_CLIENT

ASGIApp = Callable[..., Awaitable[None]]
HELLO = b"Hello, world!"


@dataclass(frozen=True)
class Variant:
    """One app to measure.

    :param name: short id used in the JSON, plots and docs.
    :param label: what a reader sees.
    :param kind: ``"asgi"`` or ``"wsgi"``.
    :param expect: the status every timed request must get (checked before timing).
    :param baseline: the variant this one is compared against.
    :param redis: needs the Redis server.
    :param clients: who sends the requests (see `benchmarks.requests`): ``"seen"`` (4,096
        rotating addresses), ``"fresh"`` (a never-seen address every request, IPv4 and IPv6 /64
        alternating), ``"fresh-ua"`` (seen addresses, a never-seen User-Agent every request);
        reject variants always use `REJECTED_CLIENT`.
    """

    name: str
    label: str
    kind: str
    expect: int
    build: Callable[[str], Awaitable[Any]]
    baseline: str = "bare"
    redis: bool = False
    layer: str = ""
    clients: str = "seen"


# -- bare apps ---------------------------------------------------------------------------------
def starlette_hello() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("Hello, world!")

    return Starlette(routes=[Route("/", hello)])


def fastapi_hello(dependencies: list[Any] | None = None) -> Any:
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    app = FastAPI(dependencies=dependencies or [], openapi_url=None, docs_url=None)

    @app.get("/", response_class=PlainTextResponse)
    async def hello() -> str:
        return "Hello, world!"

    return app


def wsgi_hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response(
        "200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "13")]
    )
    return [HELLO]


# -- shieldware --------------------------------------------------------------------------------
def _shielded(layer_list: list[Any], store: Any = None) -> Any:
    import shieldware

    return shieldware.ShieldMiddleware(
        starlette_hello(), shield=shieldware.Shield(layer_list, store=store)
    )


def _wsgi_shielded(layer_list: list[Any]) -> Any:
    import shieldware

    return shieldware.ShieldWSGIMiddleware(wsgi_hello, shield=shieldware.Shield(layer_list))


async def _bare(_: str) -> Any:
    return starlette_hello()


async def _fastapi_bare(_: str) -> Any:
    return fastapi_hello()


async def _empty(_: str) -> Any:
    return _shielded([])


async def _noop(_: str) -> Any:
    return _shielded([L.noop()])


async def _iplist(_: str) -> Any:
    return _shielded([L.iplist(1000)])


async def _pure(_: str) -> Any:
    return _shielded([L.iplist(1000), L.fingerprint()])


async def _iplist_reject(_: str) -> Any:
    return _shielded([L.iplist(1000, deny=(REJECTED_CLIENT,))])


async def _default(_: str) -> Any:
    import shieldware

    # Loopback is the trusted proxy: under wrk, X-Forwarded-For spreads requests over 4,096
    # clients (as a site behind a proxy sees them), so none meets the per-IP limit. In process the
    # peer is not loopback and the header is absent: nothing changes there.
    shield = L.default_shield(trusted_proxies=["127.0.0.1"])
    return shieldware.ShieldMiddleware(starlette_hello(), shield=shield)


async def _tokenbucket(_: str) -> Any:
    return _shielded([L.token_bucket()])


async def _tokenbucket_reject(_: str) -> Any:
    return _shielded([L.token_bucket("1/hour", burst=1)])


async def _tokenbucket_redis(url: str) -> Any:
    return _shielded([L.token_bucket()], store=L.redis_store(url))


async def _tokenbucket_redis_reject(url: str) -> Any:
    return _shielded([L.token_bucket("1/hour", burst=1)], store=L.redis_store(url))


async def _fingerprint(_: str) -> Any:
    return _shielded([L.fingerprint()])


async def _pow(_: str) -> Any:
    return _shielded([L.proof_of_work()])


# -- WSGI --------------------------------------------------------------------------------------
async def _wsgi_bare(_: str) -> Any:
    return wsgi_hello


async def _wsgi_empty(_: str) -> Any:
    return _wsgi_shielded([])


async def _wsgi_iplist(_: str) -> Any:
    return _wsgi_shielded([L.iplist(1000)])


async def _wsgi_iplist_reject(_: str) -> Any:
    return _wsgi_shielded([L.iplist(1000, deny=(REJECTED_CLIENT,))])


async def _wsgi_default(_: str) -> Any:
    import shieldware

    return shieldware.ShieldWSGIMiddleware(wsgi_hello, shield=L.default_shield())


async def _wsgi_tokenbucket(_: str) -> Any:
    return _wsgi_shielded([L.token_bucket()])


async def _wsgi_tokenbucket_reject(_: str) -> Any:
    return _wsgi_shielded([L.token_bucket("1/hour", burst=1)])


# -- peers -------------------------------------------------------------------------------------
def _slowapi(limit: str, storage_uri: str) -> Any:
    try:
        from slowapi import Limiter, _rate_limit_exceeded_handler
        from slowapi.errors import RateLimitExceeded
        from slowapi.middleware import SlowAPIMiddleware
        from slowapi.util import get_remote_address
    except ImportError as exc:
        raise L.Unavailable(f"slowapi: not installed ({exc})") from exc
    app = starlette_hello()
    limiter = Limiter(
        key_func=get_remote_address,
        default_limits=[limit],
        storage_uri=storage_uri,
        key_prefix=f"bench-{uuid.uuid4().hex[:8]}",
    )
    app.state.limiter = limiter
    app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)
    app.add_middleware(SlowAPIMiddleware)
    return app


async def _slowapi_memory(_: str) -> Any:
    return _slowapi("1000000/second", "memory://")


async def _slowapi_memory_reject(_: str) -> Any:
    return _slowapi("1/hour", "memory://")


async def _slowapi_redis(url: str) -> Any:
    return _slowapi("1000000/second", url)


async def _slowapi_redis_reject(url: str) -> Any:
    return _slowapi("1/hour", url)


async def _peer_ip(scope: Any) -> tuple[str, str]:
    """asgi-ratelimit's own `client_ip` refuses non-global peers; key by the TCP peer instead."""
    return str(scope["client"][0]), "default"


def _asgi_ratelimit(**rule: int) -> Any:
    try:
        from ratelimit import RateLimitMiddleware, Rule
        from ratelimit.backends.simple import MemoryBackend
    except ImportError as exc:
        raise L.Unavailable(f"asgi-ratelimit: not installed ({exc})") from exc
    backend: Any = MemoryBackend  # untyped upstream
    make_rule: Any = Rule
    return RateLimitMiddleware(starlette_hello(), _peer_ip, backend(), {r"^/": [make_rule(**rule)]})


async def _asgi_ratelimit_memory(_: str) -> Any:
    return _asgi_ratelimit(second=1_000_000)


async def _asgi_ratelimit_memory_reject(_: str) -> Any:
    return _asgi_ratelimit(hour=1)


async def _fastapi_limiter(url: str | None, amount: int, per_hour: bool) -> Any:
    try:
        from fastapi import Depends
        from fastapi_limiter.depends import RateLimiter
        from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate
    except ImportError as exc:
        raise L.Unavailable(f"fastapi-limiter: not installed ({exc})") from exc
    rates = [Rate(amount, Duration.HOUR if per_hour else Duration.SECOND)]
    if url is None:
        bucket: Any = InMemoryBucket(rates)
    else:
        from pyrate_limiter import RedisBucket
        from redis.asyncio import Redis

        bucket = await RedisBucket.init(
            rates, Redis.from_url(url), f"bench-fl-{uuid.uuid4().hex[:8]}"
        )
    # As its README shows: one Limiter (one bucket) behind a route dependency.
    return fastapi_hello([Depends(RateLimiter(limiter=Limiter(bucket)))])


async def _fastapi_limiter_memory(_: str) -> Any:
    return await _fastapi_limiter(None, 1_000_000, False)


async def _fastapi_limiter_redis(url: str) -> Any:
    return await _fastapi_limiter(url, 1_000_000, False)


async def _fastapi_limiter_redis_reject(url: str) -> Any:
    return await _fastapi_limiter(url, 1, True)


PASS, REJECT = 200, 0  # REJECT: any 4xx

VARIANTS: tuple[Variant, ...] = (
    # ASGI, passing requests
    Variant("bare", "bare Starlette hello world", "asgi", PASS, _bare, baseline=""),
    Variant("empty", "shieldware, empty chain", "asgi", PASS, _empty),
    Variant("noop", "shieldware, one no-op pure layer", "asgi", PASS, _noop),
    Variant("iplist", "shieldware, IPList (1,000 CIDRs)", "asgi", PASS, _iplist, layer="iplist"),
    Variant("pure", "shieldware, IPList (1,000 CIDRs) + Fingerprint", "asgi", PASS, _pure),
    Variant("default", "shieldware, default chain", "asgi", PASS, _default),
    Variant(
        "default-fresh",
        "shieldware, default chain: never-seen addresses",
        "asgi",
        PASS,
        _default,
        clients="fresh",
    ),
    Variant(
        "default-fresh-ua",
        "shieldware, default chain: never-seen User-Agents",
        "asgi",
        PASS,
        _default,
        clients="fresh-ua",
    ),
    Variant(
        "tokenbucket",
        "shieldware, TokenBucket (memory)",
        "asgi",
        PASS,
        _tokenbucket,
        layer="tokenbucket",
    ),
    Variant(
        "tokenbucket-fresh",
        "shieldware, TokenBucket (memory): never-seen addresses",
        "asgi",
        PASS,
        _tokenbucket,
        clients="fresh",
    ),
    Variant(
        "tokenbucket-redis",
        "shieldware, TokenBucket (Redis)",
        "asgi",
        PASS,
        _tokenbucket_redis,
        redis=True,
    ),
    Variant(
        "fingerprint", "shieldware, Fingerprint", "asgi", PASS, _fingerprint, layer="fingerprint"
    ),
    Variant("pow", "shieldware, ProofOfWork (no clearance)", "asgi", REJECT, _pow, layer="pow"),
    Variant("asgi-ratelimit", "asgi-ratelimit (memory)", "asgi", PASS, _asgi_ratelimit_memory),
    Variant("slowapi", "slowapi (memory)", "asgi", PASS, _slowapi_memory),
    Variant("slowapi-redis", "slowapi (Redis)", "asgi", PASS, _slowapi_redis, redis=True),
    Variant("fastapi-bare", "bare FastAPI hello world", "asgi", PASS, _fastapi_bare),
    Variant(
        "fastapi-limiter",
        "fastapi-limiter (memory)",
        "asgi",
        PASS,
        _fastapi_limiter_memory,
        baseline="fastapi-bare",
    ),
    Variant(
        "fastapi-limiter-redis",
        "fastapi-limiter (Redis)",
        "asgi",
        PASS,
        _fastapi_limiter_redis,
        baseline="fastapi-bare",
        redis=True,
    ),
    # ASGI, rejected requests
    Variant("iplist-reject", "shieldware IPList: deny", "asgi", REJECT, _iplist_reject),
    Variant(
        "tokenbucket-reject",
        "shieldware TokenBucket (memory): 429",
        "asgi",
        REJECT,
        _tokenbucket_reject,
    ),
    Variant(
        "tokenbucket-redis-reject",
        "shieldware TokenBucket (Redis): 429",
        "asgi",
        REJECT,
        _tokenbucket_redis_reject,
        redis=True,
    ),
    Variant(
        "asgi-ratelimit-reject",
        "asgi-ratelimit (memory): 429",
        "asgi",
        REJECT,
        _asgi_ratelimit_memory_reject,
    ),
    Variant("slowapi-reject", "slowapi (memory): 429", "asgi", REJECT, _slowapi_memory_reject),
    Variant(
        "slowapi-redis-reject",
        "slowapi (Redis): 429",
        "asgi",
        REJECT,
        _slowapi_redis_reject,
        redis=True,
    ),
    Variant(
        "fastapi-limiter-redis-reject",
        "fastapi-limiter (Redis): 429",
        "asgi",
        REJECT,
        _fastapi_limiter_redis_reject,
        baseline="fastapi-bare",
        redis=True,
    ),
    # WSGI, called directly
    Variant("wsgi-bare", "bare WSGI hello world", "wsgi", PASS, _wsgi_bare, baseline=""),
    Variant(
        "wsgi-empty",
        "shieldware WSGI, empty chain",
        "wsgi",
        PASS,
        _wsgi_empty,
        baseline="wsgi-bare",
    ),
    Variant(
        "wsgi-iplist",
        "shieldware WSGI, IPList (1,000 CIDRs)",
        "wsgi",
        PASS,
        _wsgi_iplist,
        baseline="wsgi-bare",
    ),
    Variant(
        "wsgi-default",
        "shieldware WSGI, default chain",
        "wsgi",
        PASS,
        _wsgi_default,
        baseline="wsgi-bare",
    ),
    Variant(
        "wsgi-tokenbucket",
        "shieldware WSGI, TokenBucket (memory)",
        "wsgi",
        PASS,
        _wsgi_tokenbucket,
        baseline="wsgi-bare",
    ),
    Variant(
        "wsgi-iplist-reject",
        "shieldware WSGI IPList: deny",
        "wsgi",
        REJECT,
        _wsgi_iplist_reject,
        baseline="wsgi-bare",
    ),
    Variant(
        "wsgi-tokenbucket-reject",
        "shieldware WSGI TokenBucket: 429",
        "wsgi",
        REJECT,
        _wsgi_tokenbucket_reject,
        baseline="wsgi-bare",
    ),
)

BY_NAME = {v.name: v for v in VARIANTS}

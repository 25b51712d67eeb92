"""The app test_redis_burst.py serves with two uvicorn processes; configured by environment.

BURST_REDIS_URL (the shared store), BURST_HITS (a file the covered handler appends one byte to per
request it serves: two processes, one count), BURST_CHAIN (``"chain"``: a generous per-IP
`TokenBucket`, a `Concurrency` limit of 2 in flight, then `ProofOfWork` on ``/login``;
``"preset"``: ``Shield.default``), BURST_POOL and BURST_POOL_WAIT (the store's pool: small, so a
burst exhausts it).
"""

from __future__ import annotations

import os
from typing import Any

from shieldware import Shield, ShieldMiddleware
from shieldware.layers import Concurrency, ProofOfWork, TokenBucket
from shieldware.match import path
from shieldware.stores import RedisStore
from tests.conftest import SECRET

#: Cheap puzzles, so the recovery check can solve one.
POW = {"count": 2, "bits": 6, "max_bits": 8}


def store() -> RedisStore:
    # Generous socket timeout: these tests count who reached the app, not latency.
    return RedisStore(
        os.environ["BURST_REDIS_URL"],
        timeout=2.0,
        max_connections=int(os.environ.get("BURST_POOL", "4")),
        pool_timeout=float(os.environ.get("BURST_POOL_WAIT", "0.05")),
    )


def shield() -> Shield:
    if os.environ.get("BURST_CHAIN") == "preset":
        # Loopback is a trusted proxy: the recovery checks come from fresh client addresses
        # (X-Forwarded-For), so the burst's own per-IP budget cannot answer them with 429.
        return Shield.default(SECRET, store=store(), trusted_proxies=["127.0.0.1"])
    layers = [
        TokenBucket("1000000/minute", burst=1_000_000),
        Concurrency(int(os.environ.get("BURST_IN_FLIGHT", "2"))),
        ProofOfWork(
            SECRET,
            match=path("/login"),
            issue_burst=10**6,
            redeem_burst=10**6,
            prefix_burst=10**6,
            **POW,  # type: ignore[arg-type]
        ),
    ]
    return Shield(layers, store=store())  # on_store_error: the default, "open"


def _hit() -> None:
    fd = os.open(os.environ["BURST_HITS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, b".")
    finally:
        os.close(fd)


async def handler(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/login":
        _hit()
    body = b"covered\n" if scope["path"] == "/login" else b"home\n"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


def app() -> Any:
    return ShieldMiddleware(handler, shield=shield())

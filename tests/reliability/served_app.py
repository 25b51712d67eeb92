"""Apps served by worker processes in test_workers.py; configured by environment variables.

RELIABILITY_REDIS_URL (the shared store), RELIABILITY_PREFIX (a unique bucket name per test run)
and RELIABILITY_LIMIT (requests admitted per hour, per client).
"""

from __future__ import annotations

import os
from typing import Any

from shieldware import Shield, ShieldMiddleware, ShieldWSGIMiddleware

from .helpers import TakeLayer, asgi_hello, wsgi_hello


def redis_store(url: str) -> Any:
    """The Redis store with a generous timeout: on a busy machine the 50 ms default may expire,
    and these tests count admissions, not latency."""
    from shieldware import store_from_url

    try:
        return store_from_url(f"{url}?timeout=2")
    except Exception:
        from shieldware.stores.redis import RedisStore  # type: ignore[import-not-found]

        return RedisStore(url, timeout=2.0)


def shield() -> Shield:
    limit = int(os.environ["RELIABILITY_LIMIT"])
    layer = TakeLayer(limit, name="rel" + os.environ["RELIABILITY_PREFIX"])
    # Closed: a store failure shows as a 503 instead of a silent extra admission.
    store = redis_store(os.environ["RELIABILITY_REDIS_URL"])
    return Shield([layer], store=store, on_store_error="closed")


def asgi_app() -> Any:
    return ShieldMiddleware(asgi_hello, shield=shield())


def wsgi_app() -> Any:
    return ShieldWSGIMiddleware(wsgi_hello, shield=shield())


def pow_app() -> Any:
    """Proof of work on the shared Redis store, cheap puzzles, generous per-prefix limits."""
    from shieldware.layers import ProofOfWork

    layer = ProofOfWork(
        os.environ["RELIABILITY_SECRET"],
        name="pow" + os.environ["RELIABILITY_PREFIX"][:8],
        count=4,
        bits=3,
        max_bits=3,
        issue_burst=10**6,
        redeem_burst=10**6,
        prefix_burst=10**6,
        meter_burst=10**6,
    )
    store = redis_store(os.environ["RELIABILITY_REDIS_URL"])
    return ShieldMiddleware(
        asgi_hello, shield=Shield([layer], store=store, on_store_error="closed")
    )

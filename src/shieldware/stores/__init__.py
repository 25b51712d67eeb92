"""Stores hold the little state shieldware needs: bucket TATs, spent ids, bans, leases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..errors import ConfigurationError
from ..lazy import loader as _loader
from .base import Store, require_ops
from .memory import MemoryStore
from .resilience import CircuitBreaker, CircuitOpen, FallbackStore

if TYPE_CHECKING:
    from .redis import RedisStore


if not TYPE_CHECKING:  # type checkers see the import above: typos stay errors
    # The Redis store (redis-py, asyncio, ssl) loads on first use: memory-only apps never pay.
    __getattr__, __dir__ = _loader(__name__, {"RedisStore": "redis"}, globals())


__all__ = [
    "CircuitBreaker",
    "CircuitOpen",
    "FallbackStore",
    "MemoryStore",
    "RedisStore",
    "Store",
    "require_ops",
    "store_from_url",
]

#: Query parameters a Redis URL may carry for shieldware itself; the rest go to redis-py.
_REDIS_PARAMS = {
    "prefix": str,
    "timeout": float,
    "connect_timeout": float,
    "breaker_failures": int,
    "breaker_cooldown": float,
    "max_connections": int,
    "pool_timeout": float,
    "driver": str,
}


def store_from_url(url: str) -> Store:
    """Build a store from a URL.

    ``memory://?max_entries=N`` is the bounded in-process store. ``redis://``, ``rediss://``,
    ``redis+unix://``, ``redis+cluster://``, ``redis+sentinel://`` and their ``valkey`` spellings
    give a `RedisStore`; ``?prefix=``, ``?timeout=`` (seconds), ``?connect_timeout=``,
    ``?breaker_failures=``, ``?breaker_cooldown=``, ``?max_connections=``, ``?pool_timeout=`` and
    ``?driver=redis-py`` tune it; other query parameters reach redis-py (``?ssl_cert_reqs=none``).
    """
    parts = urlsplit(url)
    if parts.scheme == "memory":
        options = dict(parse_qsl(parts.query))
        try:
            size = int(options.get("max_entries", str(100_000)))
        except ValueError as exc:
            raise ConfigurationError(f"bad max_entries in {url!r}") from exc
        return MemoryStore(size)
    from .redis import SCHEMES

    if parts.scheme.lower() in SCHEMES:
        return _redis_from_url(url)
    raise ConfigurationError(f"unknown store URL scheme {parts.scheme!r} in {url!r}")


def _redis_from_url(url: str) -> Store:
    parts = urlsplit(url)
    ours: dict[str, Any] = {}
    rest: list[tuple[str, str]] = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        kind = _REDIS_PARAMS.get(name)
        if kind is None:
            rest.append((name, value))
            continue
        try:
            ours[name] = kind(value)
        except ValueError as exc:
            raise ConfigurationError(f"bad {name}={value!r} in a store URL") from exc
    failures = ours.pop("breaker_failures", None)
    cooldown = ours.pop("breaker_cooldown", None)
    if failures is not None or cooldown is not None:
        ours["breaker"] = CircuitBreaker(failures or 3, cooldown or 1.0)
    # Rebuilt by hand: urlunsplit would turn ``redis+unix:///path`` into ``redis+unix:/path``.
    clean = url.split("?", 1)[0] + (f"?{urlencode(rest)}" if rest else "")
    from .redis import RedisStore

    return RedisStore(clean, **ours)

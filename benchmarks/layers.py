"""Find and build shieldware's layers, whichever have landed.

Layers arrive on main one branch at a time. Every lookup here is guarded: a layer that is not there
yet (or whose constructor we cannot satisfy) is reported as ``not available yet: <why>`` and the
benchmark goes on with the rest.
"""

from __future__ import annotations

import importlib
import ipaddress
import random
from collections.abc import Callable
from typing import Any

import shieldware

#: A fixed benchmark secret (43 URL-safe characters): benchmarks only, never in production.
SECRET = "bench-secret-not-for-production-0123456789abc"

#: Where each optional public name may live, besides the package root.
_HOMES: dict[str, tuple[str, ...]] = {
    "TokenBucket": ("shieldware.layers.ratelimit", "shieldware.layers"),
    "ProofOfWork": ("shieldware.layers.challenge", "shieldware.layers.pow", "shieldware.layers"),
    "Fingerprint": ("shieldware.layers.fingerprint", "shieldware.layers"),
    "RedisStore": ("shieldware.stores.redis", "shieldware.stores"),
}


class Unavailable(Exception):
    """A layer, store or peer that cannot be built here; the message says why."""


def find(name: str) -> Any:
    """The public object `name`, from the package root or its expected module; or raise."""
    obj = getattr(shieldware, name, None)
    if obj is not None:
        return obj
    for module in _HOMES.get(name, ()):
        try:
            obj = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if obj is not None:
            return obj
    raise Unavailable(f"{name}: not available yet (not on this branch)")


def attempt(name: str, *builders: Callable[[], Any]) -> Any:
    """Call each builder in turn (constructor signatures differ while layers land)."""
    errors: list[str] = []
    for build in builders:
        try:
            return build()
        except Unavailable:
            raise
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    raise Unavailable(f"{name}: could not be built ({'; '.join(errors)[:300]})")


def cidrs(count: int, seed: int = 8) -> list[str]:
    """`count` deny-list networks of mixed prefix lengths (/8../32) away from the bench clients."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        plen = rng.choice((8, 12, 16, 20, 22, 24, 24, 24, 28, 32, 32))
        first = rng.randrange(12, 223) if plen >= 8 else 12
        addr = (first << 24) | rng.getrandbits(24)
        out.append(str(ipaddress.ip_network((addr, plen), strict=False)))
    return out


def iplist(count: int = 1000, deny: tuple[str, ...] = ()) -> Any:
    return shieldware.IPList(deny=[*cidrs(count), *deny])


class NoOp:
    """A pure layer that passes every request and does nothing: the cost of one chain step."""

    name = "noop"

    def check(self, facts: Any, progress: Any) -> Any:
        return shieldware.Verdict(shieldware.Action.PASS, "noop", "ok")


def noop() -> Any:
    return NoOp()


def token_bucket(rate: str = "1000000/second", burst: int = 1_000_000) -> Any:
    tb = find("TokenBucket")
    return attempt(
        "TokenBucket",
        lambda: tb(rate, burst=burst),
        lambda: tb(rate=rate, burst=burst),
        lambda: tb(rate),
    )


def fingerprint() -> Any:
    fp = find("Fingerprint")
    return attempt("Fingerprint", lambda: fp(), lambda: fp(secret=SECRET))


def proof_of_work() -> Any:
    pow_ = find("ProofOfWork")
    return attempt("ProofOfWork", lambda: pow_(secret=SECRET), lambda: pow_(SECRET), lambda: pow_())


def redis_store(url: str) -> Any:
    rs = find("RedisStore")
    return attempt(
        "RedisStore",
        lambda: shieldware.store_from_url(url),
        lambda: rs.from_url(url),
        lambda: rs(url),
    )


def default_shield(**options: Any) -> Any:
    return shieldware.Shield.default(secret=SECRET, **options)


def default_names() -> list[str]:
    """The layer names of the default chain on this branch."""
    return [layer.name for layer in default_shield().layers]

"""The layers, stores and chains the benchmarks build, through the public API only."""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import shieldware

#: A fixed benchmark secret (43 URL-safe characters): benchmarks only, never in production.
SECRET = "bench-secret-not-for-production-0123456789abc"


class Unavailable(Exception):
    """A peer or store that cannot be built here (not installed, no server); says why."""


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
    return shieldware.TokenBucket(rate, burst=burst)


def fingerprint() -> Any:
    return shieldware.Fingerprint()


def proof_of_work() -> Any:
    return shieldware.ProofOfWork(secret=SECRET)


def redis_store(url: str) -> Any:
    return shieldware.store_from_url(url)


def default_shield(**options: Any) -> Any:
    return shieldware.Shield.default(secret=SECRET, **options)


def default_names() -> list[str]:
    """The layer names of the default chain on this branch."""
    return [layer.name for layer in default_shield().layers]

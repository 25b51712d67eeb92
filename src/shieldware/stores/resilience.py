"""Keeping a dead store cheap: a circuit breaker, and a store that falls back to local memory.

A shared store that stops answering must not cost every request a timeout. After `failures`
failures with no success in between, and no success for `quiet` seconds, the breaker *opens*:
calls fail at once with `CircuitOpen` (a `StoreError`, so the layer's or the Shield's failure
policy applies) and no socket is touched. After `cooldown` seconds one call is let through as a
probe (*half-open*); its success closes the breaker, its failure opens it for another cool-down.
Only one probe runs at a time, so a recovering Redis sees one request, not a stampede.

Why `quiet`: under a burst, an event loop busy with a thousand tasks may resume a few of them
after their socket timeout although Redis answered in time. Those timeouts come in a cluster,
between steady successes; a dead server gives no successes at all. Requiring a quiet spell keeps
a burst from opening the circuit (which would degrade every request for a cool-down).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import ConfigurationError, StoreError, StoreOverloaded
from ..ops import Op
from .base import Store
from .memory import MemoryStore

__all__ = ["CircuitBreaker", "CircuitOpen", "FallbackStore"]

R = TypeVar("R")
log = logging.getLogger("shieldware")

#: Entries in the default local fallback: enough for the busy clients of one process.
DEFAULT_FALLBACK_ENTRIES = 10_000


class CircuitOpen(StoreError):
    """The store failed repeatedly and is not being asked until its cool-down ends."""


class CircuitBreaker:
    """Counts consecutive failures and short-circuits calls while the store is presumed down.

    :param failures: failures without a success in between that open the circuit.
    :param cooldown: seconds to wait, once open, before letting one probe through.
    :param quiet: seconds without any success needed, too, before the circuit opens.
    :param clock: seconds, monotonic (tests inject one).
    """

    def __init__(
        self,
        failures: int = 3,
        cooldown: float = 1.0,
        *,
        quiet: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1:
            raise ConfigurationError("a circuit breaker needs failures >= 1")
        if cooldown <= 0 or quiet < 0:
            raise ConfigurationError("a circuit breaker needs a positive cooldown and quiet")
        self.failures = failures
        self.cooldown = cooldown
        self.quiet = quiet
        self.clock = clock
        self._last_success = -math.inf
        self.opened = 0  # how many times the circuit opened (for reports and tests)
        self._lock = threading.Lock()
        self._count = 0
        self._open_until: float | None = None  # None: closed
        self._probing = False

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half-open"`` (a probe may go, or is under way)."""
        if self._open_until is None:
            return "closed"
        return "half-open" if self._probing or self.clock() >= self._open_until else "open"

    def __repr__(self) -> str:
        return f"CircuitBreaker(failures={self.failures}, cooldown={self.cooldown}, {self.state})"

    def allow(self) -> bool:
        """May a call go to the store now? When open, True only for the single probe."""
        if self._open_until is None:  # the hot path: no lock while closed
            return True
        with self._lock:
            if self._open_until is None:
                return True
            now = self.clock()
            if now < self._open_until:
                return False
            # Half-open: this caller is the probe. Should it never report back (a cancelled
            # task), another probe may go after a further cool-down.
            self._open_until = now + self.cooldown
            self._probing = True
            return True

    def success(self) -> None:
        """The store answered: close the circuit."""
        if self.quiet:
            self._last_success = self.clock()
        if self._count or self._open_until is not None:
            with self._lock:
                self._count = 0
                self._open_until = None
                self._probing = False

    def failure(self) -> None:
        """The store did not answer (connection refused, timeout): count it, maybe open."""
        with self._lock:
            self._count += 1
            now = self.clock()
            if self._probing or (
                self._count >= self.failures and now - self._last_success >= self.quiet
            ):
                if self._open_until is None or self._probing:
                    self.opened += 1
                self._open_until = now + self.cooldown
                self._probing = False

    def check(self) -> None:
        """Raise `CircuitOpen` unless a call may go now."""
        if not self.allow():
            raise CircuitOpen("store unavailable (circuit open) until the cool-down ends")


class FallbackStore:
    """Runs ops on `primary`; while it fails, on `fallback`, a local store.

    This is "fall back to local memory" as a store concern: layers only yield ops and never own a
    store. Limits then hold per process instead of cluster-wide, which beats failing open (no
    limit) or closed (no service) for most apps. With `workers` processes sharing the traffic,
    each one decides an op that can be shared (`Take`, `Hit`: those with ``shared_by``) as its
    share, so the fleet together stays near the configured limit.

    A busy primary (`StoreOverloaded`) does not fall back: an attacker can fill the pool at will,
    and a local store knows no spent challenge ids, bans or leases. It goes up to the chain, which
    sheds the request.

    `degraded` counts the ops the fallback answered, and `on_degraded` (if given) hears each
    primary failure (the decisions themselves are not marked degraded: the fallback answered).

    :param primary: the shared store (Redis).
    :param fallback: the local store used while the primary fails; a bounded `MemoryStore` of
        10,000 entries by default.
    :param workers: how many processes share the traffic (each keeps its own fallback).
    :param on_degraded: called with the `StoreError` each time the fallback answers instead.
    """

    def __init__(
        self,
        primary: Store,
        fallback: Store | None = None,
        *,
        workers: int = 1,
        on_degraded: Callable[[StoreError], Any] | None = None,
    ) -> None:
        if workers < 1:
            raise ConfigurationError("FallbackStore needs workers >= 1")
        if fallback is None:
            fallback = MemoryStore(DEFAULT_FALLBACK_ENTRIES)
        self.primary = primary
        self.fallback = fallback
        self.workers = workers
        self.on_degraded = on_degraded
        self.degraded = 0
        self.shared = primary.shared
        #: Only ops both stores run: every op must have somewhere to go while the primary fails.
        self.supports: frozenset[type[Op[Any]]] = frozenset(
            getattr(primary, "supports", ())
        ) & frozenset(getattr(fallback, "supports", ()))

    def __repr__(self) -> str:
        return (
            f"FallbackStore({self.primary!r}, fallback={self.fallback!r}, workers={self.workers})"
        )

    def run(self, op: Op[R]) -> R:
        try:
            return self.primary.run(op)
        except StoreOverloaded:
            raise
        except StoreError as exc:
            self._degraded(exc)
        return self.fallback.run(self._local(op))

    async def arun(self, op: Op[R]) -> R:
        try:
            return await self.primary.arun(op)
        except StoreOverloaded:
            raise
        except StoreError as exc:
            self._degraded(exc)
        return await self.fallback.arun(self._local(op))

    def close(self) -> None:
        self.primary.close()
        self.fallback.close()

    def _local(self, op: Op[R]) -> Op[R]:
        """`op` as one of `workers` processes decides it alone (unchanged when it has no share)."""
        share = getattr(op, "shared_by", None)
        if share is None or self.workers == 1:
            return op
        return share(self.workers)  # type: ignore[no-any-return]

    def _degraded(self, exc: StoreError) -> None:
        self.degraded += 1
        if self.on_degraded is not None:
            try:
                self.on_degraded(exc)
            except Exception:  # a reporter must not turn a degraded answer into a failure
                log.exception("shieldware: on_degraded hook failed")

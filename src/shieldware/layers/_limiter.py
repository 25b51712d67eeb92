"""What the rate-limit layers share: failure policy, the local over-limit cache, verdicts.

A limiter layer turns a request into "items" (one per applicable rule), asks the store to charge
them all in one op, and answers PASS (with headers) or THROTTLE. Subclasses say how items become
an op and how a state becomes a header's ``t``.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from collections.abc import Callable, Generator, Hashable, Sequence
from typing import Any, Generic, Literal, Protocol, TypeVar

from cachetools import TLRUCache

from ..errors import ConfigurationError, StoreError
from ..headers import HeaderStyle, Policy, Usage, check_style, format_headers, sf_string
from ..ops import Op
from ..stores import MemoryStore
from ..verdict import Action, Reason, Verdict

__all__ = ["FailurePolicy", "LimitState", "Limiter", "LocalBlocks", "check_failure_policy"]

#: What a layer does when its store fails: let the request through, refuse it (503), or decide
#: against a small in-process store instead (every such verdict is marked ``degraded``).
FailurePolicy = Literal["open", "closed", "local"]

RATE_LIMITED = "rate-limited"
LOCALLY_BLOCKED = "rate-limited-locally"
COST_TOO_HIGH = "cost-exceeds-limit"
WITHIN_LIMIT = "within-limit"


def check_failure_policy(value: str) -> FailurePolicy:
    if value not in ("open", "closed", "local"):
        raise ConfigurationError(f"on_store_error must be 'open', 'closed' or 'local': {value!r}")
    return value  # type: ignore[return-value]


class LimitState(Protocol):
    """What `BucketState` and `WindowState` have in common."""

    @property
    def allowed(self) -> bool: ...
    @property
    def remaining(self) -> int: ...
    @property
    def retry_after(self) -> float: ...
    @property
    def reset_after(self) -> float: ...


class LocalBlocks:
    """Keys known to be over their limit until a monotonic instant: refused without a store op.

    Sound for every limiter here: a store's state only gets more restrictive until the instant
    it reported (GCRA's TAT and window counts never shrink early), so a local refusal is one the
    store would have made too. Bounded (LRU beyond `maxsize`); one lock, no threads.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._used = False
        self._cache: TLRUCache[str, tuple[float, int]] | None = (
            TLRUCache(maxsize, ttu=lambda _k, v, _now: v[0], timer=time.monotonic)
            if maxsize > 0
            else None
        )

    def __len__(self) -> int:
        return len(self._cache) if self._cache is not None else 0

    def __bool__(self) -> bool:
        """False until the first block: spares every request a locked lookup until then."""
        return self._used

    def block(self, key: str, seconds: float, cost: int) -> None:
        """Remember `key` refuses `cost` units (and more) for `seconds`."""
        if self._cache is None or seconds <= 0 or not math.isfinite(seconds):
            return
        with self._lock:
            self._cache[key] = (time.monotonic() + seconds, cost)
            self._used = True

    def wait(self, key: str, cost: int) -> float:
        """Seconds `key` is still known to refuse `cost` units; 0 when not known."""
        cache = self._cache
        if cache is None:
            return 0.0
        with self._lock:
            entry = cache.get(key)
        if entry is None or cost < entry[1]:
            return 0.0
        return max(0.0, entry[0] - time.monotonic())


ItemT = TypeVar("ItemT")
_BATCHES = 16384
_BLOCKED_HEADERS = 1024


class Batch(Generic[ItemT]):
    """Everything about one combination of applicable rules and keys, computed once and reused.

    A client's requests repeat the same keys, so the encoded keys, the op, the policy header and
    the header prefixes are built on its first request and cached (bounded) by the layer.
    """

    __slots__ = ("items", "keys", "local_op", "op", "policy_line", "prefixes")

    def __init__(self, layer: Limiter[ItemT], items: Sequence[ItemT]) -> None:
        self.items = tuple(items)
        self.keys = tuple(layer._key_cost(it) for it in self.items)
        self.op = layer._op(self.items, False)
        self.local_op = layer._op(self.items, True) if layer.on_store_error == "local" else None
        policies = [layer._policy(it) for it in self.items]
        self.policy_line = ", ".join(p[1] for p in policies)
        self.prefixes = tuple(sf_string(p[0].name) + ";r=" for p in policies)


class Limiter(Generic[ItemT]):
    """Base of the quota and token-bucket layers. Subclasses fill in the hooks."""

    name: str

    def __init__(
        self,
        name: str,
        *,
        headers: str,
        on_store_error: str,
        jitter: float,
        local_cache: int,
        local_workers: int,
        status: int,
    ) -> None:
        if not name or "/" in name:
            raise ConfigurationError(f"a layer name must be non-empty without '/': {name!r}")
        if not 0 <= jitter <= 1:
            raise ConfigurationError("jitter is a fraction of the wait, between 0 and 1")
        if local_workers < 1:
            raise ConfigurationError("local_workers must be at least 1")
        self.name = name
        self.headers: HeaderStyle = check_style(headers)
        self.on_store_error = check_failure_policy(on_store_error)
        self.jitter = jitter
        self.local_workers = local_workers
        self.status = status
        self.blocks = LocalBlocks(local_cache)
        self._fallback = MemoryStore(10_000) if self.on_store_error == "local" else None
        self._pass = Verdict(Action.PASS, name, "not-applicable")
        self._batches: dict[Hashable, Batch[ItemT]] = {}
        self._blocked_headers: dict[tuple[int, str, float], tuple[Any, ...]] = {}

    def batch(self, signature: Hashable, build: Callable[[], Sequence[ItemT]]) -> Batch[ItemT]:
        """The cached `Batch` for `signature`, built by `build` on a miss (bounded, FIFO)."""
        found = self._batches.get(signature)
        if found is not None:
            return found
        made = Batch(self, build())
        batches = self._batches
        if len(batches) >= _BATCHES:
            # another thread may have changed the dict meanwhile: then it made room already
            with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                del batches[next(iter(batches))]
        batches[signature] = made
        return made

    # -- hooks -------------------------------------------------------------------------------
    def _op(self, items: Sequence[ItemT], local: bool) -> Op[tuple[Any, ...]]:
        raise NotImplementedError

    def _key_cost(self, item: ItemT) -> tuple[str, int]:
        raise NotImplementedError

    def _policy(self, item: ItemT) -> tuple[Policy, str, str]:
        """(policy, precomputed policy header item, verdict rule name)."""
        raise NotImplementedError

    def _next(self, item: ItemT, state: Any) -> float | None:
        """Seconds until more units are available (the header's ``t``)."""
        raise NotImplementedError

    # -- the flow ------------------------------------------------------------------------------
    def decide(self, batch: Batch[ItemT]) -> Verdict | Generator[Op[Any], Any, Verdict]:
        """A verdict from the local cache, or the flow that asks the store."""
        if self.blocks:
            for index, (key, cost) in enumerate(batch.keys):
                wait = self.blocks.wait(key, cost)
                if wait > 0:
                    return self._locally_blocked(batch.items, index, wait)
        return self._flow(batch)

    def _flow(self, batch: Batch[ItemT]) -> Generator[Op[Any], Any, Verdict]:
        try:
            states = yield batch.op
        except StoreError:
            if self.on_store_error == "open":
                return Verdict(Action.PASS, self.name, Reason.STORE_FAILED_OPEN, degraded=True)
            if self.on_store_error == "closed":
                return Verdict(
                    Action.DENY,
                    self.name,
                    Reason.STORE_FAILED_CLOSED,
                    status=503,
                    retry_after=1.0,
                    degraded=True,
                )
            assert self._fallback is not None
            assert batch.local_op is not None
            states = self._fallback.run(batch.local_op)
            return self.verdict(batch, states, degraded=True)
        return self.verdict(batch, states)

    def verdict(
        self, batch: Batch[ItemT], states: Sequence[Any], degraded: bool = False
    ) -> Verdict:
        """PASS with headers, or THROTTLE naming the rule that must wait longest."""
        items = batch.items
        if len(states) == 1 and states[0].allowed:  # the common case
            return Verdict(
                Action.PASS,
                self.name,
                WITHIN_LIMIT,
                headers=self._pass_headers(batch, states),
                degraded=degraded,
            )
        refused = [i for i, s in enumerate(states) if not s.allowed]
        if not refused:
            return Verdict(
                Action.PASS,
                self.name,
                WITHIN_LIMIT,
                headers=self._pass_headers(batch, states),
                degraded=degraded,
            )
        worst = max(refused, key=lambda i: states[i].retry_after)
        retry = states[worst].retry_after
        rule = self._policy(items[worst])[2]
        wait: float | None
        if not math.isfinite(retry):
            wait, reason = None, COST_TOO_HIGH  # it can never fit: promise no retry
        else:
            wait, reason = self._jittered(retry), RATE_LIMITED
            for i in refused:
                key, cost = batch.keys[i]
                self.blocks.block(key, states[i].retry_after, cost)
        usages = [
            Usage(
                self._policy(it)[0],
                s.remaining if s.allowed else 0,
                self._next(it, s) if s.allowed else wait,
            )
            for it, s in zip(items, states, strict=True)
        ]
        return Verdict(
            Action.THROTTLE,
            rule,
            reason,
            status=self.status,
            retry_after=wait,
            headers=self._headers(items, usages),
            detail={
                "remaining": states[worst].remaining,
                "retry_after": retry if math.isfinite(retry) else None,
            },
            degraded=degraded,
        )

    def _pass_headers(self, batch: Batch[ItemT], states: Sequence[Any]) -> tuple[Any, ...]:
        style = self.headers
        if style == "none":
            return ()
        if style == "draft-10":  # the common case, without intermediate objects
            if len(states) == 1:
                state = states[0]
                t = self._next(batch.items[0], state)
                value = f"{batch.prefixes[0]}{state.remaining}"
                if t is not None and t > 0:
                    value = f"{value};t={math.ceil(t)}"
                return (("ratelimit-policy", batch.policy_line), ("ratelimit", value))
            parts = []
            for item, prefix, state in zip(batch.items, batch.prefixes, states, strict=True):
                t = self._next(item, state)
                if t is None or t <= 0:
                    parts.append(f"{prefix}{state.remaining}")
                else:
                    parts.append(f"{prefix}{state.remaining};t={math.ceil(t)}")
            return (("ratelimit-policy", batch.policy_line), ("ratelimit", ", ".join(parts)))
        usages = [
            Usage(self._policy(it)[0], s.remaining, self._next(it, s))
            for it, s in zip(batch.items, states, strict=True)
        ]
        return self._headers(batch.items, usages)

    def _locally_blocked(self, items: Sequence[ItemT], index: int, wait: float) -> Verdict:
        policy, header, rule = self._policy(items[index])
        jittered = self._jittered(wait)
        # The headers depend only on the policy and the whole seconds to wait, and a client
        # hammering past its limit gets the same ones again and again: format them once.
        signature = (id(policy), header, jittered)  # the policy lives as long as this layer
        headers = self._blocked_headers.get(signature)
        if headers is None:
            headers = self._headers([items[index]], [Usage(policy, 0, jittered)])
            cache = self._blocked_headers
            if len(cache) >= _BLOCKED_HEADERS:
                # another thread may have changed the dict meanwhile: then it made room already
                with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                    del cache[next(iter(cache))]
            cache[signature] = headers
        return Verdict(
            Action.THROTTLE,
            rule,
            LOCALLY_BLOCKED,
            status=self.status,
            retry_after=jittered,
            headers=headers,
            detail={"retry_after": wait, "local": True},
        )

    def _jittered(self, retry: float) -> float:
        """Whole seconds, never earlier than `retry`, spread by up to `jitter` of it."""
        spread = retry * self.jitter * random.random() if self.jitter else 0.0
        return float(max(1, math.ceil(retry + spread)))

    def _headers(self, items: Sequence[ItemT], usages: Sequence[Usage]) -> tuple[Any, ...]:
        if self.headers == "none":
            return ()
        return format_headers(self.headers, usages, [self._policy(it)[1] for it in items])

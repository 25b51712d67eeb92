"""What the rate-limit layers share: the local over-limit cache, verdicts and headers.

A limiter layer turns a request into "items" (one per applicable rule), asks the store to charge
them all in one op, and answers PASS (with headers) or THROTTLE. Subclasses say how items become
an op and how a state becomes a header's ``t``.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

from ..errors import ConfigurationError
from ..headers import HeaderStyle, LimitPolicy, Usage, check_style, format_headers, sf_string
from ..layer import Ask, FailurePolicy, check_failure_policy
from ..memo import Memo
from ..ops import Op
from ..verdict import Action, Reason, Verdict
from .blocks import LocalBlocks

__all__ = ["Limiter"]


ItemT = TypeVar("ItemT")
_BATCHES = 16384
_BLOCKED_HEADERS = 1024


class Batch(Generic[ItemT]):
    """Everything about one combination of applicable rules and keys, computed once and reused.

    A client's requests repeat the same keys, so the encoded keys, the op, the policy header and
    the header prefixes are built on its first request and cached (bounded) by the layer.
    """

    __slots__ = ("ask", "items", "keys", "op", "policy_line", "prefixes")

    def __init__(self, layer: Limiter[ItemT], items: Sequence[ItemT]) -> None:
        self.items = tuple(items)
        self.keys = tuple(layer._key_cost(it) for it in self.items)
        self.op = layer._op(self.items)
        self.ask = Ask(self.op, functools.partial(layer.verdict, self))
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
        on_store_error: FailurePolicy | None,
        jitter: float,
        local_cache: int,
        status: int,
    ) -> None:
        if not name or "/" in name:
            raise ConfigurationError(f"a layer name must be non-empty without '/': {name!r}")
        if not 0 <= jitter <= 1:
            raise ConfigurationError("jitter is a fraction of the wait, between 0 and 1")
        self.name = name
        #: The layer options, as given (a mounted copy is built with the same).
        self.options: dict[str, Any] = {
            "headers": headers,
            "on_store_error": on_store_error,
            "jitter": jitter,
            "local_cache": local_cache,
            "status": status,
        }
        self.headers: HeaderStyle = check_style(headers)
        self.on_store_error = check_failure_policy(on_store_error)
        self.jitter = jitter
        self.status = status
        self.blocks = LocalBlocks(local_cache)
        self._pass = Verdict(Action.PASS, name, Reason.NOT_APPLICABLE)
        self._batches: Memo[Hashable, Batch[ItemT]] = Memo(_BATCHES)
        self._blocked_headers: Memo[tuple[int, str, float], tuple[Any, ...]] = Memo(
            _BLOCKED_HEADERS
        )

    def batch(self, signature: Hashable, build: Callable[[], Sequence[ItemT]]) -> Batch[ItemT]:
        """The cached `Batch` for `signature`, built by `build` on a miss (bounded, FIFO)."""
        found = self._batches.get(signature)
        if found is None:
            found = self._batches.put(signature, Batch(self, build()))
        return found

    # -- hooks -------------------------------------------------------------------------------
    def _op(self, items: Sequence[ItemT]) -> Op[tuple[Any, ...]]:
        raise NotImplementedError

    def _key_cost(self, item: ItemT) -> tuple[str, int]:
        raise NotImplementedError

    def _policy(self, item: ItemT) -> tuple[LimitPolicy, str, str]:
        """(policy, precomputed policy header item, verdict rule name)."""
        raise NotImplementedError

    def _next(self, item: ItemT, state: Any) -> float | None:
        """Seconds until more units are available (the header's ``t``)."""
        raise NotImplementedError

    # -- the flow ------------------------------------------------------------------------------
    def decide(self, batch: Batch[ItemT]) -> Verdict | Ask:
        """A verdict from the local cache, or the one op that asks the store.

        A store error goes up to the chain, which answers it with this layer's failure policy.
        """
        if self.blocks:
            for index, (key, cost) in enumerate(batch.keys):
                wait = self.blocks.wait(key, cost)
                if wait > 0:
                    return self._locally_blocked(batch.items, index, wait)
        return batch.ask

    def verdict(self, batch: Batch[ItemT], states: Sequence[Any]) -> Verdict:
        """PASS with headers, or THROTTLE naming the rule that must wait longest."""
        items = batch.items
        if len(states) == 1 and states[0].allowed:  # the common case
            return Verdict(
                Action.PASS,
                self.name,
                Reason.WITHIN_LIMIT,
                headers=self._pass_headers(batch, states),
            )
        refused = [i for i, s in enumerate(states) if not s.allowed]
        if not refused:
            return Verdict(
                Action.PASS,
                self.name,
                Reason.WITHIN_LIMIT,
                headers=self._pass_headers(batch, states),
            )
        worst = max(refused, key=lambda i: states[i].retry_after)
        retry = states[worst].retry_after
        rule = self._policy(items[worst])[2]
        wait: float | None
        if not math.isfinite(retry):
            wait, reason = None, Reason.COST_EXCEEDS_LIMIT  # it can never fit: promise no retry
        else:
            wait, reason = self._jittered(retry), Reason.RATE_LIMITED
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
            headers = self._blocked_headers.put(
                signature, self._headers([items[index]], [Usage(policy, 0, jittered)])
            )
        return Verdict(
            Action.THROTTLE,
            rule,
            Reason.RATE_LIMITED_LOCALLY,
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

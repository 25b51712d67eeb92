"""Token buckets (GCRA): `TokenBucket` for one limit, `RateLimit` for several decided together.

**What burst means.** ``TokenBucket("100/minute", burst=20)`` earns one unit back every 0.6 s and
holds at most 20: a client that has been quiet may send 20 requests at once, then one every 0.6 s.
Over any span of ``t`` seconds it is admitted at most ``burst + t / interval`` units (here
``20 + t / 0.6``). Without ``burst`` the bucket holds the whole rate (``"100/minute"`` admits 100
at once, then 1 every 0.6 s: up to 200 in the first minute; GCRA is a bucket, not a window; use a
`Quota` when you need "at most N per calendar window").

**Several buckets, one decision.** ``RateLimit([TokenBucket(...), TokenBucket(...)])`` charges
every applicable bucket with one `Take`: when one refuses, none is charged. Their store keys share a
hash tag (see `shieldware.keys`), so Redis Cluster keeps them in one slot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError
from ..facts import Facts
from ..headers import LimitPolicy, policy_item
from ..keys import Key, KeyInput, KeyPlan, KeySpace, as_key, by_ip, encode_key, mounted
from ..layer import Ask, FailurePolicy, Progress
from ..match import Matcher
from ..ops import US, Bucket, LimitState, Take
from ..rate import Rate
from ..verdict import Verdict
from ._limiter import Limiter

__all__ = ["RateLimit", "TokenBucket"]

Cost = int | Callable[[Facts], int]


class TokenBucket:
    """A GCRA token bucket: a rule for `RateLimit`, and a layer on its own.

    :param rate: ``"100/minute"``, ``"10 per second"``, ``"5/2 hours"`` or a `Rate`.
    :param burst: the most units accepted at once from a full bucket; the rate's amount by default.
    :param key: who shares a bucket (see `shieldware.keys`); `by_ip` by default, None for one
        bucket shared by everyone.
    :param cost: units a request takes: an int, or a callable of `Facts` (0 or less: free).
        A cost above `burst` can never be admitted and is refused without a Retry-After.
    :param match: only requests this matcher accepts are counted.
    :param name: the rule's name (``ratelimit/<name>`` in verdicts, the policy name in headers).
    :param options: layer options (`RateLimit`'s keywords) for when the bucket is used alone;
        ignored inside a `RateLimit`, which has its own.
    """

    def __init__(
        self,
        rate: str | Rate,
        *,
        burst: int | None = None,
        key: KeyInput = by_ip,
        cost: Cost = 1,
        match: Matcher | None = None,
        name: str = "ratelimit",
        **options: Any,
    ) -> None:
        self.rate = Rate.parse(rate)
        self.burst = self.rate.amount if burst is None else int(burst)
        if self.burst < 1:
            raise ConfigurationError(f"burst must be at least 1, not {burst!r}")
        if isinstance(cost, int) and cost > self.burst:
            raise ConfigurationError(f"cost {cost} exceeds burst {self.burst}: never admitted")
        if not (isinstance(cost, int) or callable(cost)):
            raise ConfigurationError(f"cost must be an int or a callable, not {cost!r}")
        self.key: Key = as_key(key)
        self.cost = cost
        self.match = match
        self.name = name
        self.rule = "ratelimit" if name == "ratelimit" else f"ratelimit/{name}"
        self.policy = LimitPolicy(name, self.rate.amount, self.rate.period, self.burst)
        self._layer = RateLimit([self], name=name, **options)
        self.ops = self._layer.ops
        #: Used alone, the bucket is its `RateLimit`'s check (no forwarding call per request).
        self.check = self._layer.check

    def __repr__(self) -> str:
        return (
            f"TokenBucket({str(self.rate)!r}, burst={self.burst}, key={self.key!r}, "
            f"name={self.name!r})"
        )

    @property
    def on_store_error(self) -> FailurePolicy | None:
        """The failure policy of the bucket used as a layer (None: the Shield's)."""
        return self._layer.on_store_error

    def mounted(self) -> TokenBucket:
        """This bucket counted per route (see `shieldware.keys.by_mount`): per-view protections
        use it, so a route's bucket never shares state with an app-wide one of the same name."""
        return TokenBucket(
            self.rate,
            burst=self.burst,
            key=mounted(self.key),
            cost=self.cost,
            match=self.match,
            name=self.name,
            **self._layer.options,
        )

    def key_spaces(self) -> tuple[tuple[KeySpace, object], ...]:
        """What decides the bucket's store keys, and the limit it keeps there."""
        return self._layer.key_spaces()


@dataclass(frozen=True, slots=True)
class _Item:
    rule: TokenBucket
    header: str
    bucket: Bucket


class RateLimit(Limiter[_Item]):
    """Several token buckets decided together: all charged, or none when one refuses.

    :param rules: the `TokenBucket` rules (unique names).
    :param name: the layer's name.
    :param headers: ``"draft-10"`` (default), ``"legacy"``, ``"both"`` or ``"none"``; added to
        passing responses and refusals alike (see `shieldware.headers`).
    :param on_store_error: ``"open"`` lets the request through when the store fails, ``"closed"``
        refuses it with 503; None (default) follows the Shield. To keep limiting per process
        while a shared store is down, wrap the store: ``FallbackStore(redis, workers=4)``.
    :param jitter: a refusal's Retry-After is spread by up to this fraction of the wait (never
        shortened), so refused clients do not come back in one herd.
    :param local_cache: how many over-limit keys each process remembers, to refuse them again
        without a store round trip until their wait is over (0 disables).
    :param status: the refusal's status, 429 by default.
    """

    def __init__(
        self,
        rules: Iterable[TokenBucket],
        *,
        name: str = "ratelimit",
        headers: str = "draft-10",
        on_store_error: FailurePolicy | None = None,
        jitter: float = 0.1,
        local_cache: int = 10_000,
        status: int = 429,
    ) -> None:
        super().__init__(
            name,
            headers=headers,
            on_store_error=on_store_error,
            jitter=jitter,
            local_cache=local_cache,
            status=status,
        )
        self.rules = tuple(rules)
        #: The store ops this layer sends (checked against the store when the Shield is built).
        self.ops = frozenset({Take})
        if not self.rules or not all(isinstance(r, TokenBucket) for r in self.rules):
            raise ConfigurationError("RateLimit needs one or more TokenBucket rules")
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"rule names must be unique in a RateLimit: {names}")
        self._plan = KeyPlan(name, (r.key for r in self.rules))
        only = self.rules[0]
        simple = (
            len(self.rules) == 1
            and only.match is None
            and isinstance(only.cost, int)
            and only.cost > 0
        )
        self._single = only if simple else None
        self._single_cost = only.cost if isinstance(only.cost, int) else 0
        self._compiled = tuple(
            (r, policy_item(r.policy), r.key.labels, r.rate.interval_us) for r in self.rules
        )

    def __repr__(self) -> str:
        return f"RateLimit({list(self.rules)!r}, name={self.name!r})"

    def mounted(self) -> RateLimit:
        """These buckets counted per route (see `TokenBucket.mounted`)."""
        return RateLimit([r.mounted() for r in self.rules], name=self.name, **self.options)

    def key_spaces(self) -> tuple[tuple[KeySpace, object], ...]:
        """Each bucket's key space (kind, layer, rule, key labels) and its limit."""
        return tuple(
            (("gcra", self.name, r.name, r.key.labels), (r.rate.interval_us, r.burst))
            for r in self.rules
        )

    def check(self, facts: Facts, progress: Progress) -> Verdict | Ask:
        if self._single is not None:  # one unconditional rule with a fixed cost: the common case
            found = self._single.key(facts)
            if found is None:
                return self._pass
            values: tuple[str, ...] = found
            single = ((0, values, self._single_cost),)
            return self.decide(self.batch(values, lambda: self._items(facts, single)))
        applied: list[tuple[int, tuple[str, ...], int]] = []
        for index, rule in enumerate(self.rules):
            if rule.match is not None and not rule.match(facts):
                continue
            rule_values = rule.key(facts)
            if rule_values is None:
                continue
            cost = rule.cost if isinstance(rule.cost, int) else int(rule.cost(facts))
            if cost > 0:
                applied.append((index, rule_values, cost))
        if not applied:
            return self._pass
        key = tuple(applied)
        return self.decide(self.batch(key, lambda: self._items(facts, key)))

    def _items(
        self, facts: Facts, applied: tuple[tuple[int, tuple[str, ...], int], ...]
    ) -> list[_Item]:
        tag = self._plan.tag(facts)
        items = []
        for index, values, cost in applied:
            rule, header, labels, interval = self._compiled[index]
            key = encode_key("gcra", self.name, rule.name, labels, values, tag)
            items.append(_Item(rule, header, Bucket(key, interval, rule.burst, cost)))
        return items

    # -- hooks -------------------------------------------------------------------------------
    def _op(self, items: Sequence[_Item]) -> Take:
        return Take(tuple(it.bucket for it in items))

    def _key_cost(self, item: _Item) -> tuple[str, int]:
        return item.bucket.key, item.bucket.cost

    def _policy(self, item: _Item) -> tuple[LimitPolicy, str, str]:
        return item.rule.policy, item.header, item.rule.rule

    def _next(self, item: _Item, state: LimitState) -> float | None:
        """Seconds until one more unit is earned: the debt beyond the whole units left."""
        bucket = item.bucket
        if state.remaining >= bucket.capacity:
            return None
        debt_us = round(state.reset_after * US)
        used_units = bucket.capacity - state.remaining - 1
        return max(0, debt_us - used_units * bucket.interval_us) / US

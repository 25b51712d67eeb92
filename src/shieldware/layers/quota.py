"""Hard quotas: "1000 per day" counted in windows, the way limits' strategies count.

Use a `Quota` where a number per period is a promise (a plan's daily allowance); use a
`TokenBucket` to smooth bursts. The strategies (arithmetic in `shieldware.rate`):

- ``"fixed"``: the window opens at the key's first hit; cheap; up to twice the limit can pass
  across a window's end.
- ``"sliding"`` (default): a sliding-window counter; the previous window's count weighs in
  proportionally to how much of it still overlaps. Close to exact, two numbers per key.
- ``"moving"``: exact, keeps one timestamp per unit (so for small limits only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import ConfigurationError
from ..facts import Facts
from ..headers import LimitPolicy, policy_item
from ..keys import Key, KeyInput, KeyPlan, KeySpace, as_key, by_ip, encode_key, mounted
from ..layer import Ask, FailurePolicy, Progress
from ..match import Matcher
from ..ops import US, Hit, LimitState, Strategy, Window
from ..rate import Rate, parse_rates
from ..verdict import Verdict
from ._limiter import Limiter

__all__ = ["Quota"]

_STRATEGIES = ("fixed", "sliding", "moving")
_MAX_MOVING = 10_000


@dataclass(frozen=True, slots=True)
class _Limit:
    rate: Rate
    name: str
    rule: str
    policy: LimitPolicy
    header: str


@dataclass(frozen=True, slots=True)
class _Item:
    limit: _Limit
    window: Window


class Quota(Limiter[_Item]):
    """At most N units per window per key; several windows (``"100/hour; 1000/day"``) are charged
    together, all or none.

    :param limit: ``"1000/day"``, ``"100/hour; 1000/day"``, a `Rate` or a list of them.
    :param strategy: ``"sliding"`` (default), ``"fixed"`` or ``"moving"``.
    :param key: who shares a quota (see `shieldware.keys`); `by_ip` by default.
    :param cost: units a request takes: an int or a callable of `Facts` (0 or less: free).
    :param match: only requests this matcher accepts are counted.
    :param name: the layer's name (``quota/<name>`` in verdicts, policy names in headers).
    :param options: `RateLimit`'s layer options: ``headers``, ``on_store_error``,
        ``jitter``, ``local_cache``, ``status``.
    """

    def __init__(
        self,
        limit: str | Rate | Sequence[str | Rate],
        *,
        strategy: Strategy = "sliding",
        key: KeyInput = by_ip,
        cost: int | Callable[[Facts], int] = 1,
        match: Matcher | None = None,
        name: str = "quota",
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
        if strategy not in _STRATEGIES:
            raise ConfigurationError(f"strategy must be one of {_STRATEGIES}: {strategy!r}")
        rates = _parse(limit)
        if strategy == "moving" and any(r.amount > _MAX_MOVING for r in rates):
            raise ConfigurationError(f"a moving window keeps one number per unit: <= {_MAX_MOVING}")
        if isinstance(cost, int) and any(cost > r.amount for r in rates):
            raise ConfigurationError(f"cost {cost} exceeds a quota: never admitted")
        self.strategy: Strategy = strategy
        #: The store ops this layer sends (checked against the store when the Shield is built).
        self.ops = frozenset({Hit})
        self.key: Key = as_key(key)
        self.cost = cost
        self.match = match
        self.limits = tuple(self._limit(r, len(rates)) for r in rates)
        self._plan = KeyPlan(name, [self.key])
        self._labels = self.key.labels

    def _limit(self, rate: Rate, count: int) -> _Limit:
        name = self.name if count == 1 else f"{self.name}-{rate.amount}-per-{rate.period:g}s"
        policy = LimitPolicy(name, rate.amount, rate.period)
        rule = f"quota/{self.name}" if count == 1 else f"quota/{name}"
        return _Limit(rate, name, rule, policy, policy_item(policy))

    def __repr__(self) -> str:
        rates = "; ".join(str(lim.rate) for lim in self.limits)
        return f"Quota({rates!r}, strategy={self.strategy!r}, key={self.key!r}, name={self.name!r})"

    def mounted(self) -> Quota:
        """This quota counted per route (see `shieldware.keys.by_mount`)."""
        return Quota(
            [lim.rate for lim in self.limits],
            strategy=self.strategy,
            key=mounted(self.key),
            cost=self.cost,
            match=self.match,
            name=self.name,
            **self.options,
        )

    def key_spaces(self) -> tuple[tuple[KeySpace, object], ...]:
        """Each window's key space (kind, layer, rule, key labels) and its limit."""
        return tuple(
            (
                ("win", self.name, f"{lim.name}/{self.strategy}", self._labels),
                (lim.rate.amount, lim.rate.period),
            )
            for lim in self.limits
        )

    def check(self, facts: Facts, progress: Progress) -> Verdict | Ask:
        if self.match is not None and not self.match(facts):
            return self._pass
        values = self.key(facts)
        if values is None:
            return self._pass
        cost = self.cost if isinstance(self.cost, int) else int(self.cost(facts))
        if cost <= 0:
            return self._pass
        return self.decide(self.batch((values, cost), lambda: self._items(facts, values, cost)))

    def _items(self, facts: Facts, values: tuple[str, ...], cost: int) -> list[_Item]:
        tag = self._plan.tag(facts)
        return [
            _Item(
                lim,
                Window(
                    encode_key(
                        "win", self.name, f"{lim.name}/{self.strategy}", self._labels, values, tag
                    ),
                    lim.rate.amount,
                    round(lim.rate.period * US),
                    self.strategy,
                    cost,
                ),
            )
            for lim in self.limits
        ]

    # -- hooks -------------------------------------------------------------------------------
    def _op(self, items: Sequence[_Item]) -> Hit:
        return Hit(tuple(it.window for it in items))

    def _key_cost(self, item: _Item) -> tuple[str, int]:
        return item.window.key, item.window.cost

    def _policy(self, item: _Item) -> tuple[LimitPolicy, str, str]:
        return item.limit.policy, item.limit.header, item.limit.rule

    def _next(self, item: _Item, state: LimitState) -> float | None:
        return state.reset_after or None


def _parse(limit: str | Rate | Sequence[str | Rate]) -> list[Rate]:
    if isinstance(limit, Rate):
        return [limit]
    if isinstance(limit, str):
        return parse_rates(limit)
    rates = [r for part in limit for r in _parse(part)]
    if not rates:
        raise ConfigurationError("a Quota needs at least one limit")
    return rates

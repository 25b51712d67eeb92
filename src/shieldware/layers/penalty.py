"""The penalty box: clients that keep hitting their limits are banned for a while.

``PenaltyBox(TokenBucket("10/second"), strikes=3, ban=60)`` wraps another layer (a `TokenBucket`,
`RateLimit`, `Quota`, ...). Every refusal by it is an offence, counted in the store under the
client's key. At `strikes` offences the client is banned for `ban` seconds; each further offence
while the count lives multiplies the ban by `growth` (capped at `max_ban`). The count decays: it
vanishes `decay` seconds after the latest offence (or ban), so good behaviour restores the base
ban. While banned, requests are refused without running the wrapped layer, and refused again
locally (no store op) until the ban ends.

Escalation: with ``on_limit="challenge"`` and a `challenger` (the proof-of-work layer), an
over-limit request that is not yet banned is handed to the challenger, and gets its challenge
instead of a 429. **Without a challenger the box throttles** (429), since nothing else could render
a challenge for that request; a warning says so at construction. Bans are always throttled.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator
from typing import Any

from ..errors import ConfigurationError, StoreError
from ..facts import Facts
from ..keys import Key, KeyInput, KeyPlan, as_key, by_ip, encode_key
from ..layer import Ask, Challenger, Flow, Layer, Progress, as_flow
from ..ops import Add, Get, Incr, Op
from ..verdict import Action, Reason, Verdict
from .blocks import LocalBlocks

__all__ = ["PenaltyBox"]

log = logging.getLogger("shieldware")


class PenaltyBox:
    """Ban a client that keeps getting refused by `layer`, longer for repeat offenders.

    :param layer: the wrapped limiter; its THROTTLE verdicts are the offences.
    :param key: who is banned (see `shieldware.keys`); `by_ip` by default.
    :param strikes: offences (while the count lives) that trigger a ban.
    :param ban: the first ban, in seconds.
    :param growth: each further offence multiplies the ban by this.
    :param max_ban: the longest ban, in seconds.
    :param decay: seconds after the latest offence or ban at which the count is forgotten.
    :param on_limit: ``"throttle"`` (default) or ``"challenge"`` (needs `challenger`).
    :param challenger: who challenges an over-limit client when ``on_limit="challenge"``.
    :param local_cache: how many bans each process remembers to refuse without a store op.
    :param name: the layer's name (``<name>/banned`` in verdicts).
    """

    def __init__(
        self,
        layer: Layer,
        *,
        key: KeyInput = by_ip,
        strikes: int = 5,
        ban: float = 60.0,
        growth: float = 2.0,
        max_ban: float = 86_400.0,
        decay: float = 3_600.0,
        on_limit: str = "throttle",
        challenger: Challenger | None = None,
        local_cache: int = 10_000,
        name: str = "penalty",
    ) -> None:
        if strikes < 1 or ban <= 0 or growth < 1 or max_ban < ban or decay <= 0:
            raise ConfigurationError(
                "PenaltyBox needs strikes >= 1, ban > 0, growth >= 1, max_ban >= ban, decay > 0"
            )
        if on_limit not in ("throttle", "challenge"):
            raise ConfigurationError(f"on_limit must be 'throttle' or 'challenge': {on_limit!r}")
        if on_limit == "challenge" and challenger is None:
            log.warning(
                "shieldware: PenaltyBox(on_limit='challenge') has no challenger: throttling"
            )
        self.layer = layer
        #: The store ops this layer and the one it wraps send.
        self.ops = frozenset({Add, Get, Incr}) | frozenset(getattr(layer, "ops", ()))
        self.key: Key = as_key(key)
        self.strikes = strikes
        self.ban = ban
        self.growth = growth
        self.max_ban = max_ban
        self.decay = decay
        self.challenger = challenger if on_limit == "challenge" else None
        self.name = name
        self.rule = f"{name}/banned"
        self.blocks = LocalBlocks(local_cache)
        self._plan = KeyPlan(name, [self.key])

    def __repr__(self) -> str:
        return f"PenaltyBox({self.layer!r}, strikes={self.strikes}, ban={self.ban:g})"

    def ban_for(self, offences: int) -> float:
        """The ban, in seconds, that the `offences`-th offence earns (0 below `strikes`)."""
        if offences < self.strikes:
            return 0.0
        steps = offences - self.strikes
        if self.growth > 1:  # cap the exponent: the product reaches max_ban long before overflow
            steps = min(steps, math.ceil(math.log(self.max_ban / self.ban, self.growth)) + 1)
        return float(min(self.max_ban, self.ban * self.growth**steps))

    def check(self, facts: Facts, progress: Progress) -> Verdict | Flow | Ask:
        values = self.key(facts)
        if values is None:
            return self.layer.check(facts, progress)
        tag = self._plan.tag(facts)
        labels = self.key.labels
        ban_key = encode_key("ban", self.name, self.name, labels, values, tag)
        wait = self.blocks.wait(ban_key, 0)
        if wait > 0:
            return self._banned(wait, local=True)
        count_key = encode_key("pen", self.name, self.name, labels, values, tag)
        return self._flow(facts, progress, ban_key, count_key)

    def _flow(
        self, facts: Facts, progress: Progress, ban_key: str, count_key: str
    ) -> Generator[Op[Any], Any, Verdict]:
        try:
            held = yield Get(ban_key)
        except StoreError:
            held = None  # cannot tell: let the wrapped layer (and its failure policy) decide
        if held is not None:
            self.blocks.block(ban_key, held.ttl, 0)
            return self._banned(held.ttl)
        verdict = yield from as_flow(self.layer.check(facts, progress))
        if verdict.action is not Action.THROTTLE:
            return verdict
        try:
            offences = yield Incr(count_key, self.decay)
            seconds = self.ban_for(offences)
            if seconds:
                yield Add(ban_key, seconds)
                yield Incr(count_key, seconds + self.decay, 0)  # outlive the ban, then decay
        except StoreError:
            return verdict
        if seconds:
            self.blocks.block(ban_key, seconds, 0)
            return self._banned(seconds, offences=offences)
        if self.challenger is not None:
            challenge = yield from as_flow(self.challenger.challenge(facts, progress))
            if challenge.action.blocks or challenge.reply is not None:
                return challenge
        return verdict

    def _banned(self, seconds: float, *, offences: int = 0, local: bool = False) -> Verdict:
        detail: dict[str, Any] = {"ban": seconds, "local": local}
        if offences:
            detail["offences"] = offences
        return Verdict(
            Action.THROTTLE,
            self.rule,
            Reason.PENALTY_BOX,
            status=429,
            retry_after=float(max(1, math.ceil(seconds))),
            detail=detail,
        )

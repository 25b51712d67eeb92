"""At most N requests in flight per key: for streaming or expensive endpoints.

A request takes a lease when it is checked and gives it back when its response ends or the client
disconnects (the middleware runs the verdict's ``after`` ops then, blocked or not). A worker that
dies holding leases cannot lock a client out: every lease expires after ``lease_ttl`` seconds, so
set it above your longest legitimate response.
"""

from __future__ import annotations

import secrets
from collections.abc import Generator
from typing import Any

from ..errors import ConfigurationError
from ..facts import Facts
from ..headers import HeaderStyle, LimitPolicy, Usage, check_style, format_headers, policy_item
from ..keys import Key, KeyInput, KeyPlan, KeySpace, as_key, by_ip, encode_key, mounted
from ..layer import FailurePolicy, Progress, check_failure_policy
from ..match import Matcher
from ..ops import Acquire, Op, Release
from ..verdict import Action, Reason, Verdict

__all__ = ["Concurrency"]


class Concurrency:
    """Refuse a request while its key already has `limit` requests in flight.

    :param limit: the most requests in flight per key.
    :param key: who shares the limit (see `shieldware.keys`); `by_ip` by default.
    :param match: only requests this matcher accepts take a lease.
    :param lease_ttl: seconds after which a lease expires unreleased (a dead worker's).
    :param retry_after: the Retry-After of a refusal, in seconds.
    :param on_store_error: ``"open"`` or ``"closed"`` (503) when the store fails; None (default)
        follows the Shield.
    :param headers: ``"draft-10"`` adds ``RateLimit`` fields with ``qu="concurrent-requests"``.
    :param name: the layer's name (``concurrency/<name>`` in verdicts).
    :param status: the refusal's status, 429 by default.
    """

    def __init__(
        self,
        limit: int,
        *,
        key: KeyInput = by_ip,
        match: Matcher | None = None,
        lease_ttl: float = 300.0,
        retry_after: float = 1.0,
        on_store_error: FailurePolicy | None = None,
        headers: str = "draft-10",
        name: str = "concurrency",
        status: int = 429,
    ) -> None:
        if limit < 1 or lease_ttl <= 0:
            raise ConfigurationError("limit must be at least 1 and lease_ttl positive")
        self.limit = limit
        #: The store ops this layer sends (checked against the store when the Shield is built).
        self.ops = frozenset({Acquire, Release})
        self.key: Key = as_key(key)
        self.match = match
        self.lease_ttl = lease_ttl
        self.retry_after = retry_after
        self.on_store_error = check_failure_policy(on_store_error)
        self.headers: HeaderStyle = check_style(headers)
        self.name = name
        self.status = status
        self.rule = "concurrency" if name == "concurrency" else f"concurrency/{name}"
        self.policy = LimitPolicy(name, limit, None, unit="concurrent-requests")
        self._policy_item = policy_item(self.policy)
        self._plan = KeyPlan(name, [self.key])
        self._pass = Verdict(Action.PASS, name, Reason.NOT_APPLICABLE)

    def __repr__(self) -> str:
        return f"Concurrency({self.limit}, key={self.key!r}, name={self.name!r})"

    def mounted(self) -> Concurrency:
        """This limit counted per route (see `shieldware.keys.by_mount`)."""
        return Concurrency(
            self.limit,
            key=mounted(self.key),
            match=self.match,
            lease_ttl=self.lease_ttl,
            retry_after=self.retry_after,
            on_store_error=self.on_store_error,
            headers=self.headers,
            name=self.name,
            status=self.status,
        )

    def key_spaces(self) -> tuple[tuple[KeySpace, object], ...]:
        """The leases' key space (kind, layer, rule, key labels) and the limit kept there."""
        return ((("cc", self.name, self.name, self.key.labels), (self.limit,)),)

    def check(self, facts: Facts, progress: Progress) -> Verdict | Generator[Op[Any], Any, Verdict]:
        if self.match is not None and not self.match(facts):
            return self._pass
        values = self.key(facts)
        if values is None:
            return self._pass
        key = encode_key("cc", self.name, self.name, self.key.labels, values, self._plan.tag(facts))
        return self._flow(key, secrets.token_hex(8))

    def _flow(self, key: str, lease: str) -> Generator[Op[Any], Any, Verdict]:
        # A store error goes up to the chain, which answers it with this layer's failure policy.
        state = yield Acquire(key, lease, self.limit, self.lease_ttl)
        remaining = max(0, self.limit - state.in_flight)
        headers = format_headers(
            self.headers, [Usage(self.policy, remaining, None)], [self._policy_item]
        )
        if state.acquired:
            return Verdict(
                Action.PASS,
                self.name,
                Reason.LEASE_TAKEN,
                headers=headers,
                after=(Release(key, lease),),
                detail={"in_flight": state.in_flight},
            )
        return Verdict(
            Action.THROTTLE,
            self.rule,
            Reason.TOO_MANY_IN_FLIGHT,
            status=self.status,
            retry_after=self.retry_after,
            headers=headers,
            detail={"in_flight": state.in_flight},
        )

"""Pool exhaustion leaks nothing (issue 12 #1): no lease held past its request, no request passed.

A store that says "busy" (`StoreOverloaded`) for some ops, in memory, and a real Redis pool of one
connection held busy with ``CLIENT PAUSE``:

- `Concurrency`: a busy Acquire is shed (503) and holds nothing; a busy Release is retried
  (bounded) until the lease is given back, so a client is not locked out for ``lease_ttl``.
- `ProofOfWork`: a busy store never lets a covered request through, whatever the policy; a
  solved challenge whose redemption was shed is still good once the store has room.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
import redis

from shieldware import Action, Facts, Reason, Shield
from shieldware.client import parse_challenge, solve_answer
from shieldware.errors import StoreOverloaded
from shieldware.layers import Concurrency, ProofOfWork
from shieldware.layers.challenge import ANSWER_HEADER
from shieldware.ops import Acquire, Add, Op, Release, Take
from shieldware.policy import AFTER_WAITS
from shieldware.stores import MemoryStore, RedisStore
from tests.conftest import SECRET

CLIENT = ipaddress.ip_address("198.51.100.30")


class Busy(MemoryStore):
    """A memory store that answers `busy` ops with `StoreOverloaded` while `times` lasts."""

    def __init__(self, busy: Callable[[Op[Any]], bool], times: int = 10**9) -> None:
        super().__init__()
        self.busy = busy
        self.times = times
        self.shed = 0

    def run(self, op: Op[Any]) -> Any:
        if self.times > 0 and self.busy(op):
            self.times -= 1
            self.shed += 1
            raise StoreOverloaded("no free connection")
        return super().run(op)

    async def arun(self, op: Op[Any]) -> Any:
        return self.run(op)


def facts(**headers: str) -> Facts:
    pairs = [(k.replace("_", "-"), v) for k, v in headers.items()]
    return Facts("GET", "/login", pairs, client_ip=CLIENT)


def in_flight(store: MemoryStore, layer: Concurrency) -> int:
    """How many leases the client holds now (a probe that takes and gives back one)."""
    decision = Shield([layer], store=store).decide(facts())
    Shield([layer], store=store).finish(decision)
    return int(decision.trail[-1].detail["in_flight"]) - (decision.action is Action.ALLOW)


@pytest.mark.parametrize("policy", ["open", "closed"])
def test_a_busy_acquire_is_shed_and_holds_nothing(policy: str) -> None:
    store = Busy(lambda op: isinstance(op, Acquire), times=5)
    layer = Concurrency(1)
    shield = Shield([layer], store=store, on_store_error=policy)  # type: ignore[arg-type]
    for _ in range(5):
        decision = shield.decide(facts())
        assert decision.action is Action.DENY
        assert decision.verdict.status == 503
        assert decision.verdict.reason == Reason.STORE_OVERLOADED
        assert decision.after == ()
    assert in_flight(store, layer) == 0


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_busy_release_is_retried_until_the_lease_is_given_back(driver: str) -> None:
    store = Busy(lambda op: isinstance(op, Release), times=3)
    layer = Concurrency(1)
    shield = Shield([layer], store=store)
    decision = shield.decide(facts())
    assert decision.action is Action.ALLOW
    if driver == "sync":
        shield.finish(decision)
    else:
        asyncio.run(shield.afinish(decision))
    assert store.shed == 3  # it really was busy, three times
    assert shield.decide(facts()).action is Action.ALLOW  # not locked out for lease_ttl


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_the_retry_budget_is_one_per_decision_not_one_per_op(driver: str) -> None:
    # Two leases behind a store that stays busy: the waits are shared, so the request's thread
    # is held about a second in all (not a second per lease), and nothing raises.
    store = Busy(lambda op: isinstance(op, Release))
    shield = Shield([Concurrency(1, name="a"), Concurrency(1, name="b")], store=store)
    decision = shield.decide(facts())
    assert len(decision.after) == 2
    if driver == "sync":
        shield.finish(decision)
    else:
        asyncio.run(shield.afinish(decision))
    # one try per op, plus one retry per wait of the shared schedule
    assert store.shed == len(AFTER_WAITS) + 2


def pow_layer() -> ProofOfWork:
    return ProofOfWork(SECRET, match=None, count=2, bits=4, max_bits=6)


@pytest.mark.parametrize("policy", ["open", "closed"])
def test_a_busy_store_never_lets_a_covered_request_through(policy: str) -> None:
    for busy in (Take, Add):
        store = Busy(lambda op, kind=busy: isinstance(op, kind))  # type: ignore[misc]
        shield = Shield([pow_layer()], store=store, on_store_error=policy)  # type: ignore[arg-type]
        # no clearance (issues a challenge: Take) and a solved answer (Take, then Add)
        answer = _answer(Shield([pow_layer()]).decide(facts(accept="application/json")))
        for request in (facts(accept="application/json"), facts(**{ANSWER_HEADER: answer})):
            decision = shield.decide(request)
            assert decision.action in (Action.DENY, Action.CHALLENGE), (busy, decision)
            if decision.action is Action.DENY:  # the op it needed was busy: shed
                assert decision.verdict.status == 503
                assert decision.verdict.reason == Reason.STORE_OVERLOADED


def _answer(decision: Any) -> str:
    """The solved answer to the challenge `decision` carries."""
    challenge = parse_challenge(dict(decision.verdict.reply.headers))
    assert challenge is not None
    return solve_answer(challenge)


def test_a_shed_redemption_leaves_the_solved_challenge_good() -> None:
    store = Busy(lambda op: isinstance(op, Add), times=1)
    layer = pow_layer()
    shield = Shield([layer], store=store)
    answer = _answer(shield.decide(facts(accept="application/json")))
    shed = shield.decide(facts(**{ANSWER_HEADER: answer}))
    assert shed.verdict.status == 503
    assert shed.verdict.reason == Reason.STORE_OVERLOADED
    again = shield.decide(facts(**{ANSWER_HEADER: answer}))
    assert again.action is Action.ALLOW
    assert again.trail[-1].reason == "solved"


@pytest.mark.redis
def test_a_release_behind_an_exhausted_real_pool_is_not_lost(redis_server: Any) -> None:
    """One pooled connection, held busy by a paused server while the lease is given back."""
    store = RedisStore(redis_server.url, timeout=5.0, max_connections=1, pool_timeout=0.05)
    layer = Concurrency(1, name="cc" + str(redis_server.port))
    shield = Shield([layer], store=store)

    async def scenario() -> tuple[Action, Action]:
        decision = await shield.adecide(facts())
        assert decision.action is Action.ALLOW
        with redis.Redis.from_url(redis_server.url) as admin:
            admin.execute_command("CLIENT", "PAUSE", 400, "ALL")
        holder = asyncio.ensure_future(store.arun(Add("{x}:holder", 60)))  # takes the connection
        await asyncio.sleep(0.05)
        await shield.afinish(decision)  # waits for the connection past its pool wait
        await holder
        after = await shield.adecide(facts())
        await shield.afinish(after)
        await store.aclose()
        return decision.action, after.action

    try:
        assert asyncio.run(scenario()) == (Action.ALLOW, Action.ALLOW)
    finally:
        store.close()

"""The circuit breaker's states, on a clock the test moves."""

from __future__ import annotations

import pytest

from shieldware import ConfigurationError
from shieldware.stores import CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(failures=3, cooldown=2.0, clock=clock)


def test_opens_after_consecutive_failures_only(breaker: CircuitBreaker, clock: Clock) -> None:
    breaker.failure()
    breaker.failure()
    breaker.success()  # the count is of *consecutive* failures
    clock.now += 1
    breaker.failure()
    breaker.failure()
    assert breaker.state == "closed"
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    with pytest.raises(CircuitOpen):
        breaker.check()
    assert breaker.opened == 1


def test_half_open_lets_exactly_one_probe_through(breaker: CircuitBreaker, clock: Clock) -> None:
    for _ in range(3):
        breaker.failure()
    clock.now += 2.0
    assert breaker.state == "half-open"
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # everyone else waits for its answer
    breaker.success()
    assert breaker.state == "closed"
    assert all(breaker.allow() for _ in range(5))


def test_a_failed_probe_opens_for_another_cooldown(breaker: CircuitBreaker, clock: Clock) -> None:
    for _ in range(3):
        breaker.failure()
    clock.now += 2.0
    assert breaker.allow()
    breaker.failure()  # one failure is enough while probing
    assert breaker.state == "open"
    assert breaker.opened == 2
    clock.now += 1.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.allow()


def test_a_probe_that_never_reports_does_not_wedge_the_breaker(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    for _ in range(3):
        breaker.failure()
    clock.now += 2.0
    assert breaker.allow()  # the probe's task is cancelled and never reports
    clock.now += 1.0
    assert not breaker.allow()
    clock.now += 1.5
    assert breaker.allow()  # another probe


def test_failures_soon_after_a_success_do_not_open_it(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    """A burst on a busy event loop: timeouts cluster between steady successes."""
    breaker.success()
    for _ in range(10):
        clock.now += 0.01
        breaker.failure()
    assert breaker.state == "closed"
    clock.now += 0.25  # then nothing succeeds for a while: the server is gone
    breaker.failure()
    assert breaker.state == "open"


@pytest.mark.parametrize(("failures", "cooldown"), [(0, 1.0), (3, 0.0), (3, -1.0)])
def test_bad_settings_fail_at_construction(failures: int, cooldown: float) -> None:
    with pytest.raises(ConfigurationError):
        CircuitBreaker(failures, cooldown)

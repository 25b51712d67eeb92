"""QuietLog: a flood of one warning writes one line a second, saying how many it held back."""

from __future__ import annotations

import logging

import pytest

from shieldware import Shield
from shieldware.errors import StoreOverloaded
from shieldware.facts import Facts
from shieldware.quietlog import QuietLog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_repeats_are_held_back_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    quiet = QuietLog(logging.getLogger("sw-test"), interval=1.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="sw-test"):
        for _ in range(500):
            quiet.warning("login", "store overloaded in %s", "login")
        quiet.warning("signup", "store overloaded in %s", "signup")  # another rule: its own line
        clock.now = 1.5
        quiet.warning("login", "store overloaded in %s", "login")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "store overloaded in login",
        "store overloaded in signup",
        "store overloaded in login (and 499 more like it in the last 2 s)",
    ]


def test_a_disabled_level_formats_nothing_and_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Unformattable:
        def __str__(self) -> str:
            raise AssertionError("formatted although the level is off")

    quiet = QuietLog(logging.getLogger("sw-test-off"))
    logging.getLogger("sw-test-off").setLevel(logging.ERROR)
    with caplog.at_level(logging.ERROR, logger="sw-test-off"):
        quiet.warning("k", "nothing %s", Unformattable())
    assert caplog.records == []


def test_a_shed_flood_writes_one_line_not_one_per_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Busy:
        name = "busy"
        ops = ()

        def check(self, facts: Facts, progress: object) -> object:
            raise StoreOverloaded("no connection available")

    shield = Shield([Busy()])
    with caplog.at_level(logging.WARNING, logger="shieldware"):
        for _ in range(1000):
            assert shield.decide(Facts("GET", "/")).verdict.status == 503
    shed = [r for r in caplog.records if "overloaded" in r.getMessage()]
    assert 1 <= len(shed) <= 3  # one a second at most (a slow machine may cross a second)

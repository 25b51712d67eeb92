"""Small layers the integration tests use: a quota, a challenge, a finish marker.

Kept tiny and local so the adapters are tested against the core contract alone, whatever the
production layers look like.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from shieldware import Action, Facts, IPList, MemoryStore, Shield, Verdict
from shieldware.layer import Flow, Progress
from shieldware.ops import Add, Bucket, Op, Take

R = TypeVar("R")

#: Addresses the test shields deny.
DENIED_NET = "203.0.113.0/24"


def client_key(facts: Facts) -> str:
    """Tests send ``x-client`` to get a bucket of their own; else the principal, else the IP."""
    return facts.header("x-client") or facts.principal or str(facts.client_ip)


class Quota:
    """`limit` requests per `period` seconds per key: THROTTLE beyond, with a remaining header."""

    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        *,
        name: str = "quota",
        key: Callable[[Facts], str] = client_key,
    ) -> None:
        self.name = name
        self.limit = limit
        self.interval_us = int(period * 1_000_000 / limit)
        self.key = key

    def check(self, facts: Facts, progress: Progress) -> Flow:
        key = f"{self.name}:{facts.route or '-'}:{self.key(facts)}"
        bucket = Bucket(key, interval_us=self.interval_us, capacity=self.limit)
        (state,) = yield Take((bucket,))
        headers = (("x-quota-remaining", str(state.remaining)),)
        if state.allowed:
            return Verdict(Action.PASS, self.name, "under-quota", headers=headers)
        return Verdict(
            Action.THROTTLE,
            f"{self.name}/over",
            "over-quota",
            retry_after=state.retry_after,
            headers=headers,
        )


class Challenge:
    """Challenges requests that carry ``x-bot: 1`` (stands in for proof of work)."""

    name = "challenge"

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        if facts.header("x-bot") == "1":
            return Verdict(Action.CHALLENGE, "challenge/bot", "looks-automated")
        return Verdict(Action.PASS, self.name, "human")


class Seen:
    """Echoes what it saw (principal, route, event loop) in headers, and a finish marker op."""

    name = "seen"

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        marker = facts.header("x-finish-marker")
        return Verdict(
            Action.PASS,
            self.name,
            "seen",
            headers=(
                ("x-seen-principal", facts.principal or "-"),
                ("x-seen-route", facts.route or "-"),
                ("x-seen-loop", "1" if _in_event_loop() else "0"),
            ),
            after=(Add(f"finished:{marker}", 60.0),) if marker else (),
        )


class RecordingStore(MemoryStore):
    """A memory store that remembers the keys of the `Add` ops it ran."""

    def __init__(self) -> None:
        super().__init__()
        self.added: set[str] = set()

    def run(self, op: Op[R]) -> R:
        if isinstance(op, Add):
            self.added.add(op.key)
        return super().run(op)


def _in_event_loop() -> bool:
    """True when the decision runs on the event loop's thread (no thread hop under ASGI)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def make_shield(limit: int = 3, **options: Any) -> Shield:
    """The app-wide shield of the test apps: deny list, challenge, seen, quota."""
    options.setdefault("store", RecordingStore())
    return Shield([IPList(deny=[DENIED_NET]), Challenge(), Seen(), Quota(limit)], **options)


def finished(shield: Shield, marker: str, timeout: float = 5.0) -> bool:
    """True once the after-response op of the request tagged `marker` has run."""
    store = shield.store
    assert isinstance(store, RecordingStore)
    deadline = time.monotonic() + timeout
    while f"finished:{marker}" not in store.added:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True

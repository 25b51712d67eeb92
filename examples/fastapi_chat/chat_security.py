"""The chat example's protection, all in one place.

- app-wide (every request, 404 scans included): a deny list, then a per-IP limit;
- ``POST /register``: a per-IP sign-up limit;
- ``POST /v1/chat/completions``: a per-API-key limit.

``SHIELDWARE_MODE=shadow`` decides and reports without blocking: see ``GET /shield``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal, cast

from starlette.requests import HTTPConnection

from chat_accounts import Accounts
from shieldware import Action, Bucket, Facts, IPList, Progress, Rate, Shield, Take, Verdict
from shieldware.contrib.fastapi import Protect
from shieldware.policy import Flow

MODE = cast(Literal["enforce", "shadow"], os.environ.get("SHIELDWARE_MODE", "enforce"))
#: Documentation networks stand in for the addresses you would deny.
DENY = os.environ.get("CHAT_DENY", "203.0.113.0/24").split(",")

accounts = Accounts()


class Limit:
    """A GCRA token bucket keyed by a function of the facts (the core's `Take` op)."""

    def __init__(self, rate: str, *, name: str, key: Callable[[Facts], str | None]) -> None:
        self.name = name
        self.rate = Rate.parse(rate)
        self.key = key

    def check(self, facts: Facts, progress: Progress) -> Verdict | Flow:
        who = self.key(facts)
        if who is None:
            return Verdict(Action.PASS, self.name, "no-key")
        bucket = Bucket(f"{self.name}:{who}", self.rate.interval_us, self.rate.amount)
        (state,) = yield Take((bucket,))
        headers = (("x-ratelimit-remaining", str(state.remaining)),)
        if state.allowed:
            return Verdict(Action.PASS, self.name, "within-limit", headers=headers)
        return Verdict(
            Action.THROTTLE,
            f"ratelimit/{self.name}",
            "over-limit",
            retry_after=state.retry_after,
            headers=headers,
        )


def api_key_principal(connection: HTTPConnection) -> str | None:
    """The user behind the request's API key: limits are per account, not per key string."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return accounts.user_of(token.strip()) if scheme.lower() == "bearer" else None


def by_ip(facts: Facts) -> str:
    return str(facts.client_ip)


def by_principal(facts: Facts) -> str | None:
    return facts.principal


app_shield = Shield(
    [IPList(deny=DENY), Limit(os.environ.get("CHAT_IP_RATE", "120/minute"), name="ip", key=by_ip)],
    mode=MODE,
)

register_guard = Protect(
    Limit(os.environ.get("CHAT_REGISTER_RATE", "5/hour"), name="register", key=by_ip)
)

completions_guard = Protect(
    [Limit(os.environ.get("CHAT_KEY_RATE", "20/minute"), name="api-key", key=by_principal)],
    principal=api_key_principal,
)

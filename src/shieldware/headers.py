"""Rate-limit response headers, behind a versioned formatter.

``"draft-10"`` (the default) writes the IETF fields of draft-ietf-httpapi-ratelimit-headers-10,
Structured Field Lists (RFC 9651)::

    RateLimit-Policy: "api";q=100;w=60;sw-burst=20
    RateLimit: "api";r=19;t=1

- ``q``/``w``: the configured quota, ``q`` units per ``w`` seconds (``"100/minute"``: 100 per 60).
- ``sw-burst`` (vendor parameter): a token bucket's burst, the most units accepted at once.
- ``qu``: ``"concurrent-requests"`` for concurrency limits (the draft's default unit is requests).
- ``r``: units available right now. ``t``: whole seconds until more become available (rounded up;
  on a refusal the same jittered value as ``Retry-After``, so ``Retry-After`` is never earlier
  than ``t``); absent when nothing is used up.

``"legacy"`` writes ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (seconds) for the most
constrained policy, as slowapi and flask-limiter do; ``"both"`` writes both; ``"none"`` nothing.
A later draft gets its own style name, so upgrading is a one-word change.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .errors import ConfigurationError

__all__ = ["HeaderStyle", "LimitPolicy", "Usage", "format_headers", "policy_item", "sf_string"]

HeaderStyle = Literal["draft-10", "legacy", "both", "none"]
STYLES: tuple[str, ...] = ("draft-10", "legacy", "both", "none")

Header = tuple[str, str]


@functools.lru_cache(maxsize=1024)
def sf_string(text: str) -> str:
    """`text` as an RFC 9651 String: printable ASCII, quotes and backslashes escaped."""
    cleaned = "".join(c if " " <= c <= "~" else "?" for c in text)
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """A limit as headers describe it.

    :param name: the policy name (a rule name).
    :param quota: units per `window`.
    :param window: seconds (a positive integer in the header; rounded up); None: no window.
    :param burst: a token bucket's burst, or None.
    :param unit: None for requests, or ``"concurrent-requests"``, ``"content-bytes"``.
    """

    name: str
    quota: int
    window: float | None
    burst: int | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """A policy's state for one response: `remaining` units, more after `reset` seconds."""

    policy: LimitPolicy
    remaining: int
    reset: float | None


def policy_item(policy: LimitPolicy) -> str:
    """One ``RateLimit-Policy`` list member (precomputed by layers at construction)."""
    item = f"{sf_string(policy.name)};q={max(0, policy.quota)}"
    if policy.unit:
        item += f";qu={sf_string(policy.unit)}"
    if policy.window is not None:
        item += f";w={max(1, math.ceil(policy.window))}"
    if policy.burst is not None:
        item += f";sw-burst={policy.burst}"
    return item


def _seconds(value: float | None) -> int | None:
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return math.ceil(value)


def _usage_item(usage: Usage) -> str:
    item = f"{sf_string(usage.policy.name)};r={max(0, usage.remaining)}"
    t = _seconds(usage.reset)
    return item if t is None else f"{item};t={t}"


def format_headers(
    style: HeaderStyle, usages: Sequence[Usage], policy_items: Sequence[str] | None = None
) -> tuple[Header, ...]:
    """The headers for `usages` in `style`; `policy_items` may be precomputed `policy_item`s."""
    if style == "none" or not usages:
        return ()
    out: list[Header] = []
    if style in ("draft-10", "both"):
        items = (
            policy_items if policy_items is not None else [policy_item(u.policy) for u in usages]
        )
        out.append(("ratelimit-policy", ", ".join(items)))
        out.append(("ratelimit", ", ".join(_usage_item(u) for u in usages)))
    if style in ("legacy", "both"):
        worst = min(usages, key=lambda u: (u.remaining, -(u.reset or 0)))
        out.append(("x-ratelimit-limit", str(worst.policy.quota)))
        out.append(("x-ratelimit-remaining", str(max(0, worst.remaining))))
        out.append(("x-ratelimit-reset", str(_seconds(worst.reset) or 0)))
    return tuple(out)


def check_style(style: str) -> HeaderStyle:
    """Validate a style name at construction."""
    if style not in STYLES:
        raise ConfigurationError(f"headers must be one of {STYLES}, not {style!r}")
    return style  # type: ignore[return-value]

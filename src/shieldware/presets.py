"""The chain a newcomer gets in one line: ``Shield.default(secret=...)``.

Everything here is reachable piece by piece; the preset only picks sensible values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .layers import Fingerprint, IPList, TokenBucket
from .policy import Layer, Mode, Reporter, Shield
from .secret import SecretInput
from .stores import Store

__all__ = ["default_layers", "default_shield"]


def default_layers(secret: SecretInput = None) -> list[Layer]:
    """The default layers, in order. Grows as layers land; see docs/concepts.md.

    `IPList` comes first so allow-listed networks skip everything. `Fingerprint` is a weighting
    layer: it only adds weight (and short-circuits on verified good bots and spoofed ones), so
    later layers see its score in ``progress.score``.

    The per-IP token bucket is generous (120 requests a minute, 60 at once) so people never meet
    it; it comes before `Fingerprint` so every client is counted, verified good bots included. A
    client over it gets 429 with Retry-After; every response carries the ``RateLimit`` headers.
    """
    return [IPList(), TokenBucket("120/minute", burst=60, name="ratelimit"), Fingerprint()]


def default_shield(
    secret: SecretInput = None,
    *,
    mode: Mode = "enforce",
    store: Store | str | None = None,
    trusted_proxies: Iterable[str] = (),
    reporters: Iterable[Reporter] = (),
    **options: Any,
) -> Shield:
    """A `Shield` with the default layers. Extra keyword options go to `Shield`."""
    return Shield(
        default_layers(secret),
        mode=mode,
        store=store,
        trusted_proxies=trusted_proxies,
        reporters=reporters,
        **options,
    )

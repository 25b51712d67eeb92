"""Secrets for signing: never a silent default, never a guessable one, always rotatable.

A secret is read from ``SHIELDWARE_SECRET`` (several separated by commas, oldest first, newest
last: the newest signs, all verify) or given in code. ``shieldware secret`` prints a fresh one.

Length alone says little: ``"a" * 32`` is 32 bytes and no secret at all. A key is refused when it
is shorter than 32 bytes, has fewer than 8 distinct bytes, repeats a shorter pattern, is estimated
below 64 bits of entropy, or is a placeholder (ours from the documentation, or one that says it is
one). The estimate is the lowest of two plug-in (empirical) Shannon estimates: over the bytes of
the key's shortest repeating unit, and over the differences of consecutive bytes, which is what
gives runs such as ``0123456789abcdef`` away. Both overestimate a key that is weak in some other
way (an English phrase scores well), so this only refuses what is certainly weak; random output
(``shieldware secret``, ``openssl rand -hex 16`` or more) passes with a wide margin.
"""

from __future__ import annotations

import math
import os
import secrets
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

from .errors import ConfigurationError

__all__ = [
    "ENV_VAR",
    "MIN_SECRET_BITS",
    "MIN_SECRET_BYTES",
    "PUBLISHED_SECRETS",
    "generate_secret",
    "resolve_secrets",
    "secret_weakness",
]

ENV_VAR = "SHIELDWARE_SECRET"
MIN_SECRET_BYTES = 32
#: The least estimated entropy a key may have. Random 32-character hex (128 bits) never scored
#: below 92 in 20,000 draws; ``shieldware secret`` output scores about 200.
MIN_SECRET_BITS = 64
MIN_DISTINCT_BYTES = 8
#: Secrets that appeared in our README or documentation: published, so known to every attacker.
PUBLISHED_SECRETS = frozenset(
    {
        b"load-me-from-the-environment-32-bytes-or-more",
    }
)
#: Words that mark a placeholder someone meant to replace.
_PLACEHOLDER_MARKERS = (
    b"change-me",
    b"changeme",
    b"change_me",
    b"placeholder",
    b"your-secret",
    b"not-secret",
    b"insecure",
    b"load-me",
)
_HOW = f"make one with `shieldware secret` and load it from {ENV_VAR}"

SecretInput = str | bytes | Sequence[str | bytes] | None


def generate_secret() -> str:
    """A fresh random secret (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def resolve_secrets(value: SecretInput, *, purpose: str = "signing") -> tuple[bytes, ...]:
    """Turn the configured secret(s) into keys, oldest first; raise if missing or weak.

    :param value: a secret, a list of secrets (oldest first), or None to read ``SHIELDWARE_SECRET``.
    :param purpose: named in the error so users know which layer asked.
    """
    if value is None:
        env = os.environ.get(ENV_VAR, "")
        items: list[str | bytes] = [part for part in env.split(",") if part.strip()]
        if not items:
            raise ConfigurationError(
                f"{purpose} needs a secret: set {ENV_VAR} or pass secret=... "
                "(`shieldware secret` prints a fresh one)"
            )
    elif isinstance(value, (str, bytes)):
        items = [value]
    else:
        items = list(value)
    keys = tuple(item.strip().encode() if isinstance(item, str) else item for item in items)
    if not keys:
        raise ConfigurationError(f"{purpose} needs at least one secret")
    for position, key in enumerate(keys):
        why = secret_weakness(key)
        if why is not None:
            where = f" at position {position}" if len(keys) > 1 else ""
            raise ConfigurationError(f"{purpose}: the secret{where} is weak ({why}); {_HOW}")
    return keys


def secret_weakness(key: bytes) -> str | None:
    """Why `key` is too weak to sign with, or None when it is fit."""
    if len(key) < MIN_SECRET_BYTES:
        return f"shorter than {MIN_SECRET_BYTES} bytes"
    lowered = key.lower()
    if lowered in PUBLISHED_SECRETS:
        return "published in the shieldware documentation"
    if any(marker in lowered for marker in _PLACEHOLDER_MARKERS):
        return "a placeholder"
    if len(set(key)) < MIN_DISTINCT_BYTES:
        return f"fewer than {MIN_DISTINCT_BYTES} distinct bytes"
    unit = key[: _period(key)]
    if len(unit) <= len(key) // 2:
        return f"repeats a pattern of {len(unit)} bytes"
    bits = _entropy_bits(unit)
    if bits < MIN_SECRET_BITS:
        return f"about {bits:.0f} bits of entropy, fewer than {MIN_SECRET_BITS}"
    return None


def _entropy_bits(key: bytes) -> float:
    """An upper-bound style estimate of the entropy in `key`, in bits (see the module docstring)."""
    steps = bytes((b - a) % 256 for a, b in pairwise(key))
    return min(_plugin_bits(key), 8.0 + _plugin_bits(steps))


def _plugin_bits(data: bytes) -> float:
    """len(data) times the Shannon entropy of its byte frequencies."""
    n = len(data)
    return -sum(count * math.log2(count / n) for count in Counter(data).values())


def _period(data: bytes) -> int:
    """The length of the shortest unit whose repetition spells `data` (KMP failure function)."""
    border = [0] * len(data)
    k = 0
    for i in range(1, len(data)):
        while k and data[i] != data[k]:
            k = border[k - 1]
        if data[i] == data[k]:
            k += 1
        border[i] = k
    return len(data) - (border[-1] if data else 0)

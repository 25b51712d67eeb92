"""Secrets for signing: never a silent default, always rotatable.

A secret is given in code, or read from ``SHIELDWARE_SECRET`` (several separated by commas, oldest
first, newest last: the newest signs, all verify). Anything shorter than 32 bytes is refused.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence

from .errors import ConfigurationError

__all__ = ["ENV_VAR", "MIN_SECRET_BYTES", "generate_secret", "resolve_secrets"]

ENV_VAR = "SHIELDWARE_SECRET"
MIN_SECRET_BYTES = 32

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
                f"{purpose} needs a secret: pass secret=... or set {ENV_VAR} "
                "(`shieldware secret` prints a fresh one)"
            )
    elif isinstance(value, (str, bytes)):
        items = [value]
    else:
        items = list(value)
    keys = tuple(item.strip().encode() if isinstance(item, str) else item for item in items)
    if not keys:
        raise ConfigurationError(f"{purpose} needs at least one secret")
    weak = [i for i, key in enumerate(keys) if len(key) < MIN_SECRET_BYTES]
    if weak:
        raise ConfigurationError(
            f"{purpose}: secret(s) at position {weak} are shorter than {MIN_SECRET_BYTES} bytes; "
            "use `shieldware secret` to make a strong one"
        )
    return keys

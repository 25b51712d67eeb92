"""Stores hold the little state shieldware needs: bucket TATs, spent ids, bans, leases."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from ..errors import ConfigurationError
from .base import Store
from .memory import MemoryStore

__all__ = ["MemoryStore", "Store", "store_from_url"]


def store_from_url(url: str) -> Store:
    """Build a store from a URL: ``memory://`` (``?max_entries=N``) or a Redis/Valkey URL."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        options = parse_qs(parts.query)
        try:
            size = int(options.get("max_entries", [str(100_000)])[0])
        except ValueError as exc:
            raise ConfigurationError(f"bad max_entries in {url!r}") from exc
        return MemoryStore(size)
    raise ConfigurationError(f"unknown store URL scheme {parts.scheme!r} in {url!r}")

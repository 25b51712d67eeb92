"""Defense layers: each one module, each pluggable into a `Shield`."""

from __future__ import annotations

from .lists import IPList

__all__ = ["IPList"]

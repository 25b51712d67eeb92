"""Defense layers: each one module, each pluggable into a `Shield`."""

from __future__ import annotations

from .fingerprint import Band, Fingerprint
from .lists import IPList

__all__ = ["Band", "Fingerprint", "IPList"]

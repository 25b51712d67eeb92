"""Defense layers: each one module, each pluggable into a `Shield`."""

from __future__ import annotations

from .challenge import ProofOfWork
from .lists import IPList

__all__ = ["IPList", "ProofOfWork"]

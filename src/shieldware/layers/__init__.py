"""Defense layers: each one module, each pluggable into a `Shield`."""

from __future__ import annotations

from .challenge import ProofOfWork
from .concurrency import Concurrency
from .fingerprint import Band, Fingerprint
from .lists import IPList
from .origin import OriginList
from .penalty import PenaltyBox
from .quota import Quota
from .ratelimit import RateLimit, TokenBucket

__all__ = [
    "Band",
    "Concurrency",
    "Fingerprint",
    "IPList",
    "OriginList",
    "PenaltyBox",
    "ProofOfWork",
    "Quota",
    "RateLimit",
    "TokenBucket",
]

"""Defense layers: each one module, each pluggable into a `Shield`."""

from __future__ import annotations

from .challenge import ProofOfWork
from .concurrency import Concurrency
from .lists import IPList
from .penalty import PenaltyBox
from .quota import Quota
from .ratelimit import RateLimit, TokenBucket

__all__ = ["Concurrency", "IPList", "PenaltyBox", "ProofOfWork", "Quota", "RateLimit", "TokenBucket"]

"""Defense layers: each one module, each pluggable into a `Shield`.

Each loads on first use (PEP 562), so an app pays only for the layers it builds.
"""

from __future__ import annotations

import typing as _typing

from ..lazy import loader as _loader

if _typing.TYPE_CHECKING:
    from .challenge import ProofOfWork
    from .concurrency import Concurrency
    from .fingerprint import Band, Fingerprint
    from .honeypot import Honeypot
    from .lists import IPList
    from .origin import OriginList
    from .penalty import PenaltyBox
    from .quota import Quota
    from .ratelimit import RateLimit, TokenBucket

_HOME: dict[str, str] = {
    "Band": "fingerprint",
    "Concurrency": "concurrency",
    "Fingerprint": "fingerprint",
    "Honeypot": "honeypot",
    "IPList": "lists",
    "OriginList": "origin",
    "PenaltyBox": "penalty",
    "ProofOfWork": "challenge",
    "Quota": "quota",
    "RateLimit": "ratelimit",
    "TokenBucket": "ratelimit",
}


if not _typing.TYPE_CHECKING:  # type checkers see the imports above: typos stay errors
    __getattr__, __dir__ = _loader(__name__, _HOME, globals())


__all__ = [
    "Band",
    "Concurrency",
    "Fingerprint",
    "Honeypot",
    "IPList",
    "OriginList",
    "PenaltyBox",
    "ProofOfWork",
    "Quota",
    "RateLimit",
    "TokenBucket",
]

"""Defense layers: each one module, each pluggable into a `Shield`.

Each loads on first use (PEP 562), so an app pays only for the layers it builds.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from .challenge import ProofOfWork
    from .concurrency import Concurrency
    from .fingerprint import Band, Fingerprint
    from .lists import IPList
    from .origin import OriginList
    from .penalty import PenaltyBox
    from .quota import Quota
    from .ratelimit import RateLimit, TokenBucket

_HOME: dict[str, str] = {
    "Band": "fingerprint",
    "Concurrency": "concurrency",
    "Fingerprint": "fingerprint",
    "IPList": "lists",
    "OriginList": "origin",
    "PenaltyBox": "penalty",
    "ProofOfWork": "challenge",
    "Quota": "quota",
    "RateLimit": "ratelimit",
    "TokenBucket": "ratelimit",
}


if not _typing.TYPE_CHECKING:
    # Hidden from type checkers, which see the imports above: a misspelt name stays an error.

    def __getattr__(name: str) -> _typing.Any:
        home = _HOME.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(_importlib.import_module(f".{home}", __name__), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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

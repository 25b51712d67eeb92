"""The exceptions shieldware raises.

    ShieldwareError
     +-- ConfigurationError   bad configuration, raised at construction, never per request
     +-- StoreError           the store failed (timeout, connection, script); carries the cause

Attacker input never raises: malformed headers, cookies and tokens become verdicts.
"""

from __future__ import annotations

__all__ = ["ConfigurationError", "ShieldwareError", "StoreError"]


class ShieldwareError(Exception):
    """Base class of every error shieldware raises on purpose."""


class ConfigurationError(ShieldwareError, ValueError):
    """The policy, a layer or a store was configured wrongly.

    Raised when the object is built, so a misconfigured app fails at startup rather than on the
    first request.
    """


class StoreError(ShieldwareError):
    """The store could not answer an operation.

    :param message: what failed.
    :param original: the driver's exception, if any.
    """

    def __init__(self, message: str, *, original: BaseException | None = None) -> None:
        super().__init__(message)
        self.original = original

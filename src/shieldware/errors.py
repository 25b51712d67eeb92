"""The exceptions shieldware raises.

    ShieldwareError
     +-- ConfigurationError   bad configuration, raised at construction, never per request
     +-- StoreError           the store failed (timeout, connection, script); carries the cause
          +-- StoreOverloaded  the store is healthy but busy (no free connection in time)
     +-- BadRequest           the server handed over a request head that cannot be read

Attacker input never raises: malformed headers, cookies and tokens become verdicts.
"""

from __future__ import annotations

__all__ = ["BadRequest", "ConfigurationError", "ShieldwareError", "StoreError", "StoreOverloaded"]


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


class StoreOverloaded(StoreError):
    """The store is up but could not take the operation in time (its connection pool is empty).

    Overload is not an outage: an attacker can cause it at will with enough concurrent requests,
    so it is never answered like ``on_store_error="open"``. The chain sheds the request instead
    (503 with Retry-After), whatever the failure policy.
    """


class BadRequest(ShieldwareError, ValueError):
    """The request's head could not be read (a server broke the ASGI or WSGI contract).

    Raised lazily, when a layer first reads the broken part; the chain answers it with 400.
    """

"""shieldware: keep a Python web app serving people while bots are throttled, challenged or refused.

Configure a `Shield` (a policy chain of layers), then wrap your app with `ShieldMiddleware` (ASGI)
or `ShieldWSGIMiddleware` (WSGI).

The top level holds what an app author needs; matchers are the `shieldware.match` namespace
(``match.path("/login")``). Writing a layer or a reporter: `shieldware.layer`. Writing a store:
`shieldware.stores` (the `Store` protocol) and `shieldware.ops` (the operations and their results).
"""

from __future__ import annotations

from . import match
from .asgi import ShieldMiddleware
from .clientip import TrustedProxies
from .errors import BadRequest, ConfigurationError, ShieldwareError, StoreError, StoreOverloaded
from .facts import Facts
from .fingerprint import by_fingerprint
from .keys import GLOBAL, Key, by_header, by_ip, by_method, by_network, by_principal, by_route
from .layer import Threshold, shadowed
from .layers import (
    Concurrency,
    Fingerprint,
    IPList,
    PenaltyBox,
    ProofOfWork,
    Quota,
    RateLimit,
    TokenBucket,
)
from .liveview import LiveView, LiveViewReporter
from .policy import Shield
from .rate import Rate
from .report import LoggingReporter, OpenTelemetryReporter, PrometheusReporter
from .stores import CircuitBreaker, FallbackStore, MemoryStore, RedisStore, store_from_url
from .verdict import Action, Decision, Reason, Verdict
from .wsgi import ShieldWSGIMiddleware

__version__ = "0.1.0"

__all__ = [
    "Action",
    "BadRequest",
    "CircuitBreaker",
    "Concurrency",
    "ConfigurationError",
    "Decision",
    "Facts",
    "FallbackStore",
    "Fingerprint",
    "GLOBAL",
    "IPList",
    "Key",
    "LiveView",
    "LiveViewReporter",
    "LoggingReporter",
    "MemoryStore",
    "OpenTelemetryReporter",
    "PenaltyBox",
    "PrometheusReporter",
    "ProofOfWork",
    "Quota",
    "Rate",
    "RateLimit",
    "Reason",
    "RedisStore",
    "Shield",
    "ShieldMiddleware",
    "ShieldWSGIMiddleware",
    "ShieldwareError",
    "StoreError",
    "StoreOverloaded",
    "Threshold",
    "TokenBucket",
    "TrustedProxies",
    "Verdict",
    "__version__",
    "by_fingerprint",
    "by_header",
    "by_ip",
    "by_method",
    "by_network",
    "by_principal",
    "by_route",
    "match",
    "shadowed",
    "store_from_url",
]

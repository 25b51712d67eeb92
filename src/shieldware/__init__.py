"""shieldware: keep a Python web app serving people while bots are throttled, challenged or refused.

Configure a `Shield` (a policy chain of layers), then wrap your app with `ShieldMiddleware` (ASGI)
or `ShieldWSGIMiddleware` (WSGI).
"""

from __future__ import annotations

from .asgi import ShieldMiddleware
from .clientip import TrustedProxies
from .errors import BadRequest, ConfigurationError, ShieldwareError, StoreError, StoreOverloaded
from .facts import Facts
from .fingerprint import by_fingerprint
from .keys import GLOBAL, Key, by_header, by_ip, by_method, by_network, by_principal, by_route
from .layer import Challenger, Layer, Progress, Reporter, Threshold, shadowed
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
from .ops import (
    Acquire,
    Add,
    Bucket,
    Count,
    Get,
    Hit,
    Incr,
    LeaseState,
    LimitState,
    Op,
    Release,
    Take,
    Window,
)
from .policy import Shield
from .rate import Rate
from .render import render
from .report import LoggingReporter, OpenTelemetryReporter, PrometheusReporter
from .stores import (
    CircuitBreaker,
    CircuitOpen,
    FallbackStore,
    MemoryStore,
    RedisStore,
    Store,
    store_from_url,
)
from .verdict import Action, Decision, Reason, Reply, Verdict
from .wsgi import ShieldWSGIMiddleware

__version__ = "0.1.0"

__all__ = [
    "Acquire",
    "Action",
    "Add",
    "BadRequest",
    "Bucket",
    "Challenger",
    "CircuitBreaker",
    "CircuitOpen",
    "Concurrency",
    "ConfigurationError",
    "Count",
    "Decision",
    "Facts",
    "FallbackStore",
    "Fingerprint",
    "GLOBAL",
    "Get",
    "Hit",
    "IPList",
    "Incr",
    "Key",
    "Layer",
    "LeaseState",
    "LimitState",
    "LiveView",
    "LiveViewReporter",
    "LoggingReporter",
    "MemoryStore",
    "Op",
    "OpenTelemetryReporter",
    "PenaltyBox",
    "Progress",
    "PrometheusReporter",
    "ProofOfWork",
    "Quota",
    "Rate",
    "RateLimit",
    "Reason",
    "RedisStore",
    "Release",
    "Reply",
    "Reporter",
    "Shield",
    "ShieldMiddleware",
    "ShieldWSGIMiddleware",
    "ShieldwareError",
    "Store",
    "StoreError",
    "StoreOverloaded",
    "Take",
    "Threshold",
    "TokenBucket",
    "TrustedProxies",
    "Verdict",
    "Window",
    "__version__",
    "by_fingerprint",
    "by_header",
    "by_ip",
    "by_method",
    "by_network",
    "by_principal",
    "by_route",
    "render",
    "shadowed",
    "store_from_url",
]

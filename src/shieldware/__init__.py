"""shieldware: keep a Python web app serving people while bots are throttled, challenged or refused.

Configure a `Shield` (a policy chain of layers), then wrap your app with `ShieldMiddleware` (ASGI)
or `ShieldWSGIMiddleware` (WSGI).
"""

from __future__ import annotations

from .asgi import ShieldMiddleware
from .clientip import TrustedProxies
from .errors import ConfigurationError, ShieldwareError, StoreError
from .facts import Facts
from .fingerprint import by_fingerprint
from .layers import Fingerprint, IPList
from .liveview import LiveView, LiveViewReporter
from .ops import Add, Bucket, BucketState, Op, Take
from .policy import Challenger, Layer, Progress, Reporter, Shield, Threshold, shadowed
from .rate import Rate
from .render import render
from .report import LoggingReporter, OpenTelemetryReporter, PrometheusReporter
from .stores import MemoryStore, Store, store_from_url
from .verdict import Action, Decision, Reason, Reply, Verdict
from .wsgi import ShieldWSGIMiddleware

__version__ = "0.1.0"

__all__ = [
    "Action",
    "Add",
    "Bucket",
    "BucketState",
    "Challenger",
    "ConfigurationError",
    "Decision",
    "Facts",
    "Fingerprint",
    "IPList",
    "Layer",
    "LiveView",
    "LiveViewReporter",
    "LoggingReporter",
    "MemoryStore",
    "Op",
    "OpenTelemetryReporter",
    "Progress",
    "PrometheusReporter",
    "Rate",
    "Reason",
    "Reply",
    "Reporter",
    "Shield",
    "ShieldMiddleware",
    "ShieldWSGIMiddleware",
    "ShieldwareError",
    "Store",
    "StoreError",
    "Take",
    "Threshold",
    "TrustedProxies",
    "Verdict",
    "__version__",
    "by_fingerprint",
    "render",
    "shadowed",
    "store_from_url",
]

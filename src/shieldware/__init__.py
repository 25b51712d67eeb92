"""shieldware: keep a Python web app serving people while bots are throttled, challenged or refused.

Configure a `Shield` (a policy chain of layers), then wrap your app with `ShieldMiddleware` (ASGI)
or `ShieldWSGIMiddleware` (WSGI).

The top level holds what an app author needs; matchers are the `shieldware.match` namespace
(``match.path("/login")``). Writing a layer or a reporter: `shieldware.layer`. Writing a store:
`shieldware.stores` (the `Store` protocol) and `shieldware.ops` (the operations and their results).
"""

from __future__ import annotations

import typing as _typing

from .lazy import loader as _loader

if _typing.TYPE_CHECKING:
    from . import match
    from .asgi import ShieldMiddleware
    from .clientip import TrustedProxies
    from .errors import BadRequest, ConfigurationError, ShieldwareError, StoreError, StoreOverloaded
    from .facts import Facts
    from .fingerprint import by_fingerprint
    from .keys import GLOBAL, Key, by_header, by_ip, by_method, by_network, by_principal, by_route
    from .layer import Threshold, shadowed
    from .layers.challenge import ProofOfWork
    from .layers.concurrency import Concurrency
    from .layers.fingerprint import Fingerprint
    from .layers.honeypot import Honeypot
    from .layers.lists import IPList
    from .layers.penalty import PenaltyBox
    from .layers.quota import Quota
    from .layers.ratelimit import RateLimit, TokenBucket
    from .liveview import LiveView, LiveViewReporter
    from .policy import Shield
    from .rate import Rate
    from .report import LoggingReporter, OpenTelemetryReporter, PrometheusReporter
    from .stores import store_from_url
    from .stores.memory import MemoryStore
    from .stores.redis import RedisStore
    from .stores.resilience import CircuitBreaker, FallbackStore
    from .verdict import Action, Decision, Reason, Verdict
    from .wsgi import ShieldWSGIMiddleware

__version__ = "0.1.0"

#: Where each public name lives. Names load on first use (PEP 562), so ``import shieldware``
#: costs almost nothing and an app pays only for the layers, stores and reporters it uses.
_HOME: dict[str, str] = {
    "match": "match",
    "Action": "verdict",
    "BadRequest": "errors",
    "CircuitBreaker": "stores.resilience",
    "Concurrency": "layers.concurrency",
    "ConfigurationError": "errors",
    "Decision": "verdict",
    "Facts": "facts",
    "FallbackStore": "stores.resilience",
    "Fingerprint": "layers.fingerprint",
    "Honeypot": "layers.honeypot",
    "GLOBAL": "keys",
    "IPList": "layers.lists",
    "Key": "keys",
    "LiveView": "liveview",
    "LiveViewReporter": "liveview",
    "LoggingReporter": "report",
    "MemoryStore": "stores.memory",
    "OpenTelemetryReporter": "report",
    "PenaltyBox": "layers.penalty",
    "PrometheusReporter": "report",
    "ProofOfWork": "layers.challenge",
    "Quota": "layers.quota",
    "Rate": "rate",
    "RateLimit": "layers.ratelimit",
    "Reason": "verdict",
    "RedisStore": "stores.redis",
    "Shield": "policy",
    "ShieldMiddleware": "asgi",
    "ShieldWSGIMiddleware": "wsgi",
    "ShieldwareError": "errors",
    "StoreError": "errors",
    "StoreOverloaded": "errors",
    "Threshold": "layer",
    "TokenBucket": "layers.ratelimit",
    "TrustedProxies": "clientip",
    "Verdict": "verdict",
    "by_fingerprint": "fingerprint",
    "by_header": "keys",
    "by_ip": "keys",
    "by_method": "keys",
    "by_network": "keys",
    "by_principal": "keys",
    "by_route": "keys",
    "shadowed": "layer",
    "store_from_url": "stores",
}


if not _typing.TYPE_CHECKING:  # type checkers see the imports above: typos stay errors
    __getattr__, __dir__ = _loader(__name__, _HOME, globals())


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
    "Honeypot",
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

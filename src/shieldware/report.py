"""Reporters: every decision, enforced or shadow, goes to them (`Shield(reporters=[...])`).

- `LoggingReporter`: one structured record per decision on the ``shieldware.decision`` logger.
- `PrometheusReporter`: counters and a histogram with bounded label values (``metrics`` extra).
- `OpenTelemetryReporter`: decision attributes on the active span, when OpenTelemetry is installed.

A reporter may also define ``attack_changed(event)``: it then hears every flip of the under-attack
switch its process sees (`shieldware.attack.AttackEvent`: who, when, why, until). The logging and
Prometheus reporters do.

Reporters never see a token or a cookie value: the client appears only as a salted hash of its
network. Challenge outcomes are derived from verdicts whose rule or reason starts with ``pow`` or
``challenge`` (see `challenge_outcome`), so the proof-of-work layer needs no reporter of its own.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import logging
import os
import random
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from .facts import Facts
from .verdict import Action, Decision, Reason, Verdict

if TYPE_CHECKING:
    from .attack import AttackEvent
    from .origin.value import Origin, OriginLookup

__all__ = [
    "DecisionJSONFormatter",
    "LoggingReporter",
    "OpenTelemetryReporter",
    "PrometheusReporter",
    "challenge_outcome",
    "challenge_outcomes",
    "client_key",
    "decision_record",
]

#: The logger every `LoggingReporter` writes to unless given another.
DECISION_LOGGER = "shieldware.decision"
#: Reason parts that mark a failed challenge answer (``pow-wrong-answer``, ``pow-expired``, ...).
FAILED_MARKERS = (
    "fail",
    "invalid",
    "expired",
    "replay",
    "bad",
    "wrong",
    "tamper",
    "malformed",
    "tells",  # automation-tells: a solved proof refused for what the browser reported
)
_CHALLENGE_PREFIXES = ("pow", "challenge")
_STORE_REASONS = frozenset({Reason.STORE_FAILED_OPEN, Reason.STORE_FAILED_CLOSED})
_PATH_MAX = 200
#: Labelled counters remembered per (action, rule, reason, enforced); beyond, looked up each time.
_MAX_CHILDREN = 4096

Outcome = Literal["issued", "solved", "failed"]


def client_key(facts: Facts, salt: bytes = b"") -> str:
    """A short salted hash of the client's network (IPv4 address, IPv6 /64); ``"-"`` if unknown.

    Enough to follow one client through the logs, useless for recovering its address without
    the salt.
    """
    network_text = facts.client.network()
    if network_text is None:
        return "-"
    network = network_text.encode()
    return hashlib.blake2b(network, key=salt[:64], digest_size=8).hexdigest()


@functools.lru_cache(maxsize=2048)
def _classify(action: Action, rule: str, reason: str) -> tuple[bool, tuple[Outcome, ...]]:
    """(challenge-like, outcomes read from the names alone): cached, verdicts repeat."""
    issued = action is Action.CHALLENGE
    if not (rule.startswith(_CHALLENGE_PREFIXES) or reason.startswith(_CHALLENGE_PREFIXES)):
        return False, ("issued",) if issued else ()
    if not issued and reason.endswith("solved"):
        return True, ("solved",)
    failed = not reason.startswith("clearance-") and any(m in reason for m in FAILED_MARKERS)
    if issued:
        return True, ("issued", "failed") if failed else ("issued",)
    return True, ("failed",) if failed else ()


def challenge_outcomes(verdict: Verdict) -> tuple[Outcome, ...]:
    """What a verdict says about challenges: issued, solved, failed (possibly two), or nothing.

    - issued: the action is CHALLENGE;
    - solved: a ``pow*``/``challenge*`` verdict whose reason ends with ``solved``, or that carries
      ``detail["solve_ms"]`` or ``detail["solve_seconds"]``;
    - failed: a ``pow*``/``challenge*`` verdict whose reason contains ``fail``, ``invalid``,
      ``expired``, ``replay``, ``bad``, ``wrong``, ``tamper``, ``malformed`` or ``tells``, except
      an expired *clearance* (``clearance-...``), which is not a failed answer. A fresh challenge
      issued because an answer was wrong (reason ``answer-pow-wrong-answer``) counts as issued and
      failed.
    """
    challenge_like, outcomes = _classify(verdict.action, verdict.rule, verdict.reason)
    if (
        challenge_like
        and verdict.action is not Action.CHALLENGE
        and outcomes != ("solved",)
        and solve_seconds(verdict) is not None
    ):
        return ("solved",)
    return outcomes


def challenge_outcome(verdict: Verdict) -> Outcome | None:
    """The main outcome of `challenge_outcomes` (the first), or None."""
    outcomes = challenge_outcomes(verdict)
    return outcomes[0] if outcomes else None


def solve_seconds(verdict: Verdict) -> float | None:
    """The server-measured solve time in seconds (``detail["solve_seconds"]`` or ``["solve_ms"]``).

    None when absent or not a finite, non-negative number.
    """
    detail = verdict.detail
    value, scale = detail.get("solve_seconds"), 1.0
    if value is None:
        value, scale = detail.get("solve_ms"), 0.001
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = float(value) * scale
    return seconds if 0 <= seconds < 1e6 else None


def decision_record(
    decision: Decision, facts: Facts, salt: bytes = b"", origin: Origin | None = None
) -> dict[str, Any]:
    """The structured fields of one decision: safe to log (no query, cookie or token values).

    With `origin`, an ``origin`` field holds its AS number, organisation (at most 64
    characters), category and country: a fixed, bounded shape.
    """
    verdict = decision.verdict
    record = {
        "action": verdict.action.value,
        "rule": verdict.rule,
        "reason": verdict.reason,
        "score": round(decision.score, 3),
        "enforced": decision.enforced,
        "blocked": decision.answered,
        "degraded": decision.degraded,
        "client": client_key(facts, salt),
        "method": facts.method[:16],
        "path": (facts.route or facts.path)[:_PATH_MAX],
        "trail": [f"{v.rule}:{v.action.value}:{v.reason}" for v in decision.trail],
    }
    if origin is not None:
        from .origin.value import origin_fields

        record["origin"] = origin_fields(origin)
    return record


def _origin_of(origins: OriginLookup | None, facts: Facts) -> Origin | None:
    """The client's origin for a reporter; None without a lookup (or when it fails)."""
    if origins is None:
        return None
    try:
        return origins.origin_for(facts.client)
    except Exception:  # a reporter never turns a lookup problem into a failed request
        return None


class LoggingReporter:
    """Log one record per decision on the ``shieldware.decision`` logger.

    The fields travel as ``record.shieldware`` (a dict) for structured handlers, and the message is
    either a readable line or, with ``json=True``, the JSON object itself.

    :param logger: a logger or its name; ``shieldware.decision`` by default.
    :param allowed_sample: the share (0..1) of non-blocking decisions logged; blocks always are.
    :param allowed_level: level for decisions that let the request through.
    :param blocked_level: level for decisions that block (or would, in shadow mode).
    :param json: make the message a JSON object instead of a line.
    :param salt: keys the client hash; random per process unless given (give one to correlate
        across processes).
    :param origins: an origin lookup (an `OriginDB`): records gain an ``origin`` field (AS,
        organisation, category, country) and lines an ``origin=AS…/category`` part.
    """

    def __init__(
        self,
        logger: logging.Logger | str = DECISION_LOGGER,
        *,
        allowed_sample: float = 1.0,
        allowed_level: int = logging.DEBUG,
        blocked_level: int = logging.INFO,
        json: bool = False,
        salt: bytes | None = None,
        rng: Callable[[], float] = random.random,
        origins: OriginLookup | None = None,
    ) -> None:
        if not 0.0 <= allowed_sample <= 1.0:
            from .errors import ConfigurationError

            raise ConfigurationError(f"allowed_sample must be within 0..1, not {allowed_sample}")
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.allowed_sample = allowed_sample
        self.allowed_level = allowed_level
        self.blocked_level = blocked_level
        self.json = json
        self.salt = os.urandom(16) if salt is None else salt
        self._rng = rng
        self.origins = origins

    def __repr__(self) -> str:
        return f"LoggingReporter({self.logger.name!r}, allowed_sample={self.allowed_sample})"

    def report(self, decision: Decision, facts: Facts) -> None:
        blocking = decision.action.blocks or decision.verdict.reply is not None
        level = self.blocked_level if blocking else self.allowed_level
        if not self.logger.isEnabledFor(level):
            return
        if not blocking and self.allowed_sample < 1.0 and self._rng() >= self.allowed_sample:
            return
        origin = _origin_of(self.origins, facts)
        record = decision_record(decision, facts, self.salt, origin)
        if self.json:
            message = _dumps(record)
        else:
            mode = "" if decision.enforced else " (shadow)"
            where = ""
            if origin is not None:
                asn = "AS?" if origin.asn is None else f"AS{origin.asn}"
                where = f" origin={asn}/{record['origin']['category']}"
            message = (
                f"{record['action']} {_line(record['method'])} {_line(record['path'])} "
                f"by {_line(record['rule'])} ({_line(record['reason'])}) "
                f"score={record['score']:g} client={record['client']}{where}{mode}"
            )
        self.logger.log(level, "%s", message, extra={"shieldware": record})

    def attack_changed(self, event: AttackEvent) -> None:
        """Log a flip of the under-attack switch (at WARNING at least: someone must see it)."""
        level = max(self.blocked_level, logging.WARNING)
        if not self.logger.isEnabledFor(level):
            return
        record = {"event": "under-attack", **event.as_dict()}
        state = event.state
        if self.json:
            message = _dumps(record)
        else:
            message = (
                f"under-attack {'ON' if event.active else 'off'} ({event.source}) "
                f"by {_line(state.by or '?')}: {_line(state.reason or '-')}"
                + (f" until {state.until:.0f}" if state.on and state.until is not None else "")
            )
        self.logger.log(level, "%s", message, extra={"shieldware": record})


def _dumps(value: Any) -> str:
    """One JSON line. ASCII only: json escapes just C0 controls, and a raw U+2028, NEL or lone
    surrogate from a request path would still split (or crash) a line in some log pipelines."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, default=str)


def _line(text: str) -> str:
    """`text` fit for one log line: control, format and separator characters escaped (and the
    backslash, so an escape cannot be forged), so a request path cannot write a second line."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(c if c.isprintable() and c != "\\" else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if char == "\\":
        return "\\\\"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class DecisionJSONFormatter(logging.Formatter):
    """Format records as one JSON object per line, merging a decision's fields when present.

    ``handler.setFormatter(DecisionJSONFormatter())`` on the ``shieldware.decision`` logger gives
    log shippers ready-made fields.
    """

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
        }
        fields = getattr(record, "shieldware", None)
        if isinstance(fields, dict):
            out.update(fields)
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return _dumps(out)


class _BoundedLabel:
    """Keeps at most `limit` distinct values of one label; later newcomers become ``other``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) < self.limit:
                self._seen.add(value[:80])
                return value[:80]
        return "other"


class PrometheusReporter:
    """Prometheus metrics of decisions (needs ``pip install 'shieldware[metrics]'``).

    Metrics (all prefixed ``shieldware_``): ``decisions_total{action,rule,reason,enforced}``,
    ``challenges_total{outcome,reason}`` (issued / solved / failed),
    ``challenge_solve_seconds`` (histogram, from ``detail["solve_ms"]`` or ``["solve_seconds"]``),
    ``storage_errors_total{rule}``, ``degraded_decisions_total``, ``store_entries`` (when the
    watched store has a size), ``under_attack`` (1 while this process runs the attack profile)
    and ``attack_flips_total{source,active}``. With `origins`: ``origin_decisions_total{action,
    category}`` (three categories: hosting, isp, unknown) and, with `asn_labels`,
    ``origin_blocked_total{asn}``.

    :param registry: where the metrics live; a fresh ``CollectorRegistry`` by default so two
        shields (or tests) never collide. Pass ``prometheus_client.REGISTRY`` to use the global one.
    :param store: a store to watch; its ``len()`` becomes ``shieldware_store_entries``.
    :param max_label_values: distinct rule and reason values kept per label before ``other``.
    :param origins: an origin lookup (an `OriginDB`) for the origin metrics.
    :param asn_labels: how many AS numbers get a label value of their own in
        ``origin_blocked_total`` (0, the default, leaves that metric out). The first ones
        blocked keep theirs; every later AS counts as ``other``, so the label stays bounded.
    """

    def __init__(
        self,
        registry: Any = None,
        *,
        store: object | None = None,
        max_label_values: int = 50,
        namespace: str = "shieldware",
        solve_buckets: Iterable[float] = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
        origins: OriginLookup | None = None,
        asn_labels: int = 0,
    ) -> None:
        try:
            prom = importlib.import_module("prometheus_client")
        except ImportError as exc:  # pragma: no cover - depends on the install
            from .errors import ConfigurationError

            raise ConfigurationError(
                "PrometheusReporter needs prometheus-client: pip install 'shieldware[metrics]'"
            ) from exc
        self._prom = prom
        self.registry = prom.CollectorRegistry() if registry is None else registry
        self._rule = _BoundedLabel(max_label_values)
        self._children: dict[tuple[Action, str, str, bool], Any] = {}
        self._reason = _BoundedLabel(max_label_values)
        reg = self.registry
        self.decisions = prom.Counter(
            "decisions",
            "Decisions of the shield chain, enforced or shadow.",
            ["action", "rule", "reason", "enforced"],
            namespace=namespace,
            registry=reg,
        )
        self.challenges = prom.Counter(
            "challenges",
            "Challenges issued, solved and failed.",
            ["outcome", "reason"],
            namespace=namespace,
            registry=reg,
        )
        self.solve_time = prom.Histogram(
            "challenge_solve_seconds",
            "Time clients took to solve a challenge, measured by the server.",
            namespace=namespace,
            registry=reg,
            buckets=tuple(solve_buckets),
        )
        self.storage_errors = prom.Counter(
            "storage_errors",
            "Layers that could not reach their store.",
            ["rule"],
            namespace=namespace,
            registry=reg,
        )
        self.degraded = prom.Counter(
            "degraded_decisions",
            "Decisions made while some layer had no store.",
            namespace=namespace,
            registry=reg,
        )
        self.store_entries = prom.Gauge(
            "store_entries",
            "Keys held by the watched store (-1 when it cannot say).",
            namespace=namespace,
            registry=reg,
        )
        self.under_attack = prom.Gauge(
            "under_attack",
            "1 while this process runs the under-attack profile.",
            namespace=namespace,
            registry=reg,
        )
        self.attack_flips = prom.Counter(
            "attack_flips",
            "Flips of the under-attack switch this process saw (flip, observed, expired).",
            ["source", "active"],
            namespace=namespace,
            registry=reg,
        )
        if store is not None:
            self.watch_store(store)
        if asn_labels < 0:
            from .errors import ConfigurationError

            raise ConfigurationError(f"asn_labels must be 0 or more, not {asn_labels}")
        self.origins = origins
        self.origin_decisions: Any = None
        self.origin_blocked: Any = None
        if origins is not None:
            self.origin_decisions = prom.Counter(
                "origin_decisions",
                "Decisions by the client's network category (hosting, isp, unknown).",
                ["action", "category"],
                namespace=namespace,
                registry=reg,
            )
            if asn_labels:
                self._asn = _BoundedLabel(asn_labels)
                self.origin_blocked = prom.Counter(
                    "origin_blocked",
                    "Blocking decisions by the client's AS (the first ones seen; then other).",
                    ["asn"],
                    namespace=namespace,
                    registry=reg,
                )

    def attack_changed(self, event: AttackEvent) -> None:
        self.under_attack.set(1 if event.active else 0)
        self.attack_flips.labels(event.source, "true" if event.active else "false").inc()

    def watch_store(self, store: object) -> None:
        """Report ``len(store)`` at each scrape (-1 when the store has no size or fails)."""

        def size() -> float:
            try:
                return float(len(store))  # type: ignore[arg-type]
            except Exception:
                return -1.0

        self.store_entries.set_function(size)

    def report(self, decision: Decision, facts: Facts) -> None:
        verdict = decision.verdict
        key = (verdict.action, verdict.rule, verdict.reason, decision.enforced)
        child = self._children.get(key)
        if child is None:
            child = self.decisions.labels(
                verdict.action.value,
                self._rule(verdict.rule),
                self._reason(verdict.reason),
                "true" if decision.enforced else "false",
            )
            if len(self._children) < _MAX_CHILDREN:
                self._children[key] = child
        child.inc()
        degraded = False
        for v in decision.trail:
            if v.reason in _STORE_REASONS:
                self.storage_errors.labels(self._rule(v.rule)).inc()
            degraded = degraded or v.degraded
            for outcome in challenge_outcomes(v):
                self.challenges.labels(outcome, self._reason(v.reason)).inc()
                seconds = solve_seconds(v)
                if outcome == "solved" and seconds is not None:
                    self.solve_time.observe(seconds)
        if degraded:
            self.degraded.inc()
        if self.origin_decisions is not None:
            self._report_origin(decision, facts)

    def _report_origin(self, decision: Decision, facts: Facts) -> None:
        origin = _origin_of(self.origins, facts)
        if origin is None:
            return
        from .origin.value import Category

        category = origin.category if origin.category in Category.ALL else Category.UNKNOWN
        action = decision.verdict.action
        self.origin_decisions.labels(action.value, category).inc()
        if self.origin_blocked is not None and action.blocks:
            asn = "unknown" if origin.asn is None else f"AS{origin.asn}"
            self.origin_blocked.labels(self._asn(asn)).inc()

    def exposition(self) -> bytes:
        """The metrics in Prometheus text format (what a ``/metrics`` endpoint serves)."""
        data: bytes = self._prom.generate_latest(self.registry)
        return data

    def asgi_app(self) -> Any:
        """A tiny ASGI app serving `exposition` (mount it at ``/metrics`` behind your auth)."""
        return self._prom.make_asgi_app(registry=self.registry)


class OpenTelemetryReporter:
    """Set ``shieldware.*`` attributes on the active OpenTelemetry span, if one is recording.

    Does nothing when ``opentelemetry-api`` is not installed, so it is safe in any default setup.
    """

    def __init__(self) -> None:
        try:
            self._trace: Any = importlib.import_module("opentelemetry.trace")
        except ImportError:
            self._trace = None

    @property
    def available(self) -> bool:
        return self._trace is not None

    def report(self, decision: Decision, facts: Facts) -> None:
        if self._trace is None:
            return
        span = self._trace.get_current_span()
        if not span.is_recording():
            return
        verdict = decision.verdict
        span.set_attributes(
            {
                "shieldware.action": verdict.action.value,
                "shieldware.rule": verdict.rule,
                "shieldware.reason": verdict.reason,
                "shieldware.score": float(decision.score),
                "shieldware.enforced": decision.enforced,
                "shieldware.degraded": decision.degraded,
            }
        )

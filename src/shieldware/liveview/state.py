"""The live view's memory: a ring of per-second buckets and a few windowed top-k counters.

Everything is bounded by construction: `window` buckets, `slots` top-k tables of `top_capacity`
entries each, `solve_samples` recent solve times. A flood of distinct clients only churns the
top-k tables (space-saving eviction), it never grows them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..facts import Facts
from ..report import challenge_outcomes, solve_seconds
from ..verdict import Action, Decision, Reason

if TYPE_CHECKING:
    from ..origin.value import OriginLookup

__all__ = ["ACTIONS", "LiveState", "LiveViewReporter", "Snapshot", "TopK"]

#: The decisive actions the charts stack, bottom to top.
ACTIONS = (Action.ALLOW, Action.THROTTLE, Action.CHALLENGE, Action.DENY)
_ACTION_INDEX = {action: i for i, action in enumerate(ACTIONS)}
_STORE_REASONS = frozenset({Reason.STORE_FAILED_OPEN, Reason.STORE_FAILED_CLOSED})
_LABEL_MAX = 80


class TopK:
    """Approximate heavy hitters in fixed memory (the space-saving algorithm).

    When full, a newcomer replaces the smallest entry and inherits its count plus one, so true
    heavy hitters are never lost while memory stays at `capacity` entries.
    """

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}

    def add(self, key: str, n: int = 1) -> None:
        key = key[:_LABEL_MAX]
        counts = self.counts
        if key in counts:
            counts[key] += n
        elif len(counts) < self.capacity:
            counts[key] = n
        else:
            smallest = min(counts, key=counts.__getitem__)
            counts[key] = counts.pop(smallest) + n

    def __len__(self) -> int:
        return len(self.counts)


@dataclass(slots=True)
class _Second:
    """Counts for one wall-clock second."""

    t: int = -1
    requests: int = 0
    actions: list[int] = field(default_factory=lambda: [0] * len(ACTIONS))
    would_block: int = 0
    issued: int = 0
    solved: int = 0
    failed: int = 0
    degraded: int = 0
    store_errors: int = 0

    def reset(self, t: int) -> None:
        self.t = t
        self.requests = self.would_block = self.issued = self.solved = self.failed = 0
        self.degraded = self.store_errors = 0
        self.actions = [0] * len(ACTIONS)


@dataclass(slots=True)
class _Slot:
    """Top-k tables for one slice of the window (a minute by default)."""

    start: int = -1
    rules: TopK = field(default_factory=TopK)
    reasons: TopK = field(default_factory=TopK)
    networks: TopK = field(default_factory=TopK)
    fingerprints: TopK = field(default_factory=TopK)
    asns: TopK = field(default_factory=TopK)  # offending networks by AS (with an origin lookup)
    orgs: TopK = field(default_factory=TopK)  # ... and by the organisation owning the AS


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the page shows, computed under the lock and rendered without it."""

    now: int
    window: int
    series: tuple[tuple[int, ...], ...]  # per second (oldest first): counts per ACTIONS entry
    requests: int
    per_action: dict[str, int]
    would_block: int
    rate_now: float
    top_rules: list[tuple[str, int]]
    top_reasons: list[tuple[str, int]]
    top_networks: list[tuple[str, int]]
    top_fingerprints: list[tuple[str, int]]
    issued: int
    solved: int
    failed: int
    solve_times: list[float]
    degraded: int
    store_errors: int
    store_entries: int | None
    mode: str
    last_store_error: float | None
    top_asns: list[tuple[str, int]] = field(default_factory=list)
    top_orgs: list[tuple[str, int]] = field(default_factory=list)
    #: An origin lookup feeds the state (the page then shows offenders by AS and organisation).
    origins: bool = False


class LiveState:
    """The bounded state behind a live view.

    :param window: seconds kept (and charted).
    :param slot_seconds: granularity of the top-k windows.
    :param top_capacity: entries per top-k table per slot.
    :param clock: wall-clock seconds (a seam for tests).
    :param origins: an origin lookup (an `OriginDB`): offending clients are also counted by AS
        and by organisation (one memoised lookup per blocked request).
    """

    def __init__(
        self,
        window: int = 300,
        *,
        slot_seconds: int = 60,
        top_capacity: int = 64,
        solve_samples: int = 512,
        clock: Callable[[], float] = time.time,
        origins: OriginLookup | None = None,
    ) -> None:
        self.window = max(10, int(window))
        self.slot_seconds = max(1, int(slot_seconds))
        self.clock = clock
        self._seconds = [_Second() for _ in range(self.window)]
        n_slots = -(-self.window // self.slot_seconds)
        cap = top_capacity
        self._slots = [
            _Slot(
                rules=TopK(cap),
                reasons=TopK(cap),
                networks=TopK(cap),
                fingerprints=TopK(cap),
                asns=TopK(cap),
                orgs=TopK(cap),
            )
            for _ in range(n_slots)
        ]
        self.origins = origins
        self._solves: deque[tuple[float, float]] = deque(maxlen=solve_samples)
        self._lock = threading.Lock()
        self.mode = "enforce"
        self.store: object | None = None
        self.last_store_error: float | None = None

    # -- feeding ---------------------------------------------------------------------------
    def record(self, decision: Decision, facts: Facts) -> None:
        """Count one decision. O(top-k capacity) at worst, under one lock."""
        now = self.clock()
        t = int(now)
        verdict = decision.verdict
        offending = verdict.action.blocks
        network = fingerprint = asn = org = None
        if offending:
            fingerprint = _fingerprint(decision, facts)
            network = facts.client.network()
            if self.origins is not None:
                asn, org = _origin_labels(self.origins, facts)
        with self._lock:
            self.mode = "enforce" if decision.enforced else "shadow"
            sec = self._second(t)
            sec.requests += 1
            sec.actions[_ACTION_INDEX.get(verdict.action, 0)] += 1
            if offending and not decision.enforced:
                sec.would_block += 1
            slot = self._slot(t)
            if verdict.rule != "default/allow":
                slot.rules.add(verdict.rule)
                slot.reasons.add(verdict.reason)
            if network is not None:
                slot.networks.add(network)
            if fingerprint:
                slot.fingerprints.add(fingerprint)
            if asn is not None:
                slot.asns.add(asn)
            if org is not None:
                slot.orgs.add(org)
            for v in decision.trail:
                if v.degraded:
                    sec.degraded += 1
                if v.reason in _STORE_REASONS:
                    sec.store_errors += 1
                    self.last_store_error = now
                for outcome in challenge_outcomes(v):
                    if outcome == "issued":
                        sec.issued += 1
                    elif outcome == "solved":
                        sec.solved += 1
                        seconds = solve_seconds(v)
                        if seconds is not None:
                            self._solves.append((now, seconds))
                    else:
                        sec.failed += 1

    def _second(self, t: int) -> _Second:
        sec = self._seconds[t % self.window]
        if sec.t != t:
            sec.reset(t)
        return sec

    def _slot(self, t: int) -> _Slot:
        start = t - t % self.slot_seconds
        slot = self._slots[(start // self.slot_seconds) % len(self._slots)]
        if slot.start != start:
            slot.start = start
            for table in (
                slot.rules,
                slot.reasons,
                slot.networks,
                slot.fingerprints,
                slot.asns,
                slot.orgs,
            ):
                table.counts.clear()
        return slot

    # -- reading ---------------------------------------------------------------------------
    def snapshot(self, top: int = 8) -> Snapshot:
        """A consistent copy of the last `window` seconds."""
        now = int(self.clock())
        oldest = now - self.window + 1
        with self._lock:
            series = []
            totals = _Second()
            for t in range(oldest, now + 1):
                sec = self._seconds[t % self.window]
                if sec.t != t:
                    series.append((0,) * len(ACTIONS))
                    continue
                series.append(tuple(sec.actions))
                totals.requests += sec.requests
                totals.would_block += sec.would_block
                totals.issued += sec.issued
                totals.solved += sec.solved
                totals.failed += sec.failed
                totals.degraded += sec.degraded
                totals.store_errors += sec.store_errors
                for i, n in enumerate(sec.actions):
                    totals.actions[i] += n
            live = [s for s in self._slots if s.start + self.slot_seconds > now - self.window]
            tops = [
                _merge([getattr(s, name) for s in live], top)
                for name in ("rules", "reasons", "networks", "fingerprints", "asns", "orgs")
            ]
            solves = [s for ts, s in self._solves if ts > now - self.window]
            last_error = self.last_store_error
            mode = self.mode
        recent = series[-6:-1] or series[-1:]  # the last complete seconds
        rate_now = sum(sum(row) for row in recent) / max(1, len(recent))
        return Snapshot(
            now=now,
            window=self.window,
            series=tuple(series),
            requests=totals.requests,
            per_action={a.value: totals.actions[i] for i, a in enumerate(ACTIONS)},
            would_block=totals.would_block,
            rate_now=rate_now,
            top_rules=tops[0],
            top_reasons=tops[1],
            top_networks=tops[2],
            top_fingerprints=tops[3],
            issued=totals.issued,
            solved=totals.solved,
            failed=totals.failed,
            solve_times=sorted(solves),
            degraded=totals.degraded,
            store_errors=totals.store_errors,
            store_entries=_size(self.store),
            mode=mode,
            last_store_error=last_error,
            top_asns=tops[4],
            top_orgs=tops[5],
            origins=self.origins is not None,
        )


def _merge(tables: Iterable[TopK], top: int) -> list[tuple[str, int]]:
    merged: dict[str, int] = {}
    for table in tables:
        for key, n in table.counts.items():
            merged[key] = merged.get(key, 0) + n
    return sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def _origin_labels(origins: OriginLookup, facts: Facts) -> tuple[str, str]:
    """(``"AS16509 Amazon.com"``, ``"Amazon.com"``) for a client; "unknown" where not known."""
    try:
        origin = origins.origin_for(facts.client)
    except Exception:  # the live view never fails a request
        return "unknown", "unknown"
    org = (origin.org or "").strip()[:_LABEL_MAX]
    if origin.asn is None:
        return "unknown", org or "unknown"
    asn = f"AS{origin.asn} {org}".strip()
    return asn, org or asn


def _size(store: object | None) -> int | None:
    if store is None:
        return None
    try:
        return len(store)  # type: ignore[arg-type]
    except Exception:
        return None


def _fingerprint(decision: Decision, facts: Facts) -> str:
    """What the offending client looked like, best source first.

    ``detail["fingerprint"]`` (a hash a layer computed), else the signals a scoring layer fired
    (``detail["signals"]``), else the head of the user agent.
    """
    for v in decision.trail:
        value: Any = v.detail.get("fingerprint")
        if isinstance(value, str) and value:
            return value
    for v in decision.trail:
        signals: Any = v.detail.get("signals")
        if isinstance(signals, list | tuple) and signals:
            names = sorted(
                str(s[0] if isinstance(s, list | tuple) and s else s) for s in signals[:16]
            )
            return "signals: " + ", ".join(names[:4])
    ua = facts.user_agent.strip()
    return "ua: " + (ua[:60] if ua else "(none)")


class LiveViewReporter:
    """Feeds a `LiveState` from the chain: ``Shield(reporters=[live.reporter])``."""

    def __init__(self, state: LiveState | None = None) -> None:
        self.state = state or LiveState()

    def __repr__(self) -> str:
        return f"LiveViewReporter(window={self.state.window})"

    def report(self, decision: Decision, facts: Facts) -> None:
        self.state.record(decision, facts)

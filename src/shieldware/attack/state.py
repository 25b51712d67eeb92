"""The under-attack switch: one record in the store, read by each worker at most twice a second.

The record (`AttackState`) says whether the switch is on, who flipped it, when, why, and until
when. It lives under one key (`STATE_KEY`) as JSON text (`SetText` / `GetText`), so on Redis every
worker and host sees a flip at its next refresh, and on a memory store the process sees it at
once. A `Switch` caches the record per process: the request path reads a Python attribute and,
at most every `refresh` seconds, the store (one read per refresh, never one per request).

Every flip is reported: the process that flips tells its Shield's reporters (``source="flip"``);
every other process tells its own when its refresh sees the change (``source="observed"``), and
an ``until`` that passes is reported by each process as ``source="expired"``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from ..errors import StoreError
from ..ops import GetText, SetText
from ..stores import Store

__all__ = [
    "OFF",
    "STATE_KEY",
    "AttackEvent",
    "AttackState",
    "Switch",
    "parse_until",
    "read_state",
    "write_state",
]

log = logging.getLogger("shieldware")

#: The store key of the switch (the store's own prefix comes before it).
STATE_KEY = "sw:attack:state"
#: Seconds between two reads of the switch by one process.
DEFAULT_REFRESH = 0.5
_REASON_MAX = 200
_BY_MAX = 80
#: Flips a process remembers (for the live view).
_RECENT = 20

Source = Literal["flip", "observed", "expired"]


@dataclass(frozen=True, slots=True)
class AttackState:
    """The switch's record: on or off, who flipped it (`by`), when (`at`, epoch seconds), why
    (`reason`), and until when (`until`, epoch seconds; None: until turned off)."""

    on: bool
    reason: str = ""
    by: str = ""
    at: float = 0.0
    until: float | None = None

    def active(self, now: float) -> bool:
        """On, and not past its `until`."""
        return self.on and (self.until is None or now < self.until)

    def to_text(self) -> str:
        return json.dumps(
            {
                "on": self.on,
                "reason": self.reason,
                "by": self.by,
                "at": self.at,
                "until": self.until,
            },
            separators=(",", ":"),
            ensure_ascii=True,
        )

    @classmethod
    def from_text(cls, text: str | None) -> AttackState | None:
        """The record in `text`, or None when it is absent or unreadable (never raises)."""
        if not text:
            return None
        try:
            data = json.loads(text)
            on, reason, by, at, until = (
                data["on"],
                data.get("reason", ""),
                data.get("by", ""),
                data.get("at", 0.0),
                data.get("until"),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        if not isinstance(on, bool) or not isinstance(reason, str) or not isinstance(by, str):
            return None
        if not _number(at) or not (until is None or _number(until)):
            return None
        return cls(
            on,
            reason[:_REASON_MAX],
            by[:_BY_MAX],
            float(at),
            None if until is None else float(until),
        )

    def describe(self, now: float | None = None) -> str:
        """One line for people: ``ON since 12:00:03 UTC by cli:ann (flood), until 13:00 UTC``."""
        now = time.time() if now is None else now
        active = self.active(now)
        head = "ON" if active else "off"
        if not self.at:
            return head + " (never flipped)"
        parts = [f"{head} since {_clock(self.at)} by {self.by or '?'}"]
        if self.reason:
            parts.append(f"({self.reason})")
        if self.on and self.until is not None:
            parts.append(("until " if active else "expired at ") + _clock(self.until))
        return " ".join(parts)


#: The state of a store nobody flipped yet.
OFF = AttackState(False)


@dataclass(frozen=True, slots=True)
class AttackEvent:
    """A flip seen by one process: the record, whether the attack profile now runs, and how this
    process learnt of it (it flipped, it observed another's flip, or an ``until`` passed)."""

    state: AttackState
    active: bool
    source: Source
    seen_at: float

    def as_dict(self) -> dict[str, Any]:
        s = self.state
        return {
            "active": self.active,
            "source": self.source,
            "on": s.on,
            "by": s.by,
            "reason": s.reason,
            "at": s.at,
            "until": s.until,
            "seen_at": self.seen_at,
        }


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _clock(epoch: float) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))
    except (OSError, OverflowError, ValueError):
        return f"{epoch:.0f} (epoch seconds)"


def parse_until(value: str | float | datetime | timedelta | None, now: float) -> float | None:
    """An ``until`` as epoch seconds.

    Accepts None, a `datetime` (naive means UTC), a `timedelta` (from now), a number (epoch
    seconds), or text: a duration (``"90s"``, ``"15m"``, ``"2h"``, ``"1d"``) or an ISO 8601 time.
    Raises `ValueError` for anything else, or for a time that is not in the future.
    """
    if value is None:
        return None
    if isinstance(value, timedelta):
        until = now + value.total_seconds()
    elif isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        until = moment.timestamp()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        until = float(value)
    elif isinstance(value, str):
        until = _parse_text(value.strip(), now)
    else:
        raise ValueError(f"cannot read an until from {value!r}")
    if not math.isfinite(until) or until <= now:
        raise ValueError("until must be in the future")
    if until > now + MAX_UNTIL:
        raise ValueError("until must be within ten years")
    return until


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: The furthest an ``until`` may lie ahead (ten years).
MAX_UNTIL = 10 * 365 * 86400


def _parse_text(text: str, now: float) -> float:
    if len(text) >= 2 and text[-1] in _UNITS and text[:-1].replace(".", "", 1).isdigit():
        return now + float(text[:-1]) * _UNITS[text[-1]]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"until wants a duration (90s, 15m, 2h, 1d) or an ISO time, not {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def new_state(
    on: bool, *, reason: str, by: str, until: str | float | datetime | timedelta | None, now: float
) -> AttackState:
    """A record to write (reason and author trimmed; `until` only for an ON)."""
    return AttackState(
        on,
        str(reason)[:_REASON_MAX],
        str(by)[:_BY_MAX],
        now,
        parse_until(until, now) if on else None,
    )


def read_state(store: Store) -> AttackState:
    """The record in `store` (`OFF` when nobody flipped yet); `StoreError` when unreachable."""
    return AttackState.from_text(store.run(GetText(STATE_KEY))) or OFF


async def aread_state(store: Store) -> AttackState:
    return AttackState.from_text(await store.arun(GetText(STATE_KEY))) or OFF


def write_state(store: Store, state: AttackState) -> None:
    """Write the record (every worker sees it at its next refresh)."""
    store.run(SetText(STATE_KEY, state.to_text()))


async def awrite_state(store: Store, state: AttackState) -> None:
    await store.arun(SetText(STATE_KEY, state.to_text()))


Listener = Callable[[AttackEvent], None]


class Switch:
    """One process's view of the switch: the compiled chain to run, refreshed from the store.

    The request path reads `steps` (after `due`, one refresh first). A store that cannot be read
    leaves the last known state in force and is tried again after `refresh` seconds.

    :param store: where the record lives (a `FallbackStore` is read through its primary, so an
        outage keeps the last known state rather than reading "off" from local memory).
    :param normal: / `attack`: the two compiled chains.
    :param listeners: called with every `AttackEvent` this process sees (the Shield's reporters).
    :param refresh: seconds between two reads.
    :param clock: wall-clock seconds (`until` and `at` are wall-clock times).
    :param monotonic: the refresh timer.
    """

    def __init__(
        self,
        store: Store,
        normal: tuple[Any, ...],
        attack: tuple[Any, ...],
        *,
        listeners: Callable[[], Iterable[Listener]] = tuple,
        refresh: float = DEFAULT_REFRESH,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._read_store: Store = getattr(store, "primary", store)
        self.normal = normal
        self.attack = attack
        self.listeners = listeners
        self.refresh_every = refresh
        self.clock = clock
        self.monotonic = monotonic
        self.inline = bool(getattr(self._read_store, "runs_inline", False))
        #: The compiled chain the request path runs now.
        self.steps = normal
        #: The last record read (or written) by this process.
        self.state = OFF
        #: Whether the attack chain runs.
        self.active = False
        #: Monotonic time of the next read (0: read on the first request).
        self.due = 0.0
        #: Flips this process saw, newest last (bounded).
        self.recent: deque[AttackEvent] = deque(maxlen=_RECENT)
        #: Set by an `AttackMonitor` attached to the same Shield (for the live view and explain).
        self.monitor: Any = None
        self._forced: bool | None = None

    def __repr__(self) -> str:
        return f"Switch({self.state.describe(self.clock())!r}, refresh={self.refresh_every})"

    # -- the request path ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the record now (the sync request path calls this when `due`)."""
        self.due = self.monotonic() + self.refresh_every
        try:
            state = read_state(self._read_store)
        except StoreError as exc:
            log.warning("shieldware: the under-attack switch could not be read: %s", exc)
            return
        self._apply(state, "observed")

    async def arefresh(self) -> None:
        """`refresh` for async drivers (the next due time is claimed first: one read at once)."""
        self.due = self.monotonic() + self.refresh_every
        try:
            if self.inline:
                state = read_state(self._read_store)
            else:
                state = await aread_state(self._read_store)
        except StoreError as exc:
            log.warning("shieldware: the under-attack switch could not be read: %s", exc)
            return
        self._apply(state, "observed")

    # -- flipping ------------------------------------------------------------------------------
    def set(
        self,
        on: bool,
        *,
        reason: str = "",
        by: str = "python",
        until: str | float | datetime | timedelta | None = None,
    ) -> AttackState:
        """Write a flip to the store and apply it here at once; `StoreError` if it cannot."""
        state = new_state(on, reason=reason, by=by, until=until, now=self.clock())
        # Written to the shared store itself: a `FallbackStore` would keep it in this process
        # only, and the other workers would never follow.
        write_state(self._read_store, state)
        self._apply(state, "flip")
        return state

    async def aset(
        self,
        on: bool,
        *,
        reason: str = "",
        by: str = "python",
        until: str | float | datetime | timedelta | None = None,
    ) -> AttackState:
        """`set` for async code."""
        state = new_state(on, reason=reason, by=by, until=until, now=self.clock())
        await awrite_state(self._read_store, state)
        self._apply(state, "flip")
        return state

    def status(self) -> AttackState:
        """The record in the store now (not the cached one); `StoreError` if unreachable."""
        state = read_state(self._read_store)
        self._apply(state, "observed")
        return state

    def force(self, on: bool | None) -> None:
        """Run the attack chain (True) or the normal one (False) in this process only, whatever
        the store says; None goes back to the store. For ``shieldware explain``, never served."""
        self._forced = on
        self.due = math.inf if on is not None else 0.0
        self.steps = self.normal if not on else self.attack
        if on is not None:
            self.active = on

    # -- internals -----------------------------------------------------------------------------
    def _apply(self, state: AttackState, source: Source) -> None:
        if self._forced is not None:
            return
        now = self.clock()
        active = state.active(now)
        changed = state != self.state or active != self.active
        if not changed:
            return
        if source == "observed" and state == self.state and not active:
            source = "expired"
        was_active = self.active
        self.state = state
        self.active = active
        self.steps = self.attack if active else self.normal
        event = AttackEvent(state, active, source, now)
        self.recent.append(event)
        level = logging.WARNING if active != was_active else logging.INFO
        log.log(
            level,
            "shieldware: under-attack switch %s (%s)",
            state.describe(now),
            source,
            extra={"shieldware_attack": event.as_dict()},
        )
        for listener in self.listeners():
            try:
                listener(event)
            except Exception:
                log.exception("shieldware: an under-attack listener failed")

"""Warnings an attacker can trigger per request, logged at most once a second each.

A flood that overloads the store or sends unreadable heads would otherwise write one log line per
request: the log becomes the next thing to fall over. Each kind of message (its template and the
rule it names) is written at once the first time, then at most once per interval, saying how many
were held back in between.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["QuietLog"]


class QuietLog:
    """A logger front that rate-limits repeated messages by (template, key).

    :param logger: where the lines go.
    :param interval: seconds between two lines of one kind.
    :param clock: a monotonic clock (tests pass their own).
    :param kinds: the most kinds remembered; beyond it, lines are written unthrottled.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        kinds: int = 1024,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self._clock = clock
        self._kinds = kinds
        self._last: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def log(
        self, level: int, key: str, msg: str, *args: object, exc_info: BaseException | None = None
    ) -> None:
        """Log ``msg % args`` unless a line of this kind went out less than `interval` ago."""
        if not self.logger.isEnabledFor(level):
            return
        kind = (msg, key)
        now = self._clock()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last[0] < self.interval:
                self._last[kind] = (last[0], last[1] + 1)
                return
            held = last[1] if last is not None else 0
            if last is not None or len(self._last) < self._kinds:
                self._last[kind] = (now, 0)
        if held and last is not None:
            msg += " (and %d more like it in the last %.0f s)"
            args = (*args, held, now - last[0])
        self.logger.log(level, msg, *args, exc_info=exc_info)

    def warning(self, key: str, msg: str, *args: object) -> None:
        self.log(logging.WARNING, key, msg, *args)

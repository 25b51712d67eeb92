"""`OriginDB`: address to `Origin`, from local files only, memoised, refreshed without a restart.

Request path: one dict look-up for a client seen before; a bisection (compact files) or a tree
walk (``.mmdb``) for a new one. Every `check_every` seconds one request also looks at the files'
modification stamps; when one changed, a short-lived thread loads the new file while requests go
on with the old tables, then swaps it in (with a fresh memo) in one assignment. A file that fails
to load is logged and the old tables stay: a bad refresh never turns into a 500.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from ..errors import ConfigurationError
from .compact import MAGIC, CompactSource
from .mmdb import MMDB_MARKER, MaxMindSource
from .networks import ASNLists
from .value import UNKNOWN, Category, IPAddress, Origin, Record

__all__ = ["OriginDB", "Source", "open_source"]

log = logging.getLogger("shieldware.origin")

_MEMO = 65536
_TAIL = 128 * 1024  # the MaxMind metadata marker sits within the last 128 KiB


class Source(Protocol):
    """One origin data file: answers with what it knows about an address."""

    path: str
    kind: str

    def record(self, address: IPAddress) -> Record | None: ...

    def close(self) -> None: ...


def open_source(path: str | Path) -> Source:
    """Open a compact database or a MaxMind ``.mmdb``, told apart by their content."""
    try:
        with open(path, "rb") as stream:
            start = stream.read(len(MAGIC))
            size = stream.seek(0, os.SEEK_END)
            stream.seek(max(0, size - _TAIL))
            tail = stream.read()
    except OSError as exc:
        raise ConfigurationError(f"cannot read origin database {path}: {exc}") from exc
    if start == MAGIC:
        return CompactSource(path)
    if MMDB_MARKER in tail:
        return MaxMindSource(path)
    raise ConfigurationError(
        f"{path} is neither a shieldware origin database nor a MaxMind .mmdb file"
    )


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class _State(NamedTuple):
    """What one generation of data is: swapped as a whole, so readers never see half of it."""

    sources: tuple[Source, ...]
    stamps: tuple[tuple[int, int, int] | None, ...]
    memo: dict[IPAddress, Origin]


class OriginDB:
    """Looks up where addresses come from, offline.

    :param path: the ASN database: a compact file (``shieldware origin build``) or an ``.mmdb``
        (GeoLite2-ASN, IPinfo Lite, DB-IP Lite ...).
    :param country: an optional second database that supplies countries (GeoLite2-Country ...).
        A database that holds both (IPinfo Lite, a compact file built with country CSVs) needs
        no second one.
    :param lists: how ASNs are classified (`ASNLists`: the shipped hosting list by default).
    :param memo_size: addresses whose origin is remembered (oldest forgotten first).
    :param check_every: seconds between looks at the files' modification stamps; None never
        looks (call `reload` yourself).
    :param background: reload changed files on a short-lived thread (default); False reloads on
        the request that notices the change.
    :param clock: the monotonic clock (a seam for tests).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        country: str | Path | None = None,
        lists: ASNLists | None = None,
        memo_size: int = _MEMO,
        check_every: float | None = 60.0,
        background: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if memo_size < 1:
            raise ConfigurationError(f"memo_size must be at least 1, not {memo_size}")
        if check_every is not None and check_every < 0:
            raise ConfigurationError(f"check_every must be >= 0 or None, not {check_every}")
        self.paths = tuple(str(p) for p in (path, country) if p is not None)
        self.lists = lists or ASNLists()
        self.memo_size = memo_size
        self.check_every = check_every
        self.background = background
        self._clock = clock
        self._state = self._load()  # raises ConfigurationError: bad files fail at construction
        self._next_check = clock() + (check_every or 0.0)
        self._lock = threading.Lock()
        self._loading: threading.Thread | None = None
        self._failed: tuple[tuple[int, int, int] | None, ...] | None = None
        #: The last reload error, or None (shown by the CLI and for health checks).
        self.last_error: str | None = None

    def __repr__(self) -> str:
        return f"OriginDB({', '.join(self.paths)}, {self.lists!r})"

    # -- the request path ------------------------------------------------------------------
    def origin_of(self, address: IPAddress | None) -> Origin:
        """The origin of `address` (`UNKNOWN` for None or an address no source knows)."""
        if self.check_every is not None and self._clock() >= self._next_check:
            self._poll()
        if address is None:
            return UNKNOWN
        state = self._state
        memo = state.memo
        origin = memo.get(address)
        if origin is not None:
            return origin
        origin = self._lookup(state.sources, address)
        if len(memo) >= self.memo_size:
            # forget the oldest; another thread may have done it first
            with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                del memo[next(iter(memo))]
        memo[address] = origin
        return origin

    def _lookup(self, sources: tuple[Source, ...], address: IPAddress) -> Origin:
        if address.version == 6:
            mapped = address.ipv4_mapped  # ::ffff:a.b.c.d is the IPv4 client a.b.c.d
            if mapped is not None:
                address = mapped
        if len(sources) == 1:  # the common case: one file knows everything it knows
            record = sources[0].record(address)
            if record is None:
                return UNKNOWN
            category = self.lists.category(record.asn, record.category)
            return Origin(record.asn, record.org, category, record.country)
        asn = org = country = stated = None
        for source in sources:
            record = source.record(address)
            if record is None:
                continue
            if asn is None and record.asn is not None:
                asn, org = record.asn, record.org
            country = country or record.country
            stated = stated or record.category
        if asn is None and country is None and stated is None:
            return UNKNOWN
        category = self.lists.category(asn, stated)
        return Origin(asn, org, category or Category.UNKNOWN, country)

    # -- refresh ---------------------------------------------------------------------------
    def _load(self) -> _State:
        stamps = tuple(_stamp(p) for p in self.paths)
        sources = tuple(open_source(p) for p in self.paths)
        return _State(sources, stamps, {})

    def _poll(self) -> None:
        """Look at the files' stamps (at most every `check_every` seconds); reload on a change."""
        with self._lock:
            now = self._clock()
            if now < self._next_check:
                return  # another request looked meanwhile
            self._next_check = now + (self.check_every or 0.0)
            if self._loading is not None and self._loading.is_alive():
                return
            stamps = tuple(_stamp(p) for p in self.paths)
            if stamps in (self._state.stamps, self._failed):
                return
            if not self.background:
                self._swap()
                return
            self._loading = threading.Thread(
                target=self._swap, name="shieldware-origin-reload", daemon=True
            )
            self._loading.start()

    def _swap(self) -> bool:
        stamps = tuple(_stamp(p) for p in self.paths)
        try:
            state = self._load()
        except ConfigurationError as exc:
            self._failed = stamps
            self.last_error = str(exc)
            log.warning("shieldware: origin data not reloaded, keeping the old: %s", exc)
            return False
        self._state, self._failed, self.last_error = state, None, None
        log.info("shieldware: origin data reloaded from %s", ", ".join(self.paths))
        # The old sources are left to the garbage collector: a request may still be reading them.
        return True

    def reload(self) -> bool:
        """Load the files now, in this thread; False (and the old data kept) when that fails."""
        return self._swap()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a background reload in progress, if any (tests, shutdown)."""
        loading = self._loading
        if loading is not None:
            loading.join(timeout)

    # -- introspection ---------------------------------------------------------------------
    def info(self) -> Mapping[str, Any]:
        """Provenance of the data in use: files, their headers, the ASN list's date and source."""
        files = []
        for source in self._state.sources:
            header = getattr(source, "header", {})
            files.append({"path": source.path, "kind": source.kind, **dict(header)})
        return {"files": files, "hosting list": dict(self.lists.provenance)}

    def close(self) -> None:
        """Release the files (MaxMind readers hold a memory map)."""
        self.wait()
        for source in self._state.sources:
            source.close()

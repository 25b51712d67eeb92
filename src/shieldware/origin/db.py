"""`OriginDB`: client to `Origin`, from local files only, memoised, refreshed without a restart.

Request path (`OriginDB.origin_for`): one dict probe keyed by the client's network (its address
for IPv4, its /64 for IPv6: a string the `Client` already holds) for a network seen before; a
bisection (compact files) or a tree walk (``.mmdb``) for a new one. No route is longer than /48,
so one answer per /64 is sound, and an IPv6 client rotating inside its /64 stays one memo entry.

Every `check_every` seconds one request also looks at the files' modification stamps; when one
changed, a short-lived thread loads the new files while requests go on with the old tables, then
swaps them in (with a fresh memo) in one assignment. Loads are serialised, so an older load never
replaces a newer one. A file that fails to load is logged and the old tables stay: a bad refresh
never turns into a 500.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from ..clientip import Client, IPAddress, parse_ip
from ..errors import ConfigurationError
from ..memo import Memo
from .compact import MAGIC, CompactSource
from .mmdb import MMDB_MARKER, MaxMindSource
from .networks import ASNLists
from .value import UNKNOWN, Origin, Record

__all__ = ["OriginDB", "Source", "open_source"]

log = logging.getLogger("shieldware.origin")

_MEMO = 65536
_TAIL = 128 * 1024  # the MaxMind metadata marker sits within the last 128 KiB
#: The memo key: the bare address for IPv4, the /64 for IPv6 (what `Client.network` memoises).
_V4, _V6 = 32, 64

Stamp = tuple[int, int, int] | None


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


def _stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class _State(NamedTuple):
    """What one generation of data is: swapped as a whole, so readers never see half of it."""

    sources: tuple[Source, ...]
    stamps: tuple[Stamp, ...]
    memo: Memo[str, Origin]


class OriginDB:
    """Looks up where clients come from, offline.

    :param path: the ASN database: a compact file (``shieldware origin build``) or an ``.mmdb``
        (GeoLite2-ASN, IPinfo Lite, DB-IP Lite ...).
    :param country: an optional second database that supplies countries (GeoLite2-Country ...).
        A database that holds both (IPinfo Lite, a compact file built with country CSVs) needs
        no second one.
    :param lists: how ASNs are classified (`ASNLists`: the shipped hosting list by default).
    :param memo_size: networks (IPv4 addresses, IPv6 /64s) whose origin is remembered (oldest
        forgotten first).
    :param check_every: seconds (more than 0) between looks at the files' modification stamps;
        None never looks (call `reload` yourself).
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
        if check_every is not None and not check_every > 0:
            # 0 would stat every file on every request: say None and call reload() instead
            raise ConfigurationError(f"check_every must be positive or None, not {check_every}")
        self.paths = tuple(str(p) for p in (path, country) if p is not None)
        self.lists = lists or ASNLists()
        self.memo_size = memo_size
        self.check_every = check_every
        self.background = background
        self._clock = clock
        self._state = self._load(self._stamps())  # ConfigurationError: bad files fail here
        self._next_check = clock() + (check_every or 0.0)
        self._poll_lock = threading.Lock()  # one request at a time looks at the stamps
        self._load_lock = threading.Lock()  # one load at a time: an older never replaces a newer
        self._loading: threading.Thread | None = None
        self._failed: tuple[Stamp, ...] | None = None
        #: The last reload error, or None (shown by the CLI and for health checks).
        self.last_error: str | None = None

    def __repr__(self) -> str:
        return f"OriginDB({', '.join(self.paths)}, {self.lists!r})"

    # -- the request path ------------------------------------------------------------------
    def origin_for(self, client: Client) -> Origin:
        """The origin of `client` (`UNKNOWN` without an address), memoised per network."""
        if self.check_every is not None and self._clock() >= self._next_check:
            self._poll()
        network = client.network(_V4, _V6)
        if network is None:
            return UNKNOWN
        state = self._state
        origin = state.memo.get(network)
        if origin is None:
            origin = state.memo.put(network, self._lookup(state.sources, client.ip))
        return origin

    def origin_of(self, address: IPAddress | str | None) -> Origin:
        """The origin of one address (or its text), looked up exactly and not remembered.

        For the ``origin lookup`` command and one-off questions; requests use `origin_for`.
        The address is read as `parse_ip` reads it (IPv4-mapped IPv6 is its IPv4 address).
        """
        if self.check_every is not None and self._clock() >= self._next_check:
            self._poll()
        ip = None if address is None else parse_ip(str(address))
        return self._lookup(self._state.sources, ip)

    def _lookup(self, sources: tuple[Source, ...], address: IPAddress | None) -> Origin:
        if address is None:
            return UNKNOWN
        asn = org = country = stated = None
        for source in sources:  # the first source that names an AS wins it; any may add a country
            record = source.record(address)
            if record is None:
                continue
            if asn is None and record.asn is not None:
                asn, org = record.asn, record.org
            country = country or record.country
            stated = stated or record.category
        if asn is None and country is None and stated is None:
            return UNKNOWN
        return Origin(asn, org, self.lists.category(asn, stated), country)

    # -- refresh ---------------------------------------------------------------------------
    def _stamps(self) -> tuple[Stamp, ...]:
        return tuple(_stamp(p) for p in self.paths)

    def _load(self, stamps: tuple[Stamp, ...]) -> _State:
        """Open every file; `stamps` were taken just before, so a later change is seen later."""
        sources = tuple(open_source(p) for p in self.paths)
        return _State(sources, stamps, Memo(self.memo_size))

    def _poll(self) -> None:
        """Look at the files' stamps (at most every `check_every` seconds); reload on a change."""
        with self._poll_lock:
            now = self._clock()
            if now < self._next_check:
                return  # another request looked meanwhile
            self._next_check = now + (self.check_every or 0.0)
            if self._loading is not None and self._loading.is_alive():
                return
            if self._stamps() in (self._state.stamps, self._failed):
                return
            if not self.background:
                self._swap()
                return
            self._loading = threading.Thread(
                target=self._swap, name="shieldware-origin-reload", daemon=True
            )
            self._loading.start()

    def _swap(self) -> bool:
        """Load the files and swap them in; one load at a time, each stats the files once."""
        with self._load_lock:
            stamps = self._stamps()
            try:
                state = self._load(stamps)
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
        """Load the files now, in this thread; False (and the old data kept) when that fails.

        Waits for a load in progress first, so the newest files are the ones that stay.
        """
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

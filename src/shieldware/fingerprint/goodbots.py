"""Verified good bots: a UA claim is only believed with proof from the network.

Proof is either the client address inside the operator's published ranges (a dated snapshot
shipped in ``data/goodbots.json``, refreshable at runtime), or forward-confirmed reverse DNS
(FCrDNS): the address's PTR name ends in the operator's domain *and* that name resolves back to
the address.

DNS is slow and a layer's flow cannot await, so lookups never happen on the request path. A miss
schedules the lookup on a small background thread pool and answers ``unverifiable`` (pending)
at once; the result lands in a bounded TTL cache and later requests from that address get
``verified`` or ``failed``. The resolver is pluggable (tests use a fake; production can wrap an
async resolver). The pending queue is bounded, so a flood of fake claims cannot queue unbounded
work: beyond the bound, claims simply stay ``unverifiable``.
"""

from __future__ import annotations

import json
import queue
import re
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, Protocol

from cachetools import LRUCache, TTLCache

from ..clientip import IPAddress, Networks
from ..errors import ConfigurationError

__all__ = [
    "BotVerifier",
    "GoodBot",
    "Outcome",
    "Resolver",
    "SocketResolver",
    "TemporaryLookupError",
    "Verification",
    "bot_asns",
    "builtin_good_bots",
]

Outcome = Literal["verified", "failed", "unverifiable"]


class TemporaryLookupError(Exception):
    """A resolver could not answer now (timeout, SERVFAIL); the claim stays unverifiable."""


class Resolver(Protocol):
    """Blocking DNS lookups, run off the request path by `BotVerifier`."""

    def reverse(self, address: str) -> Sequence[str]:
        """PTR names of `address` ([] when there are none)."""
        ...

    def forward(self, name: str) -> Sequence[str]:
        """Addresses `name` resolves to ([] when none)."""
        ...


class SocketResolver:
    """The system resolver through the socket module (blocking; fine on worker threads)."""

    def reverse(self, address: str) -> Sequence[str]:
        try:
            name, aliases, _ = socket.gethostbyaddr(address)
        except socket.herror:
            return []
        except (socket.gaierror, OSError) as exc:
            raise TemporaryLookupError(str(exc)) from exc
        return [name, *aliases]

    def forward(self, name: str) -> Sequence[str]:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except socket.gaierror as exc:
            if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
                return []
            raise TemporaryLookupError(str(exc)) from exc
        return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class GoodBot:
    """A crawler that can prove who it is.

    :param name: short name (``"googlebot"``).
    :param category: ``search``, ``ai-crawler`` or ``crawler`` for crawlers that fetch on their
        own schedule; ``ai-user`` or ``user-fetcher`` for fetchers acting for whoever asks them
        (agents, feed readers, previews, testing tools). Anyone can drive the latter, so proving
        who runs them says nothing about who sent them: only the categories in
        `Fingerprint(allow_verified=...)` (search crawlers by default) are allowed outright.
    :param ua: regex a user agent must match to claim this bot.
    :param networks: published ranges (may be empty). In the data file, ``networks_of`` names an
        earlier bot whose ranges this one shares (one `Networks`, parsed and updated once).
    :param rdns: PTR name suffixes accepted by FCrDNS (may be empty).
    :param source: where the ranges and suffixes came from; ``date`` when.
    """

    name: str
    category: str
    ua: re.Pattern[str]
    networks: Networks
    rdns: tuple[str, ...]
    source: str
    date: str

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], earlier: Mapping[str, GoodBot] | None = None
    ) -> GoodBot:
        shared = data.get("networks_of")
        if shared is not None:
            if earlier is None or shared not in earlier:
                raise ConfigurationError(f"good bot {data['name']!r}: no earlier bot {shared!r}")
            networks = earlier[shared].networks
        else:
            networks = Networks(data.get("networks", ()))
        return cls(
            name=str(data["name"]),
            category=str(data.get("category", "search")),
            ua=re.compile(str(data["ua"])),
            networks=networks,
            rdns=tuple(str(s).lower() for s in data.get("rdns", ())),
            source=str(data.get("source", "")),
            date=str(data.get("date", "")),
        )


@dataclass(frozen=True, slots=True)
class Verification:
    """The answer for one claim: outcome, how it was reached, and the bot."""

    outcome: Outcome
    method: str  # "ranges", "fcrdns", "pending", "no-method", "busy", "no-address", "dns-error"
    bot: GoodBot


_BUILTIN: list[GoodBot] = []


def builtin_good_bots() -> tuple[GoodBot, ...]:
    """The shipped, dated snapshot of verifiable crawlers (``data/goodbots.json``)."""
    if not _BUILTIN:
        text = resources.files(__package__).joinpath("data/goodbots.json").read_text("utf-8")
        by_name: dict[str, GoodBot] = {}
        for data in json.loads(text)["bots"]:
            bot = by_name[str(data["name"])] = GoodBot.from_dict(data, by_name)
            _BUILTIN.append(bot)
    return tuple(_BUILTIN)


def bot_asns(
    extra: Mapping[str, Iterable[int | str]] | None = None,
) -> tuple[dict[str, frozenset[int]], dict[str, Any]]:
    """The ASNs each verifiable bot's operator crawls from, and the provenance of the snapshot.

    Read from ``data/goodbot-asns.json`` (only when asked: the origin signals need it). `extra`
    maps bot names to ASNs that replace the shipped ones (an empty list: no expectation).
    """
    from ..origin.value import parse_asn

    text = resources.files(__package__).joinpath("data/goodbot-asns.json").read_text("utf-8")
    data = json.loads(text)
    table = {
        str(name): frozenset(parse_asn(a) for a in entry["asns"])
        for name, entry in data["bots"].items()
    }
    errors = []
    for name, asns in (extra or {}).items():
        try:
            table[name] = frozenset(parse_asn(a) for a in asns)
        except (TypeError, ValueError) as exc:
            errors.append(f"{name}: {exc}")
    if errors:
        raise ConfigurationError("bot_asns: " + "; ".join(errors))
    table = {name: asns for name, asns in table.items() if asns}
    provenance = {k: data[k] for k in ("name", "date", "source", "licence") if k in data}
    return table, provenance


class BotVerifier:
    """Answers "is this claimed crawler real?" without ever blocking the caller.

    :param bots: the verifiable bots (the shipped snapshot by default).
    :param resolver: DNS lookups for FCrDNS (`SocketResolver` by default).
    :param verified_ttl: seconds a positive FCrDNS answer is kept (a day).
    :param failed_ttl: seconds a negative one is kept (an hour).
    :param cache_size: most addresses remembered per cache.
    :param max_pending: most lookups queued at once; more claims stay unverifiable.
    :param workers: lookup threads (daemons, started on the first claim that needs DNS).
    """

    def __init__(
        self,
        bots: Iterable[GoodBot] | None = None,
        *,
        resolver: Resolver | None = None,
        verified_ttl: float = 86400.0,
        failed_ttl: float = 3600.0,
        cache_size: int = 10000,
        max_pending: int = 256,
        workers: int = 2,
    ) -> None:
        self.bots = tuple(builtin_good_bots() if bots is None else bots)
        if not self.bots:
            raise ConfigurationError("BotVerifier needs at least one bot")
        names = [b.name for b in self.bots]
        self._claim_regex = re.compile(
            "|".join(f"(?P<b{i}>{b.ua.pattern})" for i, b in enumerate(self.bots))
        )
        self._by_group = {f"b{i}": b for i, b in enumerate(self.bots)}
        if len(set(names)) != len(names):
            raise ConfigurationError(f"duplicate good-bot names: {names}")
        self.resolver: Resolver = resolver or SocketResolver()
        self._verified: TTLCache[tuple[str, str], bool] = TTLCache(cache_size, verified_ttl)
        self._failed: TTLCache[tuple[str, str], bool] = TTLCache(cache_size, failed_ttl)
        self._claims: LRUCache[str, GoodBot | None] = LRUCache(4096)
        self._pending: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._max_pending = max_pending
        self._workers = workers
        self._queue: queue.Queue[tuple[GoodBot, tuple[str, str]] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    def __repr__(self) -> str:
        return f"BotVerifier({[b.name for b in self.bots]!r})"

    # -- claims ------------------------------------------------------------------------------
    def claimed(self, ua: str) -> GoodBot | None:
        """The bot a user agent claims to be, or None (cached per distinct UA)."""
        ua = ua[:512]
        with self._lock:  # an LRU read reorders the cache: not safe without the lock
            if ua in self._claims:
                return self._claims[ua]
        match = self._claim_regex.search(ua) if ua else None
        bot = self._by_group[match.lastgroup] if match and match.lastgroup else None
        with self._lock:
            self._claims[ua] = bot
        return bot

    def verify(self, bot: GoodBot, address: IPAddress | None) -> Verification:
        """Non-blocking verdict for a claim from `address`; may schedule a DNS lookup."""
        if address is None:
            return Verification("unverifiable", "no-address", bot)
        if address in bot.networks:
            return Verification("verified", "ranges", bot)
        if not bot.rdns:
            if bot.networks:
                return Verification("failed", "ranges", bot)
            return Verification("unverifiable", "no-method", bot)
        key = (bot.name, str(address))
        with self._lock:  # TTL caches expire entries on access
            if key in self._verified:
                return Verification("verified", "fcrdns", bot)
            if key in self._failed:
                return Verification("failed", "fcrdns", bot)
        return Verification("unverifiable", self._schedule(bot, key), bot)

    def update_networks(self, name: str, networks: Iterable[str]) -> None:
        """Replace one bot's ranges (from a fresh download of the operator's JSON), and those of
        every bot that shares them."""
        fresh = Networks(networks)
        old = next((bot.networks for bot in self.bots if bot.name == name), None)
        bots = []
        for bot in self.bots:
            if bot.name == name or (old is not None and bot.networks is old):
                bot = GoodBot(
                    bot.name, bot.category, bot.ua, fresh, bot.rdns, bot.source, "runtime"
                )
            bots.append(bot)
        self.bots = tuple(bots)
        self._by_group = {f"b{i}": b for i, b in enumerate(self.bots)}
        with self._lock:
            self._claims.clear()

    # -- FCrDNS ------------------------------------------------------------------------------
    def _schedule(self, bot: GoodBot, key: tuple[str, str]) -> str:
        with self._lock:
            if key in self._pending:
                return "pending"
            if len(self._pending) >= self._max_pending:
                return "busy"
            self._pending.add(key)
            if not self._threads:
                # Daemon threads: a hung DNS lookup never holds up interpreter exit.
                for index in range(self._workers):
                    thread = threading.Thread(
                        target=self._work, name=f"shieldware-fcrdns-{index}", daemon=True
                    )
                    thread.start()
                    self._threads.append(thread)
        self._queue.put((bot, key))
        return "pending"

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._lookup(*item)

    def _lookup(self, bot: GoodBot, key: tuple[str, str]) -> None:
        try:
            ok = self.fcrdns(bot, key[1])
        except Exception:  # resolver trouble: leave the claim unverifiable, retry later
            ok = None
        with self._lock:
            self._pending.discard(key)
            if ok is True:
                self._verified[key] = True
            elif ok is False:
                self._failed[key] = True

    def fcrdns(self, bot: GoodBot, address: str) -> bool:
        """Blocking FCrDNS check: PTR in the bot's domains and resolving back to `address`."""
        for name in self.resolver.reverse(address):
            host = name.lower().rstrip(".")
            if any(host.endswith(suffix) for suffix in bot.rdns) and address in {
                str(a) for a in self.resolver.forward(host)
            }:
                return True
        return False

    def drain(self, timeout: float = 5.0) -> None:
        """Wait for the pending lookups (tests and warm-up scripts)."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.005)

    def close(self) -> None:
        """Stop the lookup threads once they finish their current lookup."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)

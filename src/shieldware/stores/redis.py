"""The shared store: Redis or Valkey (standalone, TLS, unix socket, cluster, sentinel).

`limits` is the connection layer: its storage objects parse the URL and own the client, its pools
and cluster/sentinel discovery. On that client we register our own Lua scripts, one per op, so
every decision is one round trip, atomic, and timed by the server's ``TIME`` (all hosts share one
clock). The sync client serves `run` (WSGI); the asyncio client (redis-py's, never coredis) serves
`arun` (ASGI). Both are created on first use, so one `RedisStore` serves both kinds of app and
building one never touches the network.

Failures never hang and never escape as driver errors: sockets time out after `timeout` seconds
(tens of milliseconds by default); redis-py's ten retries with back-off are cut to one immediate
retry on a broken connection (a pooled socket that died with a restarted server) and none on a
timeout; every I/O error becomes a `StoreError` (an op the store does not run is a `TypeError`:
a bug, not an outage); and a `CircuitBreaker` stops asking a dead server
at all until a cool-down passes.

Overload is not an outage. When every pooled connection is busy for longer than the short pool
wait, the op fails with `StoreOverloaded`: the server is fine, so the breaker is not told, and the
chain sheds the request instead of applying its failure policy (an attacker who can exhaust the
pool must not be able to switch limits off).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import ConfigurationError, StoreError, StoreOverloaded
from ..ops import (
    US,
    Acquire,
    Add,
    Count,
    Get,
    GetText,
    Hit,
    Incr,
    LeaseState,
    LimitState,
    Op,
    Release,
    SetText,
    Take,
    ttl_us,
)
from .base import unknown_op
from .resilience import CircuitBreaker

if TYPE_CHECKING:
    from .resp import AsyncClient, Endpoint, SyncClient

__all__ = ["DEFAULT_TIMEOUT", "RedisStore", "SCHEMES"]

R = TypeVar("R")

#: Seconds a socket read, write or connect may take before the op fails.
DEFAULT_TIMEOUT = 0.05

#: Connections per client (per process, and per event loop for asyncio) to a standalone server.
DEFAULT_MAX_CONNECTIONS = 64

#: The guards of live asyncio clients (see `RedisStore._guard`), held until their loop ends.
_GUARDS: set[asyncio.Task[None]] = set()

#: Which client runs the ops: ours where it can (see `RedisStore`), or always redis-py.
DRIVERS = ("auto", "redis-py")

#: URL schemes we accept, mapped to the redis-py flavour limits should use. Valkey speaks the Redis
#: protocol, so redis-py serves it too and the ``valkey`` client package is not needed.
SCHEMES: Mapping[str, str] = {
    "redis": "redis",
    "rediss": "rediss",
    "redis+unix": "redis+unix",
    "redis+cluster": "redis+cluster",
    "redis+sentinel": "redis+sentinel",
    "valkey": "redis",
    "valkeys": "rediss",
    "valkey+unix": "redis+unix",
    "valkey+cluster": "redis+cluster",
    "valkey+sentinel": "redis+sentinel",
}


@cache
def _sha(name: str) -> str:
    """The SHA1 Redis knows a script by (``EVALSHA``)."""
    return hashlib.sha1(_lua(name).encode(), usedforsecurity=False).hexdigest()


@cache
def _lua(name: str) -> str:
    """A script's source: the shared prelude (clock, integer helpers), then its body."""
    lua = files("shieldware.stores").joinpath("lua")
    return "\n".join(
        (lua / f"{part}.lua").read_text(encoding="utf-8") for part in ("prelude", name)
    )


@dataclass(frozen=True, slots=True)
class _Script:
    """How one op type runs as one script call.

    `encode` turns the op into the script's keys (unprefixed) and its arguments after the clock
    slot; `decode` reads the script's reply into the op's result.
    """

    name: str
    encode: Callable[[Any], tuple[list[str], list[Any]]]
    decode: Callable[[Any, Any], Any]


class _Client:
    """What `RedisStore` runs its scripts on: ``evalsha(name, keys, args)`` returns the reply (or,
    on an asyncio client, an awaitable of it)."""

    guard: asyncio.Task[None] | None = None  # asyncio clients: closes us at loop end

    def evalsha(self, name: str, keys: list[str], args: list[Any]) -> Any:
        raise NotImplementedError  # pragma: no cover

    def close(self) -> None:
        raise NotImplementedError  # pragma: no cover

    async def aclose(self) -> None:
        raise NotImplementedError  # pragma: no cover

    async def shutdown(self) -> None:
        """Stop the guard (unless we are it), then close; on the client's own loop."""
        guard = self.guard
        if guard is not None and guard is not asyncio.current_task():
            guard.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await guard
        with contextlib.suppress(Exception):
            await self.aclose()


class _RedisPy(_Client):
    """A redis-py client (from `limits`) with our scripts registered on it: cluster, sentinel, and
    whatever our own client does not handle."""

    def __init__(self, storage: Any, client: Any) -> None:
        self.storage = storage  # the limits storage: keeps the client's owner alive
        self.client = client
        self.scripts = {
            script.name: client.register_script(_lua(script.name)) for script in _TABLE.values()
        }

    def evalsha(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return self.scripts[name](keys=keys, args=args)

    def close(self) -> None:
        for client in self._clients():
            client.close()
            pool = getattr(client, "connection_pool", None)  # ours when we made it blocking
            if pool is not None:
                pool.disconnect()

    async def aclose(self) -> None:
        for client in self._clients():
            await client.aclose()
            pool = getattr(client, "connection_pool", None)
            if pool is not None:
                await pool.disconnect()

    def _clients(self) -> list[Any]:
        """Our client, and for Sentinel the clients to the sentinels themselves."""
        owner = getattr(self.storage, "bridge", self.storage)
        sentinel = getattr(owner, "sentinel", None)
        return [self.client, *(getattr(sentinel, "sentinels", None) or ())]


class _Direct(_Client):
    """Our RESP client (`shieldware.stores.resp`) on one standalone server."""

    def __init__(self, client: SyncClient | AsyncClient) -> None:
        self.client: Any = client

    def evalsha(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return self.client.evalsha(_sha(name), _lua(name), keys, args)  # async: a coroutine

    def close(self) -> None:
        self.client.close()

    async def aclose(self) -> None:  # pragma: no cover - a sync client is never on a loop
        self.client.close()


class _DirectAsync(_Direct):
    """`_Direct` for asyncio: one pipelined connection on this loop."""

    def close(self) -> None:  # pragma: no cover - closed through aclose, on its loop
        pass

    async def aclose(self) -> None:
        await self.client.aclose()


class RedisStore:
    """Runs shieldware's ops on Redis/Valkey through `limits`' storage objects.

    :param url: ``redis://host:port/db``, ``rediss://``, ``redis+unix:///path``,
        ``redis+cluster://h:p,h:p``, ``redis+sentinel://h:p,h:p/service`` or the ``valkey``
        spellings of each.
    :param prefix: put before every key (``"shieldware:"``); must not contain ``{`` or ``}`` so
        the layers' hash tags keep deciding the cluster slot.
    :param timeout: seconds for a socket read or write.
    :param connect_timeout: seconds to connect (``timeout`` by default).
    :param breaker: the circuit breaker; a default one opens after 3 failures in a row (and a
        quarter second without success) for 1 s.
        Pass ``False`` to have none.
    :param driver: ``"auto"`` (the default) runs ops on a standalone server (``redis://``,
        ``rediss://``, ``redis+unix://``) through shieldware's own small pipelined client,
        falling back to redis-py for cluster, sentinel and options it does not know;
        ``"redis-py"`` always uses redis-py.
    :param options: more keyword options for the redis-py client (``ssl_ca_certs``, ``password``,
        ``retry``, ``sentinel_kwargs``, ``max_connections`` ...). ``pool_timeout`` (seconds a
        request waits for a free connection in a burst, then fails with `StoreOverloaded`)
        defaults to ten times `timeout`, at least half a second.
    """

    shared = True

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "shieldware:",
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float | None = None,
        breaker: CircuitBreaker | bool = True,
        driver: str = "auto",
        **options: Any,
    ) -> None:
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() not in SCHEMES:
            raise ConfigurationError(f"not a Redis/Valkey URL: {_redact(url)!r}")
        if "{" in prefix or "}" in prefix:
            raise ConfigurationError("a RedisStore prefix must not contain '{' or '}'")
        if timeout <= 0 or (connect_timeout is not None and connect_timeout <= 0):
            raise ConfigurationError("RedisStore timeouts must be positive")
        if driver not in DRIVERS:
            raise ConfigurationError(f"RedisStore driver must be one of {', '.join(DRIVERS)}")
        self.url = f"{SCHEMES[scheme.lower()]}://{rest}"
        self._cluster = self.url.startswith("redis+cluster")
        self.prefix = prefix
        self.timeout = timeout
        self.connect_timeout = connect_timeout or timeout
        self.breaker: CircuitBreaker | None = (
            CircuitBreaker() if breaker is True else breaker or None
        )
        self.options = options
        self.driver = driver
        # False: not resolved yet; None: redis-py serves this URL
        self._endpoint: Endpoint | bool | None = False
        self._lock = threading.Lock()
        self._sync: _Client | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Client] = (
            weakref.WeakKeyDictionary()
        )
        self._closing: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"RedisStore({_redact(self.url)!r}, prefix={self.prefix!r})"

    # -- the Store protocol ------------------------------------------------------------------
    @property
    def supports(self) -> frozenset[type[Op[Any]]]:
        """Every op shieldware defines: each has its script."""
        return _SUPPORTS

    def run(self, op: Op[R]) -> R:
        script, keys, args = self._compile(op)
        breaker = self.breaker
        if breaker is not None:
            breaker.check()
        try:
            client = self._sync or self._connect_sync()
            raw = client.evalsha(script.name, keys, args)
        except Exception as exc:
            raise self._failed(op, exc) from exc
        if breaker is not None:
            breaker.success()
        return _decode(script, op, raw)

    async def arun(self, op: Op[R]) -> R:
        script, keys, args = self._compile(op)
        breaker = self.breaker
        if breaker is not None:
            breaker.check()
        try:
            client = self._async.get(asyncio.get_running_loop()) or self._connect_async()
            raw = await client.evalsha(script.name, keys, args)
        except Exception as exc:
            raise self._failed(op, exc) from exc
        if breaker is not None:
            breaker.success()
        return _decode(script, op, raw)

    def close(self) -> None:
        """Drop the clients and close their connections. Idempotent.

        An asyncio client is closed on its own loop: right away if that loop is idle, as a task
        if it is running (a lifespan shutdown calling `Shield.close`), or handed to it from
        another thread. `aclose` does the same from inside the loop, awaiting it.
        """
        with self._lock:
            sync, self._sync = self._sync, None
            clients, self._async = list(self._async.items()), weakref.WeakKeyDictionary()
        if sync is not None:
            # Closing a dead connection may fail; there is nothing left to keep.
            with contextlib.suppress(Exception):
                sync.close()
        for loop, client in clients:
            if loop.is_closed():
                continue
            with contextlib.suppress(Exception):
                if not loop.is_running():
                    loop.run_until_complete(client.shutdown())
                elif _running_loop() is loop:
                    task = loop.create_task(client.shutdown())
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)
                else:
                    asyncio.run_coroutine_threadsafe(client.shutdown(), loop)

    async def aclose(self) -> None:
        """Close the asyncio client of the running loop (call it before the loop ends)."""
        with self._lock:
            client = self._async.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.shutdown()

    # -- ops -> script calls -------------------------------------------------------------------
    def _compile(self, op: Op[Any]) -> tuple[_Script, list[str], list[Any]]:
        """The op's script, its prefixed keys and its arguments (the clock slot first, empty)."""
        try:
            script = _TABLE[type(op)]
        except KeyError:
            raise unknown_op(self, op) from None
        keys, args = script.encode(op)
        p = self.prefix
        keys = [p + key for key in keys]
        if self._cluster and len(keys) > 1:
            _one_slot(op, keys)
        return script, keys, ["", *args]

    def _run_at(self, op: Op[R], now_us: int) -> R:
        """Run `op` on a clock the caller gives (tests compare the scripts with `rate`)."""
        script, keys, args = self._compile(op)
        args[0] = now_us
        client = self._sync or self._connect_sync()
        return script.decode(op, client.evalsha(script.name, keys, args))  # type: ignore[no-any-return]

    # -- connections -----------------------------------------------------------------------------
    def _client_options(self, retry: Any) -> dict[str, Any]:
        options: dict[str, Any] = {
            "socket_timeout": self.timeout,
            "socket_connect_timeout": self.connect_timeout,
            "retry": retry,
        }
        if self.url.startswith("redis+sentinel"):
            # The sentinels' own clients too: redis-py's default retries back off for seconds.
            options["sentinel_kwargs"] = dict(options)
        options.update(self.options)
        return options

    def _with_pool(self, options: dict[str, Any], pool_class: Any) -> dict[str, Any]:
        """Standalone servers get a *blocking* pool: a burst waits briefly for a connection
        instead of failing with "Too many connections" (redis-py's default pool holds 100)."""
        from .resp import STANDALONE

        options = dict(options)
        if not self.url.startswith(STANDALONE):
            options.pop("pool_timeout", None)  # cluster and sentinel clients keep their own pools
            return options
        if "connection_pool" in options:
            options.pop("pool_timeout", None)
            return options
        options.pop("max_connections", None)
        options.pop("pool_timeout", None)
        limits = self._limits()
        url = self.url.replace("redis+unix://", "unix://", 1)
        return {
            "connection_pool": pool_class.from_url(
                url, max_connections=limits["limit"], timeout=limits["wait"], **options
            )
        }

    def _direct(self) -> Endpoint | None:
        """Where our own client connects, or None when redis-py serves this URL (resolved once)."""
        endpoint = self._endpoint
        if endpoint is False:
            options = dict(self.options)
            options.pop("max_connections", None)
            options.pop("pool_timeout", None)
            direct = self.driver == "auto" and "connection_pool" not in options
            if direct:
                from .resp import Endpoint

                endpoint = Endpoint.from_url(self.url, options)
            else:
                endpoint = None
            self._endpoint = endpoint
        return endpoint  # type: ignore[return-value]

    def _limits(self) -> dict[str, Any]:
        return {
            "timeout": self.timeout,
            "connect_timeout": self.connect_timeout,
            "limit": int(self.options.get("max_connections", DEFAULT_MAX_CONNECTIONS)),
            "wait": float(self.options.get("pool_timeout", max(self.timeout * 10, 0.5))),
        }

    def _connect_sync(self) -> _Client:
        with self._lock:
            if self._sync is None:
                endpoint = self._direct()
                if endpoint is not None:
                    from .resp import SyncClient

                    self._sync = _Direct(SyncClient(endpoint, **self._limits()))
                else:
                    self._sync = self._redis_py_sync()
            return self._sync

    def _redis_py_sync(self) -> _Client:
        from limits.storage import storage_from_string
        from redis import BlockingConnectionPool
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError
        from redis.retry import Retry

        retry = Retry(NoBackoff(), 1, (ConnectionError,))
        options = self._client_options(retry)
        options = self._with_pool(options, BlockingConnectionPool)
        storage: Any = storage_from_string(self.url, **options)
        return _RedisPy(storage, storage.get_connection())

    def _connect_async(self) -> _Client:
        loop = asyncio.get_running_loop()
        with self._lock:
            endpoint = self._direct()
        client: _Client
        if endpoint is not None:
            from .resp import AsyncClient

            client = _DirectAsync(AsyncClient(endpoint, **self._limits()))
        else:
            client = self._redis_py_async()
        # An asyncio client belongs to the loop it first ran on; keep one per loop.
        with self._lock:
            kept = self._async.setdefault(loop, client)
        if kept is client:
            guard = client.guard = loop.create_task(self._guard(loop, client))
            # The loop holds tasks weakly: a guard nobody holds would be collected with its store
            # ("Task was destroyed but it is pending!") and its connection never closed.
            _GUARDS.add(guard)
            guard.add_done_callback(_GUARDS.discard)
        return kept

    def _redis_py_async(self) -> _Client:
        from limits.storage import storage_from_string
        from redis.asyncio import BlockingConnectionPool
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError

        retry = Retry(NoBackoff(), 1, (ConnectionError,))
        options = self._client_options(retry)
        options = self._with_pool(options, BlockingConnectionPool)
        storage: Any = storage_from_string("async+" + self.url, implementation="redispy", **options)
        return _RedisPy(storage, storage.bridge.get_connection())

    async def _guard(self, loop: asyncio.AbstractEventLoop, client: _Client) -> None:
        """Wait for the loop's shutdown (asyncio.run and uvicorn cancel every task before closing
        the loop), then close the client there: no socket outlives its loop, even when nobody
        calls `close`."""
        try:
            await loop.create_future()
        except asyncio.CancelledError:
            with self._lock:
                mine = self._async.get(loop) is client
                if mine:
                    del self._async[loop]
            if mine:
                with contextlib.suppress(Exception):
                    await client.aclose()
            raise

    def _failed(self, op: Op[Any], exc: Exception) -> StoreError:
        name = type(op).__name__
        if _is_overload(exc):  # the server is fine: nothing for the breaker to count
            return StoreOverloaded(
                f"Redis busy running {name}: no free connection in time ({exc})", original=exc
            )
        if self.breaker is not None and _is_outage(exc):
            self.breaker.failure()
        if isinstance(exc, StoreError):
            return exc
        return StoreError(f"Redis failed running {name}: {type(exc).__name__}: {exc}", original=exc)


def _decode(script: _Script, op: Op[R], raw: Any) -> R:
    try:
        return script.decode(op, raw)  # type: ignore[no-any-return]
    except Exception as exc:  # a reply we cannot read: a script from another version, say
        raise StoreError(f"unexpected Redis reply to {type(op).__name__}: {raw!r:.100}") from exc


def _one_slot(op: Op[Any], keys: list[str]) -> None:
    """On a cluster, an op's keys must share a slot (the layers hash-tag them). Keys that do not
    are a bug in the layer, not an outage: raise `ValueError` before sending anything."""
    from redis.crc import key_slot

    if len({key_slot(key.encode()) for key in keys}) > 1:
        raise ValueError(
            f"{type(op).__name__} keys are in different cluster slots; hash-tag them: {keys!r:.200}"
        )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# -- the op table: one script per op type, with its encoder and decoder ----------------------------
def _limit_states(limits: Iterable[int], raw: Any) -> tuple[LimitState, ...]:
    """The reply of ``take.lua`` and ``hit.lua``: ``{allowed, remaining, retry_us, reset_us}`` per
    bucket or window (``retry_us = -1``: can never fit)."""
    return tuple(
        LimitState(
            allowed=int(allowed) == 1,
            limit=limit,
            remaining=int(remaining),
            retry_after=math.inf if int(retry) < 0 else int(retry) / US,
            reset_after=int(reset) / US,
        )
        for limit, (allowed, remaining, retry, reset) in zip(limits, raw, strict=True)
    )


def _encode_take(op: Take) -> tuple[list[str], list[Any]]:
    args: list[Any] = []
    for b in op.buckets:
        args += [b.interval_us, b.capacity, b.cost]
    return [b.key for b in op.buckets], args


def _encode_hit(op: Hit) -> tuple[list[str], list[Any]]:
    args: list[Any] = []
    for w in op.windows:
        args += [w.strategy, w.limit, w.window_us, w.cost]
    return [w.key for w in op.windows], args


def _decode_count(_op: Get, raw: Any) -> Count | None:
    if raw is None:
        return None
    value, ttl = raw
    return Count(int(value), math.inf if int(ttl) < 0 else int(ttl) / US)


def _decode_text(raw: Any) -> str | None:
    if raw is None:
        return None
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)


def _decode_bool(_op: Op[bool], raw: Any) -> bool:
    return int(raw) == 1


_TABLE: Mapping[type[Op[Any]], _Script] = {
    Take: _Script(
        "take", _encode_take, lambda op, raw: _limit_states((b.capacity for b in op.buckets), raw)
    ),
    Hit: _Script(
        "hit", _encode_hit, lambda op, raw: _limit_states((w.limit for w in op.windows), raw)
    ),
    Add: _Script("add", lambda op: ([op.key], [ttl_us(op.ttl)]), _decode_bool),
    Acquire: _Script(
        "acquire",
        lambda op: ([op.key], [op.lease, op.limit, ttl_us(op.ttl)]),
        lambda op, raw: LeaseState(int(raw[0]) == 1, op.limit, int(raw[1])),
    ),
    Release: _Script("release", lambda op: ([op.key], [op.lease]), _decode_bool),
    Incr: _Script(
        "incr", lambda op: ([op.key], [ttl_us(op.ttl), op.amount]), lambda _op, raw: int(raw)
    ),
    Get: _Script("get", lambda op: ([op.key], []), _decode_count),
    SetText: _Script(
        "set_text",
        lambda op: ([op.key], [op.text, "" if op.ttl is None else ttl_us(op.ttl)]),
        _decode_bool,
    ),
    GetText: _Script("get_text", lambda op: ([op.key], []), lambda _op, raw: _decode_text(raw)),
}
_SUPPORTS: frozenset[type[Op[Any]]] = frozenset(_TABLE)


def _is_overload(exc: Exception) -> bool:
    """True when the client had no free connection in time: the pool, not the server, is short.

    redis-py's blocking pools raise ``ConnectionError("No connection available.")``; its other
    pools (cluster nodes, sentinel) raise ``MaxConnectionsError`` ("Too many connections").
    """
    from redis import exceptions

    from .resp import NoRoom

    if isinstance(exc, NoRoom):  # our client's pipeline or pool
        return True
    if isinstance(exc, getattr(exceptions, "MaxConnectionsError", ())):
        return True
    return isinstance(exc, exceptions.ConnectionError) and str(exc).startswith(
        ("No connection available", "Too many connections")
    )


def _is_outage(exc: Exception) -> bool:
    """True when the server did not answer; an error *reply* (bad key type) means it is up."""
    from redis.exceptions import ClusterDownError, ReadOnlyError, ResponseError, TryAgainError

    # A replica answering a write (mid-failover) or a cluster without quorum is as good as down.
    down = (ClusterDownError, ReadOnlyError, TryAgainError)
    return isinstance(exc, down) or not isinstance(exc, ResponseError)


def _redact(url: str) -> str:
    """The URL without its password, for messages and reprs."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    secret = {"password", "sentinel_password"}
    if parts.password is None and not any(name in secret for name, _ in query):
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if parts.password is not None:
        netloc = (f"{parts.username}:***@" if parts.username else ":***@") + netloc
    query = [(name, "***" if name in secret else value) for name, value in query]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), parts.fragment))

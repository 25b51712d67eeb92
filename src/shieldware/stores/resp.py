"""A small RESP client for one standalone Redis/Valkey: the hot path of `RedisStore`.

Every op shieldware sends is one ``EVALSHA``, so the client knows one thing: write a command,
read its reply. hiredis packs commands and parses replies (it comes with ``shieldware[redis]``);
the rest is sockets.

- `AsyncClient` keeps **one pipelined connection per event loop**: requests are written back to
  back as they come, and replies, which Redis sends in order, are matched to them in order by
  the protocol's ``data_received``, with no task, stream or lock in between. At most ``limit``
  requests are in flight; a request that finds no room waits up to ``wait`` seconds and then
  fails with `NoRoom`.
- `SyncClient` keeps a bounded pool of blocking sockets for threads (WSGI): ``limit`` sockets, the
  same ``wait`` and `NoRoom` when none frees in time. A forked child starts with an empty
  pool (the parent's sockets are never shared).

Both raise redis-py's exception classes (``ConnectionError``, ``TimeoutError``, ``ResponseError``
and its kin), so `RedisStore` tells an outage from an error reply exactly as it does for redis-py.
A request whose reply does not come within ``timeout`` fails with ``TimeoutError``; when the server
has sent nothing at all for that long, the connection is closed and every request on it fails.
`Endpoint.from_url` answers None for anything this client does not handle (cluster, sentinel, an
unknown option): the store then uses redis-py.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis comes with shieldware[redis]
    hiredis = None  # type: ignore[assignment]

from redis import exceptions as rx
from redis.connection import SSLConnection, UnixDomainSocketConnection, parse_url

__all__ = [
    "AsyncClient",
    "ConnectionLost",
    "Endpoint",
    "NoRoom",
    "SyncClient",
    "pack",
    "reply_error",
]

#: The URLs of one standalone server: what this client (and a blocking redis-py pool) serves.
STANDALONE = ("redis://", "rediss://", "redis+unix://")


class ConnectionLost(rx.ConnectionError):
    """A connection that had answered before went away (a restarted server, an idle socket a
    firewall dropped): the request is sent once more, on a new connection, as redis-py does."""


class NoRoom(rx.RedisError):
    """No room for one more request within the wait: the client, not the server, is short
    (`RedisStore` turns it into `StoreOverloaded`)."""


#: Options (from the URL or the store's keywords) this client understands; any other one (a
#: ``retry``, a ``credential_provider``, ``health_check_interval`` ...) leaves redis-py in charge.
OPTIONS = frozenset(
    {
        "host",
        "port",
        "path",
        "db",
        "username",
        "password",
        "client_name",
        "connection_class",
        "ssl_cert_reqs",
        "ssl_ca_certs",
        "ssl_ca_path",
        "ssl_ca_data",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_password",
        "ssl_check_hostname",
    }
)

#: Error reply prefixes that mean more than "your command failed" (as redis-py reads them).
_ERRORS: Mapping[str, type[rx.RedisError]] = {
    "NOSCRIPT": rx.NoScriptError,
    "READONLY": rx.ReadOnlyError,  # a replica answering a write: mid-failover, as good as down
    "LOADING": rx.BusyLoadingError,
    "MASTERDOWN": rx.ConnectionError,
    "NOAUTH": rx.AuthenticationError,
    "WRONGPASS": rx.AuthenticationError,
}

ReplyError: type[Exception] = hiredis.ReplyError if hiredis is not None else Exception


def pack(args: Sequence[str | bytes | int]) -> bytes:
    """One command in RESP: an array of bulk strings."""
    return hiredis.pack_command(tuple(args))  # type: ignore[arg-type,no-any-return]


def reply_error(reply: Exception) -> rx.RedisError:
    """An error reply as the redis-py exception it stands for."""
    message = str(reply)
    kind = _ERRORS.get(message.split(" ", 1)[0], rx.ResponseError)
    return kind(message)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where one standalone server listens and how to open a session on it."""

    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None  # a unix socket instead of host:port
    tls: ssl.SSLContext | None = None
    db: int = 0
    username: str | None = None
    password: str | None = None
    client_name: str | None = None

    @classmethod
    def from_url(cls, url: str, options: Mapping[str, Any]) -> Endpoint | None:
        """The endpoint for a ``redis://``, ``rediss://`` or ``redis+unix://`` URL (query
        parameters win over `options`, as in redis-py), or None when redis-py must serve it."""
        if hiredis is None or not url.startswith(STANDALONE):
            return None
        kwargs = {**options, **parse_url(url.replace("redis+unix://", "unix://", 1))}  # type: ignore[no-untyped-call]
        if not OPTIONS.issuperset(kwargs):
            return None
        kind = kwargs.pop("connection_class", None)
        if kind not in (None, SSLConnection, UnixDomainSocketConnection):
            return None
        tls = _tls_context(kwargs) if kind is SSLConnection else None
        if kind is not SSLConnection and any(name.startswith("ssl_") for name in kwargs):
            return None  # TLS options on a plain URL: let redis-py say what it makes of them
        return cls(
            host=str(kwargs.get("host") or "127.0.0.1"),
            port=int(kwargs.get("port") or 6379),
            path=kwargs.get("path"),
            tls=tls,
            db=int(kwargs.get("db") or 0),
            username=kwargs.get("username"),
            password=kwargs.get("password"),
            client_name=kwargs.get("client_name"),
        )

    def handshake(self) -> list[bytes]:
        """The commands that open a session: AUTH, SELECT, CLIENT SETNAME as needed."""
        commands = []
        if self.password is not None:
            user = (self.username,) if self.username else ()
            commands.append(pack(("AUTH", *user, self.password)))
        if self.db:
            commands.append(pack(("SELECT", self.db)))
        if self.client_name:
            commands.append(pack(("CLIENT", "SETNAME", self.client_name)))
        return commands

    @property
    def where(self) -> str:
        return self.path or f"{self.host}:{self.port}"


def _tls_context(options: Mapping[str, Any]) -> ssl.SSLContext:
    """A client TLS context from redis-py's ``ssl_*`` options (verifying by default)."""
    reqs = options.get("ssl_cert_reqs", "required")
    if isinstance(reqs, str):
        modes = {
            "none": ssl.CERT_NONE,
            "optional": ssl.CERT_OPTIONAL,
            "required": ssl.CERT_REQUIRED,
        }
        if reqs.lower() not in modes:
            raise rx.RedisError(f"invalid ssl_cert_reqs {reqs!r}")
        reqs = modes[reqs.lower()]
    context = ssl.create_default_context(
        cafile=options.get("ssl_ca_certs"),
        capath=options.get("ssl_ca_path"),
        cadata=options.get("ssl_ca_data"),
    )
    context.check_hostname = bool(options.get("ssl_check_hostname", True)) and (
        reqs != ssl.CERT_NONE
    )
    context.verify_mode = ssl.VerifyMode(reqs)
    if options.get("ssl_certfile"):
        context.load_cert_chain(
            options["ssl_certfile"], options.get("ssl_keyfile"), options.get("ssl_password")
        )
    return context


# -- asyncio: one pipelined connection per loop ------------------------------------------------
class _Pipe(asyncio.Protocol):
    """One connection: requests written back to back, replies matched to them in order."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.loop = client.loop
        self.timeout = client.timeout
        self.reader = hiredis.Reader()
        self.pending: collections.deque[tuple[asyncio.Future[Any], float]] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.last_read = 0.0
        self.answered = False  # has any reply come in: a loss then is worth one retry
        self.timer: asyncio.TimerHandle | None = None

    # -- called by the client
    def send(self, command: bytes) -> asyncio.Future[Any]:
        future = self.loop.create_future()
        deadline = self.loop.time() + self.timeout
        self.pending.append((future, deadline))
        self.transport.write(command)  # type: ignore[union-attr]
        if self.timer is None:
            self.timer = self.loop.call_at(deadline, self._expire)
        return future

    def abort(self, error: Exception) -> None:
        """Fail every request in flight with `error` and close (idempotent)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        pending, self.pending = self.pending, collections.deque()
        for future, _ in pending:
            if not future.done():
                future.set_exception(error)
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        self.client.lost(self)

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # (TCP_NODELAY is asyncio's default)
        self.last_read = self.loop.time()

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        self.last_read = self.loop.time()
        pending = self.pending
        try:
            reply = reader.gets()
            while reply is not False:
                future, _ = pending.popleft()
                if not future.done():  # its caller may have timed out or gone
                    future.set_result(reply)
                reply = reader.gets()
        except (hiredis.ProtocolError, IndexError) as exc:  # garbage, or a reply nobody asked for
            self.abort(rx.ConnectionError(f"bad reply from Redis at {self.client.where}: {exc}"))
            return
        self.answered = True
        self.client.freed()

    def connection_lost(self, exc: Exception | None) -> None:
        kind = ConnectionLost if self.answered else rx.ConnectionError
        self.abort(
            kind(f"connection to Redis at {self.client.where} lost{f': {exc}' if exc else ''}")
        )

    def _expire(self) -> None:
        """The oldest request's deadline: fail what is overdue; close when the server is mute."""
        self.timer = None
        now = self.loop.time()
        overdue = False
        for future, deadline in self.pending:
            if deadline > now:
                self.timer = self.loop.call_at(deadline, self._expire)
                break
            if not future.done():
                future.set_exception(rx.TimeoutError(f"Timeout reading from {self.client.where}"))
                overdue = True
        if overdue and now - self.last_read >= self.timeout:
            self.abort(rx.TimeoutError(f"Redis at {self.client.where} stopped answering"))


class AsyncClient:
    """Sends commands over one pipelined connection (per event loop: make one on each)."""

    def __init__(
        self, endpoint: Endpoint, *, timeout: float, connect_timeout: float, limit: int, wait: float
    ) -> None:
        self.endpoint = endpoint
        self.where = endpoint.where
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.limit = limit
        self.wait = wait
        self.loop = asyncio.get_running_loop()
        self._pipe: _Pipe | None = None
        self._connecting: asyncio.Task[_Pipe] | None = None
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    async def evalsha(self, sha: str, script: str, keys: list[str], args: list[Any]) -> Any:
        """Run a Lua script by its SHA1; on ``NOSCRIPT`` (a flushed script cache, a fresh
        replica) run it again as ``EVAL``, which loads it. An error reply is raised."""
        command = pack(("EVALSHA", sha, len(keys), *keys, *args))
        try:
            reply = await self.call(command)
        except ConnectionLost:
            reply = await self.call(command)
        if reply.__class__ is ReplyError:
            if str(reply).startswith("NOSCRIPT"):
                reply = await self.call(pack(("EVAL", script, len(keys), *keys, *args)))
            if reply.__class__ is ReplyError:
                raise reply_error(reply)
        return reply

    def call(self, command: bytes) -> Awaitable[Any]:
        """Send `command`; await its reply (an error reply comes back as a `ReplyError`)."""
        pipe = self._pipe
        if pipe is None or len(pipe.pending) >= self.limit:
            return self._call_later(command)
        return pipe.send(command)  # the common case: no coroutine of our own

    async def _call_later(self, command: bytes) -> Any:
        pipe = await self._ready()
        return await pipe.send(command)

    async def _ready(self) -> _Pipe:
        """A connected pipe with room for one more request, waiting at most `wait` for room."""
        deadline = self.loop.time() + self.wait
        while True:
            pipe = self._pipe
            if pipe is None:
                pipe = await self._connect()
            if len(pipe.pending) < self.limit:
                return pipe
            remaining = deadline - self.loop.time()
            if remaining <= 0:
                raise NoRoom(
                    f"Redis at {self.where}: {self.limit} requests in flight (the limit, "
                    f"max_connections) for {self.wait:g} s"
                )
            waiter = self.loop.create_future()
            self._waiters.append(waiter)
            handle = self.loop.call_later(remaining, _wake, waiter)
            try:
                await waiter
            finally:
                handle.cancel()

    def freed(self) -> None:
        """Replies came in or a pipe closed: wake as many waiters as there is room for."""
        waiters = self._waiters
        if not waiters:
            return
        pipe = self._pipe
        room = self.limit - (len(pipe.pending) if pipe is not None else 0)
        while waiters and room > 0:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                room -= 1

    def lost(self, pipe: _Pipe) -> None:
        if self._pipe is pipe:
            self._pipe = None
        self.freed()

    async def _connect(self) -> _Pipe:
        if self._closed:
            raise rx.ConnectionError("the Redis client is closed")
        task = self._connecting
        if task is None:
            task = self._connecting = self.loop.create_task(self._open())
            task.add_done_callback(self._connected)
        # One connect serves every caller; a caller that goes does not cancel it for the rest.
        return await asyncio.shield(task)

    def _connected(self, task: asyncio.Task[_Pipe]) -> None:
        self._connecting = None
        if not task.cancelled() and task.exception() is None:
            pipe = task.result()
            if self._closed:
                pipe.abort(rx.ConnectionError("the Redis client is closed"))
            elif not pipe.closed:  # (it may have been lost already)
                self._pipe = pipe

    async def _open(self) -> _Pipe:
        pipe = _Pipe(self)
        try:
            await asyncio.wait_for(self._handshake(pipe), self.connect_timeout)
        except BaseException as exc:
            pipe.abort(rx.ConnectionError(f"connecting to Redis at {self.where} failed"))
            if isinstance(exc, asyncio.TimeoutError):
                raise rx.TimeoutError(f"Timeout connecting to Redis at {self.where}") from exc
            if isinstance(exc, OSError):
                raise rx.ConnectionError(
                    f"Error connecting to Redis at {self.where}: {exc}"
                ) from exc
            raise
        return pipe

    async def _handshake(self, pipe: _Pipe) -> None:
        e = self.endpoint
        if e.path is not None:
            await self.loop.create_unix_connection(lambda: pipe, e.path)
        else:
            host = e.host if e.tls is not None else None
            await self.loop.create_connection(
                lambda: pipe, e.host, e.port, ssl=e.tls, server_hostname=host
            )
        for sent in [pipe.send(command) for command in e.handshake()]:  # pipelined too
            reply = await sent
            if isinstance(reply, ReplyError):
                raise reply_error(reply)

    async def aclose(self) -> None:
        """Close the connection; requests in flight fail. The client cannot be used again."""
        self._closed = True
        task = self._connecting
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._pipe is not None:
            self._pipe.abort(rx.ConnectionError("the Redis client is closed"))
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


# -- threads: a bounded pool of blocking sockets ---------------------------------------------
class _Socket:
    """One blocking connection with its reply parser."""

    def __init__(self, endpoint: Endpoint, timeout: float, connect_timeout: float) -> None:
        self.where = endpoint.where
        self.reader = hiredis.Reader()
        self.answered = False
        try:
            if endpoint.path is not None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(connect_timeout)
                try:
                    sock.connect(endpoint.path)
                except BaseException:
                    sock.close()
                    raise
            else:
                address = (endpoint.host, endpoint.port)
                sock = socket.create_connection(address, timeout=connect_timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if endpoint.tls is not None:
                    sock = endpoint.tls.wrap_socket(sock, server_hostname=endpoint.host)
        except TimeoutError as exc:
            raise rx.TimeoutError(f"Timeout connecting to Redis at {self.where}") from exc
        except OSError as exc:
            raise rx.ConnectionError(f"Error connecting to Redis at {self.where}: {exc}") from exc
        self.sock = sock
        try:
            sock.settimeout(timeout)
            for command in endpoint.handshake():
                reply = self.call(command)
                if isinstance(reply, ReplyError):
                    raise reply_error(reply)
        except BaseException:
            sock.close()
            raise

    def call(self, command: bytes) -> Any:
        reader = self.reader
        try:
            self.sock.sendall(command)
            reply = reader.gets()
            while reply is False:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionResetError("closed by the server")
                reader.feed(data)
                reply = reader.gets()
        except TimeoutError as exc:
            raise rx.TimeoutError(f"Timeout reading from Redis at {self.where}") from exc
        except OSError as exc:
            kind = ConnectionLost if self.answered else rx.ConnectionError
            raise kind(f"connection to Redis at {self.where} lost: {exc}") from exc
        except hiredis.ProtocolError as exc:
            raise rx.ConnectionError(f"bad reply from Redis at {self.where}: {exc}") from exc
        self.answered = True
        return reply

    def close(self) -> None:
        with contextlib.suppress(OSError):  # closing a dead socket
            self.sock.close()


class SyncClient:
    """A thread-safe pool of at most `limit` blocking connections."""

    def __init__(
        self, endpoint: Endpoint, *, timeout: float, connect_timeout: float, limit: int, wait: float
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.limit = limit
        self.wait = wait
        self._reset()
        _FORKABLE.add(self)

    def _reset(self) -> None:
        self._idle: list[_Socket] = []
        self._made = 0  # sockets in use or idle
        self._cond = threading.Condition(threading.Lock())
        self._closed = False

    def evalsha(self, sha: str, script: str, keys: list[str], args: list[Any]) -> Any:
        """`AsyncClient.evalsha`, blocking."""
        reply = self.call(pack(("EVALSHA", sha, len(keys), *keys, *args)))
        if reply.__class__ is ReplyError:
            if str(reply).startswith("NOSCRIPT"):
                reply = self.call(pack(("EVAL", script, len(keys), *keys, *args)))
            if reply.__class__ is ReplyError:
                raise reply_error(reply)
        return reply

    def call(self, command: bytes) -> Any:
        """Send `command` on a pooled socket, return its reply (error replies returned)."""
        conn = self._acquire()
        try:
            reply = conn.call(command)
        except ConnectionLost:
            # A pooled socket died (a restarted server): its idle siblings most likely did too.
            self._give_back(None, flush=True)
            conn.close()
            conn = self._acquire()
            try:
                reply = conn.call(command)
            except BaseException:
                conn.close()
                self._give_back(None)
                raise
        except BaseException:
            conn.close()  # a socket that failed mid-command may hold half a reply: never reuse
            self._give_back(None)
            raise
        self._give_back(conn)
        return reply

    def _acquire(self) -> _Socket:
        with self._cond:
            if self._idle:
                return self._idle.pop()
            if self._closed:
                raise rx.ConnectionError("the Redis client is closed")
            if self._made >= self.limit:
                deadline = time.monotonic() + self.wait
                while not self._idle and self._made >= self.limit:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise NoRoom(
                            f"Redis at {self.endpoint.where}: all {self.limit} connections "
                            f"(max_connections) busy for {self.wait:g} s"
                        )
                    self._cond.wait(remaining)
                if self._idle:
                    return self._idle.pop()
            self._made += 1
        try:
            return _Socket(self.endpoint, self.timeout, self.connect_timeout)
        except BaseException:
            self._give_back(None)
            raise

    def _give_back(self, conn: _Socket | None, *, flush: bool = False) -> None:
        """Return `conn` to the pool, or None for a socket that was dropped; `flush` drops
        every idle socket too."""
        stale: list[_Socket] = []
        with self._cond:
            if flush:
                stale, self._idle = self._idle, []
                self._made -= len(stale)
            if conn is None or self._closed:
                self._made -= 1
                if conn is not None:
                    conn.close()
            else:
                self._idle.append(conn)
            if stale:
                self._cond.notify_all()
            else:
                self._cond.notify()
        for dead in stale:
            dead.close()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._made -= len(idle)
        for conn in idle:
            conn.close()

    def _forked(self) -> None:
        """In a forked child: forget the parent's sockets (closing our copies only)."""
        for conn in self._idle:
            conn.close()
        closed = self._closed
        self._reset()
        self._closed = closed


_FORKABLE: weakref.WeakSet[SyncClient] = weakref.WeakSet()


def _after_fork() -> None:
    for client in list(_FORKABLE):
        client._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

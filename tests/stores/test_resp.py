"""Our RESP client (`shieldware.stores.resp`): which URLs it serves, replies matched in order
however the bytes arrive (property tests), and a real server that pauses, goes mute, dies
mid-flight, wants a password, speaks TLS, or is shared with a forked child."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import hiredis
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import exceptions as rx

from shieldware import StoreError
from shieldware.ops import Add, Bucket, Incr, Take
from shieldware.stores import CircuitBreaker, RedisStore, store_from_url
from shieldware.stores.resp import AsyncClient, Endpoint, _Pipe, pack
from tests.conftest import REDIS_HOST, RedisServer, free_port, require

HOUR_US = 3_600_000_000
NO_HANG = 1.5


# -- which URLs our client serves ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "options", "direct"),
    [
        ("redis://127.0.0.1:6379/0", {}, True),
        ("redis://u:p@h:1/2?client_name=app", {}, True),
        ("redis+unix:///tmp/r.sock?db=1", {}, True),
        ("rediss://h:6380/0?ssl_cert_reqs=none", {}, True),
        ("redis://h:1/0", {"password": "p", "ssl_ca_certs": "/x"}, False),  # TLS options, no TLS
        ("redis://h:1/0?health_check_interval=5", {}, False),
        ("redis://h:1/0", {"retry": object()}, False),
        ("redis://h:1/0", {"socket_keepalive": True}, False),
        ("redis+cluster://a:1,b:2", {}, False),
        ("redis+sentinel://a:1/main", {}, False),
    ],
)
def test_endpoint_is_ours_only_for_what_we_know(url: str, options: Any, direct: bool) -> None:
    assert (Endpoint.from_url(url, options) is not None) is direct


def test_endpoint_reads_the_url() -> None:
    e = Endpoint.from_url("redis://app:pw@cache:6390/4?client_name=shop", {})
    assert e is not None
    assert (e.host, e.port, e.db, e.username, e.password, e.client_name, e.tls) == (
        "cache",
        6390,
        4,
        "app",
        "pw",
        "shop",
        None,
    )
    handshake = [hiredis_read(c) for c in e.handshake()]
    assert handshake == [
        [b"AUTH", b"app", b"pw"],
        [b"SELECT", b"4"],
        [b"CLIENT", b"SETNAME", b"shop"],
    ]
    tls = Endpoint.from_url("rediss://cache/0", {})
    assert tls is not None
    assert tls.tls is not None
    assert tls.tls.verify_mode == ssl.CERT_REQUIRED
    assert tls.tls.check_hostname
    e = Endpoint.from_url("redis+unix:///run/r.sock", {})
    assert e is not None
    assert e.path == "/run/r.sock"
    assert e.handshake() == []


@pytest.mark.redis
def test_the_store_picks_its_client(redis_server: Any) -> None:
    for driver, sync, asyn in (
        ("auto", "_Direct", "_DirectAsync"),
        ("redis-py", "_RedisPy", "_RedisPy"),
    ):
        store = RedisStore(redis_server.url, timeout=2.0, driver=driver)
        store.run(Add("{c}:x", 60))

        async def go(store: RedisStore = store) -> str:
            await store.arun(Add("{c}:x", 60))
            name = type(store._async[asyncio.get_running_loop()]).__name__
            await store.aclose()
            return name

        assert (type(store._sync).__name__, asyncio.run(go())) == (sync, asyn)
        store.close()


# -- replies matched in order, however the bytes arrive ---------------------------------------
def hiredis_read(data: bytes) -> Any:
    reader = hiredis.Reader()
    reader.feed(data)
    return reader.gets()


scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.binary(max_size=40),
    st.none(),
)
replies = st.one_of(
    scalars,
    st.lists(st.one_of(scalars, st.lists(scalars, max_size=4)), max_size=5),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20).map(
        lambda text: ("error", "ERR " + text)
    ),
)


def encode(value: Any) -> bytes:
    """The RESP a server sends for `value` (a test-only encoder: arrays, integers, bulk, nil)."""
    if isinstance(value, tuple):
        return b"-" + value[1].encode() + b"\r\n"
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, bytes):
        return b"$%d\r\n%s\r\n" % (len(value), value)
    return b"*%d\r\n" % len(value) + b"".join(encode(v) for v in value)


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def pipe_for_test() -> tuple[_Pipe, FakeTransport]:
    client = AsyncClient(Endpoint(), timeout=60, connect_timeout=60, limit=1000, wait=1)
    pipe = _Pipe(client)
    transport = FakeTransport()
    pipe.connection_made(transport)
    return pipe, transport


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(replies, min_size=1, max_size=12), cuts=st.lists(st.integers(0, 10_000)))
def test_replies_reach_their_requests_in_order_whatever_the_chunks(
    values: list[Any], cuts: list[int]
) -> None:
    async def scenario() -> None:
        pipe, transport = pipe_for_test()
        futures = [pipe.send(pack(("PING", i))) for i in range(len(values))]
        assert b"".join(transport.written) == b"".join(
            pack(("PING", i)) for i in range(len(values))
        )
        stream = b"".join(encode(v) for v in values)
        points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
        for start, end in itertools.pairwise(points):
            pipe.data_received(stream[start:end])
        for value, future in zip(values, futures, strict=True):
            got = future.result()
            if isinstance(value, tuple):
                assert isinstance(got, hiredis.ReplyError)
                assert str(got) == value[1]
            else:
                assert got == value
        assert not pipe.pending
        assert not transport.closed
        pipe.abort(rx.ConnectionError("done"))

    asyncio.run(scenario())


@settings(max_examples=50, deadline=None)
@given(junk=st.binary(min_size=1, max_size=30).filter(lambda b: b[:1] not in b"+-:$*_,#!=(%~>|"))
def test_garbage_fails_every_request_and_closes(junk: bytes) -> None:
    async def scenario() -> None:
        pipe, transport = pipe_for_test()
        futures = [pipe.send(pack(("PING",))) for _ in range(3)]
        pipe.data_received(junk + b"\r\n")
        assert transport.closed
        assert pipe.closed
        for future in futures:
            with pytest.raises(rx.ConnectionError):
                future.result()

    asyncio.run(scenario())


def test_a_reply_nobody_asked_for_closes_the_connection() -> None:
    async def scenario() -> None:
        pipe, transport = pipe_for_test()
        pipe.data_received(b":1\r\n")
        assert transport.closed
        assert pipe.closed

    asyncio.run(scenario())


@given(args=st.lists(st.one_of(st.binary(), st.text(), st.integers(-(2**63), 2**63 - 1))))
def test_pack_is_an_array_of_bulk_strings(args: list[Any]) -> None:
    def as_bytes(a: Any) -> bytes:
        return a if isinstance(a, bytes) else str(a).encode()

    # What the server reads: an array of bulk strings, spelled out here by hand.
    items = [b"EVALSHA", *map(as_bytes, args)]
    expected = b"*%d\r\n" % len(items) + b"".join(encode(i) for i in items)
    assert pack(["EVALSHA", *args]) == expected


# -- a real server that misbehaves --------------------------------------------------------------


def take(key: str = "{c}:k") -> Take:
    return Take((Bucket(key, HOUR_US, 1000),))


@pytest.mark.redis
def test_a_paused_server_times_out_then_serves(redis_server: Any) -> None:
    store = RedisStore(redis_server.url, timeout=0.1, breaker=CircuitBreaker(100, 1.0))
    store.run(take())

    async def go() -> None:
        await store.arun(take())
        redis_server.cli("CLIENT", "PAUSE", "600", "ALL")
        start = time.monotonic()
        with pytest.raises(StoreError) as caught:
            await store.arun(take())
        assert time.monotonic() - start < NO_HANG
        assert isinstance(caught.value.original, rx.TimeoutError)
        await asyncio.sleep(0.7)
        assert (await store.arun(take()))[0].allowed
        await store.aclose()

    asyncio.run(go())
    redis_server.cli("CLIENT", "PAUSE", "600", "ALL")
    with pytest.raises(StoreError) as caught:
        store.run(take())
    assert isinstance(caught.value.original, rx.TimeoutError)
    time.sleep(0.7)
    assert store.run(take())[0].allowed
    store.close()


@pytest.fixture
def mute_server() -> Iterator[str]:
    """Accepts connections and never says a word (a black-holed Redis)."""
    listener = socket.create_server((REDIS_HOST, 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"redis://{REDIS_HOST}:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join(5)
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_mute_server_fails_the_request_and_drops_the_connection(mute_server: str) -> None:
    store = RedisStore(mute_server, timeout=0.1, breaker=False)
    start = time.monotonic()
    with pytest.raises(StoreError):
        store.run(take())
    assert time.monotonic() - start < NO_HANG

    async def go() -> None:
        calls = [asyncio.ensure_future(store.arun(take(f"{{c}}:{i}"))) for i in range(5)]
        done = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(d, StoreError) for d in done)
        client = store._async[asyncio.get_running_loop()].client  # type: ignore[attr-defined]
        assert client._pipe is None  # a silent server's connection is closed, not reused
        await store.aclose()

    start = time.monotonic()
    asyncio.run(go())
    assert time.monotonic() - start < NO_HANG
    store.close()


@pytest.mark.redis
def test_a_server_killed_mid_flight_fails_every_request_then_recovers(redis_server: Any) -> None:
    store = RedisStore(redis_server.url, timeout=5.0, breaker=False)

    async def go() -> None:
        await store.arun(take())
        redis_server.cli("CLIENT", "PAUSE", "5000", "ALL")
        calls = [asyncio.ensure_future(store.arun(take(f"{{c}}:{i}"))) for i in range(20)]
        await asyncio.sleep(0.2)  # all written, none answered
        start = time.monotonic()
        redis_server.stop()
        done = await asyncio.gather(*calls, return_exceptions=True)
        assert time.monotonic() - start < NO_HANG  # connection lost, not a 5 s timeout
        assert all(isinstance(d, StoreError) for d in done), done
        redis_server.start()
        assert (await store.arun(take()))[0].allowed  # a new connection
        await store.aclose()

    asyncio.run(go())
    store.run(take())  # the sync pool's socket died with the server: a new one
    store.close()


@pytest.mark.redis
def test_a_restart_between_requests_costs_no_failed_op(redis_server: Any) -> None:
    """Pooled sockets that died with a restarted server are replaced on the spot: the op is sent
    once more on a new connection (never for a timeout, never on a fresh connection)."""
    store = RedisStore(redis_server.url, timeout=2.0, breaker=False)
    with ThreadPoolExecutor(4) as pool:  # four pooled sockets
        list(pool.map(lambda i: store.run(take(f"{{c}}:{i}")), range(40)))
    assert store._sync is not None
    assert len(store._sync.client._idle) > 1  # type: ignore[attr-defined]

    async def go() -> None:
        await store.arun(take())
        redis_server.stop()  # the loop is not running: it cannot see the connection go
        redis_server.start()
        assert (await store.arun(take()))[0].remaining == 999  # a new server, empty
        await store.aclose()

    asyncio.run(go())
    redis_server.stop()
    redis_server.start()
    assert [store.run(take())[0].remaining for _ in range(6)] == list(range(999, 993, -1))
    store.close()


@pytest.mark.redis
def test_a_cancelled_request_does_not_shift_the_replies(redis_server: Any) -> None:
    store = RedisStore(redis_server.url, timeout=2.0)

    async def go() -> None:
        await store.arun(Add("{c}:warm", 60))
        calls = [asyncio.ensure_future(store.arun(Incr(f"{{c}}:n{i}", 60, i))) for i in range(60)]
        await asyncio.sleep(0)  # every request written
        for call in calls[::3]:
            call.cancel()
        done = await asyncio.gather(*calls, return_exceptions=True)
        for i, result in enumerate(done):
            if i % 3:
                assert result == i
        await store.aclose()

    asyncio.run(go())
    store.close()


@pytest.mark.redis
def test_password_user_and_database(redis_server: Any) -> None:
    redis_server.cli("ACL", "SETUSER", "app", "on", ">app-secret", "~*", "+@all")
    redis_server.cli("CONFIG", "SET", "requirepass", "admin-secret")
    admin = redis.Redis(
        host=REDIS_HOST, port=redis_server.port, password="admin-secret", db=3, socket_timeout=2
    )
    base = f"{REDIS_HOST}:{redis_server.port}"
    for url in (f"redis://app:app-secret@{base}/3", f"redis://:admin-secret@{base}/3"):
        store = store_from_url(url + "?client_name=shop&prefix=auth:&timeout=2")
        assert store.run(Add("{c}:sync", 60)) is True

        async def go(store: Any = store) -> bool:
            added = bool(await store.arun(Add("{c}:async", 60)))
            names = [c["name"] for c in admin.client_list()]
            assert "shop" in names
            await store.aclose()
            return added

        assert asyncio.run(go()) is True
        assert admin.exists("auth:{c}:sync", "auth:{c}:async") == 2  # in database 3
        admin.delete("auth:{c}:sync", "auth:{c}:async")
        store.close()

    store = store_from_url(f"redis://app:wrong@{base}/3?timeout=2")
    with pytest.raises(StoreError) as caught:
        store.run(Add("{c}:x", 60))
    assert isinstance(caught.value.original, rx.AuthenticationError)

    async def wrong() -> None:
        with pytest.raises(StoreError) as caught:
            await store.arun(Add("{c}:x", 60))
        assert isinstance(caught.value.original, rx.AuthenticationError)
        await store.aclose()

    asyncio.run(wrong())
    store.close()
    admin.close()


# -- TLS -------------------------------------------------------------------------------------------
@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A redis-server speaking only TLS, with a self-signed certificate for localhost."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    port = free_port()
    server = RedisServer(
        tmp_path / "redis",
        extra=(
            "--tls-port", str(port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
            "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
        ),
    )  # fmt: skip
    try:
        server.start()
    except RuntimeError:
        pytest.skip("this redis-server was built without TLS")
    try:
        yield port, cert
    finally:
        server.stop()


def exercise(store: RedisStore) -> None:
    bucket = Bucket("{c}:tls", HOUR_US, 3)
    assert store.run(Take((bucket,)))[0].remaining == 2

    async def go() -> None:
        assert (await store.arun(Take((bucket,))))[0].remaining == 1
        await store.aclose()

    asyncio.run(go())
    store.close()


@pytest.mark.redis
@pytest.mark.parametrize("driver", ["auto", "redis-py"])
def test_tls(tls_server: tuple[int, Path], driver: str) -> None:
    require("redis-server")
    port, cert = tls_server
    # A TLS handshake on a busy machine can take longer than the 50 ms default.
    exercise(
        RedisStore(
            f"rediss://localhost:{port}/0", ssl_ca_certs=str(cert), driver=driver, timeout=2.0
        )
    )
    exercise(
        RedisStore(
            f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=none",
            prefix="none:",
            driver=driver,
            timeout=2.0,
        )
    )
    untrusted = RedisStore(f"rediss://localhost:{port}/0", timeout=2.0, driver=driver)
    with pytest.raises(StoreError):  # a certificate no CA we trust signed
        untrusted.run(Add("x", 60))
    untrusted.close()


# -- fork ------------------------------------------------------------------------------------------
@pytest.mark.redis
def test_a_forked_child_gets_its_own_connections(redis_server: Any) -> None:
    """Parent and child run ops at once on separate buckets: had the child inherited the
    parent's pooled socket, one would read the other's replies (or wait for them forever)."""
    store = RedisStore(redis_server.url, timeout=2.0)
    ours, theirs = Bucket("{c}:parent", HOUR_US, 1000), Bucket("{c}:child", HOUR_US, 500)
    assert store.run(Take((ours,)))[0].remaining == 999  # a pooled socket, before the fork
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            os.close(read)
            seen = [store.run(Take((theirs,)))[0].remaining for _ in range(200)]
            os.write(write, b"ok" if seen == list(range(499, 299, -1)) else repr(seen).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    try:
        seen = [store.run(Take((ours,)))[0].remaining for _ in range(200)]
    finally:
        with os.fdopen(read, "rb") as pipe:
            child = pipe.read()
        os.waitpid(pid, 0)
    assert seen == list(range(998, 798, -1))
    assert child == b"ok"
    store.close()

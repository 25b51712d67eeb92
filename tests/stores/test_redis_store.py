"""RedisStore specifics: URLs, the GCRA pitfalls on Redis, round trips and contention."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis

from shieldware import ConfigurationError
from shieldware.ops import Acquire, Add, Bucket, Hit, Incr, Release, Take, Window
from shieldware.stores import RedisStore, store_from_url

HOUR_US = 3_600_000_000
pytestmark = pytest.mark.redis

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def store(redis_url: str) -> Any:
    s = store_from_url(redis_url)
    yield s
    s.close()


@pytest.fixture
def raw() -> Any:
    client = redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2)
    yield client
    client.close()


def server_now_us(client: Any) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1_000_000 + int(micros)


# -- URLs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("rediss://h:6380/1", "rediss://h:6380/1"),
        ("redis+unix:///tmp/r.sock", "redis+unix:///tmp/r.sock"),
        ("redis+cluster://a:1,b:2", "redis+cluster://a:1,b:2"),
        ("redis+sentinel://a:1,b:2/main", "redis+sentinel://a:1,b:2/main"),
        ("valkey://127.0.0.1:6379", "redis://127.0.0.1:6379"),
        ("valkeys://h:6380", "rediss://h:6380"),
        ("valkey+unix:///tmp/v.sock", "redis+unix:///tmp/v.sock"),
        ("valkey+cluster://a:1,b:2", "redis+cluster://a:1,b:2"),
        ("valkey+sentinel://a:1/main", "redis+sentinel://a:1/main"),
    ],
)
def test_store_from_url_accepts_every_redis_and_valkey_scheme(url: str, expected: str) -> None:
    store = store_from_url(url)  # builds without touching the network
    assert isinstance(store, RedisStore)
    assert store.url == expected
    assert store.shared is True


def test_store_from_url_reads_our_options_and_passes_the_rest() -> None:
    store = store_from_url(
        "redis://127.0.0.1:6379/0?prefix=app:&timeout=0.02&connect_timeout=0.1"
        "&breaker_failures=7&breaker_cooldown=3&health_check_interval=5"
        "&max_connections=8&pool_timeout=2"
    )
    assert isinstance(store, RedisStore)
    assert store.prefix == "app:"
    assert (store.timeout, store.connect_timeout) == (0.02, 0.1)
    assert store.breaker is not None
    assert (store.breaker.failures, store.breaker.cooldown) == (7, 3.0)
    assert store.url == "redis://127.0.0.1:6379/0?health_check_interval=5"
    assert store.options == {"max_connections": 8, "pool_timeout": 2.0}


@pytest.mark.parametrize(
    "url",
    ["redis://h?timeout=fast", "redis://h?prefix=%7Bx%7D", "redis://h?timeout=0", "mongodb://h"],
)
def test_bad_store_urls_fail_at_construction(url: str) -> None:
    with pytest.raises(ConfigurationError):
        store_from_url(url)


def test_repr_hides_the_password() -> None:
    store = RedisStore("redis://user:hunter2hunter2@127.0.0.1:6379/0")
    assert "hunter2" not in repr(store)
    assert "user:***@" in repr(store)
    store = RedisStore("redis+sentinel://h:1/main?password=hunter2hunter2&db=1")
    assert "hunter2" not in repr(store)
    assert "db=1" in repr(store)


# -- GCRA pitfalls on Redis ----------------------------------------------------------------------
def test_the_servers_clock_decides(store: Any, raw: Any) -> None:
    """A TAT 10 s ahead of the *server's* TIME means a 10 s wait, whatever the app host's clock."""
    raw.set(store.prefix + "clock", server_now_us(raw) + 10_000_000, px=60_000)
    (state,) = store.run(Take((Bucket("clock", 10_000_000, 1),)))
    assert not state.allowed
    assert 9.5 < state.retry_after <= 10.0


def test_impossible_tat_is_clamped(store: Any, raw: Any) -> None:
    """A TAT far beyond now + capacity (clock jump, failover) is treated as an empty bucket."""
    raw.set(store.prefix + "corrupt", server_now_us(raw) + 10**12, px=60_000)
    (state,) = store.run(Take((Bucket("corrupt", 1_000_000, 2),)))
    assert not state.allowed
    assert 0.9 < state.retry_after <= 1.0
    assert state.reset_after <= 2.0


def test_garbage_value_reads_as_a_full_bucket(store: Any, raw: Any) -> None:
    raw.set(store.prefix + "garbage", "not a number", px=60_000)
    (state,) = store.run(Take((Bucket("garbage", HOUR_US, 2),)))
    assert state.allowed
    assert state.remaining == 1


def test_large_microsecond_values_stay_exact(store: Any, raw: Any) -> None:
    """Lua formats numbers with 14 digits by default; the stored TAT must be the exact integer."""
    now = server_now_us(raw) + 123_457  # an odd value that 14 significant digits cannot hold
    store._run_at(Take((Bucket("exact", 1_234_567_891, 7, cost=3),)), now)
    assert raw.get(store.prefix + "exact") == str(now + 3 * 1_234_567_891).encode()


def test_ttl_is_rounded_up_and_never_zero(redis_server: Any) -> None:
    """The SET carries PX = ceil(debt in ms), at least 1: PX 0 would mean an unlimited bucket."""
    store = RedisStore(redis_server.url, timeout=1.0)
    seen: list[list[str]] = []
    watching = threading.Event()
    client = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    poke = redis.Redis.from_url(redis_server.url, socket_timeout=5)

    def watch() -> None:
        with client.monitor() as monitor:
            for event in monitor.listen():
                command = event["command"]
                if "started-watching" in command:
                    watching.set()
                if command.startswith("SET "):
                    seen.append(command.replace('"', "").split())
                if "stop-watching" in command:
                    return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    deadline = time.monotonic() + 10
    while not watching.is_set():  # MONITOR shows only what comes after it started
        assert time.monotonic() < deadline
        poke.get("started-watching")
        watching.wait(0.05)
    store.run(Take((Bucket("tiny", 10, 1),)))  # debt 10 µs: floor would give PX 0
    store.run(Take((Bucket("odd", 1_000_500, 1),)))  # debt 1000.5 ms: ceil 1001
    poke.get("stop-watching")
    watcher.join(5)
    client.close()
    poke.close()
    store.close()
    px = {cmd[1]: cmd[cmd.index("PX") + 1] for cmd in seen}
    assert px == {"shieldware:tiny": "1", "shieldware:odd": "1001"}


# -- one round trip per decision -----------------------------------------------------------------
def command_calls(client: Any) -> Counter[str]:
    """Calls per command so far (the commands our scripts run inside count too)."""
    stats = client.info("commandstats")
    return Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()})


def test_one_round_trip_per_decision(redis_server: Any) -> None:
    """Every command the server ran is accounted for: one EVALSHA per op, the rest inside it."""
    store = RedisStore(redis_server.url, timeout=1.0)
    info = redis.Redis.from_url(redis_server.url)
    buckets = (Bucket("{c}:route", HOUR_US, 1000), Bucket("{c}:global", HOUR_US, 1000))
    store.run(Take(buckets))  # warm up: connect, load the scripts once
    store.run(Add("warm", 60))
    before = command_calls(info)
    for _ in range(20):
        store.run(Take(buckets[:1]))
    for _ in range(10):
        store.run(Take(buckets))  # several buckets: still one call
    store.run(Add("spent", 60))
    delta = command_calls(info) - before
    delta.pop("info", None)
    # inside the scripts: one TIME each, GET + SET per bucket charged, one SET per Add
    assert delta == Counter(evalsha=31, time=31, get=40, set=41)

    async def decide_async() -> Counter[str]:
        await store.arun(Take(buckets))  # warm up this loop's client
        start = command_calls(info)
        for _ in range(20):
            await store.arun(Take(buckets[:1]))
        delta = command_calls(info) - start
        delta.pop("info", None)
        await store.aclose()
        return delta

    assert asyncio.run(decide_async()) == Counter(evalsha=20, time=20, get=20, set=20)
    store.close()
    info.close()


# -- contention ---------------------------------------------------------------------------------
def race_add(store: Any, name: str, threads: int = 8) -> list[bool]:
    barrier = threading.Barrier(threads)
    results: list[bool] = []

    def worker() -> None:
        barrier.wait()
        results.append(store.run(Add(name, 60)))

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return results


def test_concurrent_add_of_one_id_is_new_exactly_once_across_threads(store: Any) -> None:
    for round_ in range(10):
        assert sorted(race_add(store, f"id-{round_}")) == [False] * 7 + [True]


def test_concurrent_add_of_one_id_is_new_exactly_once_across_tasks(store: Any) -> None:
    async def main() -> list[bool]:
        results = await asyncio.gather(*(store.arun(Add("task-id", 60)) for _ in range(100)))
        await store.aclose()
        return list(results)

    assert sorted(asyncio.run(main())) == [False] * 99 + [True]


def test_concurrent_takes_admit_exactly_the_capacity(store: Any) -> None:
    bucket = Bucket("{c}:contended", HOUR_US, 37)

    async def main() -> int:
        states = await asyncio.gather(*(store.arun(Take((bucket,))) for _ in range(200)))
        await store.aclose()
        return sum(s[0].allowed for s in states)

    assert asyncio.run(main()) == 37


CHILD = """
import sys
from shieldware.ops import Bucket, Take
from shieldware.stores import store_from_url

store = store_from_url(sys.argv[1])
sys.stdin.readline()  # both processes start together
bucket = Bucket("{shared}:bucket", 3_600_000_000, 150)
print(sum(store.run(Take((bucket,)))[0].allowed for _ in range(200)))
"""


def test_two_processes_sharing_redis_admit_exactly_the_capacity(redis_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, redis_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(0.5)  # let both import
    outputs = [child.communicate("go\n", timeout=60)[0] for child in children]
    assert all(child.returncode == 0 for child in children)
    counts = [int(out) for out in outputs]
    assert sum(counts) == 150


def test_close_from_inside_the_running_loop_closes_the_async_client(redis_url: str) -> None:
    """`Shield.close()` in an ASGI lifespan shutdown runs on the loop that owns the client."""
    store = store_from_url(redis_url)

    async def main() -> None:
        assert await store.arun(Add("x", 60)) is True
        store.close()
        await asyncio.sleep(0.05)  # the close task runs
        assert await store.arun(Add("x", 60)) is False  # and the store still works after
        await store.aclose()

    asyncio.run(main())
    gc.collect()  # an unclosed connection would warn here (warnings are errors in this suite)


def test_every_key_written_carries_a_ttl(store: Any, raw: Any) -> None:
    """No op leaves a key that lives forever (a lockout, or memory that only grows)."""
    store.run(Take((Bucket("{c}:bucket", HOUR_US, 5),)))
    store.run(Add("{c}:id", 60))
    for strategy in ("fixed", "sliding", "moving"):
        store.run(Hit((Window(f"{{c}}:{strategy}", 5, HOUR_US, strategy),)))
    store.run(Acquire("{c}:leases", "a", 3, 60))
    store.run(Acquire("{c}:leases", "b", 3, 60))
    store.run(Release("{c}:leases", "a"))
    store.run(Incr("{c}:count", 60))
    store.run(Incr("{c}:count", 60, 0))
    keys = list(raw.scan_iter(match=store.prefix + "*"))
    assert len(keys) == 7
    assert all(raw.pttl(key) > 0 for key in keys)


def test_the_async_client_closes_with_its_loop(redis_url: str) -> None:
    """Nobody called close: the client still goes with its loop (asyncio.run, uvicorn)."""
    store = store_from_url(redis_url)

    async def main() -> bool:
        return bool(await store.arun(Add("x", 60)))

    assert asyncio.run(main()) is True
    assert asyncio.run(main()) is False  # a second loop gets its own client
    gc.collect()  # an unclosed connection would warn here (warnings are errors in this suite)
    assert isinstance(store, RedisStore)
    assert len(store._async) == 0
    store.close()


@pytest.mark.parametrize("driver", ["auto", "redis-py"])
def test_a_store_dropped_mid_loop_still_closes_with_its_loop(
    redis_url: str, driver: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The loop holds tasks weakly: the guard must outlive the app that dropped its store."""

    async def main() -> None:
        store = store_from_url(redis_url + f"&driver={driver}")
        assert await store.arun(Add("x", 60)) is True
        del store
        gc.collect()
        await asyncio.sleep(0)

    with caplog.at_level("ERROR", logger="asyncio"):
        asyncio.run(main())
        gc.collect()  # an unclosed connection would warn here (warnings are errors in this suite)
    assert "Task was destroyed" not in caplog.text


def test_scripts_are_reloaded_after_a_script_flush(redis_server: Any) -> None:
    """A failover to a fresh replica, or SCRIPT FLUSH, empties the script cache."""
    store = RedisStore(redis_server.url, timeout=1.0)
    flusher = redis.Redis.from_url(redis_server.url)
    bucket = Bucket("{c}:flush", HOUR_US, 3)
    assert store.run(Take((bucket,)))[0].remaining == 2
    flusher.script_flush()
    assert store.run(Take((bucket,)))[0].remaining == 1

    async def go() -> int:
        first = (await store.arun(Take((bucket,))))[0].remaining
        flusher.script_flush()
        await store.arun(Add("{c}:id", 60))
        await store.aclose()
        return first

    assert asyncio.run(go()) == 0
    flusher.close()
    store.close()

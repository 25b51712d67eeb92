"""Beyond one TCP server: a unix socket and Sentinel (the cluster runs in the contract suite)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from shieldware.ops import Add, Bucket, Take
from shieldware.stores import RedisStore, store_from_url
from tests.conftest import REDIS_HOST, free_port, require

pytestmark = pytest.mark.redis

HOUR_US = 3_600_000_000


def exercise(store: Any) -> None:
    """A few ops through `run` and `arun` on one store."""
    bucket = Bucket("{c}:b", HOUR_US, 2)
    assert store.run(Take((bucket,)))[0].remaining == 1
    assert store.run(Add("{c}:id", 60)) is True

    async def go() -> None:
        assert (await store.arun(Take((bucket,))))[0].remaining == 0
        assert not (await store.arun(Take((bucket,))))[0].allowed
        assert await store.arun(Add("{c}:id", 60)) is False
        await store.aclose()

    asyncio.run(go())
    store.close()


def test_unix_socket(redis_server: Any) -> None:
    exercise(store_from_url(f"redis+unix://{redis_server.socket_path}?timeout=2"))
    exercise(store_from_url(f"valkey+unix://{redis_server.socket_path}?timeout=2&prefix=v:"))


@pytest.fixture
def sentinel_url(redis_server: Any, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind {REDIS_HOST}\n"
        f"sentinel monitor main {REDIS_HOST} {redis_server.port} 1\n"
        "sentinel down-after-milliseconds main 1000\n"
    )
    process = subprocess.Popen(
        [require("redis-server"), str(config), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host=REDIS_HOST, port=port, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.sentinel_get_master_addr_by_name("main"):
                    break
            except redis.RedisError:
                pass
            assert time.monotonic() < deadline, "sentinel did not start"
            time.sleep(0.05)
        client.close()
        yield f"redis+sentinel://{REDIS_HOST}:{port}/main"
    finally:
        process.kill()
        process.wait(10)


def test_sentinel_writes_go_to_the_primary(sentinel_url: str) -> None:
    exercise(RedisStore(sentinel_url, timeout=2.0))
    exercise(store_from_url(sentinel_url.replace("redis+", "valkey+") + "?timeout=2&prefix=v:"))


def test_cluster_keys_in_different_slots_are_a_bug_not_an_outage(
    redis_cluster_url: str,
) -> None:
    """Layers hash-tag the keys of one request; untagged keys in two slots cannot be atomic.
    That is the layer's bug: a `ValueError`, never a `StoreError` a failure policy answers."""
    store = RedisStore(redis_cluster_url, timeout=2.0, prefix="swtest:slots:")
    apart = Take((Bucket("{a}:x", HOUR_US, 5), Bucket("{b}:x", HOUR_US, 5)))
    for _ in range(5):
        with pytest.raises(ValueError, match="different cluster slots"):
            store.run(apart)
    assert store.breaker is not None
    assert store.breaker.state == "closed"  # the cluster answered: nothing to trip over
    assert store.run(Take((Bucket("{a}:x", HOUR_US, 5), Bucket("{a}:y", HOUR_US, 5))))[0].allowed
    store.close()

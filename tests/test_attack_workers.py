"""A flip reaches every worker of a two-worker uvicorn app on Redis within a second.

The guarantee is structural, not a speed: each worker reads the switch at most 0.5 s after its
last read, on the next request. So every request *sent* a second after the flip was written must
meet the attack chain, on either worker, however slow the machine; the test checks exactly that
(and reports how soon each worker was seen to follow).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shieldware.attack import AttackState, write_state
from shieldware.cli import main
from shieldware.stores import store_from_url
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
NAV = {"accept": "text/html", "sec-fetch-mode": "navigate", "user-agent": "Mozilla/5.0 Chrome"}

pytestmark = pytest.mark.redis


@pytest.fixture
def two_workers(redis_url: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "SW_ATTACK_STORE": redis_url, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.attack_app:app", "--workers", "2",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        pids = seen_pids(base, deadline=time.monotonic() + 60)
        assert len(pids) == 2, f"expected two workers, saw {pids}"
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
            process.kill()
            process.wait(5)


def fresh_get(base: str) -> httpx.Response | None:
    """One request on a new connection (the kernel spreads new connections over the workers)."""
    try:
        with httpx.Client(base_url=base, timeout=5) as client:
            return client.get("/", headers=NAV)
    except httpx.HTTPError:
        return None


def seen_pids(base: str, deadline: float) -> set[str]:
    pids: set[str] = set()
    while len(pids) < 2 and time.monotonic() < deadline:
        response = fresh_get(base)
        if response is not None:
            pids.add(response.headers["x-worker-pid"])
        else:
            time.sleep(0.1)
    return pids


def poll(base: str, since: float, seconds: float) -> list[tuple[float, str, int, str]]:
    """(sent at - since, worker pid, status, x-attack) of requests for `seconds`, and on (20 s
    at most) until both workers answered a request sent after the first second."""
    out: list[tuple[float, str, int, str]] = []
    end, cap = since + seconds, since + 20

    def done() -> bool:
        now = time.monotonic()
        late = {pid for at, pid, _, _ in out if at >= 1.0}
        return now >= cap or (now >= end and (seconds < 1.0 or len(late) == 2))

    while not done():
        sent = time.monotonic()
        response = fresh_get(base)
        if response is not None:
            out.append(
                (sent - since, response.headers["x-worker-pid"], response.status_code,
                 response.headers["x-attack"])
            )  # fmt: skip
    return out


def check_followed(rows: list[tuple[float, str, int, str]], attack: bool) -> dict[str, float]:
    """Every request sent 1 s after the flip met the new chain on both workers; for each worker,
    when it was first seen following (seconds after the flip)."""

    def follows(status: int, flag: str) -> bool:
        # Under attack a navigation without clearance is challenged (403), or, once this one
        # client asked for too many challenges, throttled (429); never let through.
        return (flag == "1" and status in (403, 429)) if attack else (flag, status) == ("0", 200)

    late = [r for r in rows if r[0] >= 1.0]
    assert len({pid for _, pid, _, _ in late}) == 2, "both workers answered after the first second"
    wrong = [r for r in late if not follows(r[2], r[3])]
    assert wrong == [], f"answered with the old chain more than 1 s after the flip: {wrong[:5]}"
    first: dict[str, float] = {}
    for at, pid, status, flag in rows:
        if follows(status, flag):
            first.setdefault(pid, at)
    return first


def test_a_flip_reaches_both_workers_within_a_second(
    two_workers: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = two_workers
    assert {r[2] for r in poll(base, time.monotonic(), 1.0)} == {200}
    # On, with the CLI, as an operator would.
    assert main(["attack", "on", "--store", redis_url, "--reason", "test", "--by", "t"]) == 0
    flipped = time.monotonic()
    on = check_followed(poll(base, flipped, 2.5), attack=True)
    # Off, from Python (any process sharing the store).
    store = store_from_url(redis_url)
    write_state(store, AttackState(False, "over", "t", time.time()))
    store.close()
    flipped = time.monotonic()
    off = check_followed(poll(base, flipped, 2.5), attack=False)
    with capsys.disabled():
        print(
            "\n  two workers followed the flip after (s): on "
            + ", ".join(f"{v:.2f}" for v in sorted(on.values()))
            + "; off "
            + ", ".join(f"{v:.2f}" for v in sorted(off.values()))
        )

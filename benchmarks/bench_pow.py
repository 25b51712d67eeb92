"""Proof-of-work gate costs, side by side with ALTCHA's Python library (v1 HMAC form).

Run: ``python benchmarks/bench_pow.py`` (``pip install altcha`` for the comparison).
Reports medians over interleaved rounds, in microseconds per operation:

- mint:    one signed challenge (ours: itsdangerous HMAC-SHA256 token; ALTCHA: create_challenge_v1)
- verify:  one answer checked (ours: signature, expiry, binding, 4 sub-puzzle hashes AND the
           spent-id record on the memory store; ALTCHA: verify_solution_v1, which keeps no record)
- the layer through `Shield.decide`: issuing a challenge page, redeeming at the verify endpoint,
  passing a request with a clearance (signature + binding + two-bucket meter)
- the Python solver's hash rate
"""

from __future__ import annotations

import argparse
import datetime
import gc
import ipaddress
import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

from shieldware import Facts, MemoryStore, Shield
from shieldware.clientip import network_of
from shieldware.layers import ProofOfWork
from shieldware.layers.challenge import BASE_PATH
from shieldware.ops import Add
from shieldware.pow import TokenKit, binding, check, parse_nonces, solve
from shieldware.pow.puzzle import puzzle_prefix, solve_one
from shieldware.secret import generate_secret, resolve_secrets

SECRET = generate_secret()
NOW = time.time()


def per_op_us(fn: Callable[[], object], n: int) -> float:
    """Mean microseconds per call over `n` calls, the cyclic GC paused as `timeit` does."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - start) / n * 1e6
    finally:
        gc.enable()


def ours(n: int) -> dict[str, Callable[[], object]]:
    kit = TokenKit(resolve_secrets(SECRET), "pow")
    store = MemoryStore()
    bound = binding(network_of(ipaddress.ip_address("10.0.0.1"), 24, 64), "bench")
    # pre-solved answers (verification costs `count` hashes whatever the bits)
    pool = []
    for _ in range(n):
        c = kit.mint_challenge(now=NOW, ttl=300, count=4, bits=3, level=0, bound=bound)
        pool.append((c.token, ",".join(map(str, solve(c.cid, 4, 3)))))
    items = itertools.cycle(pool)

    def mint() -> object:
        return kit.mint_challenge(now=NOW, ttl=300, count=4, bits=17, level=0, bound=bound)

    def verify() -> object:
        token, answer = next(items)
        challenge = kit.read_challenge(token, now=NOW, bound=bound)
        assert not isinstance(challenge, str)
        nonces = parse_nonces(answer, challenge.puzzles)
        assert nonces is not None
        ok = check(challenge.cid, challenge.bits, nonces)
        # the spent-id record (a replay after the first round: same cost, answer False)
        return ok and store.run(Add("sw:pow:pow:spent:" + challenge.cid, 300))

    forged = pool[0][0][:-5] + "AAAAA"

    def refuse() -> object:
        return kit.read_challenge(forged, now=NOW, bound=bound)

    return {"mint": mint, "verify": verify, "refuse forged": refuse}


def altcha_ops(n: int) -> dict[str, Callable[[], object]] | None:
    try:
        import altcha as module
    except ImportError:
        return None
    # the v1 (HMAC) functions are there at run time but not in the package's typed exports
    altcha: Any = module
    key = SECRET
    expires = datetime.datetime.now() + datetime.timedelta(minutes=5)
    pool = []
    for _ in range(n):
        ch = altcha.create_challenge_v1(hmac_key=key, max_number=1000, expires=expires)
        sol = altcha.solve_challenge_v1(ch.challenge, ch.salt, ch.algorithm, ch.max_number)
        assert sol is not None
        payload = {
            "algorithm": ch.algorithm,
            "challenge": ch.challenge,
            "number": sol.number,
            "salt": ch.salt,
            "signature": ch.signature,
        }
        assert altcha.verify_solution_v1(payload, key)[0]
        pool.append(payload)
    items = itertools.cycle(pool)

    def mint() -> object:
        return altcha.create_challenge_v1(hmac_key=key, max_number=100_000, expires=expires)

    def verify() -> object:
        return altcha.verify_solution_v1(next(items), key)

    return {"mint": mint, "verify": verify}


def layer_ops(n: int) -> dict[str, Callable[[], object]]:
    layer = ProofOfWork(
        SECRET,
        count=4,
        bits=3,
        max_bits=3,
        issue_burst=10**9,
        redeem_burst=10**9,
        prefix_burst=10**9,
        meter_burst=10**9,
        ceiling_burst=10**9,
    )
    shield = Shield([layer], store=MemoryStore(max_entries=10**6))
    headers = (("accept", "text/html"), ("user-agent", "bench"))

    def request(path: str, query: str = "", extra: tuple[tuple[str, str], ...] = ()) -> Facts:
        """Facts as the ASGI adapter builds them."""
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "query_string": query.encode(),
            "headers": [(k.encode(), v.encode()) for k, v in (*headers, *extra)],
            "client": ("10.0.0.1", 50000),
        }
        return Facts.from_scope(scope)

    page = request("/page")
    queries = []
    for _ in range(n):
        reply = shield.decide(page).verdict.reply
        assert reply is not None
        token = reply.body.decode().split('data-challenge="', 1)[1].split('"', 1)[0]
        nonces = ",".join(map(str, solve(token.split(".")[1], 4, 3)))
        queries.append(f"c={token}&s={nonces}&r=/page")
    items = itertools.cycle(queries)
    first = shield.decide(request(BASE_PATH + "verify", queries[0]))
    assert first.verdict.reply is not None
    cookie = (first.verdict.reply.header("set-cookie") or "").split(";", 1)[0]
    cleared = request("/page", extra=(("cookie", cookie),))
    assert not shield.decide(cleared).answered

    def issue() -> object:
        return shield.decide(page)

    def redeem() -> object:
        return shield.decide(request(BASE_PATH + "verify", next(items)))

    def passing() -> object:
        return shield.decide(cleared)

    return {"layer issue": issue, "layer redeem": redeem, "layer cleared": passing}


def solver_rate(seconds: float) -> float:
    tries = 0
    start = time.perf_counter()
    index = 0
    while time.perf_counter() - start < seconds:
        tries += solve_one(puzzle_prefix("benchmarkcid0000000000", index), 16)[1]
        index += 1
    return tries / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("-n", type=int, default=2000, help="operations per round")
    args = parser.parse_args()
    suites: dict[str, dict[str, Callable[[], object]]] = {"shieldware": ours(args.n)}
    other = altcha_ops(args.n)
    if other is not None:
        suites["altcha v1"] = other
    suites["shieldware"].update(layer_ops(args.n))
    samples: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):  # interleaved: every candidate runs in every round
        for suite, ops in suites.items():
            for name, fn in ops.items():
                samples.setdefault((suite, name), []).append(per_op_us(fn, args.n))
    print(f"median of {args.rounds} interleaved rounds, {args.n} ops each (us per op)")
    for (suite, name), values in samples.items():
        print(f"  {suite:12} {name:14} {statistics.median(values):8.2f}")
    print(f"python solver: {solver_rate(3.0) / 1e6:.2f} MH/s (one core, hashlib)")


if __name__ == "__main__":
    main()

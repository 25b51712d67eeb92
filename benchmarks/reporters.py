"""What reporters cost per decision: `Shield.decide` with each reporter vs with none.

    python benchmarks/reporters.py [--n 20000] [--rounds 7]

Rounds are interleaved (every variant once per round) and each figure is the median over
rounds, given as microseconds per decision and as a ratio to the bare chain.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from shieldware import Facts, IPList, Shield
from shieldware.liveview import LiveViewReporter
from shieldware.report import LoggingReporter, PrometheusReporter


def variants() -> dict[str, list[Any]]:
    logging.getLogger("shieldware.decision").setLevel(logging.WARNING)
    sampled = logging.getLogger("bench.sampled")
    sampled.addHandler(logging.NullHandler())
    sampled.propagate = False
    sampled.setLevel(logging.DEBUG)
    return {
        "bare": [],
        "logging (disabled level)": [LoggingReporter()],
        "logging (1% sampled, null handler)": [LoggingReporter(sampled, allowed_sample=0.01)],
        "prometheus": [PrometheusReporter()],
        "live view": [LiveViewReporter()],
        "all three": [LoggingReporter(), PrometheusReporter(), LiveViewReporter()],
    }


def one(shield: Shield, facts: list[Facts]) -> float:
    decide = shield.decide
    start = time.perf_counter()
    for f in facts:
        decide(f)
    return (time.perf_counter() - start) / len(facts) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    facts = [
        Facts(
            method="GET",
            path="/",
            client_ip=ipaddress.ip_address(0xC6120000 + i % 5000),
            headers=(("user-agent", "bench"),),
        )
        for i in range(args.n)
    ]
    shields = {
        name: Shield([IPList(deny=["203.0.113.0/24"])], reporters=reps)
        for name, reps in variants().items()
    }
    times: dict[str, list[float]] = {name: [] for name in shields}
    for _ in range(args.rounds):
        for name, shield in shields.items():
            times[name].append(one(shield, facts))
    bare = statistics.median(times["bare"])
    print(f"{'reporters':<36} {'us/decision':>12} {'ratio':>7}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<36} {med:>12.2f} {med / bare:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

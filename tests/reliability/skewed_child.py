"""Run by test_workers.py: a process whose local clock is off by RELIABILITY_SKEW seconds.

It charges a shared Redis bucket LIMIT + 10 times and prints how many requests were admitted.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SKEW = float(os.environ["RELIABILITY_SKEW"])
_time, _time_ns = time.time, time.time_ns
_mono, _mono_ns = time.monotonic, time.monotonic_ns
time.time = lambda: _time() + SKEW  # type: ignore[assignment]
time.time_ns = lambda: _time_ns() + int(SKEW * 1e9)  # type: ignore[assignment]
time.monotonic = lambda: _mono() + SKEW  # type: ignore[assignment]
time.monotonic_ns = lambda: _mono_ns() + int(SKEW * 1e9)  # type: ignore[assignment]

from shieldware.facts import Facts  # noqa: E402
from tests.reliability.served_app import shield  # noqa: E402

if __name__ == "__main__":
    limit = int(sys.argv[1])
    s = shield()
    import ipaddress

    facts = Facts("GET", "/", client_ip=ipaddress.ip_address("11.0.0.1"))
    admitted = sum(not s.decide(facts).answered for _ in range(limit + 10))
    print(json.dumps({"admitted": admitted, "skew": SKEW}))

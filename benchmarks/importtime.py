"""What ``import shieldware`` costs a fresh process: paired against ``python -c pass``.

Each round starts one interpreter that only starts and one that imports shieldware, in a shuffled
order; the figure is the median over rounds of the difference, so interpreter start-up and the
machine's noise fall on both.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: What an app's start-up loads: the default chain in the ASGI middleware, on memory.
_DEFAULT = "import shieldware as s\ns.ShieldMiddleware(lambda *a: None, shield=s.Shield.default())"
_SECRET = "l8D3ugTlx6uzNJS10-Y5cKOafTDg3NzMe2d8ctlEHxs"  # a benchmark secret, published


def _once(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def run(rounds: int = 21) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["SHIELDWARE_SECRET"] = _SECRET
    codes = {"pass": "pass", "import": "import shieldware", "default": _DEFAULT}
    for code in codes.values():
        _once(code, env)  # warm the page cache and the bytecode
    samples: dict[str, list[float]] = {name: [] for name in codes}
    rng = random.Random(3)
    for _ in range(rounds):
        order = list(codes)
        rng.shuffle(order)
        for name in order:
            samples[name].append(_once(codes[name], env) * 1e3)
    added = statistics.median(
        a - b for a, b in zip(samples["import"], samples["pass"], strict=True)
    )
    default = statistics.median(
        a - b for a, b in zip(samples["default"], samples["pass"], strict=True)
    )
    return {
        "rounds": rounds,
        "pass_ms": statistics.median(samples["pass"]),
        "import_ms": statistics.median(samples["import"]),
        "added_ms": added,
        "default_ms": statistics.median(samples["default"]),
        "default_added_ms": default,
    }

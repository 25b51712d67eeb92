"""Run every benchmark in one go: ``python -m benchmarks`` (or ``python benchmarks/run.py``).

Writes ``docs/benchmarks.json``, ``docs/img/bench-*.png`` and ``docs/benchmarks.md``.
``--quick`` runs a short smoke pass (fewer rounds, 100,000 keys) and writes to a temporary folder
unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    __package__ = "benchmarks"

from benchmarks import inprocess, layers, loopback, memory, pow_bench, profile, report, roundtrips
from benchmarks.redisserver import PrivateRedis

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "?"


def _environment() -> dict[str, Any]:
    import shieldware

    try:
        names = layers.default_names()
    except Exception as exc:
        names = [f"(default chain failed: {exc})"]
    return {
        "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "note": "shared and noisy: medians and paired ratios only",
        "shieldware": shieldware.__version__,
        "branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "default_layers": names,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--out", type=Path, help="folder for benchmarks.{md,json} and img/")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["inprocess", "roundtrips", "loopback", "memory", "pow"],
        help="leave a part out (repeatable)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="only re-render the report and plots from an earlier run's benchmarks.json",
    )
    args = parser.parse_args(argv)
    if args.render:
        return _render(json.loads(args.render.read_text()), args.out or args.render.parent)
    quick = args.quick
    out = args.out or (Path(tempfile.mkdtemp(prefix="bench-")) if quick else ROOT / "docs")
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.0f}s] {message}", flush=True)

    data: dict[str, Any] = {"environment": _environment(), "quick": quick}
    server = PrivateRedis()
    redis_url = server.start()
    log(f"redis: {redis_url or 'not available (redis-server missing)'}")
    try:
        if "inprocess" not in args.skip:
            log("in process (ASGI and WSGI called directly) ...")
            rounds = 5 if quick else 21
            data["inprocess"] = inprocess.run(redis_url, rounds=rounds)
            data["inprocess"]["rounds"] = rounds
            data["profile"] = profile.run()
        if "roundtrips" not in args.skip:
            log("Redis round trips per decision ...")
            data["roundtrips"] = roundtrips.run(server)
        if "pow" not in args.skip:
            log("proof of work ...")
            data["pow"] = pow_bench.run()
        if "loopback" not in args.skip:
            log("uvicorn + wrk on loopback ...")
            data["loopback"] = loopback.run(
                redis_url, rounds=2 if quick else 7, seconds=2 if quick else 4, log=log
            )
    finally:
        server.stop()
    if "memory" not in args.skip:
        log("memory under a flood of distinct clients ...")
        data["memory"] = memory.run(
            n=100_000 if quick else 1_000_000,
            budget=20 if quick else 120,
            trace_budget=10 if quick else 45,
            log=log,
        )
    return _render(data, out)


def _render(data: dict[str, Any], out: Path) -> int:
    """Judge the targets, draw the plots, write benchmarks.{json,md} into `out`."""
    data["targets"] = report.judge(data)
    data["why"] = report.explain(data)
    images = report.plots(data, out / "img")
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    (out / "benchmarks.md").write_text(report.markdown(data, images))
    print(f"wrote {out / 'benchmarks.md'}, {out / 'benchmarks.json'} and {len(images)} plots")
    for row in data["targets"]:
        mark = "met   " if row["met"] else "MISSED"
        print(f"  {mark} {row['target']}: {row['measured']} {row['miss']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Run every benchmark in one go: ``python -m benchmarks`` (or ``python benchmarks/run.py``).

Measures every target of issue 11 as figures paired within one run, judges them, prints the
targets as a markdown table and writes ``docs/benchmarks.{md,json}`` (and ``docs/img/bench-*.png``
when matplotlib is there). ``--quick`` runs fewer, shorter rounds (about 3 minutes) and writes to
a temporary folder unless ``--out`` is given; the full run takes about 10 minutes.
``benchmarks/baseline.json`` holds the figures of a run on an earlier commit (``--save-baseline``
writes it): the report shows them as the *before* column.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    __package__ = "benchmarks"

from benchmarks import importtime, inprocess, layers, loopback, profile, report, roundtrips
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
        # the last commit that changed the code under test (the baseline's label)
        "code_commit": _git("log", "-1", "--format=%h", "--", "src", "pyproject.toml"),
        "default_layers": names,
    }


PARTS = ("inprocess", "roundtrips", "loopback", "import")
EXTRAS = ("memory", "pow", "origin")
BASELINE = Path(__file__).resolve().parent / "baseline.json"


def _extra(name: str, quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """The parts no target needs; they lean on more than the public API, so a failure is noted."""
    try:
        if name == "memory":
            from benchmarks import memory

            return memory.run(
                n=100_000 if quick else 1_000_000,
                budget=20 if quick else 120,
                trace_budget=10 if quick else 45,
                log=log,
            )
        if name == "origin":
            from benchmarks import origin

            return origin.run(quick, log)
        from benchmarks import pow_bench

        return pow_bench.run()
    except Exception as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"[:300]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (~3 min)")
    parser.add_argument("--out", type=Path, help="folder for benchmarks.{md,json} and img/")
    parser.add_argument(
        "--skip", action="append", default=[], choices=PARTS, help="leave a part out (repeatable)"
    )
    parser.add_argument(
        "--extra", action="append", default=[], choices=EXTRAS, help="add a part (repeatable)"
    )
    parser.add_argument(
        "--baseline", type=Path, default=BASELINE, help="the *before* figures (JSON)"
    )
    parser.add_argument(
        "--save-baseline",
        action="store_true",
        help="write this run's target figures to --baseline (run it on the *before* commit)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="only re-render the report and plots from an earlier run's benchmarks.json",
    )
    args = parser.parse_args(argv)
    baseline = json.loads(args.baseline.read_text()) if args.baseline.is_file() else None
    if args.render:
        earlier = json.loads(args.render.read_text())
        return _render(earlier, args.out or args.render.parent, baseline, None)
    quick = args.quick
    out = args.out or (Path(tempfile.mkdtemp(prefix="bench-")) if quick else ROOT / "docs")
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.0f}s] {message}", file=sys.stderr, flush=True)

    data: dict[str, Any] = {"environment": _environment(), "quick": quick}
    server = PrivateRedis()
    redis_url = server.start()
    log(f"redis: {redis_url or 'not available (redis-server missing)'}")
    try:
        if "inprocess" not in args.skip:
            log("in process (ASGI and WSGI called directly) ...")
            rounds = 7 if quick else 25
            data["inprocess"] = inprocess.run(redis_url, rounds=rounds, log=log)
            data["inprocess"]["rounds"] = rounds
            data["profile"] = profile.run(requests=1000 if quick else 5000)
        if "roundtrips" not in args.skip:
            log("Redis round trips per decision ...")
            data["roundtrips"] = roundtrips.run(server)
        if "loopback" not in args.skip:
            log("uvicorn + wrk on loopback ...")
            data["loopback"] = loopback.run(
                redis_url, rounds=3 if quick else 7, seconds=2 if quick else 3, log=log
            )
    finally:
        server.stop()
    if "import" not in args.skip:
        log("import time ...")
        data["importtime"] = importtime.run(rounds=9 if quick else 25)
    for name in args.extra:
        log(f"{name} ...")
        data[name] = _extra(name, quick, log)
    log("done")
    return _render(data, out, baseline, args.baseline if args.save_baseline else None)


def _render(
    data: dict[str, Any], out: Path, baseline: dict[str, Any] | None, save: Path | None
) -> int:
    """Judge the targets, draw the plots, write benchmarks.{json,md} into `out`; print the table."""
    data["targets"] = report.judge(data)
    data["why"] = report.explain(data)
    if save is not None:
        env = data.get("environment", {})
        baseline = {
            "commit": env.get("code_commit") or env.get("commit", "?"),
            "when": env.get("when", "?"),
            "targets": {r["id"]: r["measured"] for r in data["targets"]},
        }
        save.write_text(json.dumps(baseline, indent=1, ensure_ascii=False) + "\n")
    if baseline:
        data["baseline"] = baseline
    images = report.plots(data, out / "img")
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    (out / "benchmarks.md").write_text(report.markdown(data, images))
    print("\n".join(report.targets_table(data, baseline)))
    print(f"\nwrote {out / 'benchmarks.md'} and {out / 'benchmarks.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Throughput and latency under uvicorn on loopback, driven by ``wrk``, paired against bare.

Every variant gets its own uvicorn process (one worker, uvloop and httptools). Rounds are
interleaved: each round runs wrk once against every server in a shuffled order, each right beside
a run of bare; a variant's ratio is the median over rounds of its requests/s divided by the
requests/s of the bare run beside it. Beside
requests/s: the server process's own CPU time per request (psutil, user + system, over the wrk run),
which is what the middleware costs a server whatever wrk and the machine's noise do.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from .apps import BY_NAME
from .redisserver import free_port
from .requests import CHROME_HEADERS, wrk_script

WRK_VARIANTS = ("bare", "empty", "pure", "tokenbucket", "default", "asgi-ratelimit")


def _wait(port: int, proc: subprocess.Popen[bytes], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                head_lines = "".join(
                    f"{k}: {v}\r\n" for k, v in CHROME_HEADERS if k != "connection"
                )
                s.sendall(f"GET / HTTP/1.1\r\n{head_lines}Connection: close\r\n\r\n".encode())
                head = s.recv(64)
                return head.startswith(b"HTTP/1.1 200")
        except OSError:
            time.sleep(0.1)
    return False


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


def _cpu(proc: subprocess.Popen[bytes]) -> float:
    """The server's CPU seconds so far (user + system)."""
    import psutil  # type: ignore[import-untyped]

    times = psutil.Process(proc.pid).cpu_times()
    return float(times.user + times.system)


def _wrk(
    port: int, seconds: int, connections: int, proc: subprocess.Popen[bytes] | None = None
) -> dict[str, float]:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script())
    cpu_before = _cpu(proc) if proc is not None else 0.0
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                script.name,
                f"http://127.0.0.1:{port}/",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=False,
        ).stdout
    finally:
        os.unlink(script.name)
    cpu = _cpu(proc) - cpu_before if proc is not None else float("nan")
    done = re.search(r"(\d+) requests in", out)
    requests = float(done.group(1)) if done else 0.0
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"\s50%\s+(\S+)", out)
    p99 = re.search(r"\s99%\s+(\S+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": _ms(p50.group(1)) if p50 else float("nan"),
        "p99_ms": _ms(p99.group(1)) if p99 else float("nan"),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
        "requests": requests,
        "cpu_us": cpu / requests * 1e6 if requests else float("nan"),
    }


def run(
    redis_url: str | None,
    rounds: int = 5,
    names: tuple[str, ...] = WRK_VARIANTS,
    seconds: int = 3,
    connections: int = 16,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (apt-get install wrk)"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.join(root, "src"), root])}
    servers: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
    skipped: dict[str, str] = {}
    try:
        for name in names:
            if BY_NAME[name].redis and not redis_url:
                skipped[name] = "no Redis server"
                continue
            port = free_port()
            proc = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.serve", name, str(port), redis_url or ""],
                env=env,
                cwd=root,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if _wait(port, proc):
                servers[name] = (port, proc)
            else:
                proc.kill()
                err = (proc.communicate(timeout=5)[1] or b"").decode(errors="replace")
                lines = [ln for ln in err.splitlines() if "not available" in ln or "built" in ln]
                skipped[name] = (lines or err.strip().splitlines()[-1:] or ["did not start"])[-1][
                    :300
                ]
        if "bare" not in servers:
            return {"skipped": "the bare server did not start", "variants": skipped}
        for port, _ in servers.values():
            _wrk(port, 1, connections)  # warm up
        # Each variant's run sits right beside a bare run (before or after, alternating), and its
        # ratio is taken against that neighbour: the machine's load drifts over seconds.
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        beside: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        rng = random.Random(2)
        others = [name for name in servers if name != "bare"]
        for index in range(rounds):
            rng.shuffle(others)
            for turn, name in enumerate(others):
                pair = ("bare", name) if (turn + index) % 2 == 0 else (name, "bare")
                got = {n: _wrk(servers[n][0], seconds, connections, servers[n][1]) for n in pair}
                samples[name].append(got[name])
                samples["bare"].append(got["bare"])
                beside[name].append(got["bare"])
            log(f"  wrk round {index + 1}/{rounds}")
        beside["bare"] = samples["bare"]
    finally:
        for _, proc in servers.values():
            proc.terminate()
        for _, proc in servers.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
    results: dict[str, Any] = {}
    for name, rows in samples.items():
        base = beside[name]
        results[name] = {
            "label": BY_NAME[name].label,
            "rps_median": statistics.median(r["rps"] for r in rows),
            "p50_ms_median": statistics.median(r["p50_ms"] for r in rows),
            "p99_ms_median": statistics.median(r["p99_ms"] for r in rows),
            "ratio": statistics.median(
                r["rps"] / b["rps"] for r, b in zip(rows, base, strict=True) if b["rps"]
            ),
            "non2xx": sum(r["non2xx"] for r in rows),
            "cpu_us_median": statistics.median(r["cpu_us"] for r in rows),
            "cpu_ratio": statistics.median(
                r["cpu_us"] / b["cpu_us"] for r, b in zip(rows, base, strict=True) if b["cpu_us"]
            ),
            "rounds": rows,
        }
    return {
        "results": results,
        "skipped": skipped,
        "settings": {
            "rounds": rounds,
            "seconds": seconds,
            "connections": connections,
            "threads": 1,
            "server": "uvicorn, 1 worker, uvloop + httptools",
        },
    }

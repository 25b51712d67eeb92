"""Turn one run's results into plots and docs/benchmarks.md, with every target judged."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

#: The targets of issue 8 (and the figures issue 2 asks for), in the words a reader checks.
TARGET_RATIO_DEFAULT = 2.5
TARGET_SLOWAPI_FRACTION = 0.1
TARGET_WRK_RATIO = 0.85


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def judge(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target: what it asks, what was measured, met or missed (by how much)."""
    ip = data.get("inprocess", {}).get("results", {})
    wrk = data.get("loopback", {}).get("results", {})
    mem = data.get("memory", {})
    rows: list[dict[str, Any]] = []

    def row(target: str, measured: str, met: bool | None, miss: str = "") -> None:
        rows.append({"target": target, "measured": measured, "met": met, "miss": miss})

    bare = ip.get("bare", {}).get("median_us")
    default = ip.get("default")
    if default and bare:
        ratio = default["paired_ratio"]
        row(
            f"default chain ≤ {TARGET_RATIO_DEFAULT}x bare hello world (in process)",
            f"{ratio:.2f}x ({default['median_us']:.1f} µs vs {bare:.1f} µs)",
            ratio <= TARGET_RATIO_DEFAULT,
            f"over by {ratio - TARGET_RATIO_DEFAULT:.2f}x" if ratio > TARGET_RATIO_DEFAULT else "",
        )
        slow = ip.get("slowapi")
        if slow:
            limit = slow["added_us"] * TARGET_SLOWAPI_FRACTION
            row(
                "default chain adds under a tenth of slowapi's added cost",
                f"+{default['added_us']:.1f} µs vs slowapi +{slow['added_us']:.1f} µs "
                f"(limit {limit:.1f} µs)",
                default["added_us"] < limit,
                f"over by {default['added_us'] - limit:.1f} µs"
                if default["added_us"] >= limit
                else "",
            )
    peer = ip.get("asgi-ratelimit")
    if peer:
        for name in ("iplist", "tokenbucket", "fingerprint"):
            layer = ip.get(name)
            if not layer:
                continue
            row(
                f"{layer['label']} adds no more than asgi-ratelimit (the fastest peer, which "
                "does less)",
                f"+{layer['added_us']:.1f} µs vs +{peer['added_us']:.1f} µs",
                layer["added_us"] <= peer["added_us"],
                f"over by {layer['added_us'] - peer['added_us']:.1f} µs"
                if layer["added_us"] > peer["added_us"]
                else "",
            )
    if bare:
        for r in ip.values():
            if r["rejects"] and r["kind"] == "asgi" and "shieldware" in r["label"]:
                row(
                    f"a rejection costs less than the bare hello world: {r['label']}",
                    f"{r['median_us']:.1f} µs vs {bare:.1f} µs",
                    r["median_us"] < bare,
                    f"over by {r['median_us'] - bare:.1f} µs" if r["median_us"] >= bare else "",
                )
    for name in ("default", "empty", "iplist", "tokenbucket"):
        r = wrk.get(name)
        if r:
            row(
                f"loopback throughput ≥ {TARGET_WRK_RATIO:.0%} of bare: {r['label']}",
                f"{r['ratio']:.0%} of bare ({r['rps_median']:,.0f} req/s)",
                r["ratio"] >= TARGET_WRK_RATIO,
                f"short by {TARGET_WRK_RATIO - r['ratio']:.0%} points"
                if r["ratio"] < TARGET_WRK_RATIO
                else "",
            )
    for name in ("shieldware", "shieldware-chain"):
        m = mem.get(name, {}).get("rss")
        if m:
            growth = _flat_growth(m)
            at_bound = m.get("size") == m.get("bound")
            row(
                f"memory flat at the bound after {m['target']:,} distinct clients: "
                f"{mem[name]['label']}",
                f"size {m['size']:,} / bound {m['bound']:,}; RSS +{m['rss_growth_mib']:.1f} MiB in "
                f"all, +{growth:.1f} MiB after the bound was reached; {m['keys']:,} keys",
                at_bound and growth < 16 and m["keys"] == m["target"],
                "" if at_bound and growth < 16 else "size or RSS kept growing",
            )
    return rows


def headline(data: dict[str, Any]) -> list[str]:
    """The figures a reader wants first (and the foundation issue asks for), as bullets."""
    ip = data.get("inprocess", {}).get("results", {})
    wrk = data.get("loopback", {}).get("results", {})
    mem = data.get("memory", {})
    out = ["## Headline figures", ""]
    bare = ip.get("bare")
    if bare:
        out.append(
            f"- bare Starlette hello world: {bare['median_us']:.1f} µs per request in process"
        )
    for name in ("empty", "iplist", "default", "tokenbucket", "fingerprint"):
        r = ip.get(name)
        if r:
            out.append(
                f"- {r['label']}: {r['median_us']:.1f} µs, **{r['paired_ratio']:.2f}x** bare "
                f"(+{r['added_us']:.1f} µs)"
            )
    for name in ("asgi-ratelimit", "slowapi"):
        r = ip.get(name)
        if r:
            out.append(f"- peer {r['label']}: +{r['added_us']:.1f} µs ({r['paired_ratio']:.2f}x)")
    m = mem.get("shieldware", {}).get("rss")
    if m:
        t = mem["shieldware"].get("trace", {})
        traced = f", {t['traced_mib']:.1f} MiB traced by tracemalloc" if t else ""
        out.append(
            f"- memory store after {m['keys']:,} distinct keys: **{m['size']:,} entries** (bound "
            f"{m['bound']:,}), RSS +{m['rss_growth_mib']:.1f} MiB{traced}"
        )
    for name in ("default", "empty", "iplist"):
        r = wrk.get(name)
        if r:
            out.append(
                f"- uvicorn + wrk, {r['label']}: **{r['ratio']:.0%}** of bare's throughput "
                f"(p99 {r['p99_ms_median']:.1f} ms vs bare {wrk['bare']['p99_ms_median']:.1f} ms)"
            )
    out += [
        "",
        "Measured here before shieldware existed (research note): bare Starlette about 9 µs, "
        "asgi-ratelimit +4 µs, slowapi +134 µs. This machine is shared by several engineers "
        "at once; compare the ratios, not the absolute figures.",
        "",
    ]
    return out


def explain(data: dict[str, Any]) -> list[str]:
    """Why the missed targets are missed, from this run's own profile and figures."""
    out: list[str] = []
    missed = [r for r in data.get("targets", []) if r["met"] is False]
    ip = data.get("inprocess", {}).get("results", {})
    parts = [
        (ip[n]["label"], ip[n]["added_us"])
        for n in ("empty", "iplist", "fingerprint", "tokenbucket", "default")
        if n in ip and "added_us" in ip[n]
    ]
    if parts and any(
        "default chain" in r["target"] or "adds no more" in r["target"] for r in missed
    ):
        listed = "; ".join(f"{label} +{added:.1f} µs" for label, added in parts)
        out.append(
            "Where the default chain's cost comes from (each measured alone, added to bare): "
            f"{listed}. The empty chain is the fixed price of the middleware (facts built from "
            "every header, the chain driven as a generator, the decision attached, headers "
            "added on the way out); each layer adds its own on top, and the default chain pays "
            "the fixed price once."
        )
    if all(n in ip for n in ("empty", "default")):
        base = ip["empty"]["median_us"]
        steps = [
            (ip[n]["label"].split(", ", 1)[-1], ip[n]["median_us"] - base)
            for n in ("iplist", "fingerprint", "tokenbucket")
            if n in ip
        ]
        predicted = ip["empty"]["added_us"] + sum(step for _, step in steps)
        listed = ", ".join(f"{label} +{step:.1f} µs" for label, step in steps)
        out.append(
            f"Over the empty chain, each layer alone costs: {listed}. The empty chain's "
            f"+{ip['empty']['added_us']:.1f} µs plus these is +{predicted:.1f} µs, against "
            f"+{ip['default']['added_us']:.1f} µs measured for the default chain (the rest is "
            "the proof-of-work layer's coverage check and noise): the cost is additive, and "
            "the token bucket (key encoding, GCRA, RateLimit headers on every response) is the "
            "largest single piece."
        )
    prof = data.get("profile", {})
    for name in ("empty", "default", "tokenbucket", "fingerprint", "iplist"):
        p = prof.get(name, {})
        if "top" not in p:
            continue
        top = ", ".join(
            f"`{r['function'].split('/')[-1]}` {r['cum_share']:.0%}"
            for r in [r for r in p["top"] if r["cum_share"] < 0.9][:5]
        )
        out.append(
            f"Profile of the {name} variant (cProfile, share of the whole request including the "
            f"app): shieldware's own code takes {p['shieldware_own_share']:.0%}; heaviest "
            f"(cumulative): {top}."
        )
    if any("rejection" in r["target"] for r in missed):
        out.append(
            "A shieldware rejection builds the full request facts (every header decoded, "
            "cleaned and indexed) and renders a reply with a body chosen by Accept; the bare "
            "app serves a 13-byte constant. asgi-ratelimit answers 429 with an empty body "
            "and reads nothing but the peer address."
        )
    rt = data.get("roundtrips", {}).get("tokenbucket-redis-reject", {})
    if rt.get("per_decision") == 0:
        out.append(
            "A refused client costs shieldware's Redis-backed TokenBucket no round trip at all: "
            "each process remembers over-limit keys until their wait is over (the layer's "
            "`local_cache`), so a client hammering past its limit never reaches Redis."
        )
    wsgi = [r for r in ip.values() if r["kind"] == "wsgi" and r.get("added_us") is not None]
    if wsgi:
        out.append(
            "WSGI ratios look large because the bare WSGI app is a bare function (a few µs, no "
            "framework); the added µs are the figure to compare with the ASGI rows."
        )
    if any("loopback" in r["target"] for r in missed):
        out.append(
            "Under uvicorn the server's own work (parsing, the event loop, the socket) is "
            "shared by every app, so a ratio below target means the middleware's in-process "
            "cost is a sizeable part of a request that a bare hello world makes very cheap."
        )
    return out


def _flat_growth(m: dict[str, Any]) -> float:
    """RSS growth between the first checkpoint past the bound and the end."""
    points = [(k, v) for k, v in m.get("rss_checkpoints_mib", []) if k >= m.get("bound", 0)]
    return points[-1][1] - points[0][1] if len(points) >= 2 else 0.0


def plots(data: dict[str, Any], out_dir: Path) -> list[str]:
    """PNG plots; returns the file names written (none when matplotlib is missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    ip = data.get("inprocess", {}).get("results", {})
    for kind, rejects, fname, title in (
        ("asgi", False, "bench-inprocess-asgi.png", "In process, ASGI: µs per passing request"),
        ("asgi", True, "bench-rejections.png", "In process, ASGI: µs per rejected request"),
        ("wsgi", None, "bench-inprocess-wsgi.png", "In process, WSGI: µs per request"),
    ):
        rows = [
            r
            for r in ip.values()
            if r["kind"] == kind and (rejects is None or r["rejects"] == rejects)
        ]
        if rejects and "bare" in ip:
            rows = [ip["bare"], *rows]
        if not rows:
            continue
        rows.sort(key=lambda r: r["median_us"])
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.2))
        labels = [r["label"] for r in rows]
        values = [r["median_us"] for r in rows]
        errs = [
            [v - r["min_us"] for v, r in zip(values, rows, strict=True)],
            [r["max_us"] - v for v, r in zip(values, rows, strict=True)],
        ]
        colors = [
            "#888" if "bare" in r["label"] else "#2a6" if "shieldware" in r["label"] else "#c63"
            for r in rows
        ]
        ax.barh(labels, values, xerr=errs, color=colors, capsize=2)
        ax.set_xscale("log")
        ax.set_xlabel("µs per request (median of interleaved rounds; whiskers: min-max; log)")
        ax.set_title(title)
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:.1f}", va="center", fontsize=8)
        fig.tight_layout()
        fig.savefig(out_dir / fname, dpi=110)
        plt.close(fig)
        written.append(fname)
    wrk = data.get("loopback", {}).get("results", {})
    if wrk:
        rows = sorted(wrk.values(), key=lambda r: -r["ratio"])
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.2))
        ax.barh(
            [r["label"] for r in rows],
            [r["ratio"] for r in rows],
            color=[
                "#888" if "bare" in r["label"] else "#2a6" if "shieldware" in r["label"] else "#c63"
                for r in rows
            ],
        )
        ax.axvline(TARGET_WRK_RATIO, color="k", linestyle="--", linewidth=1)
        ax.set_xlabel("requests/s as a fraction of bare (median of paired rounds); dashed: target")
        ax.set_title("uvicorn on loopback, wrk")
        ax.invert_yaxis()
        fig.tight_layout()
        fig.savefig(out_dir / "bench-loopback.png", dpi=110)
        plt.close(fig)
        written.append("bench-loopback.png")
    mem = data.get("memory", {})
    series = [(v["label"], v["rss"]) for v in mem.values() if "rss" in v]
    if series:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for label, m in series:
            pts = m.get("rss_checkpoints_mib", [])
            if pts:
                ax.plot([k / 1000 for k, _ in pts], [v for _, v in pts], marker=".", label=label)
        ax.set_xlabel("thousands of distinct client addresses")
        ax.set_ylabel("RSS growth, MiB")
        ax.set_title("Memory under a flood of distinct clients")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out_dir / "bench-memory.png", dpi=110)
        plt.close(fig)
        written.append("bench-memory.png")
    return written


def markdown(data: dict[str, Any], images: list[str], image_prefix: str = "img/") -> str:
    env = data.get("environment", {})
    ip = data.get("inprocess", {})
    lines = [
        "# Benchmarks",
        "",
        "What shieldware costs on the happy path, what a rejection costs, and what a flood of",
        "distinct clients does to memory, measured side by side with the Python peers",
        "**in one run**.",
        "Generated by `python -m benchmarks` (see `benchmarks/`); the raw figures are in",
        "`docs/benchmarks.json`. Rerun it on your machine: absolute numbers depend on the machine,",
        "the ratios much less.",
        "",
        f"Run: {env.get('when', '?')}, Python {env.get('python', '?')}, {env.get('cpus', '?')} "
        f"CPUs ({env.get('note', '')}), shieldware {env.get('shieldware', '?')} on branch "
        f"`{env.get('branch', '?')}` at `{env.get('commit', '?')}`.",
        f"Default chain on this branch: {', '.join(env.get('default_layers', [])) or '?'}.",
        "",
        "**Method.** In process, every app is awaited (ASGI) or called (WSGI) directly with a",
        "prebuilt request from 4,096 rotating client addresses (one address for rejections); each",
        "round runs every app once in a shuffled order for about 40 ms; the figure is the median",
        f"over {ip.get('rounds', '?')} rounds and the ratio is the median of per-round ratios to",
        "the bare app (paired, so the noise of a shared machine falls on both). Passing variants",
        "get limits no request reaches; rejecting variants a limit of one (after a warm-up",
        "request).",
        "Every timed request's status is checked before timing.",
        "",
        *headline(data),
        "## Targets",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
    ]
    for r in data.get("targets", []):
        verdict = "met" if r["met"] else f"**missed**: {r['miss']}" if r["met"] is False else "—"
        lines.append(f"| {r['target']} | {r['measured']} | {verdict} |")
    why = data.get("why", [])
    if why:
        lines += ["", "### Why the misses", ""] + [f"- {w}" for w in why]
    lines += [
        "",
        "## In process",
        "",
        "| app | µs/request (median) | added µs | x bare (paired) | min-max µs |",
        "|---|---|---|---|---|",
    ]
    for r in sorted(
        ip.get("results", {}).values(), key=lambda r: (r["kind"], r["rejects"], r["median_us"])
    ):
        warn = "" if r.get("final_ok", True) else f" (last status {r['final_status']}!)"
        lines.append(
            f"| {r['label']}{warn} | {_fmt(r['median_us'])} | {_fmt(r.get('added_us'))} | "
            f"{_fmt(r.get('paired_ratio'), 2)} | {_fmt(r['min_us'])}-{_fmt(r['max_us'])} |"
        )
    skipped = ip.get("skipped", {})
    if skipped:
        lines += ["", "Not measured in this run:", ""]
        lines += [f"- `{k}`: {v}" for k, v in skipped.items()]
    for img in images:
        if "inprocess" in img or "rejections" in img:
            lines += ["", f"![{img}]({image_prefix}{img})"]
    rt = data.get("roundtrips", {})
    if rt:
        lines += [
            "",
            "## Redis round trips per decision",
            "",
            "Counted by a proxy in front of a private redis-server (client-side request "
            "flights); the commands column comes from the server's `INFO commandstats` and "
            "includes the commands a Lua script runs inside the server.",
            "",
            "| app | round trips / decision | commands / decision |",
            "|---|---|---|",
        ]
        for r in rt.values():
            if "skipped" in r:
                lines.append(f"| {r['label']} | — | {r['skipped']} |")
            else:
                cmds = ", ".join(f"{k} {v:g}" for k, v in r["commands"].items())
                lines.append(f"| {r['label']} | {r['per_decision']:g} | {cmds} |")
    lb = data.get("loopback", {})
    if lb.get("results"):
        s = lb.get("settings", {})
        lines += [
            "",
            "## uvicorn on loopback (wrk)",
            "",
            f"wrk -t{s.get('threads')} -c{s.get('connections')} -d{s.get('seconds')}s, "
            f"{s.get('rounds')} interleaved rounds, {s.get('server')}; every request carries "
            "an X-Forwarded-For from 4,096 addresses, read only by the default chain (which "
            "trusts loopback as its proxy; the others see one client, 127.0.0.1); limits are "
            "generous, so every answer must be a 200 (see non-2xx).",
            "",
            "| app | req/s (median) | x bare (paired) | p50 ms | p99 ms | non-2xx |",
            "|---|---|---|---|---|---|",
        ]
        for r in sorted(lb["results"].values(), key=lambda r: -r["ratio"]):
            lines.append(
                f"| {r['label']} | {r['rps_median']:,.0f} | {r['ratio']:.2f} | "
                f"{_fmt(r['p50_ms_median'], 2)} | {_fmt(r['p99_ms_median'], 2)} | "
                f"{r['non2xx']:.0f} |"
            )
        if lb.get("skipped"):
            lines += ["", "Not measured:", ""] + [f"- `{k}`: {v}" for k, v in lb["skipped"].items()]
        if "bench-loopback.png" in images:
            lines += ["", f"![loopback]({image_prefix}bench-loopback.png)"]
    elif lb.get("skipped"):
        lines += ["", "## uvicorn on loopback (wrk)", "", f"Not measured: {lb['skipped']}"]
    mem = data.get("memory", {})
    if mem:
        lines += [
            "",
            "## Memory after a flood of distinct client addresses",
            "",
            "One subprocess per limiter and mode, each limiter driven at its core (the store "
            "or backend its middleware calls per request) with a 100/minute limit, so every "
            "address leaves state behind. RSS from psutil; Python allocations from "
            "tracemalloc in a separate run (it slows the loop and inflates RSS).",
            "",
            "| limiter | keys done | entries kept | RSS growth MiB | tracemalloc MiB | "
            "µs/key | note |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in mem.values():
            if "skipped" in r:
                lines.append(f"| {r['label']} | — | — | — | — | — | {r['skipped']} |")
                continue
            m, t = r.get("rss", {}), r.get("trace", {})
            note = m.get("note", "")
            if m.get("keys", 0) < m.get("target", 0):
                note = (note + "; " if note else "") + "stopped at the time budget"
            lines.append(
                f"| {r['label']} | {m.get('keys', 0):,} | {m.get('size', 0):,} | "
                f"{_fmt(m.get('rss_growth_mib'))} | {_fmt(t.get('traced_mib'))} | "
                f"{_fmt(m.get('us_per_key'))} | {note} |"
            )
        if "bench-memory.png" in images:
            lines += ["", f"![memory]({image_prefix}bench-memory.png)"]
    pw = data.get("pow", {})
    if pw:
        lines += ["", "## Proof of work", ""]
        if "skipped" in pw:
            lines.append(f"Not measured: {pw['skipped']}")
        else:
            lines += ["| operation | µs (median) |", "|---|---|"]
            lines += [f"| {k} | {_fmt(v)} |" for k, v in pw.get("results", {}).items()]
            if pw.get("notes"):
                lines += [""] + [f"- {n}" for n in pw["notes"]]
    lines += [
        "",
        "## Reproduce",
        "",
        "```sh",
        "pip install -e '.[bench]'   # slowapi, asgi-"
        "ratelimit, fastapi-limiter, matplotlib, psutil",
        "apt-get install wrk redis-server",
        "python -m benchmarks            # full run, writes docs/benchmarks.{md,json} and "
        "docs/img/bench-*.png",
        "python -m benchmarks --quick    # a smoke run in about a minute",
        "```",
        "",
    ]
    return "\n".join(lines)

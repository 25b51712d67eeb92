"""Turn one run's results into plots and docs/benchmarks.md, with every target judged."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Issue 11's targets ("The fast path"), each judged on figures paired within this one run.
EMPTY_RATIO = 1.05
PURE_ADDED_US = 1.5
DEFAULT_RATIO = 2.0
REFUSAL_RATIO = 0.8
WRK_RATIOS = {"empty": 0.95, "tokenbucket": 0.85, "default": 0.8}
FRESH_RATIO = 1.5
FRESH_UA_US = 20.0
REDIS_PEER_FRACTION = 0.5
IMPORT_MS = 80.0
TARGET_WRK_RATIO = min(WRK_RATIOS.values())


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def judge(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target: an id, what it asks, what this run measured, met or missed (by how much).

    A target whose figures are missing from the run is listed as not measured (met None), so a
    part that failed to build shows up instead of silently dropping a row.
    """
    ip = data.get("inprocess", {}).get("results", {})
    wrk = data.get("loopback", {}).get("results", {})
    rt = data.get("roundtrips", {})
    imp = data.get("importtime", {})
    rows: list[dict[str, Any]] = []

    def row(key: str, target: str, measured: str | None, met: bool | None, miss: str = "") -> None:
        rows.append(
            {
                "id": key,
                "target": target,
                "measured": measured if measured is not None else "not measured",
                "met": met if measured is not None else None,
                "miss": miss if measured is not None else "",
            }
        )

    def limit_row(
        key: str,
        target: str,
        measured: Callable[[Any], str],
        rows: Any,
        value: float | None,
        limit: float,
        unit: str,
        floor: bool = False,
    ) -> None:
        """A row judged `value` ≤ `limit` (≥ when `floor`), its figure `measured(rows)`; not
        measured when `value` is None."""
        if value is None:
            row(key, target, None, None)
            return
        if floor:
            met, gap, word = value >= limit, limit - value, "short"
        else:
            met, gap, word = value <= limit, value - limit, "over"
        row(key, target, measured(rows), met, "" if met else f"{word} by {gap:.2f}{unit}")

    def found(source: dict[str, Any], *names: str) -> Any:
        """The result rows `names` of `source`, or None when any is missing."""
        rows = [source.get(name) for name in names]
        return None if None in rows else rows

    def added_over(x: Any) -> str:
        return f"{x[0]['paired_ratio']:.2f}x (+{x[0]['added_us']:.1f} µs)"

    bare = ip.get("bare")
    row(
        "bare",
        "bare Starlette hello world, in process (the reference every ratio divides by)",
        f"{bare['median_us']:.1f} µs/request" if bare else None,
        None,
    )
    x = found(ip, "empty")
    target = f"empty chain (`Shield([])`) ≤ {EMPTY_RATIO}x bare"
    limit_row("empty", target, added_over, x, x and x[0]["paired_ratio"], EMPTY_RATIO, "x")
    x = found(ip, "pure")
    limit_row(
        "pure",
        f"pure layers (IPList of 1,000 CIDRs + Fingerprint) ≤ +{PURE_ADDED_US} µs over bare",
        lambda x: f"+{x[0]['added_us']:.1f} µs ({x[0]['paired_ratio']:.2f}x)",
        x,
        x and x[0]["added_us"],
        PURE_ADDED_US,
        " µs",
    )
    x = found(ip, "tokenbucket", "asgi-ratelimit")
    limit_row(
        "tokenbucket",
        "`TokenBucket` (memory, RateLimit headers on) adds ≤ asgi-ratelimit's µs",
        lambda x: f"+{x[0]['added_us']:.1f} µs vs asgi-ratelimit +{x[1]['added_us']:.1f} µs",
        x,
        x and x[0]["added_us"],
        x[1]["added_us"] if x else 0.0,
        " µs",
    )
    x = found(ip, "default")
    target = (
        f"default chain, a Chrome request to a route no challenge covers, ≤ {DEFAULT_RATIO}x bare"
    )
    limit_row("default", target, added_over, x, x and x[0]["paired_ratio"], DEFAULT_RATIO, "x")
    for key, name, what in (
        ("refusal-iplist", "iplist-reject", "IPList deny"),
        ("refusal-429", "tokenbucket-reject", "TokenBucket 429"),
        ("refusal-challenge", "pow", "ProofOfWork challenge"),
    ):
        x = found(ip, name, "bare")
        limit_row(
            key,
            f"a refusal ({what}) ≤ {REFUSAL_RATIO}x bare's serve",
            lambda x: (
                f"{x[0]['paired_ratio']:.2f}x "
                f"({x[0]['median_us']:.1f} µs vs {x[1]['median_us']:.1f} µs)"
            ),
            x,
            x and x[0]["paired_ratio"],
            REFUSAL_RATIO,
            "x",
        )
    for name, floor in WRK_RATIOS.items():
        x = found(wrk, name, "bare")
        limit_row(
            f"wrk-{name}",
            f"uvicorn + wrk, {'TokenBucket' if name == 'tokenbucket' else name + ' chain'} "
            f"≥ {floor}x bare's requests/s",
            lambda x: (
                f"{x[0]['ratio']:.2f}x ({x[0]['rps_median']:,.0f} vs "
                f"{x[1]['rps_median']:,.0f} req/s; server CPU {x[0]['cpu_us_median']:.0f} vs "
                f"{x[1]['cpu_us_median']:.0f} µs/request)"
            ),
            x,
            x and x[0]["ratio"],
            floor,
            "x",
            floor=True,
        )
    for name, seen in (("tokenbucket-fresh", "tokenbucket"), ("default-fresh", "default")):
        x = found(ip, name, seen)
        if x:  # a seen cost of 0 or less gives nan: judged missed
            x.append(x[0]["added_us"] / x[1]["added_us"] if x[1]["added_us"] > 0 else math.nan)
        limit_row(
            name,
            f"never-seen addresses (IPv4 and IPv6 /64 flood) ≤ {FRESH_RATIO}x the added cost of "
            f"seen ones: {'TokenBucket' if seen == 'tokenbucket' else 'default chain'}",
            lambda x: f"{x[2]:.2f}x (+{x[0]['added_us']:.1f} µs vs +{x[1]['added_us']:.1f} µs)",
            x,
            x and x[2],
            FRESH_RATIO,
            "x",
        )
    x = found(ip, "default-fresh-ua", "default")
    ua_added = x and statistics.median(
        a - b for a, b in zip(x[0]["samples_us"], x[1]["samples_us"], strict=True)
    )
    limit_row(
        "fresh-ua",
        f"a never-seen User-Agent adds ≤ {FRESH_UA_US:.0f} µs (default chain)",
        lambda added: f"+{added:.1f} µs over a seen one",
        ua_added,
        ua_added,
        FRESH_UA_US,
        " µs",
    )
    trips = rt.get("tokenbucket-redis", {}).get("per_decision")
    limit_row(
        "redis-roundtrips",
        "Redis `TokenBucket`: one round trip per decision",
        lambda trips: f"{trips:g} round trips",
        trips,
        trips,
        1.0,
        " round trips",
    )
    x = found(ip, "tokenbucket-redis", "fastapi-limiter-redis", "fastapi-bare")
    limit_row(
        "redis-vs-peer",
        "Redis `TokenBucket` adds ≤ half of fastapi-limiter's (Redis, over bare FastAPI)",
        lambda x: f"+{x[0]['added_us']:.1f} µs vs fastapi-limiter +{x[1]['added_us']:.1f} µs",
        x,
        x and x[0]["added_us"],
        x[1]["added_us"] * REDIS_PEER_FRACTION if x else 0.0,
        " µs",
    )
    refused = rt.get("tokenbucket-redis-reject", {}).get("per_decision")
    row(
        "redis-refused",
        "Redis `TokenBucket`: a refused client costs no round trip",
        f"{refused:g} round trips" if refused is not None else None,
        refused == 0,
        f"{refused:g} round trips" if refused else "",
    )
    limit_row(
        "import",
        f"`import shieldware` ≤ {IMPORT_MS:.0f} ms (fresh process, minus `python -c pass`)",
        lambda imp: f"{imp['added_ms']:.0f} ms",
        imp,
        imp["added_ms"] if imp else None,
        IMPORT_MS,
        " ms",
    )
    return rows


def targets_table(data: dict[str, Any], baseline: dict[str, Any] | None) -> list[str]:
    """The targets as a markdown table, with the baseline run's figures as the *before* column."""
    commit = (baseline or {}).get("commit", "")
    before = (baseline or {}).get("targets", {})
    head = "| target | " + (f"before (`{commit}`) | " if baseline else "") + "now | verdict |"
    lines = [head, "|---|" + ("---|" if baseline else "") + "---|---|"]
    for r in data.get("targets", []):
        verdict = "met" if r["met"] else f"**missed**: {r['miss']}" if r["met"] is False else "—"
        if r["measured"] == "not measured":
            verdict = "not measured"
        old = f"{before.get(r['id'], '—')} | " if baseline else ""
        lines.append(f"| {r['target']} | {old}{r['measured']} | {verdict} |")
    return lines


def explain(data: dict[str, Any]) -> list[str]:
    """Where the time goes, from this run's own profile (to read beside a missed target)."""
    out: list[str] = []
    prof = data.get("profile", {})
    for name, p in prof.items():
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
    ip = data.get("inprocess", {}).get("results", {})
    if any(r["kind"] == "wsgi" and r.get("added_us") is not None for r in ip.values()):
        out.append(
            "WSGI ratios look large because the bare WSGI app is a bare function (a few µs, no "
            "framework); the added µs are the figure to compare with the ASGI rows."
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


#: Hand-written sections on figures measured apart from the full run (`benchmarks/notes/*.md`),
#: kept in the report every time it is generated.
NOTES = Path(__file__).resolve().parent / "notes"


def _notes(skip: tuple[str, ...] = ()) -> list[str]:
    lines: list[str] = []
    for note in sorted(NOTES.glob("*.md")) if NOTES.is_dir() else ():
        if note.name not in skip:
            lines += ["", *note.read_text(encoding="utf-8").rstrip().splitlines()]
    return lines


def markdown(data: dict[str, Any], images: list[str], image_prefix: str = "img/") -> str:
    env = data.get("environment", {})
    ip = data.get("inprocess", {})
    baseline = data.get("baseline")
    imp = data.get("importtime", {})
    lines = [
        "# Benchmarks",
        "",
        "What shieldware costs a request when nothing applies, what a refusal costs, what a",
        "flood of never-seen clients costs, and what Redis costs, measured side by side with a",
        "bare app and the Python peers **in one run**.",
        "Generated by `python -m benchmarks` (see `benchmarks/`); the raw figures are in",
        "`docs/benchmarks.json`. Rerun it on your machine: absolute numbers depend on the machine,",
        "the ratios much less.",
        "",
        f"Run: {env.get('when', '?')}, Python {env.get('python', '?')}, {env.get('cpus', '?')} "
        f"CPUs ({env.get('note', '')}), shieldware {env.get('shieldware', '?')} on branch "
        f"`{env.get('branch', '?')}` at `{env.get('commit', '?')}` (code under test: "
        f"`{env.get('code_commit', '?')}`)"
        f"{' (quick mode)' if data.get('quick') else ''}.",
        f"Default chain on this branch: {', '.join(env.get('default_layers', [])) or '?'}.",
        "",
        "**Method.** Every request is a desktop Chrome 124 navigation to `GET /` (its full header",
        "set, `benchmarks/requests.py`), a route no challenge of the default chain covers. In",
        "process, every app is awaited (ASGI) or called (WSGI) directly with requests built",
        "before the timed run, from 4,096 rotating client addresses (one address for refusals;",
        "a never-seen address or User-Agent per request where the row says so); each round runs",
        "every app once in a shuffled order for about 40 ms; a figure is the median over",
        f"{ip.get('rounds', '?')} rounds, and added µs and ratios are medians of per-round",
        "pairs with the bare app (so the noise of a shared machine falls on both). Passing",
        "variants get limits no request reaches; refusing ones a limit of one (after a warm-up",
        "request). Every app's status is checked before timing and after the last round.",
        "",
        "## Targets (issue 11, the fast path)",
        "",
    ]
    if baseline:
        lines += [
            f"*before*: the same harness on `{baseline.get('commit', '?')}` "
            f"({baseline.get('when', '?')}), kept in `benchmarks/baseline.json`; *now*: this run.",
            "",
        ]
    lines += targets_table(data, baseline)
    why = data.get("why", [])
    if why:
        lines += ["", "### Where the time goes", ""] + [f"- {w}" for w in why]
    if imp:
        lines += [
            "",
            "## Import time",
            "",
            f"`python -c 'import shieldware'` {imp['import_ms']:.0f} ms against `python -c pass` "
            f"{imp['pass_ms']:.0f} ms: **+{imp['added_ms']:.0f} ms** (median of "
            f"{imp['rounds']} paired fresh processes).",
        ]
        if "default_added_ms" in imp:
            lines += [
                "",
                "Names load on first use, so an app pays for what it uses: importing shieldware, "
                "building the default chain on memory and wrapping an app in `ShieldMiddleware` "
                f"costs **+{imp['default_added_ms']:.0f} ms** over `python -c pass`.",
            ]
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
            "Chrome's headers and an X-Forwarded-For from 4,096 addresses, read only by the "
            "default chain (which trusts loopback as its proxy; the others see one client, "
            "127.0.0.1); limits are generous, so every answer must be a 200 (see non-2xx). "
            "Server CPU is the uvicorn process's user + system time over the run, per request.",
            "",
            "| app | req/s (median) | x bare (paired) | server CPU µs/request | CPU x bare | "
            "p50 ms | p99 ms | non-2xx |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in sorted(lb["results"].values(), key=lambda r: -r["ratio"]):
            lines.append(
                f"| {r['label']} | {r['rps_median']:,.0f} | {r['ratio']:.2f} | "
                f"{_fmt(r.get('cpu_us_median'), 0)} | {_fmt(r.get('cpu_ratio'), 2)} | "
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
    if data.get("origin"):
        from benchmarks import origin

        lines += ["", *origin.markdown(data["origin"])]
    lines += _notes(skip=("origin.md",) if data.get("origin") else ())
    lines += [
        "",
        "## Reproduce",
        "",
        "```sh",
        "pip install -e '.[bench]'   # uvicorn[standard], the peers, matplotlib, psutil",
        "apt-get install wrk redis-server",
        "python -m benchmarks            # full run (~10 min): docs/benchmarks.{md,json}",
        "python -m benchmarks --quick    # the same targets in about 3 min, to a temporary folder",
        "python -m benchmarks --extra memory --extra pow   # also the memory flood and PoW ops",
        "python -m benchmarks --extra origin   # origin lookup on a full-size table",
        "```",
        "",
    ]
    return "\n".join(lines)

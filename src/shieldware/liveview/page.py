"""Server-rendered HTML for the live view: the whole page once, then its sections every second.

Charts are inline SVG built from numbers we computed (no client-side charting); every label that
came from traffic is escaped. No inline script or style: the page works under a strict CSP.
"""

from __future__ import annotations

import html
import time

from .state import ACTIONS, Snapshot

__all__ = ["COLORS", "render_page", "render_sections"]

COLORS = {"allow": "#2e7d32", "throttle": "#ef6c00", "challenge": "#1565c0", "deny": "#c62828"}
_W, _H = 600, 160
_NONE = "\N{EN DASH}"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _n(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else _NONE


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, int(q * len(values)))]


def _card(label: str, value: str, note: str = "", cls: str = "") -> str:
    note_html = f'<span class="note">{_e(note)}</span>' if note else ""
    return (
        f'<div class="card {cls}"><span class="label">{_e(label)}</span>'
        f'<span class="value">{_e(value)}</span>{note_html}</div>'
    )


def _summary(s: Snapshot) -> str:
    blocked = sum(s.per_action[a] for a in ("throttle", "challenge", "deny"))
    mode_note = "decides and reports, never blocks" if s.mode == "shadow" else "blocking"
    store = "ok" if not (s.degraded or s.store_errors) else "degraded"
    cards = [
        _card("Mode", s.mode, mode_note, f"mode-{s.mode}"),
        _card("Requests/s", _n(s.rate_now), "last 5 s"),
        _card("Requests", _n(s.requests), f"last {s.window // 60} min"),
        _card(
            "Blocked" if s.mode == "enforce" else "Would block",
            _pct(blocked, s.requests),
            f"{blocked} requests",
        ),
        _card("Storage", store, f"{s.store_errors} errors", f"store-{store}"),
    ]
    return "".join(cards)


def _traffic(s: Snapshot) -> str:
    series = s.series
    n = len(series)
    peak = max((sum(row) for row in series), default=0) or 1
    step = _W / max(1, n - 1)
    lower = [0.0] * n
    paths = []
    for i, action in enumerate(ACTIONS):
        upper = [lower[x] + series[x][i] for x in range(n)]
        if any(series[x][i] for x in range(n)):
            top = " ".join(f"{x * step:.1f},{_H - upper[x] * _H / peak:.1f}" for x in range(n))
            bottom = " ".join(
                f"{x * step:.1f},{_H - lower[x] * _H / peak:.1f}" for x in reversed(range(n))
            )
            color = COLORS[action.value]
            paths.append(
                f'<polygon class="area area-{action.value}" fill="{color}" '
                f'fill-opacity="0.85" points="{top} {bottom}"/>'
            )
        lower = upper
    grid = "".join(
        f'<line x1="0" x2="{_W}" y1="{_H * f:.0f}" y2="{_H * f:.0f}" stroke="#ddd" '
        'stroke-width="1" vector-effect="non-scaling-stroke"/>'
        for f in (0.25, 0.5, 0.75)
    )
    legend = "".join(
        f'<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" '
        f'fill="{COLORS[a.value]}"/></svg> {a.value} <b>{_n(s.per_action[a.value])}</b></li>'
        for a in ACTIONS
    )
    label = f"Requests per second by action over the last {s.window} seconds; peak {peak}"
    return (
        f'<div class="chart-head"><span>peak {_n(peak)}/s</span></div>'
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" preserveAspectRatio="none" role="img" '
        f'aria-label="{_e(label)}">{grid}{"".join(paths)}</svg>'
        f'<div class="axis"><span>-{s.window // 60} min</span><span>now</span></div>'
        f'<ul class="legend">{legend}</ul>'
    )


def _bars(title: str, rows: list[tuple[str, int]], empty: str) -> str:
    if not rows:
        return (
            f'<section class="top"><h3>{_e(title)}</h3><p class="empty">{_e(empty)}</p></section>'
        )
    biggest = rows[0][1] or 1
    items = "".join(
        f'<tr><td class="name" title="{_e(name)}">{_e(name)}</td><td class="bar">'
        f'<svg viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true">'
        f'<rect width="{100 * count / biggest:.1f}" height="8" fill="#607d8b"/></svg></td>'
        f'<td class="num">{_n(count)}</td></tr>'
        for name, count in rows
    )
    return f'<section class="top"><h3>{_e(title)}</h3><table>{items}</table></section>'


def _tops(s: Snapshot) -> str:
    return "".join(
        (
            _bars("Top rules", s.top_rules, "no rule fired"),
            _bars("Top reasons", s.top_reasons, "nothing to explain"),
            _bars("Top offending networks", s.top_networks, "no blocked client"),
            _bars("Top offending fingerprints", s.top_fingerprints, "no blocked client"),
            _origin_tops(s),
        )
    )


def _origin_tops(s: Snapshot) -> str:
    """Offenders by AS and by organisation: only when an origin lookup feeds the state."""
    if not s.origins:
        return ""
    return _bars("Top offending AS", s.top_asns, "no blocked client") + _bars(
        "Top offending organisations", s.top_orgs, "no blocked client"
    )


def _solve_histogram(times: list[float]) -> str:
    edges = [0.25, 0.5, 1, 2, 4, 8, 16, float("inf")]
    names = ["<¼s", "<½s", "<1s", "<2s", "<4s", "<8s", "<16s", "16s+"]
    counts = [0] * len(edges)
    for t in times:
        counts[next(i for i, edge in enumerate(edges) if t < edge)] += 1
    peak = max(counts) or 1
    width = 100 / len(edges)
    bars = "".join(
        f'<rect x="{i * width + 1:.1f}" y="{40 - 40 * c / peak:.1f}" width="{width - 2:.1f}" '
        f'height="{40 * c / peak:.1f}" fill="{COLORS["challenge"]}"><title>{_e(names[i])}: '
        f"{c}</title></rect>"
        for i, c in enumerate(counts)
    )
    axis = "".join(f"<span>{_e(name)}</span>" for name in names)
    return (
        '<svg class="hist" viewBox="0 0 100 40" preserveAspectRatio="none" role="img" '
        f'aria-label="solve time histogram">{bars}</svg><div class="axis hist-axis">{axis}</div>'
    )


def _challenges(s: Snapshot) -> str:
    p50, p90 = _quantile(s.solve_times, 0.5), _quantile(s.solve_times, 0.9)
    cards = [
        _card("Issued", _n(s.issued)),
        _card("Solved", _n(s.solved), f"solve rate {_pct(s.solved, s.issued)}"),
        _card("Failed", _n(s.failed)),
        _card("Solve time p50", _ms(p50) if p50 is not None else _NONE),
        _card("Solve time p90", _ms(p90) if p90 is not None else _NONE),
    ]
    hist = _solve_histogram(s.solve_times) if s.solve_times else ""
    return f'<div class="cards">{"".join(cards)}</div>{hist}'


def _storage(s: Snapshot) -> str:
    if s.last_store_error is None:
        last = "never"
    else:
        last = f"{max(0, time.time() - s.last_store_error):.0f} s ago"
    cards = [
        _card("Store entries", _NONE if s.store_entries is None else _n(s.store_entries)),
        _card("Store errors", _n(s.store_errors), f"last: {last}"),
        _card("Degraded decisions", _n(s.degraded)),
    ]
    return "".join(cards)


def render_sections(s: Snapshot) -> dict[str, str]:
    """The HTML of each live section, by element id (the SSE payload)."""
    return {
        "summary": _summary(s),
        "traffic": _traffic(s),
        "tops": _tops(s),
        "challenges": _challenges(s),
        "storage": _storage(s),
        "updated": time.strftime("%H:%M:%S", time.gmtime(s.now)) + " UTC",
    }


def render_page(s: Snapshot, *, base: str, title: str = "shieldware live", extra: str = "") -> str:
    """The full page; `base` is the mount path the assets and the event stream live under.

    `extra` is HTML the view adds after the sections (the under-attack panel).
    """
    sec = render_sections(s)
    b = _e(base.rstrip("/"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{_e(title)}</title>
<link rel="stylesheet" href="{b}/live.css">
<script src="{b}/live.js" defer></script>
</head><body data-events="{b}/events">
<header><h1>{_e(title)}</h1>
<p class="status"><span id="conn" class="conn">connecting…</span> · updated <span id="updated">{
        sec["updated"]
    }</span></p></header>
<main>
<section class="cards" id="summary" aria-live="polite">{sec["summary"]}</section>
<section class="panel"><h2>Requests per second by action</h2><div id="traffic">{
        sec["traffic"]
    }</div></section>
<section class="panel"><h2>Top rules, reasons and offenders</h2>
<div id="tops" class="tops">{sec["tops"]}</div></section>
<section class="panel"><h2>Challenges</h2><div id="challenges">{sec["challenges"]}</div></section>
<section class="panel"><h2>Storage health</h2><div id="storage" class="cards">{
        sec["storage"]
    }</div></section>
{extra}
</main></body></html>
"""

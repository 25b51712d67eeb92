"""``shieldware drill --flood-at``: a flood that starts mid-run, and what the switch makes of it.

People browse the target from start to end (in a process of their own, solving challenges as the
page's script would). At `flood_at` seconds a crowd of bots posing as browsers floods it for
`flood_for` seconds. A poller reads the switch through the live view (``GET <live>/attack``)
four times a second. The report says how long mitigation took (flood start to switch on), how the
people fared before the flood, during it before and after mitigation, and after the switch
turned off again, and what share of the bots got through.

Loopback targets only unless told otherwise, like every drill; many bot addresses need the
target to trust the drill as a proxy (``shieldware demo --trust-drill``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from ..drill import (
    BOT_NET,
    BROWSER_HEADERS,
    BROWSER_UA,
    USER_NET,
    at_ms,
    check_target,
    is_challenge,
    pow_solver,
)
from ..errors import ConfigurationError

__all__ = ["FloodDrill", "format_flood_report", "run_flood_drill"]

#: Pages people and bots GET.
PAGES = ("/", "/api/hello", "/login")
MAX_BOTS = 2000
MAX_USERS = 100


@dataclass
class FloodDrill:
    """What to run: people throughout, a flood from `flood_at` for `flood_for` seconds."""

    url: str
    live: str = ""
    token: str = ""
    duration: float = 60.0
    flood_at: float = 10.0
    flood_for: float = 20.0
    bots: int = 40
    users: int = 5
    pages: tuple[str, ...] = PAGES
    user_think: tuple[float, float] = (0.5, 1.5)
    forwarded: bool = True
    timeout: float = 30.0
    allow_remote: bool = False
    seed: int | None = None
    poll_every: float = 0.25

    def validate(self) -> None:
        errors = []
        if not 0 < self.duration <= 3600:
            errors.append("duration must be within (0, 3600] seconds")
        if self.flood_at < 0 or self.flood_for <= 0:
            errors.append("flood_at must be >= 0 and flood_for > 0")
        if self.flood_at + self.flood_for >= self.duration:
            errors.append("the flood must end before the drill does (raise --duration)")
        if not 1 <= self.bots <= MAX_BOTS or not 1 <= self.users <= MAX_USERS:
            errors.append(f"bots must be within 1..{MAX_BOTS}, users within 1..{MAX_USERS}")
        if not self.token:
            errors.append("the switch is read through the live view: give its token")
        if errors:
            raise ConfigurationError("invalid flood drill: " + "; ".join(errors))


# -- people ----------------------------------------------------------------------------------
View = tuple[float, bool, float, bool, int]  # (sent at, since start; ok; seconds; solved; status)


def _people_in_process(config: FloodDrill, start: float, seed: float) -> list[View]:
    """Entry point of the people's process (CLOCK_MONOTONIC is shared by processes on Linux)."""
    return asyncio.run(_people(config, start, seed))


async def _people(config: FloodDrill, start: float, seed: float) -> list[View]:
    import httpx

    rng = random.Random(seed)
    views: list[View] = []
    end = start + config.duration
    client_module = pow_solver()
    auth_class = getattr(client_module, "PowAuth", None)

    async def person(index: int) -> None:
        person_rng = random.Random(rng.random())
        headers = dict(BROWSER_HEADERS)
        if config.forwarded:
            headers["x-forwarded-for"] = str(USER_NET[10 + index % 240])
        auth = auth_class() if auth_class is not None else None
        async with httpx.AsyncClient(
            base_url=config.url.rstrip("/"), timeout=config.timeout, auth=auth
        ) as client:
            await asyncio.sleep(person_rng.uniform(0, config.user_think[0]))
            while time.monotonic() < end:
                route = person_rng.choice(config.pages)
                sent = time.monotonic()
                solved = False
                status = 0
                try:
                    response = await client.get(route, headers=headers)
                    if response.status_code == 403 and is_challenge(response) and auth:
                        # The page's script would solve it; the Python client does, same work.
                        json_headers = {**headers, "accept": "application/json"}
                        response = await client.get(route, headers=json_headers)
                        solved = True
                    elif response.history:
                        solved = True
                    status = response.status_code
                    ok = status < 400
                except Exception:  # a transport error is a failed view, not a crash
                    ok = False
                views.append((sent - start, ok, time.monotonic() - sent, solved, status))
                await asyncio.sleep(person_rng.uniform(*config.user_think))

    await asyncio.gather(*(person(i) for i in range(config.users)))
    return views


# -- bots and the poller -------------------------------------------------------------------------
async def _flood(config: FloodDrill, start: float, tally: dict[str, list[float]]) -> None:
    import httpx

    begin, stop = start + config.flood_at, start + config.flood_at + config.flood_for
    await asyncio.sleep(max(0.0, begin - time.monotonic()))
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)

    async def bot(index: int) -> None:
        headers = {"user-agent": BROWSER_UA, "accept": "text/html,*/*;q=0.8"}
        if config.forwarded:
            headers["x-forwarded-for"] = str(BOT_NET[1 + index])
        async with httpx.AsyncClient(
            base_url=config.url.rstrip("/"), timeout=config.timeout, limits=limits
        ) as client:
            n = 0
            while time.monotonic() < stop:
                n += 1
                sent = time.monotonic() - start
                try:
                    response = await client.get(
                        config.pages[n % len(config.pages)], headers=headers
                    )
                    admitted = response.status_code < 400
                except Exception:
                    admitted = False
                tally["admitted" if admitted else "refused"].append(sent)
                await asyncio.sleep(0)

    await asyncio.gather(*(bot(i) for i in range(config.bots)))


async def _poll(config: FloodDrill, start: float, samples: list[tuple[float, bool | None]]) -> None:
    import httpx

    url = config.live.rstrip("/") + "/attack"
    headers = {"authorization": f"Bearer {config.token}"}
    end = start + config.duration
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < end:
            at = time.monotonic() - start
            try:
                response = await client.get(url, headers=headers)
                active: bool | None = bool(response.json()["active"])
            except Exception:  # unknown this time: the flood may be starving the server
                active = None
            samples.append((at, active))
            await asyncio.sleep(config.poll_every)


# -- the drill -------------------------------------------------------------------------------------
async def run_flood_drill(
    config: FloodDrill, progress: Callable[[float], None] | None = None
) -> dict[str, Any]:
    """Run the drill; its report (a JSON-ready dict)."""
    config.validate()
    check_target(config.url, config.allow_remote)
    if not config.live:
        config.live = config.url.rstrip("/") + "/.shieldware/live"
    await _preflight(config)
    rng = random.Random(config.seed)
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        await loop.run_in_executor(pool, time.monotonic)  # started before the clock runs
        start = time.monotonic() + 0.5
        people = loop.run_in_executor(pool, _people_in_process, config, start, rng.random())
        tally: dict[str, list[float]] = {"admitted": [], "refused": []}
        samples: list[tuple[float, bool | None]] = []
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        ticker = asyncio.ensure_future(_tick(config, start, progress)) if progress else None
        await asyncio.gather(_flood(config, start, tally), _poll(config, start, samples))
        views = await people
        if ticker is not None:
            ticker.cancel()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return _report(config, views, tally, samples)


async def _preflight(config: FloodDrill) -> None:
    """The switch must be readable before the drill starts: a wrong URL or token fails here."""
    import httpx

    url = config.live.rstrip("/") + "/attack"
    try:
        async with httpx.AsyncClient(timeout=config.timeout) as client:
            response = await client.get(url, headers={"authorization": f"Bearer {config.token}"})
        ok = response.status_code == 200 and "active" in response.json()
    except Exception as exc:
        raise ConfigurationError(f"cannot read the switch at {url}: {exc}") from exc
    if not ok:
        raise ConfigurationError(
            f"cannot read the switch at {url}: {response.status_code} (is it a shieldware live "
            "view with an under-attack switch, and is the token right?)"
        )


async def _tick(config: FloodDrill, start: float, progress: Callable[[float], None]) -> None:
    while True:
        progress(min(1.0, (time.monotonic() - start) / config.duration))
        await asyncio.sleep(0.5)


def _report(
    config: FloodDrill,
    views: list[View],
    tally: dict[str, list[float]],
    samples: list[tuple[float, bool | None]],
) -> dict[str, Any]:
    flood_start, flood_end = config.flood_at, config.flood_at + config.flood_for
    on_at = next((t for t, active in samples if active and t >= flood_start - 1), None)
    off_at = (
        next((t for t, active in samples if active is False and t > on_at), None)
        if on_at is not None
        else None
    )
    known = [active for _, active in samples if active is not None]
    cycles = sum(1 for a, b in zip([False, *known], known, strict=False) if b and not a)
    marks = [0.0, flood_start, on_at if on_at is not None else flood_end]
    marks += [off_at if off_at is not None else config.duration, config.duration + 60]
    names = ("before the flood", "flood, before mitigation", "under attack", "after the switch")
    phases = {
        name: _people_figures([v for v in views if lo <= v[0] < hi])
        for name, lo, hi in zip(names, marks, marks[1:], strict=False)
    }

    def bots_between(lo: float, hi: float) -> dict[str, Any]:
        admitted = sum(lo <= t < hi for t in tally["admitted"])
        refused = sum(lo <= t < hi for t in tally["refused"])
        total = admitted + refused
        return {"requests": total, "admitted": admitted, "share": _share(admitted, total)}

    mitigated = on_at if on_at is not None else flood_end
    return {
        "target": config.url,
        "config": asdict(config) | {"token": "***"},
        "flood": {"start_s": flood_start, "end_s": flood_end},
        "switch": {
            "on_at_s": _round(on_at),
            "off_at_s": _round(off_at),
            "time_to_mitigation_s": _round(None if on_at is None else on_at - flood_start),
            "off_after_flood_s": _round(None if off_at is None else off_at - flood_end),
            "on_cycles": cycles,
            "unknown_polls": sum(active is None for _, active in samples),
        },
        "people": phases,
        "people_overall": _people_figures(views),
        "bots": {
            "before_mitigation": bots_between(flood_start, mitigated),
            "after_mitigation": bots_between(mitigated, flood_end + 1),
        },
    }


def _people_figures(views: list[View]) -> dict[str, Any]:
    if not views:
        return {
            "views": 0,
            "success": None,
            "p50_ms": None,
            "p90_ms": None,
            "challenged": 0,
            "statuses": {},
        }
    seconds = sorted(v[2] for v in views)
    solved = sorted(v[2] for v in views if v[3])

    return {
        "views": len(views),
        "success": _share(sum(v[1] for v in views), len(views)),
        "p50_ms": at_ms(seconds, 0.5, 1),
        "p90_ms": at_ms(seconds, 0.9, 1),
        "challenged": len(solved),
        "challenged_p50_ms": at_ms(solved, 0.5, 1) if solved else None,
        "mean_ms": round(statistics.fmean(seconds) * 1000, 1),
        "statuses": dict(sorted(Counter(str(v[4] or "error") for v in views).items())),
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def format_flood_report(report: dict[str, Any]) -> str:
    """The report as text."""
    sw = report["switch"]
    flood = report["flood"]
    lines = [
        f"shieldware flood drill against {report['target']}",
        f"  flood: {flood['start_s']:g} s to {flood['end_s']:g} s",
        "  switch: "
        + (
            f"on {sw['time_to_mitigation_s']} s after the flood started"
            if sw["time_to_mitigation_s"] is not None
            else "never turned on"
        )
        + (
            f"; off {sw['off_after_flood_s']} s after it ended"
            if sw["off_after_flood_s"] is not None
            else "; still on at the end"
        )
        + f" ({sw['on_cycles']} on/off cycle(s))",
        "  people:",
    ]
    for name, p in report["people"].items():
        if not p["views"]:
            lines.append(f"    {name:<26} no views")
            continue
        solved = (
            f", {p['challenged']} solved a challenge (p50 {p['challenged_p50_ms']} ms)"
            if p["challenged"]
            else ""
        )
        lines.append(
            f"    {name:<26} {p['views']:>4} views, success {100 * p['success']:.1f}%, "
            f"p50 {p['p50_ms']} ms, p90 {p['p90_ms']} ms{solved}"
            + ("" if p["success"] == 1 else f"; statuses {p['statuses']}")
        )
    for name, b in report["bots"].items():
        share = "-" if b["share"] is None else f"{100 * b['share']:.1f}%"
        lines.append(
            f"  bots {name.replace('_', ' '):<18} {b['requests']:>7} req, {b['admitted']} "
            f"admitted ({share})"
        )
    return "\n".join(lines)

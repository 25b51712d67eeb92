"""``shieldware drill``: rehearse an attack against your own app, with a few real users beside it.

A crowd of bot clients (floods, credential stuffing, library scrapers, headless browsers, proof of
work solvers) runs side by side with a few well-behaved browser-like users, bounded in time and
in requests. The report says what matters: did the people get through, how fast, and how much
of the bots' traffic reached the app.

Many client addresses are presented through ``X-Forwarded-For``; that only works when the target
trusts the drill as a proxy (``shieldware demo --trust-drill``). Loopback targets only, unless
told otherwise: a drill is a load test and must not be pointed at someone else's site.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
import json
import multiprocessing
import random
import socket
import ssl
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, TextIO
from urllib.parse import urlsplit

from .errors import ConfigurationError

__all__ = [
    "SCENARIOS",
    "DrillConfig",
    "check_target",
    "format_report",
    "pow_solver",
    "run_drill",
]

#: Bot scenarios, in the order bots are dealt to them.
SCENARIOS = ("flood", "stuffing", "scraper", "headless", "pow")
REACHED_HEADER = "x-shieldware-reached"
ACTION_HEADER = "x-shieldware-action"
STATS_PATH = "/.shieldware/stats"

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
HEADLESS_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/126.0.0.0 Safari/537.36"
)
LIBRARY_UAS = (
    "python-requests/2.32.3",
    "curl/8.5.0",
    "Go-http-client/1.1",
    "Scrapy/2.11.2 (+https://scrapy.org)",
    "python-httpx/0.27.0",
    "okhttp/4.12.0",
)
BROWSER_HEADERS = {
    "user-agent": BROWSER_UA,
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8",
    "accept-language": "en-GB,en;q=0.9",
    "accept-encoding": "gzip, deflate",
    "sec-ch-ua": '"Chromium";v="126", "Not.A/Brand";v="24"',
    "sec-ch-ua-mobile": "?0",
    "sec-ch-ua-platform": '"Linux"',
    "sec-fetch-dest": "document",
    "sec-fetch-mode": "navigate",
    "sec-fetch-site": "same-origin",
    "upgrade-insecure-requests": "1",
}
MAX_BOTS = 5000
MAX_USERS = 200
#: Bots come from 198.18.0.0/15 (benchmarking), users from 192.0.2.0/24 (documentation).
BOT_NET = ipaddress.ip_network("198.18.0.0/15")
USER_NET = ipaddress.ip_network("192.0.2.0/24")


@dataclass
class DrillConfig:
    """What to run. Every knob is bounded; the defaults are a short, gentle rehearsal."""

    url: str
    duration: float = 10.0
    bots: int = 50
    users: int = 5
    scenarios: tuple[str, ...] = SCENARIOS
    pages: tuple[str, ...] = ("/", "/api/hello")
    login_path: str = "/login"
    forwarded: bool = True
    max_requests: int = 500_000
    timeout: float = 10.0
    user_think: tuple[float, float] = (0.2, 0.6)
    bot_pause: float = 0.0
    allow_remote: bool = False
    seed: int | None = None
    #: Run the users in a process of their own, so the bots' load on this event loop does not
    #: show up as their latency; only the target's own slowness should.
    users_process: bool = True
    #: Distinct bot addresses; bots share them round-robin (None: one address per bot). Fewer
    #: addresses than bots make per-address limits bite; one per bot is a distributed flood.
    addresses: int | None = None
    #: Proof-of-work solving bots at most (each burns about a core-second per challenge on the
    #: drill's machine); bots dealt to ``pow`` beyond this flood instead.
    pow_max: int = 8

    def validate(self) -> None:
        errors = []
        if not 0 < self.duration <= 3600:
            errors.append("duration must be within (0, 3600] seconds")
        if not 0 <= self.bots <= MAX_BOTS:
            errors.append(f"bots must be within 0..{MAX_BOTS}")
        if not 0 <= self.users <= MAX_USERS:
            errors.append(f"users must be within 0..{MAX_USERS}")
        if self.addresses is not None and not 1 <= self.addresses <= BOT_NET.num_addresses - 2:
            errors.append("addresses must be within 1..131070")
        unknown = set(self.scenarios) - set(SCENARIOS)
        if unknown:
            errors.append(f"unknown scenarios {sorted(unknown)}; choose from {list(SCENARIOS)}")
        if errors:
            raise ConfigurationError("invalid drill: " + "; ".join(errors))


def check_target(url: str, allow_remote: bool = False) -> None:
    """Refuse non-http(s) URLs, and hosts that are not loopback unless `allow_remote`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"not an http(s) URL: {url!r}")
    if allow_remote:
        return
    host = parts.hostname
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise ConfigurationError(f"cannot resolve {host!r}: {exc}") from exc
        addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    if not addresses or not all(a.is_loopback for a in addresses):
        raise ConfigurationError(
            f"{host} is not a loopback address; a drill is a load test. "
            "Pass --allow-remote only for a target you own and may load."
        )


def pow_solver() -> Any | None:
    """The Python proof-of-work client module (``shieldware.client``) if this install has it.

    The hook the ``pow`` scenario and the users use (its ``PowAuth``); with no client, the
    scenario is skipped and says so, and users cannot get past a challenge.
    """
    try:
        module = importlib.import_module("shieldware.client")
    except ImportError:
        return None
    return module


# -- bookkeeping ---------------------------------------------------------------------------
@dataclass
class _Tally:
    requests: int = 0
    admitted: int = 0
    reached: int = 0
    errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    admitted_routes: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    #: Page views that met a challenge and solved it (their time includes the solving).
    solved: list[float] = field(default_factory=list)

    def as_dict(self, with_latency: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "requests": self.requests,
            "admitted": self.admitted,
            "reached_app": self.reached,
            "errors": self.errors,
            "statuses": dict(sorted(self.statuses.items())),
            "decisions": dict(sorted(self.actions.items())),
            "admitted_per_route": dict(sorted(self.admitted_routes.items())),
        }
        if with_latency:
            out["success_rate"] = self.admitted / self.requests if self.requests else None
            out["latency_ms"] = _percentiles(self.latencies)
            out["challenged"] = len(self.solved)
            out["challenged_latency_ms"] = _percentiles(self.solved)
        return out


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": round(ordered[-1] * 1000, 2)}


class _Run:
    """Shared state of one drill: deadline, budget, and the tallies."""

    def __init__(self, config: DrillConfig, deadline: float | None = None) -> None:
        self.config = config
        self.start = time.monotonic()
        self.deadline = deadline or self.start + config.duration
        self.budget = config.max_requests
        self.legit = _Tally()
        self.bots: dict[str, _Tally] = {name: _Tally() for name in config.scenarios}
        self.skipped: dict[str, str] = {}

    def running(self) -> bool:
        return self.budget > 0 and time.monotonic() < self.deadline

    def spend(self) -> bool:
        if self.budget <= 0:
            return False
        self.budget -= 1
        return True

    def record(
        self, tally: _Tally, route: str, response: Any, elapsed: float, solved: bool = False
    ) -> None:
        tally.requests += 1
        if response is None:
            tally.errors += 1
            tally.statuses["error"] += 1
            tally.actions["error"] += 1
            return
        status = response.status_code
        tally.statuses[str(status)] += 1
        action = (response.headers.get(ACTION_HEADER) or _action_from_status(status))[:32]
        if action not in tally.actions and len(tally.actions) >= 32:
            action = "other"  # the target names the actions; keep the report small anyway
        tally.actions[action] += 1
        if status < 400:
            tally.admitted += 1
            tally.admitted_routes[route] += 1
        if tally is self.legit:  # only the users' times are reported
            (tally.solved if solved else tally.latencies).append(elapsed)
        if response.headers.get(REACHED_HEADER):
            tally.reached += 1


def _action_from_status(status: int) -> str:
    if status < 400:
        return "allow"
    return {429: "throttle", 403: "deny", 503: "unavailable"}.get(status, f"status-{status}")


async def _request(
    run: _Run,
    client: Any,
    tally: _Tally,
    method: str,
    route: str,
    headers: dict[str, str],
    data: dict[str, str] | None = None,
) -> Any:
    if not run.spend():
        return None
    started = time.perf_counter()
    try:
        response = await client.request(method, route, headers=headers, data=data)
    except Exception:  # transport errors and timeouts are results, not crashes
        response = None
    run.record(tally, route, response, time.perf_counter() - started)
    return response


# -- the actors ----------------------------------------------------------------------------
def _pow_auth() -> Any | None:
    """A fresh `shieldware.client.PowAuth` (solves challenges, keeps the clearance), or None."""
    client = pow_solver()
    auth_class = getattr(client, "PowAuth", None)
    return auth_class() if auth_class is not None else None


async def _user(run: _Run, index: int, rng: random.Random, make: Callable[..., Any]) -> None:
    headers = dict(BROWSER_HEADERS)
    if run.config.forwarded:
        headers["x-forwarded-for"] = str(USER_NET[10 + index % 240])
    lo, hi = run.config.user_think
    routes = [*run.config.pages, run.config.login_path]
    auth = _pow_auth()
    async with make(cookies=True, auth=auth) as client:
        await asyncio.sleep(rng.uniform(0, lo))
        first = True  # every user views at least one page, even on a machine slow to start it
        while first or run.running():
            first = False
            await _browse(run, client, rng.choice(routes), headers, solve=auth is not None)
            await asyncio.sleep(rng.uniform(lo, hi))


async def _browse(
    run: _Run, client: Any, route: str, headers: dict[str, str], *, solve: bool
) -> None:
    """One page view of a user; a proof-of-work page is solved, as the page's script would."""
    if not run.spend():
        return
    started = time.perf_counter()
    solved = False
    try:
        response = await client.get(route, headers=headers)
        if solve and response.status_code == 403 and _is_challenge(response):
            # A browser runs the challenge page's worker; we ask for the machine-readable
            # challenge instead and let the Python client solve it (the time counts).
            retry = {**headers, "accept": "application/json"}
            response = await client.get(route, headers=retry)
            solved = bool(response.history)
        elif response.history:  # PowAuth answered a 401 challenge on the way
            solved = True
    except Exception:
        response = None
    run.record(run.legit, route, response, time.perf_counter() - started, solved)


def _is_challenge(response: Any) -> bool:
    action = response.headers.get(ACTION_HEADER)
    if action is not None:
        return bool(action == "challenge")
    return "shieldware-pow" in response.text[:4096].lower()


def _bot_headers(run: _Run, scenario: str, index: int, rng: random.Random) -> dict[str, str]:
    if scenario == "scraper":
        headers = {"user-agent": rng.choice(LIBRARY_UAS), "accept": "*/*"}
    elif scenario == "headless":
        headers = {**BROWSER_HEADERS, "user-agent": HEADLESS_UA}
    elif scenario == "stuffing":
        headers = {"user-agent": rng.choice(LIBRARY_UAS[:2]), "accept": "*/*"}
    elif scenario == "pow":  # asks for the machine-readable challenge its solver answers
        headers = {"user-agent": BROWSER_UA, "accept": "application/json, */*;q=0.5"}
    else:  # flood: poses as a browser
        headers = {"user-agent": BROWSER_UA, "accept": "text/html,*/*;q=0.8"}
    if run.config.forwarded:
        spread = run.config.addresses or BOT_NET.num_addresses - 2
        headers["x-forwarded-for"] = str(BOT_NET[1 + index % spread])
    return headers


async def _bot(
    run: _Run, scenario: str, index: int, rng: random.Random, make: Callable[..., Any]
) -> None:
    tally = run.bots[scenario]
    headers = _bot_headers(run, scenario, index, rng)
    pages = run.config.pages
    pause = run.config.bot_pause
    n = 0
    # One small client per bot: httpx's shared pool serialises badly past a few dozen connections.
    # Proof-of-work bots solve challenges honestly with the Python client and keep the clearance.
    async with make(auth=_pow_auth() if scenario == "pow" else None) as client:
        while run.running():
            n += 1
            if scenario == "stuffing":
                data = {"email": f"user{index}.{n}@example.com", "password": f"hunter{n}"}
                await _request(run, client, tally, "POST", run.config.login_path, headers, data)
            else:
                await _request(run, client, tally, "GET", pages[n % len(pages)], headers)
            await asyncio.sleep(pause)  # at least one loop turn, so bots interleave fairly


# -- running -------------------------------------------------------------------------------
def _client_factory(config: DrillConfig) -> Callable[..., Any]:
    import httpx

    base = config.url.rstrip("/")
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    # One TLS context for all: httpx builds a fresh one per client otherwise (~0.1 s of CPU each).
    tls = ssl.create_default_context()

    def make(cookies: bool = False, auth: Any = None) -> Any:
        jar = None if cookies else CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        return httpx.AsyncClient(
            base_url=base, timeout=config.timeout, cookies=jar, limits=limits, verify=tls, auth=auth
        )

    return make


async def _users(run: _Run, seed: float) -> None:
    rng = random.Random(seed)
    make = _client_factory(run.config)
    await asyncio.gather(
        *(_user(run, i, random.Random(rng.random()), make) for i in range(run.config.users))
    )


def _warm() -> None:
    import httpx  # noqa: F401 - imported once, before the clock starts


def _users_in_process(config: DrillConfig, deadline: float, seed: float) -> _Tally:
    """Entry point of the users' process (CLOCK_MONOTONIC is shared by processes on Linux)."""
    run = _Run(config, deadline)
    run.budget = 10**9  # users are bounded by time and their think time
    asyncio.run(_users(run, seed))
    return run.legit


async def _solvers(run: _Run, indices: list[int], seed: float) -> None:
    rng = random.Random(seed)
    make = _client_factory(run.config)
    await asyncio.gather(*(_bot(run, "pow", i, random.Random(rng.random()), make) for i in indices))


def _solvers_in_process(
    config: DrillConfig, deadline: float, indices: list[int], budget: int, seed: float
) -> _Tally:
    """Entry point of the solving bots' process: their hashing must not starve the other bots."""
    run = _Run(config, deadline)
    run.budget = budget
    asyncio.run(_solvers(run, indices, seed))
    return run.bots["pow"]


ProgressFn = Callable[[float, _Run], None]


async def _stats(base: str, timeout: float) -> int | None:
    import httpx

    try:
        async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
            response = await client.get(STATS_PATH)
            if response.status_code == 200:
                return int(response.json()["total"])
    except Exception:
        return None
    return None


def _deal(config: DrillConfig, scenarios: list[str]) -> dict[str, list[int]]:
    """Bot indices per scenario, round-robin; solvers beyond `pow_max` become flood bots."""
    dealt: dict[str, list[int]] = {name: [] for name in scenarios}
    for i in range(config.bots if scenarios else 0):
        dealt[scenarios[i % len(scenarios)]].append(i)
    extra = dealt.get("pow", [])[config.pow_max :]
    if extra:
        del dealt["pow"][config.pow_max :]
        spill = "flood" if "flood" in dealt else next((s for s in dealt if s != "pow"), None)
        if spill is not None:
            dealt[spill].extend(extra)
    return dealt


async def run_drill(config: DrillConfig, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run one drill and return its report (a JSON-ready dict)."""
    config.validate()
    check_target(config.url, config.allow_remote)
    rng = random.Random(config.seed)
    base = config.url.rstrip("/")
    before = await _stats(base, config.timeout)
    skipped: dict[str, str] = {}
    if "pow" in config.scenarios and _pow_auth() is None:
        skipped["pow"] = "shieldware.client (PowAuth) is not available in this build"
    dealt = _deal(config, [s for s in config.scenarios if s not in skipped])
    solvers = dealt.pop("pow", [])
    users_apart = bool(config.users and config.bots and config.users_process)
    solvers_apart = bool(solvers and config.users_process)
    workers = users_apart + solvers_apart
    pool = None
    loop = asyncio.get_running_loop()
    if workers:
        # Start the helper processes first, so that their start-up does not eat into the drill.
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        await asyncio.gather(*(loop.run_in_executor(pool, _warm) for _ in range(workers)))
    run = _Run(config)
    run.skipped = skipped
    make = _client_factory(config)
    tasks: list[Awaitable[Any]] = []
    users_seed, solvers_seed = rng.random(), rng.random()
    helpers: dict[str, Awaitable[_Tally]] = {}
    if users_apart:
        helpers["users"] = loop.run_in_executor(
            pool, _users_in_process, config, run.deadline, users_seed
        )
    elif config.users:
        tasks.append(_users(run, users_seed))
    if solvers_apart:
        share = config.max_requests * len(solvers) // max(1, config.bots)
        run.budget -= share
        helpers["pow"] = loop.run_in_executor(
            pool, _solvers_in_process, config, run.deadline, solvers, share, solvers_seed
        )
    elif solvers:
        tasks.append(_solvers(run, solvers, solvers_seed))
    for scenario, indices in dealt.items():
        tasks.extend(_bot(run, scenario, i, random.Random(rng.random()), make) for i in indices)
    ticker = asyncio.ensure_future(_tick(run, progress)) if progress else None
    try:
        await asyncio.gather(*tasks)
        if "users" in helpers:
            run.legit = await helpers["users"]
        if "pow" in helpers:
            run.bots["pow"] = await helpers["pow"]
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if ticker is not None:
            ticker.cancel()
            progress(1.0, run)  # type: ignore[misc]
    elapsed = time.monotonic() - run.start
    after = await _stats(base, config.timeout)
    return _report(run, elapsed, before, after)


async def _tick(run: _Run, progress: ProgressFn) -> None:
    while True:
        done = (time.monotonic() - run.start) / run.config.duration
        progress(min(1.0, done), run)
        await asyncio.sleep(0.5)


def _report(run: _Run, elapsed: float, before: int | None, after: int | None) -> dict[str, Any]:
    config = run.config
    bots_total = _Tally()
    for tally in run.bots.values():
        bots_total.requests += tally.requests
        bots_total.admitted += tally.admitted
        bots_total.reached += tally.reached
        bots_total.errors += tally.errors
        bots_total.statuses.update(tally.statuses)
        bots_total.actions.update(tally.actions)
        bots_total.admitted_routes.update(tally.admitted_routes)
    decisions = Counter(run.legit.actions)
    decisions.update(bots_total.actions)
    cfg = asdict(config)
    cfg["scenarios"] = list(config.scenarios)
    return {
        "target": config.url,
        "elapsed_s": round(elapsed, 2),
        "config": cfg,
        "requests": run.legit.requests + bots_total.requests,
        "legit": run.legit.as_dict(with_latency=True),
        "bots": {
            **bots_total.as_dict(),
            "rps": round(bots_total.requests / elapsed, 1) if elapsed else None,
            "by_scenario": {name: t.as_dict() for name, t in run.bots.items()},
        },
        "decisions": dict(sorted(decisions.items())),
        "reached_app": {
            "legit": run.legit.reached,
            "bots": bots_total.reached,
            "stats_endpoint": None if before is None or after is None else after - before,
        },
        "skipped": run.skipped,
    }


def format_report(report: dict[str, Any]) -> str:
    """A short text version of a drill report."""
    legit, bots = report["legit"], report["bots"]
    lat = legit["latency_ms"]
    rate = legit["success_rate"]
    lines = [
        f"shieldware drill against {report['target']} ({report['elapsed_s']} s)",
        f"  requests: {report['requests']}  (legit {legit['requests']}, bots {bots['requests']}, "
        f"{bots['rps']} bot req/s)",
        f"  legit users: success {'-' if rate is None else f'{100 * rate:.2f}%'}, "
        f"p50 {lat['p50']} ms, p99 {lat['p99']} ms"
        + (
            f"; {legit['challenged']} views met a challenge and solved it "
            f"(p50 {legit['challenged_latency_ms']['p50']} ms)"
            if legit["challenged"]
            else ""
        ),
        f"  bots admitted: {bots['admitted']} of {bots['requests']}; per route: "
        + (", ".join(f"{r} {n}" for r, n in bots["admitted_per_route"].items()) or "none"),
        "  decisions: " + ", ".join(f"{a} {n}" for a, n in report["decisions"].items()),
        f"  reached the app: legit {report['reached_app']['legit']}, "
        f"bots {report['reached_app']['bots']}"
        + (
            f" (app's own count: {report['reached_app']['stats_endpoint']})"
            if report["reached_app"]["stats_endpoint"] is not None
            else ""
        ),
        "  by scenario:",
    ]
    for name, tally in bots["by_scenario"].items():
        lines.append(
            f"    {name:<9} {tally['requests']:>7} req, {tally['admitted']:>6} admitted, "
            f"{tally['reached_app']:>6} reached app"
        )
    for name, why in report["skipped"].items():
        lines.append(f"    {name:<9} skipped: {why}")
    return "\n".join(lines)


def progress_bar(stream: TextIO = sys.stderr, width: int = 30) -> ProgressFn:
    """A one-line progress bar for `run_drill`."""

    def show(done: float, run: _Run) -> None:
        filled = int(done * width)
        legit = run.legit
        ok = f"{100 * legit.admitted / legit.requests:.1f}%" if legit.requests else "-"
        bots = sum(t.requests for t in run.bots.values())
        admitted = sum(t.admitted for t in run.bots.values())
        stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * done:3.0f}%  "
            f"legit ok {ok}  bot req {bots}  admitted {admitted}   "
        )
        if done >= 1.0:
            stream.write("\n")
        stream.flush()

    return show


def save_report(report: dict[str, Any], path: str) -> tuple[str, str]:
    """Write ``<path>`` (JSON) and the text version beside it; returns both paths."""
    json_path = path if path.endswith(".json") else path + ".json"
    text_path = json_path[: -len(".json")] + ".txt"
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    with open(text_path, "w", encoding="utf-8") as f:
        f.write(format_report(report) + "\n")
    return json_path, text_path

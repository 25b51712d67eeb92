"""``shieldware drill``: rehearse an attack against your own app, with a few real users beside it.

A crowd of bot clients (floods, credential stuffing, library scrapers, headless browsers, proof of
work solvers, sign-up bots with and without a solver) runs side by side with a few well-behaved
browser-like users, bounded in time and in requests. Each user also signs up the way a person does
with the form helper: opens the form, types for a few seconds while the proof of work for the
post is solved in the background, then sends it. The report says what matters: did the people get
through, how long they waited, how much of the bots' traffic reached the app, and how many
accounts the bots made per proof of work they solved.

Many client addresses are presented through ``X-Forwarded-For``; that only works when the target
trusts the drill as a proxy (``shieldware demo --trust-drill``). Loopback targets only, unless
told otherwise: a drill is a load test and must not be pointed at someone else's site.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import ipaddress
import json
import multiprocessing
import os
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
SCENARIOS = ("flood", "stuffing", "scraper", "headless", "pow", "signup", "solver")
#: Scenarios whose bots solve proofs of work (in a process of their own).
SOLVING = ("pow", "solver")
#: The form helper's endpoint and answer field (`shieldware.layers.challenge`).
HELPER_CHALLENGE = "/.shieldware/pow/challenge"
HELPER_FIELD = "sw-pow-answer"
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
#: Bots come from 198.18.0.0/15 (benchmarking); `USER_NET` (documentation) is kept for callers.
BOT_NET = ipaddress.ip_network("198.18.0.0/15")
USER_NET = ipaddress.ip_network("192.0.2.0/24")
#: Users come each from a /24 of their own in 100.64.0.0/10 (shared address space): people from
#: fresh networks.
PEOPLE_NET = ipaddress.ip_network("100.64.0.0/10")
#: Sign-up solver bots: ten addresses in one /24.
SOLVER_NET = ipaddress.ip_network("198.19.7.0/24")
SOLVER_ADDRESSES = 10


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
    #: drill's machine); bots dealt to ``pow`` or ``solver`` beyond this flood instead.
    pow_max: int = 8
    #: Where people sign up (and ``signup`` / ``solver`` bots post).
    signup_path: str = "/signup"
    #: Sign-ups per user over the drill (0: users only browse).
    user_signups: int = 1
    #: Seconds a person spends filling in the form (the helper solves meanwhile).
    user_typing: tuple[float, float] = (2.0, 4.0)

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
        if not 0 <= self.user_signups <= 100:
            errors.append("user_signups must be within 0..100")
        if not self.signup_path.startswith("/"):
            errors.append("signup_path must be a path")
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
    #: Proofs of work solved (`PowAuth.solves`; the users' form helper).
    solves: int = 0
    #: Sign-up posts sent, and those the app answered (accounts made).
    signups: int = 0
    accounts: int = 0
    #: People's waits on a sign-up: the post's time plus any solving left when they finished typing.
    signup_waits: list[float] = field(default_factory=list)
    #: The difficulty (bits) of each proof the users' helper solved.
    bits: list[int] = field(default_factory=list)
    #: The form helper's background requests (not page views): their statuses, and how many
    #: reached the app (a target with no proof-of-work layer answers them itself).
    helper: Counter[str] = field(default_factory=Counter)
    helper_reached: int = 0

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
        if self.signups or self.solves:
            out["signups"] = self.signups
            out["accounts"] = self.accounts
            out["solves"] = self.solves
        if with_latency:
            out["success_rate"] = self.admitted / self.requests if self.requests else None
            out["latency_ms"] = _percentiles(self.latencies)
            out["challenged"] = len(self.solved)
            out["challenged_latency_ms"] = _percentiles(self.solved)
            out["signup_wait_ms"] = _percentiles(self.signup_waits)
            out["bits"] = sorted(set(self.bits))
            out["helper_statuses"] = dict(sorted(self.helper.items()))
        return out


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    ordered = sorted(values)

    return {
        "p50": at_ms(ordered, 0.5),
        "p90": at_ms(ordered, 0.9),
        "p99": at_ms(ordered, 0.99),
        "max": round(ordered[-1] * 1000, 2),
    }


def at_ms(ordered: list[float], q: float, ndigits: int = 2) -> float:
    """The `q` quantile of sorted seconds, in milliseconds."""
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, ndigits)


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
            if route == self.config.signup_path and response.request.method == "POST":
                tally.accounts += 1


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
    if method == "POST" and route == run.config.signup_path:
        tally.signups += 1
    return response


# -- the actors ----------------------------------------------------------------------------
def _pow_auth() -> Any | None:
    """A fresh `shieldware.client.PowAuth` (solves challenges, keeps the clearance), or None."""
    client = pow_solver()
    auth_class = getattr(client, "PowAuth", None)
    return auth_class() if auth_class is not None else None


def _person_address(index: int) -> str:
    """A fresh network per person: ``100.64.0.0/10`` split into /24s."""
    return str(PEOPLE_NET[(index % (PEOPLE_NET.num_addresses // 256)) * 256 + 10])


async def _user(
    run: _Run,
    index: int,
    rng: random.Random,
    make: Callable[..., Any],
    solver: Callable[[str, int, int], Awaitable[list[int]]],
) -> None:
    headers = dict(BROWSER_HEADERS)
    if run.config.forwarded:
        headers["x-forwarded-for"] = _person_address(index)
    lo, hi = run.config.user_think
    routes = [*run.config.pages, run.config.login_path]
    auth = _pow_auth()
    signups = run.config.user_signups
    # sign-ups spread over the drill, the first one early: a person's visit
    span = run.deadline - time.monotonic()
    due = sorted(
        time.monotonic() + (span * (k + rng.uniform(0.05, 0.5)) / max(1, signups))
        for k in range(signups)
    )
    async with make(cookies=True, auth=auth) as client:
        await asyncio.sleep(rng.uniform(0, lo))
        first = True  # every user views at least one page, even on a machine slow to start it
        while first or run.running():
            first = False
            if due and time.monotonic() >= due[0]:
                due.pop(0)
                await _sign_up(run, client, headers, rng, solver, index)
            else:
                await _browse(run, client, rng.choice(routes), headers, solve=auth is not None)
            await asyncio.sleep(rng.uniform(lo, hi))


async def _sign_up(
    run: _Run,
    client: Any,
    headers: dict[str, str],
    rng: random.Random,
    solver: Callable[[str, int, int], Awaitable[list[int]]],
    index: int,
) -> None:
    """A person signing up with the form helper: the form page, typing while the helper fetches
    and solves the post's proof of work, then the post. The wait is what comes after typing."""
    route = run.config.signup_path
    page = await _request(run, client, run.legit, "GET", route, headers)
    if page is None:
        return
    typing = asyncio.ensure_future(asyncio.sleep(rng.uniform(*run.config.user_typing)))
    helper = asyncio.ensure_future(_helper_answer(run, client, headers, solver))
    await typing
    typed = time.perf_counter()
    answer = await helper  # the helper may still be solving: the person waits for it
    form = {"email": f"person{index}.{rng.getrandbits(32)}@example.org", "password": "a long one"}
    if answer:
        form[HELPER_FIELD] = answer
    if not run.spend():
        return
    try:
        response = await client.post(route, headers=headers, data=form)
    except Exception:
        response = None
    wait = time.perf_counter() - typed
    run.record(run.legit, route, response, wait)
    run.legit.signups += 1
    run.legit.signup_waits.append(wait)


async def _helper_answer(
    run: _Run,
    client: Any,
    headers: dict[str, str],
    solver: Callable[[str, int, int], Awaitable[list[int]]],
) -> str | None:
    """What the form helper does: an action-bound challenge, solved; None when there is none."""
    ask = {**headers, "accept": "application/json", "sec-fetch-mode": "cors"}
    ask["sec-fetch-dest"] = "empty"
    ask.pop("upgrade-insecure-requests", None)
    try:
        response = await client.get(
            HELPER_CHALLENGE, params={"a": run.config.signup_path}, headers=ask
        )
        run.legit.helper[str(response.status_code)] += 1
        run.legit.helper_reached += bool(response.headers.get(REACHED_HEADER))
        if response.status_code != 200:
            return None  # no proof-of-work layer on this route: the form goes as it is
        challenge = response.json()
        token, count, bits = (
            str(challenge["token"]),
            int(challenge["count"]),
            int(challenge["bits"]),
        )
    except Exception:
        return None
    nonces = await solver(token.split(".")[1], count, bits)
    run.legit.solves += 1
    run.legit.bits.append(bits)
    return token + ";" + ",".join(str(n) for n in nonces)


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
        if solve and response.status_code == 403 and is_challenge(response):
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


def is_challenge(response: Any) -> bool:
    """The response is the proof-of-work interstitial (the demo says so in a header; any other
    app, by the page's own markup)."""
    action = response.headers.get(ACTION_HEADER)
    if action is not None:
        return bool(action == "challenge")
    return 'data-challenge="' in response.text[:8192]


def _bot_headers(run: _Run, scenario: str, index: int, rng: random.Random) -> dict[str, str]:
    if scenario == "scraper":
        headers = {"user-agent": rng.choice(LIBRARY_UAS), "accept": "*/*"}
    elif scenario == "headless":
        headers = {**BROWSER_HEADERS, "user-agent": HEADLESS_UA}
    elif scenario == "stuffing":
        headers = {"user-agent": rng.choice(LIBRARY_UAS[:2]), "accept": "*/*"}
    elif scenario in SOLVING:  # asks for the machine-readable challenge its solver answers
        headers = {"user-agent": BROWSER_UA, "accept": "application/json, */*;q=0.5"}
    elif scenario == "signup":  # a browser-like form post, no proof of work
        headers = {**BROWSER_HEADERS, "content-type": "application/x-www-form-urlencoded"}
    else:  # flood: poses as a browser
        headers = {"user-agent": BROWSER_UA, "accept": "text/html,*/*;q=0.8"}
    if run.config.forwarded:
        spread = run.config.addresses or BOT_NET.num_addresses - 2
        headers["x-forwarded-for"] = str(BOT_NET[1 + index % spread])
        if scenario == "solver":  # ten addresses in one /24
            headers["x-forwarded-for"] = str(SOLVER_NET[1 + index % SOLVER_ADDRESSES])
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
    auth = _pow_auth() if scenario in SOLVING else None
    async with make(auth=auth) as client:
        while run.running():
            n += 1
            if scenario == "stuffing":
                data = {"email": f"user{index}.{n}@example.com", "password": f"hunter{n}"}
                await _request(run, client, tally, "POST", run.config.login_path, headers, data)
            elif scenario in ("signup", "solver"):
                data = {"email": f"bot{index}.{n}@example.com", "password": f"hunter2-{n}"}
                await _request(run, client, tally, "POST", run.config.signup_path, headers, data)
            else:
                await _request(run, client, tally, "GET", pages[n % len(pages)], headers)
            if auth is not None:
                tally.solves, auth.solves = tally.solves + auth.solves, 0
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
    loop = asyncio.get_running_loop()
    pool = None
    if run.config.user_signups and run.config.users:
        # The helper solves in the browser's Web Workers, off the page's thread: here, in a
        # process of its own, so the users' own timing is not slowed by the hashing.
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        await loop.run_in_executor(pool, _warm)

    async def solver(cid: str, count: int, bits: int) -> list[int]:
        from .pow.puzzle import solve

        if pool is None:  # pragma: no cover - only when nobody signs up
            return solve(cid, count, bits)
        return await loop.run_in_executor(pool, solve, cid, count, bits)

    try:
        await asyncio.gather(
            *(
                _user(run, i, random.Random(rng.random()), make, solver)
                for i in range(run.config.users)
            )
        )
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _warm() -> None:
    import httpx  # noqa: F401 - imported once, before the clock starts


def _yield_cpu() -> None:
    """Lower this process's priority: the solver bots' hashing stands for the attacker's CPUs,
    not the target's, so on one machine it yields to the server and to the people."""
    with contextlib.suppress(AttributeError, OSError):  # not POSIX, or not allowed
        os.nice(19)


def _users_in_process(config: DrillConfig, deadline: float, seed: float) -> _Tally:
    """Entry point of the users' process (CLOCK_MONOTONIC is shared by processes on Linux)."""
    run = _Run(config, deadline)
    run.budget = 10**9  # users are bounded by time and their think time
    asyncio.run(_users(run, seed))
    return run.legit


async def _solvers(run: _Run, bots: list[tuple[str, int]], seed: float) -> None:
    rng = random.Random(seed)
    make = _client_factory(run.config)
    await asyncio.gather(
        *(_bot(run, scenario, i, random.Random(rng.random()), make) for scenario, i in bots)
    )


def _solvers_in_process(
    config: DrillConfig, deadline: float, bots: list[tuple[str, int]], budget: int, seed: float
) -> dict[str, _Tally]:
    """Entry point of the solving bots' process: their hashing must not starve the other bots."""
    _yield_cpu()
    run = _Run(config, deadline)
    run.budget = budget
    asyncio.run(_solvers(run, bots, seed))
    return {name: run.bots[name] for name in SOLVING if name in run.bots}


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
    """Bot indices per scenario, round-robin; solvers (``pow`` and ``solver`` together) beyond
    `pow_max` become flood bots."""
    dealt: dict[str, list[int]] = {name: [] for name in scenarios}
    for i in range(config.bots if scenarios else 0):
        dealt[scenarios[i % len(scenarios)]].append(i)
    room = config.pow_max
    extra: list[int] = []
    for name in SOLVING:
        kept = dealt.get(name, [])
        extra += kept[room:]
        del kept[room:]
        room -= len(kept)
    if extra:
        spill = "flood" if "flood" in dealt else next((s for s in dealt if s not in SOLVING), None)
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
    for name in SOLVING:
        if name in config.scenarios and _pow_auth() is None:
            skipped[name] = "shieldware.client (PowAuth) is not available in this build"
    dealt = _deal(config, [s for s in config.scenarios if s not in skipped])
    solvers = [(name, i) for name in SOLVING for i in dealt.pop(name, [])]
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
    helpers: dict[str, Awaitable[Any]] = {}
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
            run.bots.update(await helpers["pow"])
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
        bots_total.signups += tally.signups
        bots_total.accounts += tally.accounts
        bots_total.solves += tally.solves
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
            "legit": run.legit.reached + run.legit.helper_reached,
            "bots": bots_total.reached,
            "stats_endpoint": None if before is None or after is None else after - before,
        },
        "signups": _signups(run),
        "skipped": run.skipped,
    }


def _signups(run: _Run) -> dict[str, Any]:
    """Who made accounts, at what cost: people's waits and bits, bots' accounts per solve."""
    legit = run.legit
    bots: dict[str, Any] = {}
    for name, tally in run.bots.items():
        if tally.signups or tally.solves:
            per_solve = round(tally.accounts / tally.solves, 3) if tally.solves else None
            bots[name] = {
                "posts": tally.signups,
                "accounts": tally.accounts,
                "solves": tally.solves,
                "accounts_per_solve": per_solve,
            }
    return {
        "people": {
            "signups": legit.signups,
            "accounts": legit.accounts,
            "solves": legit.solves,
            "wait_ms": _percentiles(legit.signup_waits),
            "bits": sorted(set(legit.bits)),
            "status_405": legit.statuses.get("405", 0),
        },
        "bots": bots,
        "non_solver_accounts": sum(
            t.accounts for name, t in run.bots.items() if name not in SOLVING
        ),
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
    signups = report.get("signups")
    if signups and (signups["people"]["signups"] or signups["bots"]):
        people = signups["people"]
        wait = people["wait_ms"]
        lines.append(
            f"  sign-ups: people {people['accounts']} accounts of {people['signups']} "
            f"(wait after typing p50 {wait['p50']} ms, p99 {wait['p99']} ms; "
            f"bits {people['bits'] or '-'}; 405s {people['status_405']}); "
            f"bots without a solver: {signups['non_solver_accounts']} accounts"
        )
        for name, row in signups["bots"].items():
            lines.append(
                f"    {name:<9} {row['posts']:>7} posts, {row['accounts']:>6} accounts, "
                f"{row['solves']:>6} solves ({row['accounts_per_solve']} accounts per solve)"
            )
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

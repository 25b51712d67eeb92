"""The ``shieldware`` command: demo, secret, explain, drill, solve and attack."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from .secret import ENV_VAR, generate_secret

__all__ = ["main"]

#: Seconds of calm before the demo's automatic trigger turns the switch off.
DEMO_CALM = 15


def _cmd_secret(args: argparse.Namespace) -> int:
    print(generate_secret())
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        print("shieldware demo needs uvicorn: pip install 'shieldware[demo]'", file=sys.stderr)
        return 2
    import os

    from .demo import build_demo_app, demo_routes_text
    from .policy import Shield

    secret = os.environ.get(ENV_VAR)
    if not secret:
        secret = generate_secret()
        print(
            f"NOTE: no {ENV_VAR} set; the demo generated a throw-away secret. "
            "Never run production without your own.\n",
            file=sys.stderr,
        )
    from .errors import ConfigurationError
    from .liveview import LiveView

    proxies = ["127.0.0.1", "::1"] if args.trust_drill else []
    from .attack import Trigger

    shield = Shield.default(
        secret,
        mode="shadow" if args.shadow else "enforce",
        trusted_proxies=proxies,
        auto_attack=False if args.no_auto_attack else Trigger(calm_period=DEMO_CALM),
    )
    if args.log_decisions:
        import logging

        from .report import LoggingReporter

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        shield.reporters = (*shield.reporters, LoggingReporter(allowed_level=logging.INFO))
    live_token = args.live_token or generate_secret()[:32]
    live = LiveView(token=live_token, shield=shield)
    base = f"http://{args.host}:{args.port}"
    print(demo_routes_text(base, shield, live_token), flush=True)
    metrics = None
    try:
        from .report import PrometheusReporter

        metrics = PrometheusReporter(store=shield.store)
        shield.reporters = (*shield.reporters, metrics)
    except ConfigurationError:  # prometheus-client is not installed: no metrics endpoint
        pass
    from .demo import Reached, build_site

    reached = Reached()
    site = build_site(reached)
    monitor = shield.switch.monitor if shield.switch is not None else None
    if monitor is not None:  # the trigger watches the app's own latency too
        site = monitor.timed(site)
    app = build_demo_app(shield, live=live, metrics=metrics, reached=reached, site=site)

    class DemoServer(uvicorn.Server):
        """Ends the live view's event streams on Ctrl-C, so the server does not wait for them."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            live.close()
            super().handle_exit(sig, frame)

    DemoServer(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")).run()
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from .errors import ConfigurationError
    from .explain import RequestSpec, load_policy, origin_line, parse_curl, parse_header, scope_for
    from .render import render

    try:
        if args.curl:
            spec = parse_curl(args.curl)
        elif args.request:
            spec = parse_curl(args.request)
        else:
            spec = RequestSpec()
        if args.method:
            spec.method = args.method.upper()
        spec.headers = [parse_header(h) for h in args.header] + spec.headers
        if args.user_agent is not None:
            spec.headers.append(("user-agent", args.user_agent))
        if args.cookie is not None:
            spec.headers.append(("cookie", args.cookie))
        spec.client = args.client
        origins = None
        if args.origin_db and not args.policy:  # the default chain, with its origin signals
            from .origin import OriginDB

            origins = OriginDB(args.origin_db, country=args.origin_country, check_every=None)
        shield = load_policy(args.policy, origins)
        scope = scope_for(spec)
        facts = shield.facts_from_scope(scope)
        origin = origin_line(shield, facts, args.origin_db, args.origin_country)
    except ConfigurationError as exc:
        print(f"shieldware explain: {exc}", file=sys.stderr)
        return 2
    if args.under_attack and shield.switch is None:
        print("shieldware explain: this policy has no under-attack switch", file=sys.stderr)
        return 2
    if args.under_attack and shield.switch is not None:
        shield.switch.force(True)  # this process only: nothing is written to the store
    decision = shield.decide(facts, report=False)  # an explanation is not traffic
    print(
        f"request: {facts.method} {facts.scheme}://{facts.host}{facts.path}"
        + (f"?{facts.query}" if facts.query else "")
    )
    print(f"client:  {facts.client_ip} (peer {facts.peer_ip}; proxies trusted: {shield.proxies!r})")
    if origin is not None:
        print(f"origin:  {origin}")
    print(f"policy:  {shield!r}")
    _explain_switch(shield, args.under_attack)
    print(decision.explain())
    if args.verbose:
        import json

        for verdict in decision.trail:
            if verdict.detail:
                detail = json.dumps(dict(verdict.detail), default=str, sort_keys=True)
                print(f"  {verdict.rule} detail: {detail}")
    if decision.answered:
        reply = render(decision, facts)
        print(f"=> the shield answers {reply.status}; the app is not called")
    elif decision.action.blocks:
        print("=> shadow mode: it would block, but the app is called")
    else:
        print("=> the app is called")
    return 0


def _explain_switch(shield: Any, forced: bool) -> None:
    """The under-attack switch's state, profile and trigger thresholds (explain's header)."""
    switch = shield.switch
    if switch is None:
        return
    if forced:
        print("switch:  explained UNDER ATTACK (--under-attack; the store is not touched)")
    else:
        try:
            print(f"switch:  {switch.status().describe()}")
        except Exception as exc:  # an explanation goes on without the store
            print(f"switch:  unknown ({exc})")
    profile = getattr(shield, "attack_profile", None)
    if profile is not None:
        print("  under attack: " + "; ".join(profile.describe()))
    monitor = switch.monitor
    print("  automatic trigger: " + ("off" if monitor is None else monitor.trigger.describe()))


def _cmd_attack(args: argparse.Namespace) -> int:
    """``shieldware attack on|off|status`` against a store URL or a live view."""
    import getpass
    import json
    import os
    import socket
    import time

    from .errors import ShieldwareError

    by = args.by or f"cli:{getpass.getuser()}@{socket.gethostname()}"[:60]
    on = {"on": True, "off": False}.get(args.action)
    try:
        if args.live:
            token = args.token or os.environ.get("SHIELDWARE_LIVE_TOKEN")
            if not token:
                print(
                    "shieldware attack: --live needs --token or SHIELDWARE_LIVE_TOKEN",
                    file=sys.stderr,
                )
                return 2
            data = _attack_via_live(args.live, token, on, args.reason, args.until, by)
            if args.json:
                print(json.dumps(data, indent=2))
            else:
                print(("UNDER ATTACK: " if data["active"] else "normal: ") + data["describe"])
            return 0
        from .attack import parse_until, read_state, write_state
        from .attack.state import new_state
        from .stores import store_from_url

        store = store_from_url(args.store)
        try:
            if on is not None:
                parse_until(args.until, time.time())  # refuse a bad until before writing
                write_state(
                    store,
                    new_state(on, reason=args.reason, by=by, until=args.until, now=time.time()),
                )
            state = read_state(store)
        finally:
            store.close()
    except (ValueError, ShieldwareError, OSError) as exc:
        print(f"shieldware attack: {exc}", file=sys.stderr)
        return 1
    active = state.active(time.time())
    if args.json:
        print(json.dumps({"active": active, "describe": state.describe()}, indent=2))
    else:
        print(("UNDER ATTACK: " if active else "normal: ") + state.describe())
        if on is not None:
            print("every worker sharing this store follows within a second")
    return 0


def _attack_via_live(
    base: str, token: str, on: bool | None, reason: str, until: str | None, by: str
) -> dict[str, Any]:
    import httpx

    url = base.rstrip("/") + "/attack"
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(timeout=10) as http:
        if on is None:
            response = http.get(url, headers=headers)
        else:
            body = {"on": on, "reason": reason, "until": until or "", "by": by}
            response = http.post(url, headers=headers, json=body)
    if response.status_code != 200:
        raise ValueError(f"{url} answered {response.status_code}: {response.text.strip()[:200]}")
    data: dict[str, Any] = response.json()
    return data


def _cmd_flood_drill(args: argparse.Namespace) -> int:
    """``shieldware drill URL --flood-at S``: a flood mid-run, and the switch's answer to it."""
    import asyncio
    import json
    import os

    from .attack.drill import FloodDrill, format_flood_report, run_flood_drill
    from .errors import ConfigurationError

    duration = args.duration
    if duration <= args.flood_at + args.flood_for:
        duration = args.flood_at + args.flood_for + 30
        print(
            f"note: --duration raised to {duration:g} s to see the switch turn off", file=sys.stderr
        )
    config = FloodDrill(
        url=args.url,
        live=args.live or "",
        token=args.live_token or os.environ.get("SHIELDWARE_LIVE_TOKEN", ""),
        duration=duration,
        flood_at=args.flood_at,
        flood_for=args.flood_for,
        bots=args.bots,
        users=args.users,
        pages=(*(p for p in args.pages.split(",") if p), args.login_path),
        forwarded=not args.no_forwarded,
        allow_remote=args.allow_remote,
        seed=args.seed,
    )
    try:
        report = asyncio.run(run_flood_drill(config))
    except ConfigurationError as exc:
        print(f"shieldware drill: {exc}", file=sys.stderr)
        return 2
    print(format_flood_report(report))
    if args.output != "-":
        path = args.output if args.output.endswith(".json") else args.output + ".json"
        with open(path, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
        print(f"report saved to {path}")
    return 0


def _cmd_drill(args: argparse.Namespace) -> int:
    import asyncio

    if args.flood_at is not None:
        return _cmd_flood_drill(args)

    from .drill import DrillConfig, format_report, progress_bar, run_drill, save_report
    from .errors import ConfigurationError

    config = DrillConfig(
        url=args.url,
        duration=args.duration,
        bots=args.bots,
        users=args.users,
        scenarios=tuple(s for s in args.scenarios.split(",") if s),
        forwarded=not args.no_forwarded,
        max_requests=args.max_requests,
        allow_remote=args.allow_remote,
        login_path=args.login_path,
        pages=tuple(p for p in args.pages.split(",") if p),
        seed=args.seed,
        addresses=args.addresses,
        signup_path=args.signup_path,
        user_signups=args.user_signups,
    )
    try:
        show = not args.quiet and sys.stderr.isatty()
        report = asyncio.run(run_drill(config, progress_bar() if show else None))
    except ConfigurationError as exc:
        print(f"shieldware drill: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    if args.output != "-":
        json_path, text_path = save_report(report, args.output)
        print(f"report saved to {json_path} and {text_path}")
    return 0


def _cmd_solve(args: argparse.Namespace) -> int:
    import time

    from .drill import check_target, pow_solver
    from .errors import ConfigurationError

    client = pow_solver()
    auth_class = getattr(client, "PowAuth", None)
    if auth_class is None:
        print(
            "shieldware solve needs the Python proof-of-work client (shieldware.client) and "
            "httpx: pip install 'shieldware[client]'",
            file=sys.stderr,
        )
        return 2
    try:
        check_target(args.url, args.allow_remote)
    except ConfigurationError as exc:
        print(f"shieldware solve: {exc}", file=sys.stderr)
        return 2
    import httpx

    auth = auth_class()
    started = time.perf_counter()
    try:
        with httpx.Client(auth=auth, timeout=args.timeout) as http:
            response = http.get(args.url, headers={"accept": "application/json"})
    except httpx.HTTPError as exc:
        print(f"shieldware solve: {exc}", file=sys.stderr)
        return 1
    took = time.perf_counter() - started
    rounds = len(response.history)
    print(f"{response.status_code} {args.url} after {took:.2f} s ({rounds} challenge(s) solved)")
    if auth.clearance:
        print(f"clearance: {auth.clearance}")
    if args.body:
        print(response.text)
    return 0 if response.status_code < 400 else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shieldware", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="serve a small app protected by the default chain")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--shadow", action="store_true", help="decide and report, never block")
    demo.add_argument(
        "--trust-drill",
        action="store_true",
        help="trust X-Forwarded-For from loopback, so `shieldware drill` can "
        "present many client addresses",
    )
    demo.add_argument("--live-token", help="token of the live view (generated by default)")
    demo.add_argument("--log-decisions", action="store_true", help="log every decision")
    demo.add_argument(
        "--no-auto-attack",
        action="store_true",
        help="no automatic under-attack trigger (the switch stays manual)",
    )
    demo.set_defaults(func=_cmd_demo)

    explain = sub.add_parser(
        "explain",
        help="print the decision trail of a policy for one request",
        description="Explain a decision: `shieldware explain -H 'User-Agent: curl/8' "
        "http://localhost/login`, or paste a curl command: `shieldware explain curl -X POST ...`.",
    )
    explain.add_argument(
        "--policy", help="module:attribute of a Shield (default: the default chain)"
    )
    explain.add_argument("--client", default="127.0.0.1", help="the TCP peer address")
    explain.add_argument("-X", "--method", help="request method (default GET, POST with data)")
    explain.add_argument("-H", "--header", action="append", default=[], help="'Name: value'")
    explain.add_argument("-A", "--user-agent", help="User-Agent header")
    explain.add_argument("-b", "--cookie", help="Cookie header")
    explain.add_argument("--curl", help="a whole curl command line, quoted")
    explain.add_argument(
        "--origin-db",
        help="an origin database (compact or .mmdb): shows where the client comes from, and "
        "gives the default chain its origin signals (a --policy keeps its own lookup, if any)",
    )
    explain.add_argument("--origin-country", help="a second database that supplies countries")
    explain.add_argument(
        "-v", "--verbose", action="store_true", help="also print each verdict's detail"
    )
    explain.add_argument(
        "--under-attack",
        action="store_true",
        help="explain the decision as if the under-attack switch were on",
    )
    explain.add_argument("request", nargs=argparse.REMAINDER, help="URL [curl options]")
    explain.set_defaults(func=_cmd_explain)

    drill = sub.add_parser(
        "drill",
        help="rehearse an attack on your own app (loopback only by default)",
        description="Bots and a few browser-like users side by side; prints and saves a report.",
    )
    drill.add_argument("url")
    drill.add_argument("--duration", type=float, default=10.0, help="seconds (default 10)")
    drill.add_argument("--bots", type=int, default=50, help="bot clients (default 50)")
    drill.add_argument("--users", type=int, default=5, help="browser-like users (default 5)")
    drill.add_argument(
        "--scenarios",
        default="flood,stuffing,scraper,headless,pow,signup,solver",
        help="comma-separated: flood, stuffing, scraper, headless, pow, signup, solver",
    )
    drill.add_argument("--pages", default="/,/api/hello", help="routes users and bots GET")
    drill.add_argument("--login-path", default="/login", help="route credential stuffing POSTs")
    drill.add_argument(
        "--signup-path", default="/signup", help="route people and sign-up bots POST (/signup)"
    )
    drill.add_argument(
        "--user-signups", type=int, default=1, help="sign-ups per user, with the form helper"
    )
    drill.add_argument("--max-requests", type=int, default=500_000, help="request budget")
    drill.add_argument(
        "--no-forwarded", action="store_true", help="do not present addresses via X-Forwarded-For"
    )
    drill.add_argument("--allow-remote", action="store_true", help="allow a non-loopback target")
    drill.add_argument("--output", default="shieldware-drill.json", help="report path, or -")
    drill.add_argument(
        "--addresses",
        type=int,
        default=None,
        help="distinct bot addresses, shared round-robin (default: one per bot)",
    )
    drill.add_argument("--seed", type=int, default=None)
    drill.add_argument(
        "--flood-at",
        type=float,
        default=None,
        help="the flood scenario: people throughout, a flood from this second on; reports the "
        "under-attack switch's time to mitigation (needs --live-token)",
    )
    drill.add_argument("--flood-for", type=float, default=20.0, help="flood seconds (default 20)")
    drill.add_argument("--live", help="the target's live view URL (default URL/.shieldware/live)")
    drill.add_argument("--live-token", help="its token (or SHIELDWARE_LIVE_TOKEN)")
    drill.add_argument("--quiet", action="store_true", help="no progress bar")
    drill.set_defaults(func=_cmd_drill)

    solve = sub.add_parser("solve", help="fetch a URL, solving its proof of work challenge")
    solve.add_argument("url")
    solve.add_argument("--allow-remote", action="store_true")
    solve.add_argument("--timeout", type=float, default=60.0)
    solve.add_argument("--body", action="store_true", help="print the response body")
    solve.set_defaults(func=_cmd_solve)

    attack = sub.add_parser(
        "attack",
        help="turn the under-attack switch on or off, or show it",
        description="Flip the under-attack switch of every worker sharing a store: "
        "`shieldware attack on --store redis://... --reason 'flood' --until 1h`, or through "
        "the app's live view: `shieldware attack status --live https://host/.shieldware/live "
        "--token ...`.",
    )
    attack.add_argument("action", choices=("on", "off", "status"))
    where = attack.add_mutually_exclusive_group(required=True)
    where.add_argument("--store", help="the app's store URL (redis://..., memory:// is local)")
    where.add_argument("--live", help="the app's live view URL (with --token)")
    attack.add_argument("--token", help="the live view's token (or SHIELDWARE_LIVE_TOKEN)")
    attack.add_argument("--reason", default="", help="why (reported with the flip)")
    attack.add_argument("--until", help="turn off by itself: 90s, 30m, 2h, 1d or an ISO time")
    attack.add_argument("--by", help="who flips it (default cli:<user>@<host>)")
    attack.add_argument("--json", action="store_true", help="print JSON")
    attack.set_defaults(func=_cmd_attack)

    secret = sub.add_parser("secret", help="print a fresh secret for SHIELDWARE_SECRET")
    secret.set_defaults(func=_cmd_secret)

    from .origin.cli import add_parser as add_origin

    add_origin(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

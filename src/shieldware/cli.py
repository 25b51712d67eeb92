"""The ``shieldware`` command: ``demo``, ``secret``, ``explain``, ``drill`` and ``solve``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from .secret import ENV_VAR, generate_secret

__all__ = ["main"]


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
    shield = Shield.default(
        secret, mode="shadow" if args.shadow else "enforce", trusted_proxies=proxies
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
    app = build_demo_app(shield, live=live, metrics=metrics)

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
    decision = shield.decide(facts, report=False)  # an explanation is not traffic
    print(
        f"request: {facts.method} {facts.scheme}://{facts.host}{facts.path}"
        + (f"?{facts.query}" if facts.query else "")
    )
    print(f"client:  {facts.client_ip} (peer {facts.peer_ip}; proxies trusted: {shield.proxies!r})")
    if origin is not None:
        print(f"origin:  {origin}")
    print(f"policy:  {shield!r}")
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


def _cmd_drill(args: argparse.Namespace) -> int:
    import asyncio

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
    drill.add_argument("--quiet", action="store_true", help="no progress bar")
    drill.set_defaults(func=_cmd_drill)

    solve = sub.add_parser("solve", help="fetch a URL, solving its proof of work challenge")
    solve.add_argument("url")
    solve.add_argument("--allow-remote", action="store_true")
    solve.add_argument("--timeout", type=float, default=60.0)
    solve.add_argument("--body", action="store_true", help="print the response body")
    solve.set_defaults(func=_cmd_solve)

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

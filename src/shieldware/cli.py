"""The ``shieldware`` command: ``demo``, ``secret``, and (as layers land) more."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

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
    proxies = ["127.0.0.1", "::1"] if args.trust_drill else []
    shield = Shield.default(
        secret, mode="shadow" if args.shadow else "enforce", trusted_proxies=proxies
    )
    base = f"http://{args.host}:{args.port}"
    print(demo_routes_text(base, shield), flush=True)
    uvicorn.run(build_demo_app(shield), host=args.host, port=args.port, log_level="warning")
    return 0


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
    demo.set_defaults(func=_cmd_demo)

    secret = sub.add_parser("secret", help="print a fresh secret for SHIELDWARE_SECRET")
    secret.set_defaults(func=_cmd_secret)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

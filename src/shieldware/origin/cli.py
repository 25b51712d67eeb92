"""``shieldware origin build`` and ``shieldware origin lookup``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import ConfigurationError

__all__ = ["add_parser"]


def _cmd_build(args: argparse.Namespace) -> int:
    from .build import build

    try:
        report = build(args.output, args.asn, args.country)
    except ConfigurationError as exc:
        print(f"shieldware origin build: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {report.path}: {report.size / 1e6:.1f} MB, {report.asn_ranges} ASN ranges, "
        f"{report.country_ranges} country ranges, {report.records} AS records"
    )
    if report.overlaps:
        print(f"{report.overlaps} overlapping rows: the narrower range kept its addresses")
    print("Keep the attribution: see docs/origin.md (CC BY 4.0 for the ASN data).")
    return 0


def _cmd_lookup(args: argparse.Namespace) -> int:
    from ..clientip import parse_ip
    from .db import OriginDB
    from .networks import ASNLists

    address = parse_ip(args.address)
    if address is None:
        print(f"shieldware origin lookup: not an IP address: {args.address!r}", file=sys.stderr)
        return 2
    try:
        lists = ASNLists(hosting=args.hosting, not_hosting=args.not_hosting)
        db = OriginDB(args.db, country=args.country, lists=lists, check_every=None)
    except ConfigurationError as exc:
        print(f"shieldware origin lookup: {exc}", file=sys.stderr)
        return 2
    origin = db.origin_of(address)
    print(f"{address}: {origin}")
    if args.verbose:
        for key, value in db.info().items():
            print(f"  {key}: {value}")
    db.close()
    return 0


def add_parser(sub: Any) -> None:
    """Add the ``origin`` command to the ``shieldware`` parser's subcommands."""
    origin = sub.add_parser("origin", help="network origin data: build a database, look one up")
    commands = origin.add_subparsers(dest="origin_command", required=True)

    build = commands.add_parser(
        "build",
        help="build a compact origin database from open CSV range data",
        description="Build from @ip-location-db style CSV (start,end,asn,org or start,end,cc).",
    )
    build.add_argument("--asn", nargs="+", default=[], help="ASN CSV files (.csv or .csv.gz)")
    build.add_argument("--country", nargs="+", default=[], help="country CSV files")
    build.add_argument("-o", "--output", required=True, help="the database file to write")
    build.set_defaults(func=_cmd_build)

    lookup = commands.add_parser("lookup", help="print the origin of one address")
    lookup.add_argument("address")
    lookup.add_argument("--db", required=True, help="compact database or .mmdb file")
    lookup.add_argument("--country", help="a second database that supplies countries")
    lookup.add_argument("--hosting", nargs="*", default=[], help="extra hosting ASNs")
    lookup.add_argument("--not-hosting", nargs="*", default=[], help="ASNs that are not hosting")
    lookup.add_argument("-v", "--verbose", action="store_true", help="also print provenance")
    lookup.set_defaults(func=_cmd_lookup)

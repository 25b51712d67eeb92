"""Fixture data in the open CSV format, and small databases built from it."""

from __future__ import annotations

from pathlib import Path

from shieldware.origin.build import build

# @ip-location-db/asn style: start,end,asn,org (organisations with commas are quoted).
ASN_CSV = """\
1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."
3.0.0.0,3.127.255.255,16509,Amazon.com
3.128.0.0,3.255.255.255,16509,Amazon.com
5.6.7.0,5.6.7.255,24940,Hetzner Online GmbH
8.8.8.0,8.8.8.255,15169,Google LLC
81.0.0.0,81.0.0.127,3215,Orange S.A.
2001:db8::,2001:db8:0:ffff:ffff:ffff:ffff:ffff,64500,Example v6 ISP
2001:db8:1::,2001:db8:1::ffff,14061,DigitalOcean
2001:db8:1::1:0,2001:db8:1::1:ffff,64501,Tiny Neighbour
2a01:4f8::,2a01:4f8:ffff:ffff:ffff:ffff:ffff:ffff,24940,Hetzner Online GmbH
"""
COUNTRY_CSV = """\
1.0.0.0,1.0.0.255,AU
3.0.0.0,3.255.255.255,US
81.0.0.0,81.255.255.255,FR
2a01:4f8::,2a01:4f8:ffff:ffff:ffff:ffff:ffff:ffff,DE
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def compact_db(tmp: Path, asn: str = ASN_CSV, country: str | None = COUNTRY_CSV) -> Path:
    """A compact database built from the fixture CSV files."""
    asn_csv = write(tmp / "asn.csv", asn)
    countries = [write(tmp / "country.csv", country)] if country is not None else []
    out = tmp / "origin.swo"
    build(out, [asn_csv], countries)
    return out

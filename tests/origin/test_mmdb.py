"""MaxMind-format databases: the layouts operators have, written by the test helper."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest

from shieldware.errors import ConfigurationError
from shieldware.origin import Category, Origin, OriginDB
from shieldware.origin.mmdb import MaxMindSource, record_of
from shieldware.origin.value import Record

from .mmdb_writer import write_mmdb

ip = ipaddress.ip_address

GEOLITE_ASN = [
    (
        "3.0.0.0/9",
        {"autonomous_system_number": 16509, "autonomous_system_organization": "AMAZON-02"},
    ),
    ("81.0.0.0/25", {"autonomous_system_number": 3215, "autonomous_system_organization": "Orange"}),
    (
        "2a01:4f8::/32",
        {"autonomous_system_number": 24940, "autonomous_system_organization": "Hetzner"},
    ),
]
GEOLITE_COUNTRY = [
    ("3.0.0.0/8", {"country": {"iso_code": "US", "names": {"en": "United States"}}}),
    ("81.0.0.0/8", {"country": {"iso_code": "FR"}}),
]
IPINFO_LITE = [
    ("1.0.0.0/24", {"asn": "AS13335", "as_name": "Cloudflare, Inc.", "country_code": "AU"}),
    ("2001:db8::/32", {"asn": "AS14061", "as_name": "DigitalOcean", "country_code": "nl"}),
]


@pytest.fixture
def asn_db(tmp_path: Path) -> Path:
    return write_mmdb(tmp_path / "GeoLite2-ASN.mmdb", GEOLITE_ASN, database_type="GeoLite2-ASN")


def test_geolite_asn_and_country(tmp_path: Path, asn_db: Path) -> None:
    country = write_mmdb(tmp_path / "GeoLite2-Country.mmdb", GEOLITE_COUNTRY)
    db = OriginDB(asn_db, country=country, check_every=None)
    assert db.origin_of(ip("3.1.2.3")) == Origin(16509, "AMAZON-02", Category.HOSTING, "US")
    assert db.origin_of(ip("3.200.0.1")) == Origin(None, None, Category.UNKNOWN, "US")
    assert db.origin_of(ip("81.0.0.1")) == Origin(3215, "Orange", Category.UNKNOWN, "FR")
    assert db.origin_of(ip("2a01:4f8::1")) == Origin(24940, "Hetzner", Category.HOSTING)
    assert db.origin_of(ip("::ffff:3.1.2.3")).asn == 16509
    assert db.origin_of(ip("9.9.9.9")) == Origin()
    assert db.info()["files"][0]["database_type"] == "GeoLite2-ASN"
    db.close()


def test_ipinfo_lite_holds_both(tmp_path: Path) -> None:
    db = OriginDB(write_mmdb(tmp_path / "ipinfo_lite.mmdb", IPINFO_LITE), check_every=None)
    assert db.origin_of(ip("1.0.0.1")) == Origin(13335, "Cloudflare, Inc.", "unknown", "AU")
    assert db.origin_of(ip("2001:db8::5")) == Origin(14061, "DigitalOcean", "hosting", "NL")


def test_ipv4_only_database_answers_ipv6_with_nothing(tmp_path: Path) -> None:
    path = write_mmdb(
        tmp_path / "v4.mmdb", [("5.6.7.0/24", {"autonomous_system_number": 7})], ip_version=4
    )
    db = OriginDB(path, check_every=None)
    assert db.origin_of(ip("5.6.7.8")).asn == 7
    assert db.origin_of(ip("2001:db8::1")) == Origin()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"autonomous_system_number": 1, "autonomous_system_organization": "A"}, Record(1, "A")),
        ({"asn": "AS2", "as_name": "B", "country_code": "de"}, Record(2, "B", "DE")),
        ({"country": {"iso_code": "JP"}}, Record(country="JP")),
        ({"country_code": "XYZ"}, None),
        ({"asn": "ASx"}, None),
        ({"autonomous_system_number": 0}, None),
        ({"autonomous_system_number": True}, None),
        (
            {"traits": {"user_type": "hosting", "autonomous_system_number": 9}},
            Record(9, None, None, "hosting"),
        ),
        ({"traits": {"user_type": "cellular"}}, Record(category=Category.ISP)),
        ("a string", None),
        ([1, 2], None),
        (None, None),
    ],
)
def test_record_of_layouts(data: object, expected: Record | None) -> None:
    assert record_of(data) == expected


def test_stated_user_type_is_used_unless_the_operator_says_otherwise(tmp_path: Path) -> None:
    from shieldware.origin import ASNLists

    rows = [("7.0.0.0/8", {"traits": {"user_type": "hosting", "autonomous_system_number": 64500}})]
    path = write_mmdb(tmp_path / "isp.mmdb", rows)
    assert OriginDB(path, check_every=None).origin_of(ip("7.1.1.1")).hosting
    overridden = OriginDB(path, lists=ASNLists(not_hosting=[64500]), check_every=None)
    assert overridden.origin_of(ip("7.1.1.1")).category == Category.UNKNOWN


def test_bad_mmdb_fails_at_construction(tmp_path: Path, asn_db: Path) -> None:
    data = asn_db.read_bytes()
    broken = tmp_path / "broken.mmdb"
    marker = data.rindex(b"\xab\xcd\xefMaxMind.com")
    broken.write_bytes(data[: marker + 14] + b"\xff\xff")  # the metadata map is cut short
    with pytest.raises(ConfigurationError, match=r"broken\.mmdb"):
        OriginDB(broken)


def test_missing_maxminddb_is_a_configuration_error(
    asn_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "maxminddb", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'shieldware\[origin\]'"):
        MaxMindSource(asn_db)


def test_import_shieldware_does_not_import_maxminddb() -> None:
    code = "import sys, shieldware, shieldware.origin; print('maxminddb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

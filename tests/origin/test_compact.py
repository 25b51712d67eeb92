"""The compact database: built from the open CSV format, read back, exact at range boundaries."""

from __future__ import annotations

import gzip
import ipaddress
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldware.errors import ConfigurationError
from shieldware.origin import ASNLists, Category, Origin, OriginDB
from shieldware.origin.build import ATTRIBUTION, build, build_tables
from shieldware.origin.compact import CompactSource, RangeTable, write_compact

from .helpers import ASN_CSV, compact_db, write

ip = ipaddress.ip_address


@pytest.fixture
def db(tmp_path: Path) -> OriginDB:
    return OriginDB(compact_db(tmp_path), check_every=None)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("1.0.0.0", Origin(13335, "Cloudflare, Inc.", Category.UNKNOWN, "AU")),
        ("1.0.0.255", Origin(13335, "Cloudflare, Inc.", Category.UNKNOWN, "AU")),
        ("1.0.1.0", Origin()),
        ("0.255.255.255", Origin()),
        ("3.0.0.0", Origin(16509, "Amazon.com", Category.HOSTING, "US")),
        ("3.200.1.1", Origin(16509, "Amazon.com", Category.HOSTING, "US")),
        ("3.255.255.255", Origin(16509, "Amazon.com", Category.HOSTING, "US")),
        ("4.0.0.0", Origin()),
        ("81.0.0.127", Origin(3215, "Orange S.A.", Category.UNKNOWN, "FR")),
        ("81.0.0.128", Origin(None, None, Category.UNKNOWN, "FR")),
        ("255.255.255.255", Origin()),
        ("::ffff:5.6.7.8", Origin(24940, "Hetzner Online GmbH", Category.HOSTING, None)),
        ("2001:db8::1", Origin(64500, "Example v6 ISP", Category.UNKNOWN, None)),
        ("2001:db8:0:ffff:ffff:ffff:ffff:ffff", Origin(64500, "Example v6 ISP")),
        ("2001:db8:1::", Origin(14061, "DigitalOcean", Category.HOSTING)),
        ("2001:db8:1::ffff", Origin(14061, "DigitalOcean", Category.HOSTING)),
        ("2001:db8:1::1:0", Origin(64501, "Tiny Neighbour")),
        ("2001:db8:1::2:0", Origin()),
        ("2a01:4f8:1234::1", Origin(24940, "Hetzner Online GmbH", Category.HOSTING, "DE")),
        ("::", Origin()),
        ("ffff::1", Origin()),
    ],
)
def test_lookup_table(db: OriginDB, address: str, expected: Origin) -> None:
    assert db.origin_of(ip(address)) == expected


def test_no_address_is_unknown(db: OriginDB) -> None:
    assert db.origin_of(None) == Origin()


def test_header_keeps_attribution_and_sources(tmp_path: Path) -> None:
    source = CompactSource(compact_db(tmp_path))
    assert source.header["attribution"] == ATTRIBUTION
    assert source.header["sources"] == ["asn.csv", "country.csv"]
    assert "CC BY 4.0" in source.header["licence"]


def test_header_row_gzip_and_merged_neighbours(tmp_path: Path) -> None:
    text = "ip_range_start,ip_range_end,autonomous_system_number,autonomous_system_organization\n"
    gz = tmp_path / "asn-ipv4.csv.gz"
    gz.write_bytes(gzip.compress((text + ASN_CSV).encode()))
    tables = build_tables([gz])
    # 3.0.0.0-3.127.255.255 and 3.128.0.0-3.255.255.255 (one record) become one range
    starts = list(tables.asn4.starts or ())
    assert int(ip("3.128.0.0")) not in starts
    assert int(ip("3.0.0.0")) in starts


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1.0.0.9,1.0.0.1,5,X", "ends before it starts"),
        ("1.0.0.0,::1,5,X", "different address families"),
        ("16777216,16777471,13335,X", "numeric address"),
        ("1.0.0.0,1.0.0.300,5,X", "not an IP address"),
        ("1.0.0.0,1.0.0.3,ASx,X", "not an AS number"),
        ("1.0.0.0,1.0.0.3,4294967296,X", "out of range"),
        ("1.0.0.0,1.0.0.3,FRA", "two-letter country"),
        ("1.0.0.0,1.0.0.3", "expected 3 or 4 columns"),
    ],
)
def test_bad_rows_are_named_with_their_line(tmp_path: Path, row: str, message: str) -> None:
    path = write(tmp_path / "bad.csv", "2.0.0.0,2.0.0.255,7,Fine\n" + row + "\n")
    with pytest.raises(ConfigurationError, match=message) as info:
        build_tables([path])
    assert "bad.csv:2" in str(info.value)


def _asn_at(tmp: Path, rows: str, addresses: list[str]) -> list[int | None]:
    out = tmp / "o.swo"
    report = build(out, [write(tmp / "o.csv", rows)])
    db = OriginDB(out, lists=ASNLists(base=False), check_every=None)
    assert report.overlaps == db.info()["files"][0]["overlaps_resolved"]
    return [db.origin_of(a).asn for a in addresses]


def test_overlapping_ranges_the_narrower_wins(tmp_path: Path) -> None:
    # the published data has such rows: 214.95.0.0-215.0.255.255 (AS749) then 215.0.0.0/22...
    rows = "1.0.0.0,1.0.0.255,1,A\n1.0.0.128,1.0.1.255,2,B\n"  # B is wider: A keeps its part
    got = _asn_at(tmp_path, rows, ["1.0.0.0", "1.0.0.200", "1.0.1.0", "1.0.1.255", "1.0.2.0"])
    assert got == [1, 1, 2, 2, None]
    nested = (
        "10.0.0.0,10.255.255.255,1,Wide\n10.1.0.0,10.1.0.255,2,Narrow\n10.1.0.0,10.1.0.255,3,Dup\n"
    )
    got = _asn_at(tmp_path, nested, ["10.0.255.255", "10.1.0.0", "10.1.0.255", "10.1.1.0"])
    assert got == [1, 2, 2, 1]  # the wide one resumes after the narrow one; a duplicate loses
    tail = "20.0.0.0,20.0.0.255,1,A\n20.0.0.0,20.0.0.15,2,B\n20.0.0.8,20.0.0.31,3,C\n"
    got = _asn_at(tmp_path, tail, ["20.0.0.0", "20.0.0.15", "20.0.0.16", "20.0.0.31", "20.0.0.32"])
    assert got == [2, 2, 3, 3, 1]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(1, 9)),
        min_size=1,
        max_size=12,
    )
)
def test_overlaps_resolve_to_the_narrowest_covering_range(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[int, int, int]]
) -> None:
    ranges = [(min(a, b), max(a, b), asn) for a, b, asn in rows]
    text = "".join(f"30.0.0.{a},30.0.0.{b},{asn},o{asn}\n" for a, b, asn in ranges)
    tables = build_tables([write(tmp_path_factory.mktemp("ov") / "o.csv", text)])
    for last in range(256):
        covering = [(b - a, i) for i, (a, b, _) in enumerate(ranges) if a <= last <= b]
        index = tables.asn4.find4((30 << 24) + last)
        got = tables.asns[index - 1] if index else None
        if not covering:
            assert got is None
        else:
            width = min(covering)[0]
            assert got in {asn for a, b, asn in ranges if b - a == width and a <= last <= b}


def test_missing_inputs(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="at least one CSV"):
        build_tables([])
    with pytest.raises(ConfigurationError, match="cannot read"):
        build_tables([tmp_path / "absent.csv"])


def test_corrupt_files_fail_at_construction(tmp_path: Path) -> None:
    good = compact_db(tmp_path).read_bytes()
    cases = {
        "truncated": good[:-3],
        "trailing": good + b"\x00",
        "badheader": good[:12] + b"x" + good[13:],
        "empty": b"",
        "garbage": b"hello, world" * 10,
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.swo"
        path.write_bytes(data)
        with pytest.raises(ConfigurationError, match=name + ".swo"):
            OriginDB(path)
    with pytest.raises(ConfigurationError, match="cannot read"):
        OriginDB(tmp_path / "missing.swo")


def test_a_value_past_the_table_is_refused(tmp_path: Path) -> None:
    tables = build_tables([write(tmp_path / "a.csv", "1.0.0.0,1.0.0.255,1,A\n")])
    tables.asn4.values[0] = 99
    write_compact(tmp_path / "bad.swo", tables)
    with pytest.raises(ConfigurationError, match="points past the end"):
        CompactSource(tmp_path / "bad.swo")


def test_as_zero_is_a_gap(tmp_path: Path) -> None:
    rows = "1.0.0.0,1.0.0.255,0,Not routed\n2.0.0.0,2.0.0.255,AS0,X\n3.0.0.0,3.0.0.255,,Y\n"
    tables = build_tables([write(tmp_path / "z.csv", rows + "4.0.0.0,4.0.0.255,AS7,Z\n")])
    assert list(tables.asns) == [7]


def test_build_report(tmp_path: Path) -> None:
    report = build(tmp_path / "x.swo", [write(tmp_path / "a.csv", ASN_CSV)])
    assert report.records == 8  # Hetzner appears twice, one record
    assert report.country_ranges == 0
    assert report.size == (tmp_path / "x.swo").stat().st_size


# -- properties: exact at the first and last address of every range --------------------------
def _ranges(version: int) -> st.SearchStrategy[list[tuple[int, int]]]:
    top = (1 << (32 if version == 4 else 128)) - 1
    cuts = st.lists(st.integers(0, top), min_size=2, max_size=40, unique=True).map(sorted)
    return cuts.map(lambda c: [(c[i], c[i + 1] - 1) for i in range(0, len(c) - 1, 2)])


def _db_for(tmp: Path, version: int, ranges: list[tuple[int, int]]) -> OriginDB:
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    rows = [f"{cls(a)},{cls(b)},{64512 + i},org{i}" for i, (a, b) in enumerate(ranges) if a <= b]
    path = write(tmp / f"p{version}.csv", "\n".join(rows) + "\n")
    out = tmp / f"p{version}.swo"
    build(out, [path])
    return OriginDB(out, lists=ASNLists(base=False), check_every=None, memo_size=4)


@settings(max_examples=60)
@given(version=st.sampled_from([4, 6]), data=st.data())
def test_boundaries(
    tmp_path_factory: pytest.TempPathFactory, version: int, data: st.DataObject
) -> None:
    ranges = data.draw(_ranges(version))
    db = _db_for(tmp_path_factory.mktemp("p"), version, ranges)
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    top = (1 << (32 if version == 4 else 128)) - 1
    for i, (a, b) in enumerate(ranges):
        if a > b:
            continue
        for inside in (a, b, (a + b) // 2):
            if not _mapped(version, inside):
                assert db.origin_of(cls(inside)).asn == 64512 + i
        for outside in (a - 1, b + 1):
            if 0 <= outside <= top and not any(x <= outside <= y for x, y in ranges):
                assert db.origin_of(cls(outside)).asn is None


def _mapped(version: int, number: int) -> bool:
    """::ffff:a.b.c.d is looked up as the IPv4 address a.b.c.d, never in the IPv6 table."""
    return version == 6 and number >> 32 == 0xFFFF


@settings(max_examples=40)
@given(v4=st.integers(0, (1 << 32) - 1), data=st.data())
def test_ipv4_mapped_ipv6_is_its_ipv4(
    tmp_path_factory: pytest.TempPathFactory, v4: int, data: st.DataObject
) -> None:
    db = _db_for(tmp_path_factory.mktemp("m"), 4, data.draw(_ranges(4)))
    mapped = ipaddress.IPv6Address((0xFFFF << 32) | v4)
    assert db.origin_of(mapped) == db.origin_of(ipaddress.IPv4Address(v4))


@settings(max_examples=40)
@given(prefix=st.integers(0, (1 << 48) - 1), host=st.integers(0, (1 << 80) - 1))
def test_every_address_of_a_slash_48_shares_its_origin(
    tmp_path_factory: pytest.TempPathFactory, prefix: int, host: int
) -> None:
    start = prefix << 80
    end = start | ((1 << 80) - 1)
    db = _db_for(tmp_path_factory.mktemp("s"), 6, [(start, end)])
    inside = ipaddress.IPv6Address(start | host)
    same64 = ipaddress.IPv6Address((int(inside) >> 64 << 64) | 0xFFFF)
    assert db.origin_of(inside).asn == db.origin_of(same64).asn == 64512


def test_range_table_in_one_slash_64_with_several_starts() -> None:
    from array import array

    base = 0x20010DB8 << 96
    starts = [base, base + 10, base + 20, base + (1 << 64)]
    table = RangeTable(
        array("I", [1, 2, 3, 0]),
        hi=array("Q", [s >> 64 for s in starts]),
        lo=array("Q", [s & ((1 << 64) - 1) for s in starts]),
    )
    assert [table.find6(base + d) for d in (0, 9, 10, 19, 20, 1 << 63)] == [1, 1, 2, 2, 3, 3]
    assert table.find6(base - 1) == 0
    assert table.find6(base + (1 << 64)) == 0

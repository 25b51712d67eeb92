"""`OriginDB`: the memo stays bounded, files refresh without a restart, bad refreshes keep data."""

from __future__ import annotations

import ipaddress
import os
import shutil
from pathlib import Path

import pytest

from shieldware.errors import ConfigurationError
from shieldware.origin import ASNLists, Category, OriginDB, load_bot_asns, parse_asn

from .helpers import compact_db, write
from .mmdb_writer import write_mmdb

ip = ipaddress.ip_address


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _replace(target: Path, source: Path) -> None:
    """Swap a file in place the way operators should: write aside, then rename."""
    tmp = target.with_name(target.name + ".new")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_memo_is_bounded_and_answers_the_same(tmp_path: Path) -> None:
    db = OriginDB(compact_db(tmp_path), memo_size=16, check_every=None)
    first = db.origin_of(ip("3.1.1.1"))
    for i in range(1000):
        db.origin_of(ipaddress.IPv4Address(0x03000000 + i))
    assert len(db._state.memo) <= 16
    assert db.origin_of(ip("3.1.1.1")) == first


@pytest.mark.parametrize("background", [True, False])
def test_a_changed_file_is_picked_up_without_restart(tmp_path: Path, background: bool) -> None:
    live = tmp_path / "live.swo"
    shutil.copyfile(compact_db(tmp_path), live)
    clock = Clock()
    db = OriginDB(live, check_every=30, clock=clock, background=background)
    assert db.origin_of(ip("5.6.7.8")).asn == 24940
    other = tmp_path / "other"
    other.mkdir()
    _replace(live, compact_db(other, asn="5.6.7.0,5.6.7.255,64999,Moved\n", country=None))
    clock.now = 29.0
    assert db.origin_of(ip("5.6.7.8")).asn == 24940  # not looked at yet
    clock.now = 30.0
    db.origin_of(None)  # the request that notices
    db.wait(10)
    assert db.origin_of(ip("5.6.7.8")).asn == 64999
    assert db.last_error is None


def test_a_bad_refresh_keeps_the_old_data(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    live = tmp_path / "live.swo"
    shutil.copyfile(compact_db(tmp_path), live)
    clock = Clock()
    db = OriginDB(live, check_every=1, clock=clock, background=False)
    write(tmp_path / "junk", "not a database")
    _replace(live, tmp_path / "junk")
    clock.now = 5
    assert db.origin_of(ip("5.6.7.8")).asn == 24940
    assert db.last_error is not None
    assert "keeping the old" in caplog.text
    assert db.reload() is False
    live.unlink()
    clock.now = 10
    assert db.origin_of(ip("5.6.7.8")).asn == 24940  # a vanished file is not a 500 either


def test_reload_of_a_mmdb(tmp_path: Path) -> None:
    path = write_mmdb(tmp_path / "a.mmdb", [("9.0.0.0/8", {"autonomous_system_number": 1})])
    db = OriginDB(path, check_every=None)
    assert db.origin_of(ip("9.1.1.1")).asn == 1
    new = write_mmdb(tmp_path / "b.mmdb", [("9.0.0.0/8", {"autonomous_system_number": 2})])
    _replace(path, new)
    assert db.reload() is True
    assert db.origin_of(ip("9.1.1.1")).asn == 2


def test_construction_errors(tmp_path: Path) -> None:
    good = compact_db(tmp_path)
    with pytest.raises(ConfigurationError, match="neither"):
        OriginDB(write(tmp_path / "x.txt", "hello"))
    with pytest.raises(ConfigurationError, match="cannot read"):
        OriginDB(good, country=tmp_path / "nope.mmdb")
    with pytest.raises(ConfigurationError, match="memo_size"):
        OriginDB(good, memo_size=0)
    with pytest.raises(ConfigurationError, match="check_every"):
        OriginDB(good, check_every=-1)


def test_asn_lists_precedence(tmp_path: Path) -> None:
    lists = ASNLists(hosting=["AS64500"], not_hosting=[16509], isp=[3215])
    assert lists.category(64500) == Category.HOSTING
    assert lists.category(16509) == Category.UNKNOWN
    assert lists.category(16509, "hosting") == Category.UNKNOWN  # the operator's word wins
    assert lists.category(3215, "hosting") == Category.ISP
    assert lists.category(24940) == Category.HOSTING  # shipped
    assert lists.category(13335) == Category.UNKNOWN  # shipped as excluded: carries people
    assert lists.category(None) == Category.UNKNOWN
    assert lists.provenance["date"]
    assert lists.provenance["source"]
    assert ASNLists(base=False).category(24940) == Category.UNKNOWN
    mine = write(tmp_path / "mine.json", '{"date": "2026-01-01", "asns": [{"asn": 7}, 8]}')
    assert ASNLists(base=mine).hosting == {7, 8}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hosting": ["ASx"]}, "hosting"),
        ({"isp": [0]}, "out of range"),
        ({"hosting": [5], "isp": [5]}, "both hosting and isp"),
        ({"base": "/nonexistent/list.json"}, "cannot read ASN list"),
    ],
)
def test_asn_lists_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ASNLists(**kwargs)  # type: ignore[arg-type]


def test_bad_list_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no 'asns' list"):
        ASNLists(base=write(tmp_path / "a.json", "{}"))
    with pytest.raises(ConfigurationError, match="entry 0"):
        ASNLists(base=write(tmp_path / "b.json", '{"asns": [{"name": "x"}]}'))
    with pytest.raises(ConfigurationError, match="expected a JSON object"):
        ASNLists(base=write(tmp_path / "c.json", "[]"))
    with pytest.raises(ConfigurationError, match="no 'bots'"):
        load_bot_asns(write(tmp_path / "d.json", "{}"))


def test_shipped_lists_are_well_formed() -> None:
    bots = load_bot_asns()
    assert bots["googlebot"] == {15169}
    assert all(asns for asns in bots.values())
    hosting = ASNLists().hosting
    assert {16509, 14061, 24940} <= hosting
    assert not hosting & {13335, 15169, 714}


@pytest.mark.parametrize(("text", "number"), [("AS1", 1), (" as42 ", 42), ("7", 7), (9, 9)])
def test_parse_asn(text: object, number: int) -> None:
    assert parse_asn(text) == number


@pytest.mark.parametrize("bad", ["", "AS", "-1", True, 1.5, None, 1 << 32])
def test_parse_asn_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="AS number"):
        parse_asn(bad)

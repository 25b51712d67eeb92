"""`OriginDB`: the memo stays bounded, files refresh without a restart, bad refreshes keep data."""

from __future__ import annotations

import ipaddress
import os
import shutil
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import shieldware.origin.db as db_module
from shieldware.clientip import Client, parse_ip
from shieldware.errors import ConfigurationError
from shieldware.origin import UNKNOWN, ASNLists, Category, OriginDB, Source, parse_asn
from shieldware.origin.value import parse_country

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


def client(text: str) -> Client:
    return Client(parse_ip(text))


def test_memo_is_bounded_and_answers_the_same(tmp_path: Path) -> None:
    db = OriginDB(compact_db(tmp_path), memo_size=16, check_every=None)
    first = db.origin_for(client("3.1.1.1"))
    for i in range(1000):
        db.origin_for(Client(ipaddress.IPv4Address(0x03000000 + i)))
    assert len(db._state.memo) <= 16
    assert db.origin_for(client("3.1.1.1")) == first


def test_a_client_rotating_inside_its_slash_64_is_one_memo_entry(tmp_path: Path) -> None:
    db = OriginDB(compact_db(tmp_path), memo_size=16, check_every=None)
    answers = {db.origin_for(client(f"2a01:4f8:0:1:{i:x}::{i:x}")) for i in range(1, 100)}
    assert [o.asn for o in answers] == [24940]
    assert list(db._state.memo) == ["2a01:4f8:0:1::/64"]
    db.origin_for(client("2a01:4f8:0:2::1"))  # the next /64 is another network
    assert len(db._state.memo) == 2


def test_origin_for_answers_what_origin_of_does(tmp_path: Path) -> None:
    db = OriginDB(compact_db(tmp_path), check_every=None)
    for text in ("3.1.1.1", "81.0.0.200", "9.9.9.9", "2001:db8::1", "::ffff:5.6.7.8"):
        assert db.origin_for(client(text)) == db.origin_of(ip(text)) == db.origin_of(text)
    assert db.origin_for(Client(None)) is UNKNOWN
    assert db.origin_of("not an address") is UNKNOWN


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
    with pytest.raises(ConfigurationError, match="check_every must be positive"):
        OriginDB(good, check_every=0)  # a stat per file per request: refused


def test_a_swap_stats_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    country = write_mmdb(tmp_path / "c.mmdb", [("3.0.0.0/8", {"country_code": "US"})])
    db = OriginDB(compact_db(tmp_path), country=country, check_every=None)
    seen: list[str] = []
    real = db_module._stamp

    def counting(path: str) -> db_module.Stamp:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(db_module, "_stamp", counting)
    assert db.reload() is True
    assert sorted(seen) == sorted(db.paths)


def test_an_older_load_never_replaces_a_newer_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A background load still reading the old file finishes first; reload()'s newer data stays."""
    live = tmp_path / "live.swo"
    shutil.copyfile(compact_db(tmp_path), live)
    db = OriginDB(live, check_every=None)
    old_opened, go_on = threading.Event(), threading.Event()
    real = db_module.open_source

    def slow_first(path: str | Path) -> Source:
        source = real(path)
        if not old_opened.is_set():  # the first load has read the old file: hold it there
            old_opened.set()
            go_on.wait(10)
        return source

    monkeypatch.setattr(db_module, "open_source", slow_first)
    older = threading.Thread(target=db.reload)
    older.start()
    assert old_opened.wait(10)
    other = tmp_path / "other"
    other.mkdir()
    _replace(live, compact_db(other, asn="5.6.7.0,5.6.7.255,64999,Moved\n", country=None))
    newer = threading.Thread(target=db.reload)
    newer.start()
    newer.join(0.2)  # without the load lock the newer load would be done by now
    go_on.set()
    older.join(10)
    newer.join(10)
    assert db.origin_of("5.6.7.8").asn == 64999


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


def test_shipped_lists_are_well_formed() -> None:
    hosting = ASNLists().hosting
    assert {16509, 14061, 24940} <= hosting
    assert not hosting & {13335, 15169, 714}


@pytest.mark.parametrize(("text", "number"), [("AS1", 1), (" as42 ", 42), ("7", 7), (9, 9)])
def test_parse_asn(text: object, number: int) -> None:
    assert parse_asn(text) == number


@pytest.mark.parametrize("bad", ["", "AS", "-1", "AS²", "١٢", True, 1.5, None, 1 << 32])
def test_parse_asn_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="AS number"):
        parse_asn(bad)


@given(st.integers(1, (1 << 32) - 1))
def test_parse_asn_reads_every_spelling(number: int) -> None:
    assert parse_asn(number) == parse_asn(str(number)) == parse_asn(f" as{number}") == number


@pytest.mark.parametrize(("text", "code"), [("fr", "FR"), (" DE ", "DE"), ("Nl", "NL")])
def test_parse_country(text: str, code: str) -> None:
    assert parse_country(text) == code


@given(st.one_of(st.text(max_size=6), st.none(), st.integers()))
def test_parse_country_answers_a_code_or_refuses(value: object) -> None:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) == 2 and text.isascii() and text.isalpha():
        assert parse_country(value) == text.upper()
    else:
        with pytest.raises(ValueError, match="two-letter country code"):
            parse_country(value)

"""``shieldware origin build`` and ``shieldware origin lookup``."""

from __future__ import annotations

from pathlib import Path

import pytest

from shieldware.cli import main

from .helpers import ASN_CSV, COUNTRY_CSV, write
from .mmdb_writer import write_mmdb


def test_build_then_lookup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asn, country = write(tmp_path / "a.csv", ASN_CSV), write(tmp_path / "c.csv", COUNTRY_CSV)
    out = tmp_path / "origin.swo"
    assert (
        main(["origin", "build", "--asn", str(asn), "--country", str(country), "-o", str(out)]) == 0
    )
    assert "8 AS records" in capsys.readouterr().out
    assert main(["origin", "lookup", "3.1.2.3", "--db", str(out), "-v"]) == 0
    text = capsys.readouterr().out
    assert "3.1.2.3: AS16509 Amazon.com (hosting, US)" in text
    assert "RouteViews" in text  # the attribution travels with the file
    assert main(["origin", "lookup", "3.1.2.3", "--db", str(out), "--not-hosting", "16509"]) == 0
    assert "(unknown, US)" in capsys.readouterr().out


def test_lookup_in_a_mmdb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = write_mmdb(tmp_path / "a.mmdb", [("9.0.0.0/8", {"asn": "AS64500", "as_name": "Nine"})])
    assert main(["origin", "lookup", "9.9.9.9", "--db", str(db), "--hosting", "AS64500"]) == 0
    assert "AS64500 Nine (hosting)" in capsys.readouterr().out


def test_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path / "bad.csv", "1.0.0.0,nope,1,X\n")
    assert main(["origin", "build", "--asn", str(bad), "-o", str(tmp_path / "x")]) == 2
    assert "bad.csv:1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert main(["origin", "lookup", "not-an-ip", "--db", str(bad)]) == 2
    assert main(["origin", "lookup", "1.1.1.1", "--db", str(bad)]) == 2
    assert "neither" in capsys.readouterr().err

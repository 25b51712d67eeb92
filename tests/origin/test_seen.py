"""Origin seen everywhere: explain, decision records, Prometheus labels, the live view."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shieldware import Action, Facts, Shield, Verdict, shadowed
from shieldware.cli import main
from shieldware.clientip import Client
from shieldware.layers import Fingerprint, OriginList
from shieldware.liveview import LiveState, LiveView
from shieldware.liveview.page import render_page
from shieldware.origin import Origin, OriginDB, lookup_in, origin_fields
from shieldware.report import LoggingReporter, PrometheusReporter, decision_record
from shieldware.verdict import Decision

from .helpers import compact_db

#: A policy module for ``shieldware explain --policy`` (set by the test that uses it).
POLICY: Shield | None = None


@pytest.fixture
def origins(tmp_path: Path) -> OriginDB:
    return OriginDB(compact_db(tmp_path), check_every=None)


def facts(ip: str, ua: str = "curl/8") -> Facts:
    return Facts("GET", "/", (("user-agent", ua),), ipaddress.ip_address(ip))


def decision(action: Action, rule: str = "r") -> Decision:
    v = Verdict(action, rule, "x")
    return Decision(v, trail=(v,), enforced=True)


# -- lookup_in and origin_fields -------------------------------------------------------------
def test_lookup_in_finds_the_layers_lookup(origins: OriginDB) -> None:
    assert lookup_in(Shield([Fingerprint(verifier=False)])) is None
    assert lookup_in(Shield([Fingerprint(verifier=False, origin=origins)])) is origins
    assert lookup_in(Shield([shadowed(OriginList(origins, deny=["hosting"]))])) is origins


def test_origin_fields_are_bounded() -> None:
    long = Origin(64500, "x" * 1000, "made-up", "FR")
    assert origin_fields(long) == {
        "asn": 64500,
        "org": "x" * 64,
        "category": "unknown",
        "country": "FR",
    }


# -- explain ---------------------------------------------------------------------------------
def test_explain_shows_the_origin(
    origins: OriginDB, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(compact_db(tmp_path))
    assert main(["explain", "--client", "3.1.1.1", "--origin-db", db, "http://x/"]) == 0
    assert "origin:  AS16509 Amazon.com (hosting, US)" in capsys.readouterr().out
    assert main(["explain", "--client", "3.1.1.1", "http://x/"]) == 0
    assert "origin:" not in capsys.readouterr().out  # no database given, none in the policy
    assert main(["explain", "--origin-db", str(tmp_path / "absent.swo"), "http://x/"]) == 2
    assert "cannot read origin database" in capsys.readouterr().err
    global POLICY
    POLICY = Shield([Fingerprint(verifier=False, origin=origins)])
    target = f"{__name__}:POLICY"
    assert main(["explain", "--policy", target, "--client", "2a01:4f8::1", "http://x/"]) == 0
    assert "origin:  AS24940 Hetzner Online GmbH (hosting, DE)" in capsys.readouterr().out


# -- reporters -------------------------------------------------------------------------------
def test_decision_record_and_log_line_carry_the_origin(
    origins: OriginDB, caplog: pytest.LogCaptureFixture
) -> None:
    record = decision_record(decision(Action.DENY), facts("3.1.1.1"), origin=Origin(16509))
    assert record["origin"] == {"asn": 16509, "org": None, "category": "unknown", "country": None}
    assert "origin" not in decision_record(decision(Action.DENY), facts("3.1.1.1"))
    reporter = LoggingReporter(origins=origins)
    with caplog.at_level(logging.INFO, "shieldware.decision"):
        reporter.report(decision(Action.DENY), facts("3.1.1.1"))
        reporter.report(decision(Action.DENY), facts("9.9.9.9"))
    first, second = caplog.records
    assert first.shieldware["origin"] == {  # type: ignore[attr-defined]
        "asn": 16509,
        "org": "Amazon.com",
        "category": "hosting",
        "country": "US",
    }
    assert "origin=AS16509/hosting" in first.getMessage()
    assert "origin=AS?/unknown" in second.getMessage()


def _samples(reporter: PrometheusReporter, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out = {}
    for family in text_string_to_metric_families(reporter.exposition().decode()):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_prometheus_origin_labels_stay_bounded(origins: OriginDB) -> None:
    reporter = PrometheusReporter(origins=origins, asn_labels=2)
    addresses = ["3.1.1.1", "5.6.7.8", "81.0.0.1", "8.8.8.8", "2a01:4f8::1", "9.9.9.9"]
    for ip in addresses:
        reporter.report(decision(Action.DENY), facts(ip))
    reporter.report(decision(Action.ALLOW, "default/allow"), facts("3.1.1.1"))
    for i in range(500):  # a flood from many networks cannot grow the label set
        reporter.report(decision(Action.DENY), facts(str(ipaddress.IPv4Address(0x51000000 + i))))
    by_category = _samples(reporter, "shieldware_origin_decisions_total")
    assert {dict(k)["category"] for k in by_category} <= {"hosting", "isp", "unknown"}
    assert by_category[(("action", "allow"), ("category", "hosting"))] == 1
    blocked = _samples(reporter, "shieldware_origin_blocked_total")
    assert {dict(k)["asn"] for k in blocked} == {"AS16509", "AS24940", "other"}
    assert sum(blocked.values()) == len(addresses) + 500
    plain = PrometheusReporter(origins=origins)  # asn_labels=0: no AS label at all
    plain.report(decision(Action.DENY), facts("3.1.1.1"))
    assert _samples(plain, "shieldware_origin_blocked_total") == {}
    assert _samples(PrometheusReporter(), "shieldware_origin_decisions_total") == {}


def test_a_failing_lookup_never_fails_a_reporter(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def origin_for(self, client: Client) -> Origin:
            raise RuntimeError("boom")

    with caplog.at_level(logging.INFO, "shieldware.decision"):
        LoggingReporter(origins=Broken()).report(decision(Action.DENY), facts("3.1.1.1"))
    assert "origin" not in caplog.records[0].shieldware  # type: ignore[attr-defined]
    PrometheusReporter(origins=Broken(), asn_labels=3).report(
        decision(Action.DENY), facts("3.1.1.1")
    )
    state = LiveState(origins=Broken())
    state.record(decision(Action.DENY), facts("3.1.1.1"))
    assert state.snapshot().top_asns == [("unknown", 1)]


# -- live view -------------------------------------------------------------------------------
def test_live_view_shows_offending_networks_by_as_and_organisation(origins: OriginDB) -> None:
    state = LiveState(origins=origins)
    for i in range(5):
        state.record(decision(Action.DENY, "origin/deny"), facts(f"3.1.1.{i}"))
    state.record(decision(Action.THROTTLE), facts("2a01:4f8::9"))
    state.record(decision(Action.DENY), facts("9.9.9.9"))
    state.record(decision(Action.ALLOW, "default/allow"), facts("5.6.7.8"))  # not offending
    snap = state.snapshot()
    assert snap.top_asns == [
        ("AS16509 Amazon.com", 5),
        ("AS24940 Hetzner Online GmbH", 1),
        ("unknown", 1),
    ]
    assert snap.top_orgs[0] == ("Amazon.com", 5)
    page = render_page(snap, base="/live")
    assert "Top offending AS" in page
    assert "AS16509 Amazon.com" in page
    assert "Top offending AS" not in render_page(LiveState().snapshot(), base="/live")


def test_live_view_memory_stays_bounded_under_many_networks() -> None:
    class EveryAddressItsOwnAS:
        def origin_for(self, client: Client) -> Origin:
            return Origin(int(client.ip or 0) & 0xFFFFFF, f"org {client.ip}", "hosting")

    state = LiveState(origins=EveryAddressItsOwnAS(), top_capacity=16)
    for i in range(3000):
        state.record(decision(Action.DENY), facts(str(ipaddress.IPv4Address(0x03000001 + i))))
    sizes = [(len(s.asns), len(s.orgs)) for s in state._slots]
    assert max(a for a, _ in sizes) == 16
    assert max(o for _, o in sizes) == 16


def test_live_view_takes_the_shields_lookup(origins: OriginDB) -> None:
    shield = Shield([OriginList(origins, deny=["hosting"])])
    live = LiveView(token="t" * 20, shield=shield)
    assert live.state.origins is origins
    shield.decide(facts("3.1.1.1"))
    assert live.state.snapshot().top_asns == [("AS16509 Amazon.com", 1)]
    assert LiveView(token="t" * 20, shield=Shield([])).state.origins is None

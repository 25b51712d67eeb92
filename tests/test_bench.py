"""The benchmark harness: its requests, its judging and one real in-process round (no timings)."""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

from benchmarks import inprocess, report
from benchmarks.requests import Requests, fresh_addresses, fresh_user_agents, wrk_script


def test_fresh_addresses_never_repeat_and_alternate_families() -> None:
    addresses = list(itertools.islice(fresh_addresses(), 2000))
    parsed = [ipaddress.ip_address(a) for a in addresses]
    assert {p.version for p in parsed} == {4, 6}
    assert all(p.is_global for p in parsed)
    v6_nets = {ipaddress.ip_network(f"{p}/64", strict=False) for p in parsed if p.version == 6}
    assert len(v6_nets) == sum(1 for p in parsed if p.version == 6)
    assert len(set(addresses)) == len(addresses)


def test_fresh_user_agents_never_repeat() -> None:
    agents = list(itertools.islice(fresh_user_agents(), 1000))
    assert len(set(agents)) == len(agents)
    assert all("Chrome/124." in a for a in agents)


def test_requests_use_the_client_the_variant_asks_for() -> None:
    seen = Requests("asgi", "seen", rejecting=False).make(3)
    assert len({s["client"][0] for s in seen}) == 3
    refused = Requests("wsgi", "fresh", rejecting=True).make(3)
    assert {e["REMOTE_ADDR"] for e in refused} == {"11.9.9.9"}
    ua = Requests("asgi", "fresh-ua", rejecting=False).make(2)
    agents = [dict(s["headers"])[b"user-agent"] for s in ua]
    assert agents[0] != agents[1]


def test_wrk_script_sends_chrome_headers() -> None:
    script = wrk_script()
    assert 'wrk.headers["sec-ch-ua"]' in script
    assert '\\"Chromium\\"' in script


def _row(median: float, added: float | None = None, ratio: float | None = None) -> dict[str, Any]:
    return {
        "median_us": median,
        "added_us": added,
        "paired_ratio": ratio,
        "samples_us": [median] * 3,
    }


def test_judge_marks_met_missed_and_not_measured() -> None:
    data = {
        "inprocess": {
            "results": {
                "bare": _row(10.0),
                "empty": _row(10.2, 0.2, 1.02),
                "pure": _row(13.0, 3.0, 1.3),
                "iplist-reject": _row(7.0, -3.0, 0.7),
            }
        },
        "importtime": {"added_ms": 90.0, "pass_ms": 10.0, "import_ms": 100.0, "rounds": 3},
    }
    rows = {r["id"]: r for r in report.judge(data)}
    assert rows["empty"]["met"] is True
    assert rows["pure"]["met"] is False
    assert "over by" in rows["pure"]["miss"]
    assert rows["refusal-iplist"]["met"] is True
    assert rows["import"]["met"] is False
    assert rows["default"]["met"] is None
    assert rows["default"]["measured"] == "not measured"
    table = report.targets_table({"targets": list(rows.values())}, {"commit": "abc1234"})
    assert "before (`abc1234`)" in table[0]
    assert any("not measured" in line for line in table)


def test_one_real_round_answers_as_each_variant_expects() -> None:
    out = inprocess.run(None, rounds=1, only={"bare", "empty", "iplist-reject", "default-fresh"})
    assert out["skipped"] == {}
    for name, row in out["results"].items():
        assert row["final_ok"], (name, row["final_status"])

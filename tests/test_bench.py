"""The benchmark harness: its requests, its judging and one real in-process round (no timings)."""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

import httpx
import pytest
from benchmarks import headline, inprocess, pow_bench, profile, report
from benchmarks.requests import Requests, fresh_addresses, fresh_user_agents, wrk_script

from tests.conftest import RedisServer
from tests.servers import run_asgi


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


# -- the standalone scripts: built with tiny sizes, each must still run (never their timings) --


def test_profile_runs_on_the_harness_variants() -> None:
    out = profile.run(("tokenbucket",), requests=20)
    assert out["tokenbucket"]["top"], out


def test_pow_bench_runs_every_operation() -> None:
    out = pow_bench.run(n=2, rounds=1, solver_seconds=0.01)
    assert "token mint (4 sub-puzzles, 17 bits)" in out["results"]
    assert {"layer issue", "layer redeem", "layer cleared"} <= set(out["results"])
    assert any("MH/s" in note for note in out["notes"])


def test_bench_fingerprint_parts_run() -> None:
    from benchmarks import bench_fingerprint

    assert all(len(v) == 1 for v in bench_fingerprint.middleware_part(1, 3).values())
    layer = bench_fingerprint.layer_part(1, 3)
    assert set(layer) == {
        "IPList.check (baseline)",
        "check, warm (head seen before)",
        "check, cold (new UA)",
    }


def test_bench_redis_cases_run(redis_server: RedisServer) -> None:
    from benchmarks import bench_redis

    with bench_redis.cases(redis_server.url) as (timed, on_redis, _):
        assert all(case(2) > 0 for case in timed.values())
        assert not on_redis.decide(bench_redis.FACTS).answered


def test_bench_pow_browser_app_challenges_a_page() -> None:
    from benchmarks import bench_pow_browser

    app, layer = bench_pow_browser.build_app()
    with run_asgi(app) as url:
        page = httpx.get(url + "/p", headers={"accept": "text/html"})
    assert page.status_code != 200
    assert "data-challenge" in page.text
    assert layer.count >= 1


# slowapi is a peer from the `bench` extra, not a test dependency: its variant is built by the
# benchmark run itself.
@pytest.mark.parametrize("variant", [v for v in headline.VARIANTS if v != "slowapi"])
def test_headline_variants_build_and_answer(variant: str) -> None:
    with run_asgi(headline.build_app(variant, "1000/minute")) as url:
        assert httpx.get(url + "/healthz").status_code == 200

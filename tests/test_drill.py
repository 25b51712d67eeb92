"""A short, bounded drill against a real uvicorn server: its report adds up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shieldware import Action, ConfigurationError, Facts, IPList, Shield, Verdict
from shieldware.demo import Reached, build_demo_app
from shieldware.drill import DrillConfig, check_target, format_report, run_drill
from shieldware.layer import Progress
from tests.conftest import SECRET

from .servers import run_asgi

LIBRARIES = ("python-requests", "curl", "Go-http", "Scrapy", "python-httpx", "okhttp")


class NoLibraries:
    """Throttles library user agents; enough to make the drill's decisions differ."""

    name = "ua"

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        ua = facts.user_agent
        if ua.startswith(
            ("python-requests", "curl", "Go-http", "Scrapy", "python-httpx", "okhttp")
        ):
            return Verdict(Action.THROTTLE, "test/library-ua", "library-ua", retry_after=1)
        if "HeadlessChrome" in ua:
            return Verdict(Action.DENY, "test/headless", "headless")
        return Verdict(Action.PASS, "test/ua", "ok")


def test_drill_round_adds_up() -> None:
    shield = Shield(
        [IPList(deny=["198.18.0.1"]), NoLibraries()],  # type: ignore[list-item]
        trusted_proxies=["127.0.0.1"],
    )
    reached = Reached()
    app = build_demo_app(shield, reached=reached)
    config = DrillConfig(url="", duration=2.0, bots=12, users=2, max_requests=3000, seed=7)
    with run_asgi(app) as base:
        config.url = base
        report = asyncio.run(run_drill(config))
    legit, bots = report["legit"], report["bots"]
    assert report["requests"] == legit["requests"] + bots["requests"] > 0
    assert report["requests"] <= 3000
    assert report["elapsed_s"] < 2.0 + 11  # duration plus at most one request timeout
    for part in (legit, bots, *bots["by_scenario"].values()):
        assert sum(part["statuses"].values()) == part["requests"]
        assert sum(part["decisions"].values()) == part["requests"]
        assert sum(part["admitted_per_route"].values()) == part["admitted"]
        assert part["reached_app"] <= part["admitted"]
    assert sum(t["requests"] for t in bots["by_scenario"].values()) == bots["requests"]
    assert sum(report["decisions"].values()) == report["requests"]
    # The app's own count agrees with the responses that carried its mark.
    assert report["reached_app"]["stats_endpoint"] == (
        report["reached_app"]["legit"] + report["reached_app"]["bots"]
    )
    assert reached.as_dict()["total"] == report["reached_app"]["stats_endpoint"]
    # Users pose as browsers and are let through; library scrapers and headless are not.
    assert legit["success_rate"] == 1.0
    assert legit["latency_ms"]["p50"] is not None
    by = bots["by_scenario"]
    assert by["scraper"]["admitted"] == 0
    assert by["scraper"]["decisions"] == {"throttle": by["scraper"]["requests"]}
    assert by["headless"]["admitted"] == 0
    assert by["flood"]["admitted"] > 0
    assert by["stuffing"]["requests"] > 0
    assert "pow" in report["skipped"] or by["pow"]["requests"] >= 0
    text = format_report(report)
    assert "legit users: success 100.00%" in text


@pytest.mark.parametrize(
    "url",
    ["http://example.com/", "http://10.0.0.1:8000/", "ftp://127.0.0.1/", "not a url"],
)
def test_drill_refuses_non_loopback_targets(url: str) -> None:
    with pytest.raises(ConfigurationError):
        check_target(url)


def test_drill_accepts_loopback_and_explicit_remote() -> None:
    check_target("http://127.0.0.1:8000/")
    check_target("http://[::1]:8000/")
    check_target("http://localhost:8000/")
    check_target("http://example.com/", allow_remote=True)


@pytest.mark.parametrize(
    "changes",
    [{"duration": 0}, {"bots": 10**6}, {"users": -1}, {"scenarios": ("flood", "dos")}],
)
def test_drill_config_is_bounded(changes: dict[str, Any]) -> None:
    config = DrillConfig(url="http://127.0.0.1:1/", **changes)
    with pytest.raises(ConfigurationError):
        config.validate()


def test_demo_marks_reached_requests_labels_actions_and_mounts_the_live_view() -> None:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    from shieldware import LiveView
    from shieldware.report import PrometheusReporter

    metrics = PrometheusReporter()
    shield = Shield(
        [IPList(deny=["198.18.0.9"])], trusted_proxies=["127.0.0.1"], reporters=[metrics]
    )
    token = "demo-live-token-0123456789"
    app = build_demo_app(shield, live=LiveView(token=token), metrics=metrics)
    with run_asgi(app) as base, httpx.Client(base_url=base) as client:
        ok = client.get("/api/hello")
        assert ok.headers["x-shieldware-reached"] == "1"
        assert ok.headers["x-shieldware-action"] == "allow"
        denied = client.get("/api/hello", headers={"x-forwarded-for": "198.18.0.9"})
        assert denied.status_code == 403
        assert "x-shieldware-reached" not in denied.headers
        assert denied.headers["x-shieldware-action"] == "deny"
        assert denied.headers["x-shieldware-rule"] == "iplist/deny"
        stats = client.get("/.shieldware/stats").json()
        assert stats["total"] == 1
        assert stats["reached"]["/api/hello"] == 1
        assert client.get("/.shieldware/live/").status_code == 401
        page = client.get("/.shieldware/live/", params={"token": token})
        assert page.status_code == 200
        assert 'href="/.shieldware/live/live.css"' in page.text
        assert client.get("/.shieldware/live/live.css").status_code == 200
        assert "iplist/deny" in client.get("/.shieldware/live/").text  # via the cookie
        assert client.get("/.shieldware/metrics").status_code == 401
        scraped = client.get("/.shieldware/metrics", headers={"authorization": f"Bearer {token}"})
        families = {f.name for f in text_string_to_metric_families(scraped.text)}
        assert "shieldware_decisions" in families


def test_drill_with_proof_of_work_solvers() -> None:
    """Runs once the proof-of-work layer and its Python client are in the build."""
    import shieldware.layers
    from shieldware.drill import pow_solver
    from shieldware.match import path
    from shieldware.report import PrometheusReporter

    pow_layer = getattr(shieldware.layers, "ProofOfWork", None)
    if pow_layer is None or not hasattr(pow_solver(), "PowAuth"):
        pytest.skip("needs shieldware.layers.ProofOfWork and shieldware.client.PowAuth")
    metrics = PrometheusReporter()
    shield = Shield(
        [pow_layer(SECRET, match=path("/login", "/api/hello"), count=1, bits=6)],
        trusted_proxies=["127.0.0.1"],
        reporters=[metrics],
    )
    config = DrillConfig(
        url="",
        duration=2.0,
        bots=4,
        users=2,
        scenarios=("stuffing", "pow"),
        pages=("/api/hello",),
        seed=3,
        users_process=False,
    )
    with run_asgi(build_demo_app(shield)) as base:
        config.url = base
        report = asyncio.run(run_drill(config))
    by = report["bots"]["by_scenario"]
    assert by["stuffing"]["requests"] > 0
    assert by["stuffing"]["admitted"] == 0  # a POST without a clearance is challenged
    assert by["pow"]["admitted"] > 0  # solvers pay and get through
    assert report["legit"]["success_rate"] == 1.0
    assert report["legit"]["challenged"] >= 1
    text = metrics.exposition().decode()
    assert 'shieldware_challenges_total{outcome="issued"' in text


def test_drill_sign_ups_people_with_the_helper_and_solver_bots() -> None:
    """Issue 13's families: people pre-solve like the form helper; sign-up bots without a solver
    make no account; solver bots make at most one account per solve, within the budget."""
    from shieldware.layers import ProofOfWork
    from shieldware.presets import default_layers

    layers = default_layers(SECRET, account_rate="5/hour")
    pow_layer = layers[3]
    assert isinstance(pow_layer, ProofOfWork)
    pow_layer.count, pow_layer.bits, pow_layer.max_bits = 2, 6, 10
    shield = Shield(layers, trusted_proxies=["127.0.0.1"])
    config = DrillConfig(
        url="",
        duration=3.0,
        bots=6,
        users=2,
        scenarios=("signup", "solver"),
        pages=("/",),
        seed=5,
        user_typing=(0.2, 0.4),
        users_process=False,
    )
    with run_asgi(build_demo_app(shield)) as base:
        config.url = base
        report = asyncio.run(run_drill(config))
    people, bots = report["signups"]["people"], report["signups"]["bots"]
    assert people["signups"] == 2
    assert people["accounts"] == 2  # each person's post carried the helper's proof
    assert people["bits"] == [6]  # the base difficulty
    assert people["status_405"] == 0
    assert report["legit"]["success_rate"] == 1.0
    assert bots["signup"]["posts"] > 0
    assert report["signups"]["non_solver_accounts"] == 0
    solver = bots["solver"]
    assert solver["accounts"] <= solver["solves"]
    assert solver["accounts"] <= 5  # the /24's budget
    text = format_report(report)
    assert "sign-ups: people 2 accounts of 2" in text

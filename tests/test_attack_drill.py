"""The flood drill against a real server: the automatic trigger turns the switch on during the
flood and off after it, once, and the people get through throughout."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route

from shieldware import ConfigurationError, Shield
from shieldware.asgi import ShieldMiddleware
from shieldware.attack import Trigger
from shieldware.attack.drill import FloodDrill, format_flood_report, run_flood_drill
from shieldware.liveview import LiveView
from tests.conftest import SECRET

from .servers import run_asgi

TOKEN = "flood-drill-token-0123456789"


def app() -> Any:
    shield = Shield.default(
        SECRET,
        trusted_proxies=["127.0.0.1"],
        auto_attack=Trigger(calm_period=3, min_rate=20),
    )
    live = LiveView(token=TOKEN, shield=shield)

    async def page(request: Any) -> Any:
        return HTMLResponse("<p>hello</p>")

    async def api(request: Any) -> Any:
        return JSONResponse({"hello": "world"})

    site = Starlette(routes=[Route("/", page), Route("/api/hello", api), Route("/login", page)])
    assert shield.switch is not None
    assert shield.switch.monitor is not None
    return Starlette(
        routes=[
            Mount("/.shieldware/live", live),
            Mount("/", ShieldMiddleware(shield.switch.monitor.timed(site), shield=shield)),
        ]
    )


def test_a_flood_mid_run_is_mitigated_once_and_people_get_through() -> None:
    with run_asgi(app()) as base:
        config = FloodDrill(
            url=base, token=TOKEN, duration=16, flood_at=3, flood_for=5, bots=20, users=3, seed=1
        )
        report = asyncio.run(run_flood_drill(config))
    text = format_flood_report(report)
    switch = report["switch"]
    assert switch["on_at_s"] is not None, text
    assert switch["off_at_s"] is not None, text
    assert switch["on_cycles"] == 1, text
    assert report["people_overall"]["success"] == 1.0, text
    assert report["bots"]["after_mitigation"]["requests"] > 0, text
    assert report["bots"]["after_mitigation"]["admitted"] == 0, text
    assert "time_to_mitigation_s" in switch
    assert "on 1 on/off" not in text  # the text names the cycles properly
    assert "(1 on/off cycle(s))" in text


def test_the_drill_refuses_a_target_whose_switch_it_cannot_read() -> None:
    with run_asgi(app()) as base:
        config = FloodDrill(
            url=base, token="wrong-token-0123456789", duration=5, flood_at=1, flood_for=1
        )
        with pytest.raises(ConfigurationError, match="cannot read the switch"):
            asyncio.run(run_flood_drill(config))
    with pytest.raises(ConfigurationError, match="flood must end"):
        FloodDrill(url="http://127.0.0.1:1", token="t", duration=5, flood_at=3).validate()

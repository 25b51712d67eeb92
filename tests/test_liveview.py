"""The live view: bounded state, token guard, SSE updates, and a real browser rendering it."""

from __future__ import annotations

import ipaddress
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldware import Action, ConfigurationError, Facts, IPList, Shield, Verdict
from shieldware.asgi import ShieldMiddleware
from shieldware.liveview import LiveState, LiveView, TopK
from shieldware.liveview.page import render_page
from shieldware.verdict import Decision

from .servers import run_asgi

TOKEN = "live-token-for-tests-0123456789"


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def facts(ip: str = "198.51.100.4", ua: str = "curl/8") -> Facts:
    return Facts(
        method="GET",
        path="/",
        client_ip=ipaddress.ip_address(ip),
        headers=(("user-agent", ua),),
    )


def decision(action: Action, rule: str = "r", reason: str = "x", **kw: Any) -> Decision:
    v = Verdict(action, rule, reason, **kw)
    return Decision(v, trail=(v,), enforced=True)


def test_state_counts_per_second_and_window() -> None:
    clock = Clock()
    state = LiveState(window=60, clock=clock)
    for _ in range(3):
        state.record(decision(Action.ALLOW, "default/allow"), facts())
    state.record(decision(Action.DENY, "iplist/deny", "ip-deny-listed"), facts("203.0.113.9"))
    clock.t += 1
    state.record(decision(Action.THROTTLE, "ratelimit/ip", "rate"), facts("203.0.113.9"))
    snap = state.snapshot()
    assert snap.requests == 5
    assert snap.per_action == {"allow": 3, "throttle": 1, "challenge": 0, "deny": 1}
    assert snap.series[-2] == (3, 0, 0, 1)
    assert snap.series[-1] == (0, 1, 0, 0)
    assert snap.top_networks == [("203.0.113.9", 2)]
    assert snap.top_fingerprints == [("ua: curl/8", 2)]
    assert {r for r, _ in snap.top_rules} == {"iplist/deny", "ratelimit/ip"}
    clock.t += 120  # everything ages out of the window
    snap = state.snapshot()
    assert snap.requests == 0
    assert snap.top_networks == []


def test_state_challenges_and_storage() -> None:
    clock = Clock()
    state = LiveState(window=60, clock=clock)
    state.record(decision(Action.CHALLENGE, "pow/login", "pow-required"), facts())
    state.record(
        decision(Action.ALLOW, "pow", "pow-solved", detail={"solve_seconds": 0.8}), facts()
    )
    state.record(decision(Action.DENY, "pow", "pow-expired"), facts())
    state.record(decision(Action.PASS, "rl", "store-failed-open", degraded=True), facts())
    snap = state.snapshot()
    assert (snap.issued, snap.solved, snap.failed) == (1, 1, 1)
    assert snap.solve_times == [0.8]
    assert snap.store_errors == 1
    assert snap.degraded == 1
    html = render_page(snap, base="/live")
    assert "Solve time p50" in html
    assert "800 ms" in html


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(max_size=200), min_size=1, max_size=300))
def test_topk_is_bounded_and_keeps_heavy_hitters(keys: list[str]) -> None:
    top = TopK(capacity=8)
    for key in keys:
        top.add(key)
    for _ in range(len(keys) + 1):
        top.add("heavy")
    assert len(top) <= 8
    assert max(top.counts, key=top.counts.__getitem__) == "heavy"
    assert all(len(k) <= 80 for k in top.counts)


def test_state_memory_is_bounded_under_a_flood_of_clients() -> None:
    clock = Clock()
    state = LiveState(window=30, slot_seconds=10, top_capacity=16, clock=clock)
    for i in range(5000):
        clock.t += 0.01
        ip = str(ipaddress.ip_address(0x0A000000 + i))
        state.record(decision(Action.DENY, f"rule-{i}", f"reason-{i}"), facts(ip, ua=f"bot/{i}"))
    for slot in state._slots:
        assert len(slot.networks) <= 16
        assert len(slot.rules) <= 16
        assert len(slot.fingerprints) <= 16
    assert len(state._seconds) == 30


def test_page_escapes_traffic_labels() -> None:
    state = LiveState(window=30)
    evil = "<script>alert(1)</script>"
    state.record(decision(Action.DENY, evil, evil), facts(ua=evil))
    html = render_page(state.snapshot(), base="/x")
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html, html[html.find('id="tops"') :][:400]
    assert '<script src="/x/live.js" defer></script>' in html


def test_liveview_needs_a_token_or_explicit_trust() -> None:
    with pytest.raises(ConfigurationError):
        LiveView(token=None)
    with pytest.raises(ConfigurationError):
        LiveView(token="short")
    with pytest.raises(ConfigurationError):
        LiveView(token="x" * 20 + ";bad")
    LiveView(token=None, trust_app_auth=True)


def _mounted(live: LiveView) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("home")

    return Starlette(routes=[Route("/", home), Mount("/.shieldware/live", live)])


def test_liveview_guard_cookie_assets_and_sse_over_a_real_server() -> None:
    live = LiveView(token=TOKEN, interval=0.05, stream_seconds=0.5)
    url = "/.shieldware/live"
    with run_asgi(_mounted(live)) as base:
        assert httpx.get(base + url + "/").status_code == 401
        assert httpx.get(base + url + "/?token=wrong-token-value-xx").status_code == 401
        assert httpx.get(base + url + "/events").status_code == 401
        assert httpx.post(base + url + "/").status_code == 405
        js = httpx.get(base + url + "/live.js")
        assert js.status_code == 200
        assert "EventSource" in js.text
        assert js.headers["content-type"].startswith("text/javascript")
        r = httpx.get(base + url + "/", params={"token": TOKEN})
        assert r.status_code == 200
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert "<script>" not in r.text  # no inline script
        assert "HttpOnly" in r.headers["set-cookie"]
        assert f"Path={url}" in r.headers["set-cookie"]
        with httpx.Client(base_url=base, cookies=r.cookies) as client:
            assert client.get(url + "/").status_code == 200
        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert httpx.get(base + url + "/", headers=bearer).status_code == 200
        events = []
        with httpx.stream("GET", base + url + "/events", headers=bearer, timeout=5) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
        assert len(events) >= 3  # a bounded stream: it ended by itself
        assert {"summary", "traffic", "tops", "challenges", "storage"} <= set(events[0])


def test_close_ends_open_streams_and_refuses_new_ones() -> None:
    live = LiveView(token=TOKEN, interval=0.05, stream_seconds=600)
    bearer = {"authorization": f"Bearer {TOKEN}"}
    with run_asgi(_mounted(live)) as base:
        url = base + "/.shieldware/live/events"
        events = 0
        # A 600 s stream; the read timeout turns a stream that does not end into a failure.
        with httpx.stream("GET", url, headers=bearer, timeout=10) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events += 1
                    if events == 2:
                        live.close()
        assert events >= 2
        assert httpx.get(url, headers=bearer).status_code == 503


def test_attach_adds_the_reporter_once() -> None:
    shield = Shield([IPList()])
    live = LiveView(token=TOKEN, shield=shield)
    live.attach(shield)
    assert shield.reporters.count(live.reporter) == 1
    shield.decide(facts())
    assert live.state.snapshot().requests == 1


CHROMIUM = "/usr/bin/chromium"
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(os.environ.get("SHIELDWARE_ARTIFACTS", tempfile.gettempdir())) / "shieldware-artifacts"


@pytest.mark.browser
def test_liveview_renders_and_updates_in_chromium() -> None:
    pw = pytest.importorskip("playwright.sync_api")
    shield = Shield([IPList(deny=["203.0.113.0/24"])], trusted_proxies=["127.0.0.1"])
    live = LiveView(token=TOKEN, shield=shield, interval=0.2)

    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    from starlette.applications import Starlette
    from starlette.routing import Mount

    app = Starlette(
        routes=[
            Mount("/.shieldware/live", live),
            Mount("/", ShieldMiddleware(ok, shield=shield)),
        ]
    )
    stop = threading.Event()
    with run_asgi(app) as base:

        def traffic() -> None:
            with httpx.Client(base_url=base) as client:
                i = 0
                while not stop.is_set():
                    i += 1
                    ip = f"203.0.113.{i % 7}" if i % 3 == 0 else f"192.0.2.{i % 50}"
                    client.get("/page", headers={"x-forwarded-for": ip, "user-agent": "bot/1"})
                    time.sleep(0.01)

        feeder = threading.Thread(target=traffic, daemon=True)
        feeder.start()
        try:
            with pw.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
                page = browser.new_page(viewport={"width": 390, "height": 1400})
                errors: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(f"{base}/.shieldware/live/?token={TOKEN}")
                deadline = time.monotonic() + 15
                while int(page.get_attribute("body", "data-updates") or 0) < 3:
                    assert time.monotonic() < deadline, "no live updates arrived"
                    page.wait_for_timeout(100)
                assert page.text_content("#conn") == "live"
                summary = page.text_content("#summary") or ""
                assert "Requests/s" in summary
                assert page.locator("#traffic polygon.area-allow").count() == 1
                assert page.locator("#traffic polygon.area-deny").count() == 1
                tops = page.text_content("#tops") or ""
                assert "203.0.113." in tops
                assert "iplist/deny" in tops
                # Nothing overflows a phone screen horizontally.
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390
                SHOTS.mkdir(exist_ok=True)
                page.screenshot(path=str(SHOTS / "liveview-phone.png"), full_page=True)
                page.wait_for_timeout(500)
                assert errors == []  # no CSP violation or script error
                browser.close()
        finally:
            stop.set()
            feeder.join(5)


@settings(max_examples=150, deadline=None)
@given(
    path=st.sampled_from(["/", "", "/live.js", "/nope", "/events/x", "/%00"]),
    query=st.binary(max_size=60),
    auth=st.binary(max_size=60),
    cookie=st.binary(max_size=60),
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT"]),
)
def test_liveview_answers_hostile_requests_cleanly(
    path: str, query: bytes, auth: bytes, cookie: bytes, method: str
) -> None:
    import asyncio

    live = LiveView(token=TOKEN)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": query,
        "headers": [(b"authorization", auth), (b"cookie", cookie)],
    }
    asyncio.run(live(scope, receive, send))
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] in (200, 401, 404, 405)


def test_liveview_as_wsgi_behind_a_dispatcher() -> None:
    from wsgiref.validate import validator

    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from .servers import run_wsgi

    def site(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"site"]

    shield = Shield([IPList(deny=["203.0.113.0/24"])])
    live = LiveView(token=TOKEN, shield=shield, interval=0.05, stream_seconds=0.4)
    shield.decide(facts("203.0.113.3"))
    app = DispatcherMiddleware(site, {"/.shieldware/live": validator(live.wsgi())})
    with run_wsgi(app) as base, httpx.Client(base_url=base) as client:
        assert client.get("/").text == "site"
        assert client.get("/.shieldware/live/").status_code == 401
        assert client.post("/.shieldware/live/", params={"token": TOKEN}).status_code == 405
        page = client.get("/.shieldware/live/", params={"token": TOKEN})
        assert page.status_code == 200
        assert "Path=/.shieldware/live" in page.headers["set-cookie"]
        assert "iplist/deny" in page.text
        assert client.get("/.shieldware/live/live.js").status_code == 200
        events = []
        with client.stream("GET", "/.shieldware/live/events", timeout=5) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
        assert len(events) >= 2
        assert "203.0.113.3" in events[-1]["tops"]
    assert live._streams == 0

"""The live view's under-attack button and the ``shieldware attack`` command, on real servers."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Mount

from shieldware import Shield
from shieldware.asgi import ShieldMiddleware
from shieldware.attack import AttackProfile
from shieldware.cli import main
from shieldware.layers import ProofOfWork, TokenBucket
from shieldware.liveview import LiveView
from shieldware.match import path
from shieldware.stores import MemoryStore
from tests.conftest import SECRET
from tests.test_liveview import CHROME_ARGS, CHROMIUM, SHOTS

from .servers import run_asgi, run_wsgi

TOKEN = "live-token-for-attack-tests-0123"
LIVE = "/.shieldware/live"
NAV = {"accept": "text/html", "sec-fetch-mode": "navigate", "user-agent": "Mozilla/5.0 Chrome"}


def build() -> tuple[Shield, LiveView, Any]:
    shield = Shield(
        [TokenBucket("1000/second"), ProofOfWork(SECRET, match=path("/login"))],
        store=MemoryStore(),
        attack=AttackProfile(),
    )
    live = LiveView(token=TOKEN, shield=shield, interval=0.2)

    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = Starlette(routes=[Mount(LIVE, live), Mount("/", ShieldMiddleware(ok, shield=shield))])
    return shield, live, app


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_button_needs_the_token_the_origin_the_csrf_token_and_a_confirmation() -> None:
    shield, _, app = build()
    assert shield.switch is not None
    with run_asgi(app) as base, httpx.Client(base_url=base) as client:
        assert client.get("/", headers=NAV).status_code == 200
        # No token at all.
        assert client.post(f"{LIVE}/attack", data={"on": "1"}).status_code == 401
        page = client.get(f"{LIVE}/?token={TOKEN}")
        assert page.status_code == 200
        assert "Under attack" in page.text
        assert "Turn on…" in page.text
        csrf = csrf_of(page.text)
        form = {"on": "1", "reason": "flood", "until": "30m", "csrf": csrf}
        origin = {"origin": base}
        # A cross-site form (another origin, or none said) is refused.
        assert client.post(f"{LIVE}/attack", data=form).status_code == 403
        evil = {"origin": "https://evil.example"}
        assert client.post(f"{LIVE}/attack", data=form, headers=evil).status_code == 403
        # A wrong CSRF token is refused.
        bad = {**form, "csrf": "0" * 64}
        assert client.post(f"{LIVE}/attack", data=bad, headers=origin).status_code == 403
        # The right one asks for a confirmation and flips nothing yet.
        asked = client.post(f"{LIVE}/attack", data=form, headers=origin)
        assert asked.status_code == 200
        assert "Turn the under-attack switch ON?" in asked.text
        assert not shield.switch.active
        assert client.get("/", headers=NAV).status_code == 200
        # Confirmed: flipped, back to the page.
        confirmed = client.post(f"{LIVE}/attack", data={**form, "confirm": "1"}, headers=origin)
        assert confirmed.status_code == 303
        assert confirmed.headers["location"] == f"{LIVE}/"
        assert shield.switch.active
        assert shield.switch.state.by == "liveview"
        assert shield.switch.state.reason == "flood"
        assert client.get("/", headers=NAV).status_code == 403  # the interstitial
        # GET/PUT: state as JSON (token needed), other methods refused.
        state = client.get(f"{LIVE}/attack").json()
        assert state["active"] is True
        assert state["state"]["by"] == "liveview"
        assert client.put(f"{LIVE}/attack").status_code == 405
        # The page shows it.
        assert "UNDER ATTACK" in client.get(f"{LIVE}/").text


def test_a_bearer_client_flips_without_csrf_and_bad_input_is_a_clean_400() -> None:
    shield, _, app = build()
    assert shield.switch is not None
    auth = {"authorization": f"Bearer {TOKEN}"}
    with run_asgi(app) as base, httpx.Client(base_url=base) as client:
        r = client.post(
            f"{LIVE}/attack", json={"on": True, "reason": "x", "by": "ops"}, headers=auth
        )
        assert r.status_code == 200
        assert r.json()["active"] is True
        assert shield.switch.state.by == "ops"
        for body in ({"on": "maybe"}, {"on": True, "until": "yesterday"}, [1, 2]):
            assert client.post(f"{LIVE}/attack", json=body, headers=auth).status_code == 400
        raw = client.post(
            f"{LIVE}/attack",
            content=b"\xff\xfe",
            headers={**auth, "content-type": "application/json"},
        )
        assert raw.status_code == 400
        huge = client.post(f"{LIVE}/attack", content=b"on=1&r=" + b"x" * 9000, headers=auth)
        assert huge.status_code == 413
        assert shield.switch.active  # none of it flipped anything
        # The query token is not enough to flip (it would sit in logs and histories).
        assert client.post(f"{LIVE}/attack?token={TOKEN}", data={"on": "0"}).status_code == 401


def test_the_cli_flips_through_the_live_view(capsys: pytest.CaptureFixture[str]) -> None:
    shield, _, app = build()
    assert shield.switch is not None
    with run_asgi(app) as base:
        live = base + LIVE
        assert (
            main(
                [
                    "attack",
                    "on",
                    "--live",
                    live,
                    "--token",
                    TOKEN,
                    "--reason",
                    "drill",
                    "--until",
                    "10m",
                    "--by",
                    "cli:test",
                ]
            )
            == 0
        )
        assert "UNDER ATTACK" in capsys.readouterr().out
        assert shield.switch.active
        assert shield.switch.state.by == "cli:test"
        assert shield.switch.state.until is not None
        assert main(["attack", "status", "--live", live, "--token", TOKEN]) == 0
        assert "ON since" in capsys.readouterr().out
        assert main(["attack", "off", "--live", live, "--token", TOKEN]) == 0
        assert not shield.switch.active
        assert main(["attack", "status", "--live", live, "--token", "wrong" * 4]) == 1
        assert "401" in capsys.readouterr().err


@pytest.mark.redis
def test_the_cli_flips_a_redis_store_and_a_shield_on_it_follows(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shield = Shield(
        [ProofOfWork(SECRET, match=path("/login"))], store=redis_url, attack=AttackProfile()
    )
    assert shield.switch is not None
    assert main(["attack", "on", "--store", redis_url, "--reason", "flood", "--by", "cli:t"]) == 0
    assert "every worker" in capsys.readouterr().out
    shield.switch.due = 0  # its next request reads the store
    assert shield.attack_status().by == "cli:t"
    assert shield.switch.active
    assert main(["attack", "status", "--store", redis_url, "--json"]) == 0
    assert '"active": true' in capsys.readouterr().out
    assert main(["attack", "on", "--store", redis_url, "--until", "soon"]) == 1
    shield.close()


def test_the_button_under_wsgi() -> None:
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    shield, live, _ = build()
    assert shield.switch is not None

    def site(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"ok"]

    app = DispatcherMiddleware(site, {LIVE: live.wsgi()})
    with run_wsgi(app) as base, httpx.Client(base_url=base) as client:
        page = client.get(f"{LIVE}/?token={TOKEN}")
        form = {"on": "1", "csrf": csrf_of(page.text), "confirm": "1"}
        assert client.post(f"{LIVE}/attack", data=form).status_code == 403  # no origin
        r = client.post(f"{LIVE}/attack", data=form, headers={"origin": base})
        assert r.status_code == 303
        assert shield.switch.active


@settings(max_examples=100, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    body=st.binary(max_size=200),
    ctype=st.sampled_from(["", "application/json", "application/x-www-form-urlencoded", "x/y"]),
    auth=st.sampled_from([b"", b"Bearer " + TOKEN.encode(), b"Bearer nope"]),
    cookie=st.binary(max_size=80),
    origin=st.binary(max_size=40),
)
def test_hostile_requests_to_the_button_get_clean_answers(
    method: str, body: bytes, ctype: str, auth: bytes, cookie: bytes, origin: bytes
) -> None:
    shield, live, _ = build()
    sent: list[dict[str, Any]] = []
    chunks = [body]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": chunks.pop() if chunks else b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": "/attack",
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [
            (b"authorization", auth),
            (b"cookie", cookie),
            (b"origin", origin),
            (b"content-type", ctype.encode()),
            (b"host", b"testserver"),
        ],
    }
    asyncio.run(live(scope, receive, send))
    assert sent[0]["status"] in (200, 303, 400, 401, 403, 405, 413)
    if not auth.endswith(TOKEN.encode()):
        assert sent[0]["status"] == 401
        assert not shield.switch.active  # type: ignore[union-attr]


@pytest.mark.browser
def test_the_button_in_chromium_with_its_confirmation() -> None:
    pw = pytest.importorskip("playwright.sync_api")
    shield, _, app = build()
    assert shield.switch is not None
    with run_asgi(app) as base, pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}{LIVE}/?token={TOKEN}")
        assert "normal" in (page.text_content("#attack") or "")
        page.fill("input[name=reason]", "flood from the drill")
        page.click("button[name=on][value='1']")
        page.wait_for_selector("text=Turn the under-attack switch ON?")
        assert not shield.switch.active  # not before the confirmation
        page.click("text=Yes, turn it ON")
        page.wait_for_url(f"{base}{LIVE}/")
        assert shield.switch.active
        assert shield.switch.state.reason == "flood from the drill"
        deadline = time.monotonic() + 10
        while "UNDER ATTACK" not in (page.text_content("#attack") or ""):
            assert time.monotonic() < deadline
            page.wait_for_timeout(100)
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "liveview-attack.png"), full_page=True)
        assert errors == []  # no CSP violation (the form posts to 'self')
        browser.close()


def test_attach_without_a_switch_has_no_button() -> None:
    from shieldware.layers import IPList

    live = LiveView(token=TOKEN, shield=Shield([IPList()]))
    assert live.panel is None
    done = threading.Event()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)
        done.set()

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/attack",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {TOKEN}".encode())],
    }
    asyncio.run(live(scope, receive, send))
    assert sent[0]["status"] == 404


def explain_policy() -> Shield:
    """A policy for ``shieldware explain --policy tests.test_attack_liveview:explain_policy``."""
    from shieldware.attack import Trigger

    return Shield.default(SECRET, auto_attack=Trigger(calm_period=45))


def test_explain_shows_the_switch_and_the_thresholds_and_can_explain_the_attack_chain(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shieldware.drill import BROWSER_HEADERS

    headers = [part for k, v in BROWSER_HEADERS.items() for part in ("-H", f"{k}: {v}")]
    args = [
        "explain",
        "--policy",
        "tests.test_attack_liveview:explain_policy",
        *headers,
        "http://localhost/",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "switch:  off (never flipped)" in out
    assert "automatic trigger: on when 3 of the last 5 s" in out
    assert "off after 45 s calm" in out
    assert "=> the app is called" in out
    assert main([*args[:1], "--under-attack", *args[1:]]) == 0
    out = capsys.readouterr().out
    assert "explained UNDER ATTACK" in out
    assert "challenge by pow/challenge" in out
    assert (
        main(
            [
                "explain",
                "--under-attack",
                "--policy",
                "tests.test_attack_liveview:no_switch",
                "http://localhost/",
            ]
        )
        == 2
    )


def no_switch() -> Shield:
    return Shield.default(SECRET, attack=None)

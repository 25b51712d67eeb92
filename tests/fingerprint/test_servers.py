"""The layer behind real servers: uvicorn (order known) and wsgiref (order lost), and Chromium."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shieldware import Action, Shield, ShieldMiddleware, ShieldWSGIMiddleware, Threshold
from shieldware.layers import Fingerprint
from tests.servers import run_asgi, run_wsgi

from .helpers import CHROME_UA, FIREFOX_UA

DEBUG = "x-shieldware-fingerprint"


def shield() -> Shield:
    fp = Fingerprint(verifier=False, debug_header=DEBUG)
    # No challenger in this test chain: refuse from the challenge band so blocking is visible.
    return Shield([fp], thresholds=[Threshold(6, Action.DENY, "fingerprint")])


async def home(request: Request) -> Response:
    decision = request.state.shieldware
    return JSONResponse({"score": decision.score, "band": decision.trail[0].detail.get("band")})


def asgi_app() -> Any:
    return ShieldMiddleware(Starlette(routes=[Route("/", home)]), shield=shield())


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    decision = environ["shieldware.decision"]
    body = json.dumps(
        {
            "band": decision.trail[0].detail.get("band"),
            "skipped": decision.trail[0].detail.get("skipped"),
        }
    ).encode()
    start_response("200 OK", [("content-type", "application/json")])
    return [body]


def test_asgi_scores_explains_and_blocks_impostors() -> None:
    # uvicorn believes X-Forwarded-Proto from loopback, so the request counts as HTTPS.
    with run_asgi(asgi_app(), proxy_headers=True, forwarded_allow_ips="127.0.0.1") as url:
        https = {"x-forwarded-proto": "https"}
        honest = httpx.get(url + "/", headers=https)
        assert honest.status_code == 200
        assert honest.json()["band"] == "automation"
        assert honest.headers[DEBUG].startswith("score=3; band=automation")
        impostor = httpx.get(url + "/", headers={**https, "user-agent": CHROME_UA})
        assert impostor.status_code == 403
        assert "chrome-no-client-hints" in impostor.headers[DEBUG]
        # uvicorn keeps wire order: httpx sends User-Agent last, which no Firefox does.
        firefox = {
            **https,
            "user-agent": FIREFOX_UA,
            "accept-language": "en-US,en;q=0.5",
            "sec-fetch-mode": "navigate",
            "sec-fetch-site": "none",
            "sec-fetch-dest": "document",
        }
        reply = httpx.get(url + "/", headers=firefox)
        assert "header-order-mismatch" in reply.headers[DEBUG]


def test_wsgi_skips_order_signals_and_says_so() -> None:
    app = ShieldWSGIMiddleware(wsgi_app, shield=shield())
    with run_wsgi(app) as url:
        reply = httpx.get(url + "/", headers={"user-agent": CHROME_UA})
        assert reply.status_code == 200
        skipped = dict(reply.json()["skipped"])
        assert "header-order-mismatch" in skipped["order"]
        assert "no-fetch-metadata" in skipped["https"]


@pytest.mark.browser
def test_chromium_is_never_denied() -> None:
    from playwright.sync_api import sync_playwright

    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    with run_asgi(asgi_app()) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        try:
            headless = browser.new_page()
            reply = headless.goto(url + "/")
            # Headless Chromium is automation: it reaches the challenge band (this chain's DENY).
            assert reply is not None
            assert "ua-automation" in reply.headers[DEBUG]
            ua = headless.evaluate("navigator.userAgent").replace("HeadlessChrome", "Chrome")
            headed_like = browser.new_page(user_agent=ua)
            reply = headed_like.goto(url + "/")
            assert reply is not None
            assert reply.status == 200
            assert json.loads(headed_like.inner_text("body"))["band"] == "human"
            for path in ("/", "/missing"):  # navigations and subresource-like fetches
                status = headed_like.evaluate(f"fetch('{path}').then(r => r.status)")
                assert status in (200, 404)
        finally:
            browser.close()

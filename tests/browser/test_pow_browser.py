"""End to end in headless Chromium: the interstitial's workers solve, the browser lands back.

Driven by Playwright's Python package against Debian's chromium (``executable_path``); skipped, with
the command that installs it, when /usr/bin/chromium is absent (tests/conftest.py; CI fails).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from shieldware import Shield, ShieldMiddleware
from shieldware.layers import ProofOfWork
from tests.conftest import SECRET
from tests.servers import run_asgi

pytestmark = [
    pytest.mark.browser,
]


async def protected(request: Request) -> Response:
    return HTMLResponse(f'<!doctype html><p id="ok">protected {request.url.query}</p>')


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The default-difficulty ProofOfWork in front of a tiny app, on a real uvicorn server."""
    app = Starlette(routes=[Route("/protected", protected)])
    shield = Shield([ProofOfWork(SECRET)])  # default count and bits
    with run_asgi(ShieldMiddleware(app, shield=shield)) as url:
        yield url


def test_browser_solves_and_lands_on_the_original_url(server: str, browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        first = page.goto(server + "/protected?x=1")
        assert first is not None
        assert first.status == 403  # the interstitial
        page.wait_for_selector("#ok", timeout=120_000)
        assert page.url == server + "/protected?x=1"
        assert page.text_content("#ok") == "protected x=1"
        cookies = {c["name"]: c for c in context.cookies()}
        assert "sw_pow" in cookies
        assert cookies["sw_pow"]["httpOnly"] is True
        assert cookies["sw_pow"]["sameSite"] == "Lax"
        assert "sw_pow_probe" not in cookies  # the cookie probe cleans up after itself
        # the next request passes straight through, the cookie does the work
        again = page.goto(server + "/protected?y=2")
        assert again is not None
        assert again.status == 200
        assert page.text_content("#ok") == "protected y=2"
        stats = json.loads(page.evaluate("sessionStorage.getItem('sw-pow-stats')"))
        rate = stats["hashes"] / max(stats["ms"], 1) / 1000
        print(
            f"\nbrowser solve: {stats['ms']:.0f} ms, {stats['workers']} worker(s), {rate:.2f} MH/s"
        )
        assert not errors
    finally:
        context.close()


def test_without_javascript_the_page_explains_itself(server: str, browser: object) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(server + "/protected")
        assert "needs JavaScript" in (page.text_content("body") or "")
        assert page.get_attribute("#sw-status", "aria-live") == "polite"
    finally:
        context.close()


def test_api_clients_are_not_sent_html(server: str, browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    try:
        response = context.request.get(
            server + "/protected", headers={"accept": "application/json"}
        )
        assert response.status == 401
        assert response.headers["www-authenticate"].startswith("Shieldware-PoW ")
    finally:
        context.close()


def test_disabled_cookies_are_reported_instead_of_looping(server: str, browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    try:
        context.add_init_script(
            "Object.defineProperty(Navigator.prototype, 'cookieEnabled', {get: () => false});"
        )
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server + "/protected")
        page.wait_for_selector("#sw-status.sw-alert", timeout=30_000)
        assert "does not keep cookies" in (page.text_content("#sw-status") or "")
        assert page.get_attribute("#sw-status", "role") == "alert"
        assert not any("/verify" in url or "pow-worker" in url for url in requests)
    finally:
        context.close()


def test_default_preset_in_chromium(browser: object) -> None:
    """`Shield.default`: a person's Chromium opens the login page for free; its post (an account
    action) pays a proof of its own. Without the form helper, the interstitial solves it and sends
    the form again as typed (no 405, nothing to retype); then it browses freely."""

    async def login(request: Request) -> Response:
        if request.method == "POST":
            body = (await request.body()).decode()
            return HTMLResponse(f'<!doctype html><p id="ok">posted {body}</p>')
        return HTMLResponse(
            '<!doctype html><form method="post" action="/login">'
            '<input name="user" value="ada"><button type="submit">Log in</button></form>'
        )

    app = Starlette(
        routes=[Route("/protected", protected), Route("/login", login, methods=["GET", "POST"])]
    )
    shield = Shield.default(SECRET)
    with run_asgi(ShieldMiddleware(app, shield=shield)) as url:
        context = browser.new_context()  # type: ignore[attr-defined]
        try:
            page = context.new_page()
            statuses: list[int] = []
            page.on(
                "response",
                lambda r: (
                    statuses.append(r.status) if r.request.resource_type == "document" else None
                ),
            )
            first = page.goto(url + "/login")
            assert first is not None
            assert first.status == 200
            page.click("button[type=submit]")
            page.wait_for_selector("#ok", timeout=120_000)
            posted = page.text_content("#ok") or ""
            assert posted.startswith("posted user=ada&sw-pow-answer=c1.")  # as typed, proved
            assert statuses[:2] == [200, 403]  # the form, then the interstitial carrying it
            assert 405 not in statuses
            again = page.goto(url + "/protected")
            assert again is not None
            assert again.status == 200
        finally:
            context.close()

"""Automation tells in real Chromium: what the interstitial reports, and what the verify step does.

Four configurations of Debian's chromium, driven by Playwright (``executable_path``):

- plain headless Chromium under Playwright: ``navigator.webdriver`` and ``HeadlessChrome``;
- the same with a Windows Chrome User-Agent set through the context (what scrapers do);
- that, plus ``--disable-blink-features=AutomationControlled`` (``navigator.webdriver`` false): the
  User-Agent still disagrees with ``navigator.platform``, ``userAgentData`` and the worker;
- the "person": there is no display in CI, so headed Chrome cannot run; instead new-headless
  Chromium launched so that every value the page collects equals what headed Chromium reports
  (its own User-Agent without ``Headless``, no automation flag). It must pass with no tell fired.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from shieldware import Shield, ShieldMiddleware
from shieldware.layers import ProofOfWork
from shieldware.verdict import Decision, Verdict
from tests.conftest import SECRET, person_chromium_args
from tests.servers import run_asgi

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
pytestmark = [pytest.mark.browser]


class Recorder:
    """Keeps the verify verdicts the chain reports."""

    def __init__(self) -> None:
        self.verdicts: list[Verdict] = []

    def report(self, decision: Decision, facts: Any) -> None:
        self.verdicts.extend(v for v in decision.trail if v.rule == "pow/verify")


async def protected(request: Request) -> Response:
    return HTMLResponse('<!doctype html><p id="ok">protected</p>')


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    app = Starlette(routes=[Route("/protected", protected)])
    shield = Shield([ProofOfWork(SECRET, count=4, bits=12)], reporters=[recorder])
    with run_asgi(ShieldMiddleware(app, shield=shield)) as url:
        yield url, recorder


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def visit(
    playwright: Any, site: tuple[str, Recorder], args: list[str], **context: Any
) -> tuple[str, Verdict]:
    """Open /protected and let the interstitial solve: (the page's final text, verify verdict)."""
    url, recorder = site
    before = len(recorder.verdicts)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS + args, headless=True)
    try:
        page = browser.new_context(**context).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        with page.expect_response(lambda r: "/.shieldware/pow/verify" in r.url, timeout=120_000):
            first = page.goto(url + "/protected")
            assert first is not None
            assert first.status == 403  # the interstitial
        page.wait_for_load_state()
        body = page.text_content("body") or ""
        assert not errors
    finally:
        browser.close()
    assert len(recorder.verdicts) == before + 1
    return body, recorder.verdicts[-1]


def fired(verdict: Verdict) -> set[str]:
    return {name for name, *_ in verdict.detail.get("tells", {}).get("fired", ())}


def test_plain_headless_chromium_is_refused(playwright: Any, site: tuple[str, Recorder]) -> None:
    body, verdict = visit(playwright, site, ["--headless"])
    assert verdict.reason == "automation-tells"
    assert verdict.status == 403
    assert {"webdriver", "headless-ua"} <= fired(verdict)
    assert "automation-tells" in body
    assert "protected" not in body


def test_an_overridden_user_agent_is_seen_through(
    playwright: Any, site: tuple[str, Recorder]
) -> None:
    body, verdict = visit(playwright, site, ["--headless"], user_agent=WINDOWS_CHROME)
    assert verdict.reason == "automation-tells"
    assert "automation-tells" in body
    tells = fired(verdict)
    assert "webdriver" in tells
    assert "headless-ua" not in tells  # the override hid it ...
    assert {"platform-mismatch", "brand-mismatch"} <= tells  # ... and gave itself away


def test_without_the_webdriver_flag_the_inconsistencies_alone_refuse(
    playwright: Any, site: tuple[str, Recorder]
) -> None:
    args = ["--headless", "--disable-blink-features=AutomationControlled"]
    body, verdict = visit(playwright, site, args, user_agent=WINDOWS_CHROME)
    assert verdict.reason == "automation-tells"
    assert "automation-tells" in body
    tells = fired(verdict)
    assert "webdriver" not in tells
    assert {"platform-mismatch", "brand-mismatch", "worker-mismatch"} <= tells
    assert verdict.detail["tells"]["score"] >= 10


def test_a_person_browser_passes_with_no_tell(playwright: Any, site: tuple[str, Recorder]) -> None:
    args = ["--headless", *person_chromium_args()]
    assert any(a.startswith("--user-agent=") for a in args)
    body, verdict = visit(playwright, site, args)
    assert verdict.reason == "solved"
    assert fired(verdict) == set()
    assert "tells" not in verdict.detail  # nothing fired, nothing shadowed
    assert verdict.weight == 0.0
    assert body.strip() == "protected"


def test_the_default_preset_refuses_plain_headless_chromium(playwright: Any) -> None:
    recorder = Recorder()
    app = Starlette(routes=[Route("/login", protected)])
    shield = Shield.default(SECRET, reporters=[recorder])
    with run_asgi(ShieldMiddleware(app, shield=shield)) as url:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*ARGS, "--headless"], headless=True
        )
        try:
            page = browser.new_page()
            with page.expect_response(lambda r: "/pow/verify" in r.url, timeout=120_000) as v:
                page.goto(url + "/login")
            assert v.value.status == 403
        finally:
            browser.close()
    assert [v.reason for v in recorder.verdicts] == ["automation-tells"]

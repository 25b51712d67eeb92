"""The chat example as a person sees it, in headless Chromium: the sign-up page asks for proof of
work, the interstitial solves it, the form appears, and the account is created."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sw_servers import EXAMPLES_DIR, python, serve

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def chat() -> Iterator[str]:
    argv = python(
        "-m",
        "uvicorn",
        "--app-dir",
        str(EXAMPLES_DIR / "fastapi_chat"),
        "--port",
        "{port}",
        "chat_app:app",
    )
    env = {"CHAT_POW_BITS": "8", "CHAT_POW_COUNT": "4", "SHIELDWARE_SECRET": "s" * 40}
    with serve(argv, env=env) as base:
        yield base


def test_sign_up_in_a_browser(chat: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            first = page.goto(chat + "/register")
            assert first is not None
            assert first.status == 403  # the proof-of-work interstitial, not the form
            page.wait_for_selector("form[action='/register']", timeout=60_000)
            assert page.url == chat + "/register"
            page.fill("input[name=email]", f"{uuid.uuid4().hex}@example.org")
            page.fill("input[name=password]", "correct horse battery")
            with page.expect_response(lambda r: r.url.endswith("/register")) as posted:
                page.click("button[type=submit]")
            assert posted.value.status == 201
            assert '"user_id"' in page.content()
        finally:
            browser.close()

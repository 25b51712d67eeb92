"""The examples as a person sees them, in headless Chromium: the sign-up page asks for proof of
work, the interstitial solves it, the form appears, and the account is created (FastAPI under
uvicorn, Django under gunicorn)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from sw_servers import EXAMPLES_DIR, SRC, python, serve
from tests.conftest import SECRET, person_chromium_args

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
    *person_chromium_args(),  # a person's browser: automation tells would refuse plain headless
]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
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
    env = {"CHAT_POW_BITS": "8", "CHAT_POW_COUNT": "4", "SHIELDWARE_SECRET": SECRET}
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


@pytest.fixture(scope="module")
def signup_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = EXAMPLES_DIR / "django_signup"
    env = {
        "SIGNUP_DB": str(tmp_path_factory.mktemp("browser-signup") / "db.sqlite3"),
        "SIGNUP_POW_BITS": "8",
        "SIGNUP_POW_COUNT": "4",
        "SHIELDWARE_SECRET": SECRET,
        "DJANGO_SETTINGS_MODULE": "signup_site.settings",
        "PYTHONPATH": os.pathsep.join([str(SRC), str(site)]),
    }
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=site,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    argv = python("-m", "gunicorn", "-w", "1", "-b", "127.0.0.1:{port}", "signup_site.wsgi")
    with serve(argv, env=env, cwd=site, pythonpath=[site]) as base:
        yield base


def test_django_sign_up_in_a_browser(signup_site: str) -> None:
    """The interstitial's cookie crosses Django's HttpResponse (Set-Cookie via response.cookies)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            first = page.goto(signup_site + "/signup/")
            assert first is not None
            assert first.status == 403
            page.wait_for_selector("form[action='/signup/']", timeout=60_000)
            name = f"u{uuid.uuid4().hex[:12]}"
            page.fill("input[name=username]", name)
            page.fill("input[name=password1]", "a long enough passphrase")
            page.fill("input[name=password2]", "a long enough passphrase")
            page.click("button[type=submit]")
            page.wait_for_url(signup_site + "/account/", timeout=30_000)
            assert f'"user": "{name}"' in page.content()
        finally:
            browser.close()

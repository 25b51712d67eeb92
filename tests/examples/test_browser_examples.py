"""The examples' sign-ups as a person meets them, in headless Chromium (issue 13).

Each example's sign-up form carries the proof-of-work form helper: the person types, submits, and
the account is created with no interstitial (the helper solved while they typed). Without the
helper (its script blocked: an old page, a content blocker), the post meets the interstitial,
which sends the form again once solved: the account is still created with what was typed, and
no page ever answers 405. FastAPI under uvicorn, Django under gunicorn, Flask under gunicorn.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sw_servers import EXAMPLES_DIR, SRC, python, serve
from tests.conftest import SECRET

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
]
#: Small puzzles: the browser's solving is not what these tests measure.
POW = {"count": "4", "bits": "10"}


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
    env = {
        "CHAT_POW_BITS": POW["bits"],
        "CHAT_POW_COUNT": POW["count"],
        "SHIELDWARE_SECRET": SECRET,
    }
    with serve(argv, env=env) as base:
        yield base


@pytest.fixture(scope="module")
def signup_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = EXAMPLES_DIR / "django_signup"
    env = {
        "SIGNUP_DB": str(tmp_path_factory.mktemp("browser-signup") / "db.sqlite3"),
        "SIGNUP_POW_BITS": POW["bits"],
        "SIGNUP_POW_COUNT": POW["count"],
        "SIGNUP_RATE": "100/hour",
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


@contextmanager
def flask_site(mode: str) -> Iterator[str]:
    site = EXAMPLES_DIR / "flask_app"
    env = {
        "FLASK_DEMO_POW_BITS": POW["bits"],
        "FLASK_DEMO_POW_COUNT": POW["count"],
        "FLASK_DEMO_MODE": mode,
        "SHIELDWARE_SECRET": SECRET,
    }
    argv = python("-m", "gunicorn", "-w", "1", "-b", "127.0.0.1:{port}", "flask_demo:app")
    with serve(argv, env=env, cwd=site, pythonpath=[site]) as base:
        yield base


@pytest.fixture(scope="module")
def flask_extension() -> Iterator[str]:
    """The Flask extension decides (it reads the form through Flask)."""
    with flask_site("extension") as base:
        yield base


@pytest.fixture(scope="module")
def flask_wsgi() -> Iterator[str]:
    """`ShieldWSGIMiddleware` around ``app.wsgi_app`` decides (it buffers the body itself)."""
    with flask_site("wsgi") as base:
        yield base


class Visit:
    """One person's visit: every document response's status, and the page's script errors."""

    def __init__(self, browser: Any, *, block_helper: bool = False) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.documents: list[tuple[str, int]] = []
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on(
            "response",
            lambda r: (
                self.documents.append((r.url, r.status))
                if r.request.resource_type == "document"
                else None
            ),
        )
        if block_helper:
            self.page.route("**/pow-form.js", lambda route: route.abort())

    def statuses(self) -> list[int]:
        return [status for _, status in self.documents]

    def close(self) -> None:
        self.context.close()


def sign_up(
    browser: Any,
    base: str,
    form_path: str,
    fill: Callable[[Any, str], None],
    created: Callable[[Any, str], bool],
    *,
    block_helper: bool = False,
) -> list[int]:
    """Open the form, type, submit; returns the statuses of every document on the way."""
    visit = Visit(browser, block_helper=block_helper)
    try:
        page = visit.page
        first = page.goto(base + form_path)
        assert first is not None
        assert first.status == 200, "the form page itself asks for no proof"
        name = f"u{uuid.uuid4().hex[:12]}"
        fill(page, name)  # the helper solves meanwhile (or is blocked)
        page.click("button[type=submit]")
        assert _eventually(page, lambda: created(page, name)), (page.url, page.content()[:2000])
        assert 405 not in visit.statuses()
        assert not visit.errors
        return visit.statuses()
    finally:
        visit.close()


def _eventually(page: Any, check: Callable[[], bool], tries: int = 600) -> bool:
    """Poll `check` while the page solves and navigates (up to about two minutes)."""
    from playwright.sync_api import Error

    for _ in range(tries):
        try:
            if page.evaluate("document.readyState") == "complete" and check():
                return True
        except Error:  # the page navigated while we looked
            pass
        page.wait_for_timeout(200)
    return False


def fill_chat(page: Any, name: str) -> None:
    page.fill("input[name=email]", f"{name}@example.org")
    page.fill("input[name=password]", "correct horse battery")


def chat_created(page: Any, name: str) -> bool:
    return '"user_id"' in page.content()


def fill_django(page: Any, name: str) -> None:
    page.fill("input[name=username]", name)
    page.fill("input[name=password1]", "a long enough passphrase")
    page.fill("input[name=password2]", "a long enough passphrase")


def django_created(page: Any, name: str) -> bool:
    return page.url.endswith("/account/") and f'"user": "{name}"' in page.content()


def fill_flask(page: Any, name: str) -> None:
    page.fill("input[name=user]", name)
    page.fill("input[name=email]", f"{name}@example.org")


def flask_created(page: Any, name: str) -> bool:
    return page.text_content("#created") == f"Welcome, {name}!"


SITES = {
    "fastapi": ("chat", "/register", fill_chat, chat_created),
    "django": ("signup_site", "/signup/", fill_django, django_created),
    "flask-extension": ("flask_extension", "/signup", fill_flask, flask_created),
    "flask-wsgi": ("flask_wsgi", "/signup", fill_flask, flask_created),
}


@pytest.mark.parametrize("site", sorted(SITES))
def test_the_form_helper_signs_up_with_no_interstitial(
    site: str, browser: Any, request: pytest.FixtureRequest
) -> None:
    fixture, form_path, fill, created = SITES[site]
    base = request.getfixturevalue(fixture)
    statuses = sign_up(browser, base, form_path, fill, created)
    assert 403 not in statuses, statuses  # the helper's proof went with the form


@pytest.mark.parametrize("site", sorted(SITES))
def test_without_the_helper_the_interstitial_sends_the_form_again(
    site: str, browser: Any, request: pytest.FixtureRequest
) -> None:
    """No lost forms: the post is challenged (403 interstitial), then sent again as typed."""
    fixture, form_path, fill, created = SITES[site]
    base = request.getfixturevalue(fixture)
    statuses = sign_up(browser, base, form_path, fill, created, block_helper=True)
    assert 403 in statuses, statuses  # it did meet the interstitial


@pytest.mark.parametrize("site", ["django", "flask-extension"])
def test_a_bot_that_fills_every_field_meets_the_honeypot(
    site: str, browser: Any, request: pytest.FixtureRequest
) -> None:
    """The form helper's honeypot: a person never fills it (the tests above sign up through it);
    a form-filling bot that fills every input, hidden ones included, is refused."""
    fixture, form_path, fill, _created = SITES[site]
    base = request.getfixturevalue(fixture)
    visit = Visit(browser)
    try:
        page = visit.page
        page.goto(base + form_path)
        assert page.locator("input[name=sw-website]").count() == 1
        assert not page.locator("input[name=sw-website]").is_visible()  # people never see it
        name = f"u{uuid.uuid4().hex[:12]}"
        fill(page, name)
        page.evaluate(
            "document.querySelectorAll('input[name=sw-website]')"
            ".forEach(function (i) { i.value = 'http://spam.example'; })"
        )
        page.wait_for_timeout(300)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert _eventually(page, lambda: 403 in visit.statuses()), visit.statuses()
        assert name not in page.content()  # no account page greets the bot
    finally:
        visit.close()

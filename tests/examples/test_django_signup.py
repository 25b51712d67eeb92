"""Smoke tests of examples/django_signup, through its own manage.py, gunicorn and uvicorn.

Run in subprocesses: the project has its own settings, which cannot share a process with the
Django test project of tests/contrib.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

pytest.importorskip("django")

import httpx
from sw_servers import EXAMPLES_DIR, SRC, python, serve
from tests.conftest import SECRET

from shieldware.client import PowAuth

SITE = EXAMPLES_DIR / "django_signup"
FAST = {
    "SIGNUP_POW_BITS": "4",
    "SIGNUP_POW_COUNT": "2",
    "LOGIN_RATE": "3/hour",
    "SIGNUP_RATE": "2/hour",
    "DJANGO_DEBUG": "0",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(SRC), str(SITE)])}
    full["DJANGO_SETTINGS_MODULE"] = "signup_site.settings"  # not the contrib tests' project
    for name in ("WEB_CONCURRENCY", "UVICORN_WORKERS", "GUNICORN_CMD_ARGS"):
        if name not in env:
            full.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=SITE,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = {**FAST, "SIGNUP_DB": str(tmp_path_factory.mktemp("signup") / "db.sqlite3")}
    result = manage("migrate", "-v0", env=env)
    assert result.returncode == 0, result.stderr
    return env


def test_system_checks(database: dict[str, str]) -> None:
    clean = manage("check", env=database)
    assert clean.returncode == 0, clean.stderr
    assert "no issues" in clean.stdout
    crowded = manage("check", env={**database, "WEB_CONCURRENCY": "4"})
    assert "shieldware.W001" in crowded.stderr + crowded.stdout
    proxied = manage(
        "check", "--deploy", env={**database, "SHIELDWARE_SECRET": SECRET, "DJANGO_DEBUG": "0"}
    )
    assert "shieldware.E" not in proxied.stderr + proxied.stdout


def _csrf(client: httpx.Client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.text[:300]
    return client.cookies["csrftoken"]


def _journey(base: str) -> None:
    name = f"user{uuid.uuid4().hex[:10]}"
    password = "a long enough passphrase"
    with httpx.Client(base_url=base, timeout=20, auth=PowAuth()) as client:
        assert client.get("/").status_code == 200
        # sign-up: proof of work (answered by PowAuth), CSRF, then the per-view limit
        token = _csrf(client, "/signup/")
        form = {"username": name, "password1": password, "password2": password}
        created = client.post("/signup/", data={**form, "csrfmiddlewaretoken": token})
        assert created.status_code == 302, created.text[:500]
        assert created.headers["location"] == "/account/"
        account = client.get("/account/")
        assert account.status_code == 200
        body = account.json()
        assert body["user"] == name
        assert "account: pass within-limit" in body["explain"]  # keyed on request.user.pk
    with httpx.Client(base_url=base, timeout=20, auth=PowAuth()) as client:
        # login: one proof of work per attempt (PowAuth), then 3 attempts per hour per address
        token = _csrf(client, "/login/")
        wrong = {"username": name, "password": "nope", "csrfmiddlewaretoken": token}
        codes = [client.post("/login/", data=wrong).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = client.post("/login/", data=wrong, headers={"accept": "application/json"})
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["rule"] == "ratelimit/login"


def _server_env(database: dict[str, str]) -> dict[str, str]:
    return {**database, "DJANGO_SETTINGS_MODULE": "signup_site.settings"}


@pytest.mark.slow
def test_gunicorn(database: dict[str, str]) -> None:
    argv = python("-m", "gunicorn", "-w", "1", "-b", "127.0.0.1:{port}", "signup_site.wsgi")
    with serve(argv, env=_server_env(database), cwd=SITE, pythonpath=[SITE]) as base:
        _journey(base)


@pytest.mark.slow
def test_uvicorn(database: dict[str, str]) -> None:
    argv = python(
        "-m", "uvicorn", "--port", "{port}", "--no-access-log", "signup_site.asgi:application"
    )
    with serve(argv, env=_server_env(database), cwd=SITE, pythonpath=[SITE]) as base:
        _journey(base)


def test_denied_network_in_process_free(database: dict[str, str]) -> None:
    """The deny list, via the test client inside the project's own process."""
    code = (
        "import django; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/', REMOTE_ADDR='203.0.113.8');"
        "print(r.status_code)"
    )
    env = {**database, "DJANGO_SETTINGS_MODULE": "signup_site.settings"}
    full = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(SRC), str(SITE)])}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=SITE,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "403", result.stderr


def test_readme_run_command_is_documented() -> None:
    readme = (SITE / "README.md").read_text()
    assert "python manage.py migrate && python manage.py runserver" in readme

"""Smoke tests of examples/flask_app: both ways of protecting it, test client and a real server."""

from __future__ import annotations

import pytest

pytest.importorskip("flask")

import httpx
from sw_servers import EXAMPLES_DIR, python, serve, serve_wsgi_threaded

MODES = ["extension", "wsgi"]


@pytest.mark.parametrize("mode", MODES)
def test_home_and_denied(mode: str) -> None:
    import flask_demo

    client = flask_demo.create_app(mode).test_client()
    home = client.get("/")
    assert home.status_code == 200
    assert home.json is not None
    assert home.json["action"] == "allow"
    assert "ratelimit" in home.headers
    denied = client.get("/", environ_base={"REMOTE_ADDR": "203.0.113.4"})
    assert denied.status_code == 403


@pytest.mark.parametrize("mode", MODES)
def test_login_limit(mode: str) -> None:
    import flask_demo

    client = flask_demo.create_app(mode).test_client()
    codes = [client.post("/login", data={"user": "ann"}).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    refused = client.post("/login", data={"user": "ann"}, headers={"accept": "application/json"})
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1


def test_per_user_limit_keys_on_the_session_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_DEMO_USER_RATE", "2/minute")
    import flask_demo

    app = flask_demo.create_app("extension")
    ann, bob = app.test_client(), app.test_client()
    assert ann.get("/api/items/1").status_code == 401  # no principal: the per-user rule skips
    assert ann.post("/login", data={"user": "ann"}).status_code == 200
    assert bob.post("/login", data={"user": "bob"}).status_code == 200
    assert [ann.get(f"/api/items/{i}").status_code for i in range(3)] == [200, 200, 429]
    assert bob.get("/api/items/1").status_code == 200


@pytest.mark.slow
def test_threaded_server() -> None:
    import flask_demo

    app = flask_demo.create_app("extension")
    with serve_wsgi_threaded(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/").json()["action"] == "allow"
        codes = [client.post("/login", data={"user": "x"}).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]


@pytest.mark.slow
def test_run_command() -> None:
    argv = python(
        "-m",
        "flask",
        "--app",
        str(EXAMPLES_DIR / "flask_app" / "flask_demo.py"),
        "run",
        "--port",
        "{port}",
    )
    env = {"FLASK_DEMO_MODE": "wsgi"}
    with serve(argv, env=env) as base, httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/").status_code == 200
        codes = [client.post("/login", data={"user": "x"}).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]

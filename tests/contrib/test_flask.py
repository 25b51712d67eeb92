"""Flask: the extension (init_app, principal callable, flask.g), the per-view decorator, and the
same app behind a threaded werkzeug server."""

from __future__ import annotations

import uuid

import pytest

pytest.importorskip("flask")

import httpx
from flask import Flask
from sw_flask_app import app, shield
from sw_layers import Quota, finished
from sw_servers import serve_wsgi_threaded

from shieldware import Decision, Shield
from shieldware.contrib.flask import EXTENSION_KEY, Shieldware, protect


def uid() -> str:
    return uuid.uuid4().hex


def test_init_app_registers_the_extension() -> None:
    assert isinstance(app.extensions[EXTENSION_KEY], Shieldware)


def test_allowed_with_headers_principal_and_route() -> None:
    response = app.test_client().get("/items/4", headers={"x-client": uid(), "x-user": "u1"})
    assert response.status_code == 200
    assert response.json == {"ok": True, "action": "allow", "rule": "default/allow"}
    assert response.headers["x-quota-remaining"] == "2"
    assert response.headers["x-seen-principal"] == "u1"
    assert response.headers["x-seen-route"] == "/items/<int:pk>"


def test_throttled() -> None:
    client, who = app.test_client(), uid()
    codes = [client.get("/hello", headers={"x-client": who}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get("/hello", headers={"x-client": who, "accept": "application/json"})
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert response.json is not None
    assert response.json["reason"] == "over-quota"


def test_challenged_and_denied() -> None:
    client = app.test_client()
    challenged = client.get("/hello", headers={"x-bot": "1", "accept": "text/html"})
    assert challenged.status_code == 403
    assert challenged.headers["content-type"].startswith("text/html")
    denied = client.get("/hello", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert denied.status_code == 403
    assert b"ip-deny-listed" in denied.data


def test_unrouted_paths_are_decided_too() -> None:
    client, who = app.test_client(), uid()
    codes = [client.get("/nope", headers={"x-client": who}).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]


def test_per_view_decorator_on_the_extension() -> None:
    client, who = app.test_client(), uid()
    first = client.post("/login", headers={"x-client": who})
    assert first.status_code == 200
    assert first.headers["x-quota-remaining"] == "0"
    second = client.post("/login", headers={"x-client": who})
    assert second.status_code == 429
    assert b"login/over" in second.data


def test_module_level_decorator_borrows_the_extension_store() -> None:
    client, who = app.test_client(), uid()
    assert client.get("/signup", headers={"x-client": who}).status_code == 200
    assert client.get("/signup", headers={"x-client": who}).status_code == 429
    signup = app.view_functions["signup"]
    assert signup.shieldware.shield.store is shield.store


def test_decorator_without_extension() -> None:
    bare = Flask("bare")

    @bare.get("/x")
    @protect(Quota(1, name="bare"))
    def x() -> str:
        return "x"

    client = bare.test_client()
    assert client.get("/x").status_code == 200
    assert client.get("/x").status_code == 429


def test_extension_without_app_wide_shield() -> None:
    bare = Flask("bare2")
    ext = Shieldware(bare)

    @bare.get("/x")
    @ext.protect(Shield([Quota(1, name="own")]))
    def x() -> str:
        return "x"

    client = bare.test_client()
    assert client.get("/x").status_code == 200
    assert client.get("/x").status_code == 429


def test_after_ops_run_when_the_response_closes() -> None:
    marker = uid()
    response = app.test_client().get("/stream", headers={"x-finish-marker": marker}, buffered=False)
    assert not finished(shield, marker, timeout=0)
    assert response.data == b"one\ntwo\n"
    response.close()
    assert finished(shield, marker)


@pytest.mark.slow
def test_threaded_werkzeug_server() -> None:
    with serve_wsgi_threaded(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        who = uid()
        ok = client.get("/items/1", headers={"x-client": who, "x-user": "9"})
        assert ok.status_code == 200
        assert ok.headers["x-seen-route"] == "/items/<int:pk>"
        assert ok.headers["x-seen-principal"] == "9"
        codes = [client.get("/hello", headers={"x-client": who}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert client.get("/hello", headers={"x-bot": "1"}).status_code == 403
        login = uid()
        assert client.post("/login", headers={"x-client": login}).status_code == 200
        assert client.post("/login", headers={"x-client": login}).status_code == 429
        marker = uid()
        assert client.get("/stream", headers={"x-finish-marker": marker}).text == "one\ntwo\n"
        assert finished(shield, marker)


def test_protect_in_shadow_mode_never_blocks() -> None:
    bare = Flask("shadow")
    decisions: list[object] = []

    @bare.get("/w")
    @protect(Quota(1, name="watch"), mode="shadow")
    def w() -> str:
        from shieldware.contrib.flask import decision_of

        decisions.append(decision_of())
        return "w"

    client = bare.test_client()
    assert [client.get("/w").status_code for _ in range(3)] == [200, 200, 200]
    last = decisions[-1]
    assert isinstance(last, Decision)
    assert last.action.value == "throttle"
    assert not last.enforced

"""Django: the middleware (sync and async stacks), the per-view decorator, the system checks, and
the same project under gunicorn (WSGI) and uvicorn (ASGI)."""

from __future__ import annotations

import os
import uuid

import pytest

pytest.importorskip("django")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sw_django.settings")

import django

django.setup()

import httpx  # noqa: E402
from django.core.checks import run_checks  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from sw_django.security import shield  # noqa: E402
from sw_layers import finished  # noqa: E402
from sw_servers import CONTRIB_TESTS, python, serve  # noqa: E402

from shieldware.contrib import django as sw_django  # noqa: E402


def uid() -> str:
    return uuid.uuid4().hex


# -- the middleware under the sync stack (WSGI) ------------------------------------------------
def test_sync_allowed_with_headers_and_decision() -> None:
    response = Client().get("/hello", headers={"x-client": uid()})
    assert response.status_code == 200
    assert response.json() == {"ok": True, "action": "allow", "rule": "default/allow"}
    assert response["x-quota-remaining"] == "2"
    assert response["x-seen-route"] == "/hello"
    assert response["x-seen-loop"] == "0"  # the sync driver, no event loop involved


def test_sync_throttled_after_quota() -> None:
    client, who = Client(), uid()
    codes = [client.get("/hello", headers={"x-client": who}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get("/hello", headers={"x-client": who, "accept": "application/json"})
    assert response.status_code == 429
    assert response["content-type"] == "application/problem+json"
    assert int(response["retry-after"]) >= 1
    assert response.json()["rule"] == "quota/over"


def test_sync_challenged() -> None:
    response = Client().get("/hello", headers={"x-bot": "1", "accept": "text/html"})
    assert response.status_code == 403
    assert response["content-type"].startswith("text/html")
    assert b"challenge/bot" in response.content


def test_sync_denied_by_ip_list() -> None:
    response = Client().get("/hello", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert response["content-type"].startswith("text/plain")
    assert b"ip-deny-listed" in response.content


def test_sync_principal_and_route_template() -> None:
    response = Client().get("/items/7", headers={"x-user": "42"})
    assert response.status_code == 200
    assert response["x-seen-principal"] == "42"
    assert response["x-seen-route"] == "/items/<int:pk>"


def test_sync_principal_keys_the_quota() -> None:
    client = Client()
    user = uid()
    codes = [client.get("/hello", headers={"x-user": user}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # another user from the same address still passes
    assert client.get("/hello", headers={"x-user": uid()}).status_code == 200


def test_unknown_path_is_decided_too() -> None:
    who = uid()
    for _ in range(3):
        Client().get("/nope", headers={"x-client": who})
    assert Client().get("/nope", headers={"x-client": who}).status_code == 429


def test_after_ops_run_when_a_streaming_response_closes() -> None:
    marker = uid()
    response = Client().get("/stream", headers={"x-finish-marker": marker})
    assert not finished(shield, marker, timeout=0)
    assert b"".join(response.streaming_content) == b"one\ntwo\n"
    response.close()
    assert finished(shield, marker)


# -- the middleware under the async stack (ASGI), no thread hop ----------------------------------
def test_middleware_is_sync_and_async_capable() -> None:
    assert sw_django.ShieldwareMiddleware.sync_capable
    assert sw_django.ShieldwareMiddleware.async_capable

    async def get_response(request: object) -> object:  # pragma: no cover - never called
        return None

    from asgiref.sync import iscoroutinefunction

    middleware = sw_django.ShieldwareMiddleware(get_response)
    assert iscoroutinefunction(middleware)
    assert not iscoroutinefunction(sw_django.ShieldwareMiddleware(lambda r: r))


@pytest.mark.anyio
async def test_async_allowed_throttled_challenged_denied() -> None:
    client, who = AsyncClient(), uid()
    response = await client.get("/ahello", headers={"x-client": who, "x-user": "7"})
    assert response.status_code == 200
    assert response["x-seen-principal"] == "7"
    assert response["x-seen-route"] == "/ahello"
    assert response["x-seen-loop"] == "1"  # decided on the event loop: no thread hop
    for _ in range(2):
        await client.get("/ahello", headers={"x-client": who})
    throttled = await client.get("/ahello", headers={"x-client": who})
    assert throttled.status_code == 429
    assert "retry-after" in throttled
    challenged = await client.get("/ahello", headers={"x-bot": "1"})
    assert challenged.status_code == 403


@pytest.mark.anyio
async def test_asgi_application_denied_by_ip_list() -> None:
    from django.core.asgi import get_asgi_application

    transport = httpx.ASGITransport(app=get_asgi_application(), client=("203.0.113.5", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        denied = await client.get("/ahello")
        assert denied.status_code == 403
        assert b"ip-deny-listed" in denied.content
        allowed = await client.get("/ahello", headers={"x-client": uid()})
    transport = httpx.ASGITransport(app=get_asgi_application(), client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        allowed = await client.get("/ahello", headers={"x-client": uid()})
        assert allowed.status_code == 200
        assert allowed.headers["x-seen-route"] == "/ahello"


# -- the per-view decorator ----------------------------------------------------------------------
def test_protect_decorator_sync_view() -> None:
    client, who = Client(), uid()
    first = client.get("/login", headers={"x-client": who})
    assert first.status_code == 200
    assert first.json()["rule"] == "default/allow"
    assert first["x-quota-remaining"] == "0"
    second = client.get("/login", headers={"x-client": who})
    assert second.status_code == 429
    assert b"login/over" in second.content
    # the app-wide quota of the same client is not spent by the view's limit
    assert client.get("/hello", headers={"x-client": who}).status_code == 200


@pytest.mark.anyio
async def test_protect_decorator_async_view() -> None:
    client, who = AsyncClient(), uid()
    assert (await client.get("/alogin", headers={"x-client": who})).status_code == 200
    second = await client.get("/alogin", headers={"x-client": who})
    assert second.status_code == 429
    assert b"alogin/over" in second.content


def test_protect_borrows_the_app_shield_store() -> None:
    from sw_django import views

    protection = views.login.shieldware
    assert protection.shield.store is shield.store


def test_protect_rejects_bad_layers_at_import() -> None:
    from shieldware import ConfigurationError

    with pytest.raises(ConfigurationError):
        sw_django.protect([object()])  # type: ignore[list-item]


# -- settings and system checks ------------------------------------------------------------------
def ids() -> set[str]:
    return {message.id for message in run_checks(tags=["shieldware"])}


def test_checks_pass_on_good_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WEB_CONCURRENCY", "UVICORN_WORKERS", "GUNICORN_CMD_ARGS", "GUNICORN_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    assert ids() == set()


def test_e001_missing_or_invalid_setting() -> None:
    with override_settings(SHIELDWARE_SHIELD=None):
        assert ids() == {"shieldware.E001"}
    with override_settings(SHIELDWARE_SHIELD="sw_django.security.nothing_here"):
        assert ids() == {"shieldware.E001"}
    with override_settings(SHIELDWARE_SHIELD="sw_django.settings.SECRET_KEY"):
        assert ids() == {"shieldware.E001"}
    with override_settings(SHIELDWARE_SHIELD=None), pytest.raises(ImproperlyConfigured):
        sw_django.load_shield()


@pytest.mark.parametrize("module", ["weak_secret", "no_secret"])
def test_e002_signing_layer_without_a_good_secret(
    module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHIELDWARE_SECRET", raising=False)
    with override_settings(SHIELDWARE_SHIELD=f"sw_django.{module}.shield"):
        messages = run_checks(tags=["shieldware"])
    assert [m.id for m in messages] == ["shieldware.E002"]
    assert "secret" in messages[0].msg


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"WEB_CONCURRENCY": "4"}, None),
        ({"GUNICORN_CMD_ARGS": "--bind 0.0.0.0:8000 --workers 3"}, None),
        ({"GUNICORN_CMD_ARGS": "-w 2"}, None),
        ({"UVICORN_WORKERS": "2"}, None),
        ({}, 4),
    ],
)
def test_w001_memory_store_under_several_workers(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], setting: int | None
) -> None:
    for name in ("WEB_CONCURRENCY", "UVICORN_WORKERS", "GUNICORN_CMD_ARGS", "GUNICORN_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with override_settings(SHIELDWARE_WORKERS=setting):
        assert ids() == {"shieldware.W001"}


@pytest.mark.parametrize(
    "setting",
    [
        {"USE_X_FORWARDED_HOST": True},
        {"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")},
    ],
)
def test_w002_proxy_not_trusted(setting: dict[str, object]) -> None:
    with override_settings(**setting):
        assert ids() == {"shieldware.W002"}


def test_w003_middleware_before_authentication() -> None:
    middleware = [
        "shieldware.contrib.django.ShieldwareMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    with override_settings(MIDDLEWARE=middleware):
        assert ids() == {"shieldware.W003"}


# -- real servers ----------------------------------------------------------------------------------
def _exercise(base: str, loop: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        who = uid()
        ok = client.get("/items/3", headers={"x-client": who, "x-user": "5"})
        assert ok.status_code == 200
        assert ok.json()["action"] == "allow"
        assert ok.headers["x-seen-route"] == "/items/<int:pk>"
        assert ok.headers["x-seen-principal"] == "5"
        assert ok.headers["x-seen-loop"] == loop
        assert ok.headers["x-quota-remaining"] == "2"
        codes = [client.get("/hello", headers={"x-client": who}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert client.get("/hello", headers={"x-client": who}).headers["retry-after"]
        assert client.get("/hello", headers={"x-bot": "1"}).status_code == 403
        login = uid()
        assert client.get("/login", headers={"x-client": login}).status_code == 200
        assert client.get("/login", headers={"x-client": login}).status_code == 429
        assert client.get("/stream").text == "one\ntwo\n"


@pytest.mark.slow
def test_gunicorn_wsgi() -> None:
    argv = python("-m", "gunicorn", "-w", "1", "-b", "127.0.0.1:{port}", "sw_django.wsgi")
    with serve(argv, pythonpath=[CONTRIB_TESTS]) as base:
        _exercise(base, loop="0")


@pytest.mark.slow
def test_uvicorn_asgi() -> None:
    argv = python(
        "-m",
        "uvicorn",
        "--port",
        "{port}",
        "--host",
        "127.0.0.1",
        "--no-access-log",
        "sw_django.asgi:application",
    )
    with serve(argv, pythonpath=[CONTRIB_TESTS]) as base:
        _exercise(base, loop="1")


def test_repeated_header_fields_are_combined() -> None:
    from shieldware.verdict import Reply

    reply = Reply(
        429,
        (
            ("ratelimit-policy", '"a";q=1;w=60'),
            ("ratelimit-policy", '"b";q=2;w=60'),
            ("set-cookie", "one=1; Path=/"),
            ("set-cookie", "two=2; Path=/"),
            ("content-type", "text/plain"),
        ),
        b"no",
    )
    response = sw_django.reply_response(reply)
    assert response.status_code == 429
    assert response["ratelimit-policy"] == '"a";q=1;w=60, "b";q=2;w=60'
    assert response["content-type"] == "text/plain"
    assert {key: morsel.value for key, morsel in response.cookies.items()} == {
        "one": "1",
        "two": "2",
    }


@pytest.mark.parametrize(
    "path", ["/%ff%fe", "/items/%00", "/" + "a" * 5000, "/items/99999999999999999999"]
)
def test_hostile_paths_never_500(path: str) -> None:
    response = Client().get(path, headers={"x-client": uid(), "cookie": "=;;=\x00"})
    assert response.status_code in (200, 400, 404)


def test_protect_in_shadow_mode_never_blocks() -> None:
    from django.test import RequestFactory
    from sw_layers import Quota

    @sw_django.protect(Quota(1, name="watch"), mode="shadow")
    def view(request: object) -> HttpResponse:
        return HttpResponse("ok")

    factory = RequestFactory()
    requests = [factory.get("/w", headers={"x-client": "shadow"}) for _ in range(3)]
    assert [view(r).status_code for r in requests] == [200, 200, 200]
    decision = sw_django.decision_of(requests[-1])  # type: ignore[arg-type]
    assert decision is not None
    assert decision.action.value == "throttle"
    assert not decision.enforced


def test_a_failing_user_lookup_is_not_a_500(caplog: pytest.LogCaptureFixture) -> None:
    from django.test import RequestFactory

    class Broken:
        @property
        def is_authenticated(self) -> bool:
            raise RuntimeError("session store down")

    request = RequestFactory().get("/hello")
    request.user = Broken()
    assert sw_django.principal_of(request) is None
    assert "principal lookup failed" in caplog.text

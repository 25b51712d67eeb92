"""Per-route limits never share state with app-wide layers, nor with each other (issue 12 #7).

Before: ``Protect(TokenBucket("5/minute"))`` had the default name and key, so it charged the very
bucket of the app-wide ``TokenBucket`` (two rates on one bucket: after four logins ``GET /``
answered 429), and two default-named per-route buckets shared one budget. Now a per-view layer is
mounted: its keys carry the route template. Layers that would still meet (two protections on one
route template with different limits) are refused when the app starts, or when the decorator is
applied, with a `ConfigurationError` naming both.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("flask")

import httpx
from fastapi import Depends, FastAPI

from shieldware import ConfigurationError, Shield
from shieldware.contrib import Protection
from shieldware.contrib.fastapi import Protect, check_routes, install
from shieldware.layers import Concurrency, Quota, RateLimit, TokenBucket
from shieldware.stores import MemoryStore

pytestmark = pytest.mark.anyio


def client_of(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 4000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def app_wide() -> Shield:
    """The preset's app-wide bucket (default name and key), on a store the routes borrow."""
    return Shield([TokenBucket("120/minute", burst=60)], store=MemoryStore())


async def test_a_route_bucket_never_charges_the_app_wide_bucket() -> None:
    app = FastAPI()
    install(app, shield=app_wide())

    @app.post("/login", dependencies=[Depends(Protect(TokenBucket("5/minute")))])
    async def login() -> str:
        return "ok"

    @app.get("/")
    async def home() -> str:
        return "home"

    async with client_of(app) as client:
        logins = [(await client.post("/login")).status_code for _ in range(6)]
        home = [(await client.get("/")).status_code for _ in range(5)]
    assert logins == [200] * 5 + [429]
    assert home == [200] * 5


async def test_default_named_route_buckets_keep_their_own_budgets() -> None:
    app = FastAPI()
    install(app, shield=app_wide())
    shared = Protect(TokenBucket("2/minute"))  # one object on two routes: still per route

    @app.get("/a", dependencies=[Depends(Protect(TokenBucket("2/minute")))])
    async def a() -> str:
        return "a"

    @app.get("/b", dependencies=[Depends(Protect(TokenBucket("2/minute")))])
    async def b() -> str:
        return "b"

    @app.get("/c/{item}", dependencies=[Depends(shared)])
    async def c(item: int) -> str:
        return "c"

    @app.get("/d", dependencies=[Depends(shared)])
    async def d() -> str:
        return "d"

    async with client_of(app) as client:
        got = {
            path: [(await client.get(path)).status_code for _ in range(3)]
            for path in ("/a", "/b", "/c/1", "/d")
        }
        other_item = (await client.get("/c/2")).status_code
    assert got == {path: [200, 200, 429] for path in got}
    assert other_item == 429  # keyed on the template: /c/1 and /c/2 share one budget


async def lifespan_startup(app: Any) -> list[dict[str, Any]]:
    """Run the app's lifespan startup as a server would; the messages it sends back."""
    sent: list[dict[str, Any]] = []
    inbox = [{"type": "lifespan.startup"}]

    async def receive() -> dict[str, Any]:
        return inbox.pop(0) if inbox else {"type": "lifespan.shutdown"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    with contextlib.suppress(ConfigurationError):
        await app(scope, receive, send)
    return sent


async def test_two_rates_on_one_route_template_fail_the_startup() -> None:
    app = FastAPI()
    install(app, shield=app_wide())
    page = Protect(TokenBucket("100/minute"))
    submit = Protect(TokenBucket("5/minute"))

    @app.get("/login", dependencies=[Depends(page)])
    async def show() -> str:
        return "form"

    @app.post("/login", dependencies=[Depends(submit)])
    async def login() -> str:
        return "ok"

    with pytest.raises(ConfigurationError) as caught:
        check_routes(app)
    message = str(caught.value)
    assert "GET /login" in message
    assert "POST /login" in message
    assert message.count("TokenBucket(") >= 2
    assert "name=" in message
    sent = await lifespan_startup(app)
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
    assert "POST /login" in sent[0]["message"]


async def test_distinct_names_on_one_route_template_start() -> None:
    app = FastAPI()
    install(app, shield=app_wide())

    @app.get("/login", dependencies=[Depends(Protect(TokenBucket("100/minute", name="page")))])
    async def show() -> str:
        return "form"

    @app.post("/login", dependencies=[Depends(Protect(TokenBucket("5/minute", name="submit")))])
    async def login() -> str:
        return "ok"

    check_routes(app)
    sent = await lifespan_startup(app)
    assert [m["type"] for m in sent][:1] == ["lifespan.startup.complete"]


@pytest.mark.parametrize(
    "layer",
    [
        pytest.param(TokenBucket("5/minute"), id="tokenbucket"),
        pytest.param(RateLimit([TokenBucket("5/minute"), TokenBucket("1/second", name="s")])),
        pytest.param(Quota("5/minute"), id="quota"),
        pytest.param(Concurrency(2), id="concurrency"),
    ],
)
def test_a_mounted_layer_has_its_own_key_space(layer: Any) -> None:
    """The mounted copy keys on the route too; the object the user passed is unchanged."""
    before = layer.key_spaces()
    protection = Protection(layer)
    (copy,) = protection.layers
    assert copy is not layer
    assert layer.key_spaces() == before
    spaces = copy.key_spaces()
    assert len(spaces) == len(before)
    for (space, limit), (old, old_limit) in zip(spaces, before, strict=True):
        assert space[:3] == old[:3]
        assert limit == old_limit
        assert space[3] == (*old[3], "mount")
    assert Protection(copy).layers[0].key_spaces() == spaces  # mounting twice adds nothing


def test_flask_stacked_decorators_with_two_rates_are_refused() -> None:
    from flask import Flask

    from shieldware.contrib.flask import Shieldware

    app = Flask(__name__)
    ext = Shieldware(app, shield=app_wide())

    def view() -> str:
        return "ok"

    inner = ext.protect(TokenBucket("5/minute"))(view)
    with pytest.raises(ConfigurationError, match=r"inner on .*view\).*outer on .*view"):
        ext.protect(TokenBucket("50/minute"))(inner)
    ext.protect(TokenBucket("50/minute", name="other"))(inner)  # another name: fine


def test_flask_view_bucket_never_charges_the_app_wide_bucket() -> None:
    from flask import Flask

    from shieldware.contrib.flask import Shieldware

    app = Flask(__name__)
    ext = Shieldware(app, shield=app_wide())

    @app.post("/login")
    @ext.protect(TokenBucket("5/minute"))
    def login() -> str:
        return "ok"

    @app.post("/signup")
    @ext.protect(TokenBucket("5/minute", key=None))  # one bucket for the route, not the app
    def signup() -> str:
        return "ok"

    @app.get("/")
    def home() -> str:
        return "home"

    client = app.test_client()
    environ = {"REMOTE_ADDR": "198.51.100.21"}
    logins = [client.post("/login", environ_base=environ).status_code for _ in range(6)]
    signups = [client.post("/signup", environ_base=environ).status_code for _ in range(6)]
    homes = [client.get("/", environ_base=environ).status_code for _ in range(5)]
    assert logins == [200] * 5 + [429]
    assert signups == [200] * 5 + [429]
    assert homes == [200] * 5


def test_django_stacked_decorators_with_two_rates_are_refused() -> None:
    pytest.importorskip("django")
    from shieldware.contrib.django import protect

    def view(request: Any) -> Any:
        return None

    inner = protect(Quota("5/minute"))(view)
    with pytest.raises(ConfigurationError, match="Quota"):
        protect(Quota("6/minute"))(inner)


def test_flask_get_and_post_views_of_one_rule_with_two_rates_are_refused() -> None:
    # The usual Flask pattern: one view shows the form, another takes the post, each protected.
    from flask import Flask

    from shieldware.contrib.flask import Shieldware, check_routes

    app = Flask(__name__)
    ext = Shieldware(app, shield=app_wide())

    @app.get("/login")
    @ext.protect(TokenBucket("50/minute"))
    def login_form() -> str:
        return "form"

    @app.post("/login")
    @ext.protect(TokenBucket("5/minute"))
    def login() -> str:
        return "ok"

    with pytest.raises(ConfigurationError, match=r"login_form.*login\)|login\).*login_form"):
        check_routes(app)
    app.testing = True  # let the error reach the test instead of Flask's 500 page
    client = app.test_client()
    with pytest.raises(ConfigurationError):  # unchecked at start-up: the first request says so
        client.get("/login", environ_base={"REMOTE_ADDR": "198.51.100.22"})


def test_flask_views_of_one_rule_with_one_rate_or_two_names_are_fine() -> None:
    from flask import Flask

    from shieldware.contrib.flask import Shieldware, check_routes

    app = Flask(__name__)
    ext = Shieldware(app, shield=app_wide())

    @app.get("/login")
    @ext.protect(TokenBucket("50/minute", name="login-form"))
    def login_form() -> str:
        return "form"

    @app.post("/login")
    @ext.protect(TokenBucket("5/minute"))
    def login() -> str:
        return "ok"

    check_routes(app)
    client = app.test_client()
    environ = {"REMOTE_ADDR": "198.51.100.23"}
    assert [client.post("/login", environ_base=environ).status_code for _ in range(6)] == [
        *[200] * 5,
        429,
    ]
    assert client.get("/login", environ_base=environ).status_code == 200

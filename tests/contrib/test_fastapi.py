"""FastAPI/Starlette: the middleware app-wide, `Protect` per route (keyed on the route template,
no `request` parameter forced on the endpoint, the decision handed to it), and uvicorn for real.

In-process tests use httpx's ASGITransport, FastAPI's documented async test client (Starlette's
TestClient now warns unless httpx2 is installed).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

pytest.importorskip("fastapi")

import httpx
from fastapi import Depends, FastAPI
from sw_fastapi_app import app, shield, stream_limit
from sw_layers import Quota, finished
from sw_servers import CONTRIB_TESTS, python, serve

from shieldware import Decision
from shieldware.contrib.fastapi import Protect


def uid() -> str:
    return uuid.uuid4().hex


pytestmark = pytest.mark.anyio


def TestClient(asgi: object, client: tuple[str, int] = ("127.0.0.1", 50000)) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=asgi, client=client)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with TestClient(app) as c:
        yield c


async def test_allowed_with_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/hello", headers={"x-client": uid()})
    assert response.status_code == 200
    assert response.headers["x-quota-remaining"] == "2"


async def test_throttled_challenged_denied(client: httpx.AsyncClient) -> None:
    who = uid()
    codes = [(await client.get("/hello", headers={"x-client": who})).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert (await client.get("/hello", headers={"x-bot": "1"})).status_code == 403
    async with TestClient(app, client=("203.0.113.3", 1234)) as other:
        denied = await other.get("/hello")
    assert denied.status_code == 403
    assert b"ip-deny-listed" in denied.content


async def test_protect_hands_the_decision_to_the_endpoint(client: httpx.AsyncClient) -> None:
    who, key = uid(), uid()
    first = await client.post("/login", headers={"x-client": who, "x-api-key": key})
    assert first.status_code == 200
    assert first.json() == {"action": "allow", "rule": "default/allow"}
    assert first.headers["x-quota-remaining"] == "0"
    second = await client.post(
        "/login", headers={"x-client": who, "x-api-key": key, "accept": "application/json"}
    )
    assert second.status_code == 429
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["rule"] == "login/over"
    assert int(second.headers["retry-after"]) >= 1


async def test_protect_keys_on_the_route_template(client: httpx.AsyncClient) -> None:
    who = uid()
    assert (await client.get("/items/1", headers={"x-client": who})).status_code == 200
    assert (await client.get("/items/2", headers={"x-client": who})).status_code == 200
    # /items/1 and /items/2 share the "/items/{item_id}" bucket of 2
    third = await client.get("/items/3", headers={"x-client": who})
    assert third.status_code == 429
    assert b"item/over" in third.content


async def test_protect_sees_principal_and_route() -> None:
    seen: list[Decision] = []
    probe = Protect(Quota(100, name="probe"), principal=lambda c: c.headers.get("x-api-key"))
    local = FastAPI()

    @local.get("/v1/things/{thing}")
    async def thing(thing: str, decision: Decision = Depends(probe)) -> dict[str, str]:  # noqa: B008
        seen.append(decision)
        return {"thing": thing}

    async with TestClient(local) as c:
        assert (await c.get("/v1/things/a", headers={"x-api-key": "k1"})).status_code == 200
    assert seen
    assert seen[0].trail[0].rule == "probe"


async def test_protect_with_its_own_shield(client: httpx.AsyncClient) -> None:
    assert (await client.get("/own")).status_code == 200
    assert (await client.get("/own")).status_code == 429


async def test_layers_borrow_the_middleware_store(client: httpx.AsyncClient) -> None:
    await client.get("/items/9", headers={"x-client": uid()})
    from sw_fastapi_app import item_limit

    assert item_limit.protection.shield.store is shield.store


async def test_without_install_fastapi_answers_with_status_and_headers() -> None:
    local = FastAPI()
    limit = Protect(Quota(1, name="bare"))

    @local.get("/x", dependencies=[Depends(limit)])
    async def x() -> dict[str, str]:
        return {}

    async with TestClient(local) as c:
        assert (await c.get("/x")).status_code == 200
        refused = await c.get("/x")
    assert refused.status_code == 429
    assert "retry-after" in refused.headers
    assert "over-quota" in refused.json()["detail"]


async def test_after_ops_run_once_the_stream_is_sent(client: httpx.AsyncClient) -> None:
    marker = uid()
    async with client.stream("GET", "/stream", headers={"x-finish-marker": marker}) as response:
        assert response.headers["x-seen-route"] == "/stream"
        assert await response.aread() == b"one\ntwo\n"
    assert finished(stream_limit.protection.shield, marker)


@pytest.mark.slow
def test_uvicorn() -> None:
    argv = python(
        "-m",
        "uvicorn",
        "--port",
        "{port}",
        "--host",
        "127.0.0.1",
        "--no-access-log",
        "sw_fastapi_app:app",
    )
    with serve(argv, pythonpath=[CONTRIB_TESTS]) as base, httpx.Client(base_url=base) as c:
        who = uid()
        codes = [c.get("/hello", headers={"x-client": who}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert c.get("/hello", headers={"x-bot": "1"}).status_code == 403
        login = uid()
        assert c.post("/login", headers={"x-client": login}).status_code == 200
        refused = c.post("/login", headers={"x-client": login, "accept": "text/html"})
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("text/html")
        assert c.get("/items/5", headers={"x-client": uid()}).json() == {"item": 5}
        assert c.get("/stream").text == "one\ntwo\n"


async def test_protect_in_shadow_mode_never_blocks() -> None:
    local = FastAPI()
    watch = Protect(Quota(1, name="watch"), mode="shadow")
    seen: list[Decision] = []

    @local.get("/w")
    async def w(decision: Decision = Depends(watch)) -> dict[str, str]:  # noqa: B008
        seen.append(decision)
        return {}

    async with TestClient(local) as c:
        assert [(await c.get("/w")).status_code for _ in range(3)] == [200, 200, 200]
    assert seen[-1].action.value == "throttle"
    assert not seen[-1].enforced

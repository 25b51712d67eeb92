"""Smoke tests of examples/fastapi_chat: the story end to end, in process and under uvicorn."""

from __future__ import annotations

import os
import uuid

import pytest

pytest.importorskip("fastapi")
os.environ.setdefault("CHAT_TOKEN_DELAY", "0")

import httpx  # noqa: E402

from sw_servers import EXAMPLES_DIR, python, serve  # noqa: E402

pytestmark = pytest.mark.anyio
CHAT_DIR = EXAMPLES_DIR / "fastapi_chat"


def client_for(app: object, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def signup_and_login(client: httpx.AsyncClient) -> str:
    email = f"{uuid.uuid4().hex}@example.org"
    registered = await client.post("/register", json={"email": email, "password": "correct horse"})
    assert registered.status_code == 201, registered.text
    login = await client.post("/login", json={"email": email, "password": "correct horse"})
    assert login.status_code == 200
    return str(login.json()["api_key"])


async def test_register_login_and_stream() -> None:
    import chat_app

    async with client_for(chat_app.create_app()) as client:
        assert (await client.get("/healthz")).text == "ok\n"
        assert "<form" in (await client.get("/")).text
        key = await signup_and_login(client)
        response = await client.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hello shield"}]},
            headers={"authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "hello" in response.text
        assert response.text.endswith("data: [DONE]\n\n")


async def test_completions_need_a_key() -> None:
    import chat_app

    async with client_for(chat_app.create_app()) as client:
        response = await client.post("/v1/chat/completions", json={"messages": []})
        assert response.status_code == 401


async def test_denied_network() -> None:
    import chat_app

    async with client_for(chat_app.create_app(), ip="203.0.113.50") as client:
        response = await client.get("/", headers={"accept": "application/json"})
        assert response.status_code == 403
        assert response.json()["reason"] == "ip-deny-listed"


async def test_shield_endpoint_explains_the_decision() -> None:
    import chat_app

    async with client_for(chat_app.create_app()) as client:
        body = (await client.get("/shield")).json()
        assert body["mode"] in ("enforce", "shadow")
        assert "allow" in body["explain"]


@pytest.mark.slow
def test_run_command_under_uvicorn() -> None:
    argv = python("-m", "uvicorn", "--app-dir", str(CHAT_DIR), "--port", "{port}", "chat_app:app")
    env = {"CHAT_TOKEN_DELAY": "0", "CHAT_REGISTER_RATE": "2/hour"}
    with serve(argv, env=env) as base, httpx.Client(base_url=base, timeout=10) as client:
        email = f"{uuid.uuid4().hex}@example.org"
        first = client.post("/register", json={"email": email, "password": "correct horse"})
        assert first.status_code == 201
        assert client.post("/register", json={"email": "x" + email, "password": "p" * 9}).status_code == 201
        third = client.post(
            "/register",
            json={"email": "y" + email, "password": "p" * 9},
            headers={"accept": "application/json"},
        )
        assert third.status_code == 429
        assert third.headers["content-type"] == "application/problem+json"
        key = client.post("/login", json={"email": email, "password": "correct horse"}).json()[
            "api_key"
        ]
        with client.stream(
            "POST",
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}]},
            headers={"authorization": f"Bearer {key}"},
        ) as stream:
            assert stream.status_code == 200
            assert "[DONE]" in stream.read().decode()

"""Smoke tests of examples/fastapi_chat: the story end to end, in process and under uvicorn."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

pytest.importorskip("fastapi")
# Cheap puzzles and instant tokens for the in-process app (set before it is imported).
os.environ.setdefault("CHAT_TOKEN_DELAY", "0")
os.environ.setdefault("CHAT_POW_BITS", "4")
os.environ.setdefault("CHAT_POW_COUNT", "2")
os.environ.setdefault("CHAT_KEY_RATE", "5/hour")  # no refill while the test runs

import httpx
from sw_servers import EXAMPLES_DIR, python, serve

from shieldware.client import PowAuth

pytestmark = pytest.mark.anyio
CHAT_DIR = EXAMPLES_DIR / "fastapi_chat"
BROWSER = {
    "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-language": "en-GB,en;q=0.9",
    "accept-encoding": "gzip, deflate, br",
}


def client_for(app: object, ip: str = "127.0.0.1", **options: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", **options)  # type: ignore[arg-type]


def new_ip() -> str:
    value = uuid.uuid4().int
    return f"10.{value % 250}.{(value >> 8) % 250}.{(value >> 16) % 250 + 1}"


async def signup_and_login(client: httpx.AsyncClient) -> str:
    email = f"{uuid.uuid4().hex}@example.org"
    registered = await client.post("/register", json={"email": email, "password": "correct horse"})
    assert registered.status_code == 201, registered.text
    login = await client.post("/login", json={"email": email, "password": "correct horse"})
    assert login.status_code == 200
    return str(login.json()["api_key"])


async def test_register_with_proof_of_work_login_and_stream() -> None:
    import chat_app

    async with client_for(chat_app.create_app(), ip=new_ip(), auth=PowAuth()) as client:
        assert (await client.get("/healthz")).text == "ok\n"
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
        # RateLimit headers of both per-route rules reach the streamed response
        policies = response.headers.get_list("ratelimit-policy")
        assert any('"api-key"' in p for p in policies)
        assert any('"streams"' in p for p in policies)


async def test_registration_is_challenged_without_proof_of_work() -> None:
    import chat_app

    async with client_for(chat_app.create_app(), ip=new_ip()) as client:
        api = await client.post("/register", json={"email": "a@example.org", "password": "x" * 9})
        assert api.status_code == 401
        assert api.headers["www-authenticate"].startswith("Shieldware-PoW")
        page = await client.get("/register", headers=BROWSER)
        assert page.status_code == 200  # the form itself is free: its helper pays per sign-up
        assert '<form method="post" action="/register">' in page.text
        assert 'src="/.shieldware/pow/pow-form.js"' in page.text
        assert 'name="sw-pow-answer"' in page.text
        form = {"email": "a@example.org", "password": "x" * 9}
        posted = await client.post("/register", data=form, headers=BROWSER)
        assert posted.status_code == 403  # no proof: the interstitial, carrying the form
        assert '<form id="sw-replay" method="post" action="/register"' in posted.text
        assert 'name="email" value="a@example.org"' in posted.text


async def test_completions_need_a_key() -> None:
    import chat_app

    async with client_for(chat_app.create_app(), ip=new_ip()) as client:
        response = await client.post("/v1/chat/completions", json={"messages": []})
        assert response.status_code == 401


async def test_per_key_limit() -> None:
    import chat_app
    import chat_security

    app = chat_app.create_app()
    async with client_for(app, ip=new_ip(), auth=PowAuth()) as client:
        key = await signup_and_login(client)
        limit = chat_security.completions_guard.protection.shield.layers[0]
        rate = limit.rules[0].burst  # type: ignore[attr-defined]
        body = {"messages": [{"role": "user", "content": "hi"}]}
        headers = {"authorization": f"Bearer {key}", "accept": "application/json"}
        codes = [
            (await client.post("/v1/chat/completions", json=body, headers=headers)).status_code
            for _ in range(rate + 1)
        ]
        assert codes[:rate] == [200] * rate
        assert codes[rate] == 429
        refused = await client.post("/v1/chat/completions", json=body, headers=headers)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["rule"].startswith("ratelimit")
        # another account is not affected
        other = await signup_and_login(client)
        headers["authorization"] = f"Bearer {other}"
        assert (
            await client.post("/v1/chat/completions", json=body, headers=headers)
        ).status_code == 200


async def test_denied_network() -> None:
    import chat_app

    async with client_for(chat_app.create_app(), ip="203.0.113.50") as client:
        response = await client.get("/", headers={"accept": "application/json"})
        assert response.status_code == 403
        assert response.json()["reason"] == "ip-deny-listed"


async def test_shadowed_trial_limit_shows_in_the_trail() -> None:
    import chat_app

    async with client_for(chat_app.create_app(), ip=new_ip()) as client:
        body = (await client.get("/shield")).json()
        assert body["mode"] == "enforce"
        assert "ip-trial" in body["explain"]
        assert "[shadow]" in body["explain"]


@pytest.mark.slow
def test_run_command_under_uvicorn() -> None:
    """The README's command, with a slow stream to show the concurrency limit per account."""
    argv = python("-m", "uvicorn", "--app-dir", str(CHAT_DIR), "--port", "{port}", "chat_app:app")
    env = {
        "CHAT_TOKEN_DELAY": "0.3",
        "CHAT_REGISTER_RATE": "2/hour",
        "CHAT_POW_BITS": "4",
        "CHAT_POW_COUNT": "2",
        "CHAT_STREAMS": "1",
    }
    with (
        serve(argv, env=env) as base,
        httpx.Client(base_url=base, timeout=30, auth=PowAuth()) as client,
    ):
        email = f"{uuid.uuid4().hex}@example.org"
        assert (
            client.post("/register", json={"email": email, "password": "p" * 9}).status_code == 201
        )
        assert (
            client.post("/register", json={"email": "x" + email, "password": "p" * 9}).status_code
            == 201
        )
        third = client.post(
            "/register",
            json={"email": "y" + email, "password": "p" * 9},
            headers={"accept": "application/json"},
        )
        assert third.status_code == 429
        assert third.headers["content-type"] == "application/problem+json"
        key = client.post("/login", json={"email": email, "password": "p" * 9}).json()["api_key"]
        body = {"messages": [{"role": "user", "content": "one two three"}]}
        headers = {"authorization": f"Bearer {key}"}
        started, done = threading.Event(), threading.Event()
        results: list[str] = []

        def first_stream() -> None:
            with (
                httpx.Client(base_url=base, timeout=30) as other,
                other.stream("POST", "/v1/chat/completions", json=body, headers=headers) as stream,
            ):
                assert stream.status_code == 200
                chunks = stream.iter_text()
                results.append(next(chunks))
                started.set()
                results.extend(chunks)
            done.set()

        worker = threading.Thread(target=first_stream)
        worker.start()
        assert started.wait(20)
        busy = client.post("/v1/chat/completions", json=body, headers=headers)
        assert busy.status_code == 429
        assert "concurrency" in busy.text
        assert done.wait(20)
        worker.join(20)
        assert "[DONE]" in "".join(results)
        # the lease was released when the stream ended
        again = client.post("/v1/chat/completions", json=body, headers=headers)
        assert again.status_code == 200

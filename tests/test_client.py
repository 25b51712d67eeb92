"""shieldware.client against a real server: httpx (sync and async) and requests solve and reuse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from shieldware import Shield, ShieldMiddleware
from shieldware.client import (
    PowAuth,
    PowChallenge,
    PowRequestsAuth,
    parse_challenge,
    solve_answer,
)
from shieldware.layers import ProofOfWork
from shieldware.pow import check, parse_nonces
from tests.conftest import SECRET
from tests.servers import run_asgi


async def echo(request: Request) -> Response:
    body = await request.body()
    return PlainTextResponse(f"{request.method} {body.decode()}")


class Server:
    """The protected app on a real uvicorn server; counts the 401 challenges it sent."""

    def __init__(self, shield: Shield) -> None:
        app = Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"])])
        self.shield = shield
        self.challenges = 0
        self.url = ""
        self.app = _counting(self, ShieldMiddleware(app, shield=shield))


def _counting(server: Server, inner: Any) -> Any:
    """`inner`, counting the 401 challenges it sends on `server`."""

    async def counting(scope, receive, send):  # type: ignore[no-untyped-def]
        async def spy(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start" and message["status"] == 401:
                server.challenges += 1
            await send(message)

        await inner(scope, receive, spy)

    return counting


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server(Shield([ProofOfWork(SECRET, count=4, bits=8)]))
    with run_asgi(running.app) as url:
        running.url = url
        yield running


def test_parse_challenge() -> None:
    header = (
        'Shieldware-PoW challenge="c1.abc.1.2.4.8.0.b.pow.sig", algorithm="sha256", '
        'count="4", bits="8"'
    )
    parsed = parse_challenge({"www-authenticate": header})
    assert parsed == PowChallenge("c1.abc.1.2.4.8.0.b.pow.sig", 4, 8)
    assert parse_challenge({"www-authenticate": "Basic realm=x"}) is None
    assert parse_challenge({"www-authenticate": header.replace('"8"', '"99"')}) is None
    assert parse_challenge({"www-authenticate": header.replace("sha256", "md5")}) is None
    assert parse_challenge({}) is None


def test_solver_answers_what_the_verifier_accepts() -> None:
    challenge = PowChallenge("c1.someid.1.2.3.9.0.b.pow.sig", 3, 9)
    token, _, nonces = solve_answer(challenge).partition(";")
    parsed = parse_nonces(nonces, 3)
    assert token == challenge.token
    assert parsed is not None
    assert check("someid", 9, parsed)
    with pytest.raises(ValueError, match="more than"):
        solve_answer(PowChallenge("c1.x.1.2.64.32.0.b.pow.s", 64, 32))


def test_without_auth_an_api_client_gets_401(server: Server) -> None:
    response = httpx.get(server.url + "/echo", headers={"accept": "application/json"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Shieldware-PoW ")
    assert response.json()["challenge"]["count"] == 4


def test_httpx_sync_auth_solves_once_and_reuses_the_clearance(server: Server) -> None:
    auth = PowAuth()
    with httpx.Client(auth=auth, base_url=server.url) as http:
        first = http.post("/echo", content=b"payload")
        assert first.status_code == 200
        assert first.text == "POST payload"  # the body was sent again with the answer
        assert auth.clearance
        for _ in range(3):
            assert http.get("/echo").status_code == 200
    assert server.challenges == 1


def test_httpx_async_auth(server: Server) -> None:
    async def main() -> list[int]:
        auth = PowAuth()
        async with httpx.AsyncClient(auth=auth, base_url=server.url) as http:
            return [(await http.get("/echo")).status_code for _ in range(3)]

    assert anyio.run(main) == [200, 200, 200]
    assert server.challenges == 1


def test_requests_auth(server: Server) -> None:
    auth = PowRequestsAuth()
    with requests.Session() as session:
        session.auth = auth
        first = session.post(server.url + "/echo", data=b"form")
        assert first.status_code == 200
        assert first.text == "POST form"
        assert first.history[0].status_code == 401
        assert session.get(server.url + "/echo").status_code == 200
    assert server.challenges == 1


def test_client_refuses_work_beyond_its_budget(server: Server) -> None:
    with httpx.Client(auth=PowAuth(max_work=10), base_url=server.url) as http:
        assert http.get("/echo").status_code == 401


def test_clearance_is_only_sent_back_to_its_origin(server: Server) -> None:
    auth = PowAuth()
    seen: list[str | None] = []

    def elsewhere(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("shieldware-clearance"))
        return httpx.Response(200)

    with httpx.Client(auth=auth, base_url=server.url) as http:
        assert http.get("/echo").status_code == 200
    assert auth.clearance
    with httpx.Client(auth=auth, transport=httpx.MockTransport(elsewhere)) as other:
        other.get("https://other.example/")
    assert seen == [None]


def test_requests_auth_through_the_wsgi_middleware() -> None:
    from shieldware import ShieldWSGIMiddleware
    from tests.servers import run_wsgi

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"wsgi ok"]

    shield = Shield([ProofOfWork(SECRET, count=4, bits=8)])
    with run_wsgi(ShieldWSGIMiddleware(app, shield=shield)) as url, requests.Session() as s:
        assert s.get(url + "/x").status_code == 401
        s.auth = PowRequestsAuth()
        first = s.get(url + "/x")
        assert first.status_code == 200
        assert first.text == "wsgi ok"
        assert s.get(url + "/y").status_code == 200


class Elsewhere:
    """Another origin (another port): records each head it gets, hands out its own clearance."""

    def __init__(self) -> None:
        self.heads: list[dict[str, str]] = []

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        self.heads.append({k.decode(): v.decode() for k, v in scope["headers"]})
        headers = [(b"shieldware-clearance", b"foreign-token"), (b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"elsewhere"})


@pytest.fixture
def two_origins() -> Iterator[tuple[Server, Elsewhere, str]]:
    """A protected origin whose /away redirects (307) to a second origin's /land."""
    other = Elsewhere()
    with run_asgi(other) as other_url:
        routes = [
            Route("/echo", echo, methods=["GET", "POST"]),
            Route("/away", lambda r: RedirectResponse(other_url + "/land", 307)),
        ]
        running = Server(Shield([ProofOfWork(SECRET, count=4, bits=8)]))
        running.app = _counting(
            running, ShieldMiddleware(Starlette(routes=routes), shield=running.shield)
        )
        with run_asgi(running.app) as url:
            running.url = url
            yield running, other, other_url


def _leaked(token: str, heads: list[dict[str, str]]) -> bool:
    return any(token in value for head in heads for value in head.values())


def test_httpx_never_sends_a_clearance_to_another_origin(
    two_origins: tuple[Server, Elsewhere, str],
) -> None:
    """Attack: a redirect carried the clearance to another origin, whose own clearance was then
    filed under the first origin (and sent back there)."""
    server, other, other_url = two_origins
    auth = PowAuth()
    with httpx.Client(auth=auth, base_url=server.url, follow_redirects=True) as http:
        assert http.get("/echo").status_code == 200
        mine = auth.clearance
        assert mine
        assert http.get("/away").text == "elsewhere"
        assert not _leaked(mine, other.heads)
        assert http.get("/echo").status_code == 200  # still our own clearance, not foreign-token
        assert http.get(other_url + "/land").status_code == 200
    assert server.challenges == 1
    assert "foreign-token" in str(other.heads[-1])  # kept for the origin that issued it
    assert not _leaked(mine, other.heads)


def test_httpx_async_never_sends_a_clearance_to_another_origin(
    two_origins: tuple[Server, Elsewhere, str],
) -> None:
    server, other, _ = two_origins

    async def main() -> str | None:
        auth = PowAuth()
        async with httpx.AsyncClient(auth=auth, base_url=server.url, follow_redirects=True) as h:
            assert (await h.get("/echo")).status_code == 200
            assert (await h.get("/away")).status_code == 200
            assert (await h.get("/echo")).status_code == 200
            return auth.clearance

    mine = anyio.run(main)
    assert mine
    assert not _leaked(mine, other.heads)
    assert server.challenges == 1


def test_requests_never_sends_a_clearance_to_another_origin(
    two_origins: tuple[Server, Elsewhere, str],
) -> None:
    server, other, other_url = two_origins
    auth = PowRequestsAuth()
    with requests.Session() as session:
        session.auth = auth
        assert session.get(server.url + "/echo").status_code == 200
        mine = auth.clearance
        assert mine
        assert session.get(server.url + "/away").text == "elsewhere"
        assert session.get(server.url + "/echo").status_code == 200
        assert session.get(other_url + "/land").status_code == 200
    assert not _leaked(mine, other.heads)
    assert "foreign-token" in str(other.heads[-1])
    assert server.challenges == 1

"""The form helper in headless Chromium under a strict Content-Security-Policy (issue 13).

A Starlette sign-up form rendered with the Jinja2 helper, served with ``script-src 'self';
worker-src 'self'`` (no inline script anywhere): the helper solves while the person types, the
post carries the answer, the app sees the exact form body. A ``fetch()`` post gets its answer
from ``shieldwarePow.answer(form)`` for the header.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from jinja2 import DictLoader, Environment
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from shieldware import Shield, ShieldMiddleware
from shieldware.contrib import jinja
from shieldware.layers import ProofOfWork
from shieldware.match import path
from tests.conftest import SECRET
from tests.servers import run_asgi

CSP = (
    "default-src 'self'; script-src 'self'; worker-src 'self'; style-src 'self'; "
    "connect-src 'self'; form-action 'self'"
)
pytestmark = [pytest.mark.browser]

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Join</title></head>
<body><form method="post" action="/join" id="join">
<label>Name <input name="name"></label>
{{ shieldware_pow(start=start) }}
<button type="submit">Join</button></form></body></html>"""
ENV = Environment(loader=DictLoader({"join.html": PAGE}), autoescape=True)
jinja.install(ENV)
BODIES: list[bytes] = []


async def join(request: Request) -> Response:
    if request.method == "POST":
        body = await request.body()
        BODIES.append(body)
        name = dict(parse_qsl(body.decode())).get("name", "")
        return PlainTextResponse(f"joined {name}", headers={"content-security-policy": CSP})
    start = request.query_params.get("start", "load")
    html = ENV.get_template("join.html").render(start=start)
    return HTMLResponse(html, headers={"content-security-policy": CSP})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/join", join, methods=["GET", "POST"]),
            Route("/favicon.ico", lambda request: Response(status_code=204)),
        ]
    )
    shield = Shield([ProofOfWork(SECRET, actions=path("/join"), count=4, bits=12)])
    with run_asgi(ShieldMiddleware(app, shield=shield)) as url:
        yield url


def _page(browser: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" else None,
    )
    return context, page, problems


@pytest.mark.parametrize("start", ["load", "focus"])
def test_the_helper_solves_while_the_person_types_under_a_strict_csp(
    server: str, browser: Any, start: str
) -> None:
    context, page, problems = _page(browser)
    try:
        documents: list[int] = []
        page.on(
            "response",
            lambda r: documents.append(r.status) if r.request.resource_type == "document" else None,
        )
        page.goto(f"{server}/join?start={start}")
        status = page.locator(".sw-pow-status")
        assert status.get_attribute("role") == "status"
        assert status.get_attribute("aria-live") == "polite"
        page.fill("input[name=name]", "Ada")  # focus: the "focus" helper starts here
        page.wait_for_function(
            "() => document.querySelector('.sw-pow-status').textContent.includes('done')",
            timeout=60_000,
        )
        before = len(BODIES)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.text_content("body") == "joined Ada"
        assert documents == [200, 200]  # the form, then the created account: no interstitial
        body = BODIES[before]
        fields = dict(parse_qsl(body.decode()))
        assert fields["name"] == "Ada"
        assert fields["sw-pow-answer"].startswith("c1.")
        assert not problems, problems  # no CSP violation, no script error
    finally:
        context.close()


def test_a_fetch_post_takes_its_answer_for_the_header(server: str, browser: Any) -> None:
    context, page, problems = _page(browser)
    try:
        page.goto(f"{server}/join")
        script = """async () => {
            const form = document.getElementById('join');
            const send = async () => fetch('/join', {method: 'POST',
                headers: {'content-type': 'application/x-www-form-urlencoded',
                          [shieldwarePow.header]: await shieldwarePow.answer(form)},
                body: 'name=Grace'});
            const first = await send();
            const second = await send();  // a fresh answer each time
            return [first.status, await first.text(), second.status];
        }"""
        assert page.evaluate(script) == [200, "joined Grace", 200]
        assert not problems, problems
    finally:
        context.close()

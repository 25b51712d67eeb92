"""The honeypot (issue 15): a field no person sees; a post that fills it is refused and reported."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from shieldware import Action, Facts, Reason, Shield, ShieldMiddleware
from shieldware.body import with_body
from shieldware.errors import ConfigurationError
from shieldware.layer import Progress
from shieldware.layers import Honeypot
from shieldware.match import path
from shieldware.pow.form import HONEYPOT_FIELD, helper_html
from tests.conftest import SECRET
from tests.fingerprint.helpers import CHROME_NAV

FORM = "application/x-www-form-urlencoded"
CLIENT = ipaddress.ip_address("198.51.100.40")


def post(data: bytes, content_type: str = FORM, route: str = "/signup") -> Facts:
    return with_body(Facts("POST", route, CHROME_NAV, client_ip=CLIENT), content_type, data)


def test_a_filled_honeypot_is_refused_an_empty_or_absent_one_is_not() -> None:
    layer = Honeypot()
    progress = Progress()
    filled = layer.check(post(b"email=a%40b.org&sw-website=http%3A%2F%2Fspam"), progress)
    assert filled.action is Action.DENY
    assert filled.reason == Reason.HONEYPOT_FILLED
    assert filled.status == 403
    assert filled.weight >= 10  # it weighs as automation in the score and the reports
    for body in (b"email=a%40b.org&sw-website=", b"email=a%40b.org", b"not a form"):
        assert layer.check(post(body), progress).action is Action.PASS, body
    multipart = b'--xx\r\nContent-Disposition: form-data; name="sw-website"\r\n\r\nhi\r\n--xx--\r\n'
    assert layer.check(post(multipart, "multipart/form-data; boundary=xx"), progress).action is (
        Action.DENY
    )


def test_it_reads_only_the_posts_it_is_given() -> None:
    layer = Honeypot(match=path("/signup"), field="homepage")
    filled = b"homepage=x"
    assert layer.wants_body(post(filled))
    assert not layer.wants_body(post(filled, route="/comment"))
    assert not layer.wants_body(Facts("GET", "/signup"))
    assert layer.check(post(filled, route="/comment"), Progress()).action is Action.PASS
    assert layer.check(post(b"sw-website=x"), Progress()).action is Action.PASS  # not its field
    assert layer.check(post(filled), Progress()).action is Action.DENY
    with pytest.raises(ConfigurationError, match="honeypot field"):
        Honeypot(field='a"b')


def test_the_helper_hides_it_from_people_screen_readers_and_password_managers() -> None:
    markup = helper_html()
    trap = re.search(r"<div hidden[^>]*>.*?</div>", markup)
    assert trap is not None  # not rendered: never seen, focused or read aloud
    assert 'aria-hidden="true"' in trap.group(0)
    field = re.search(r'<input type="text" name="([^"]+)"[^>]*>', trap.group(0))
    assert field is not None
    assert field.group(1) == HONEYPOT_FIELD
    for attribute in ('tabindex="-1"', 'autocomplete="off"', 'data-lpignore="true"'):
        assert attribute in field.group(0)
    assert "<div hidden" not in helper_html(honeypot=None)
    assert 'name="my-trap"' in helper_html(honeypot="my-trap")


# -- the default chain, through the ASGI middleware ---------------------------------------------
ACCOUNTS: list[str] = []


async def signup(request: Request) -> Response:
    if request.method == "POST":
        ACCOUNTS.append(dict(parse_qsl((await request.body()).decode())).get("email", ""))
        return PlainTextResponse("created\n", status_code=201)
    return PlainTextResponse("the form\n")


class Seen:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def report(self, decision: Any, facts: Facts) -> None:
        self.reasons.append(decision.verdict.reason)


@pytest.mark.anyio
async def test_the_default_chain_refuses_a_bot_that_fills_every_field() -> None:
    seen = Seen()
    shield = Shield.default(SECRET, reporters=[seen])
    app = ShieldMiddleware(
        Starlette(routes=[Route("/signup", signup, methods=["GET", "POST"])]), shield=shield
    )
    ACCOUNTS.clear()
    transport = httpx.ASGITransport(app=app, client=("198.51.100.41", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        headers = dict(CHROME_NAV)
        bot = {"email": "bot@example.org", HONEYPOT_FIELD: "http://spam.example"}
        refused = await http.post("/signup", data=bot, headers=headers)
        assert refused.status_code == 403
        assert seen.reasons[-1] == Reason.HONEYPOT_FILLED  # reported with its own reason
        person = {"email": "a@example.org", HONEYPOT_FIELD: ""}
        challenged = await http.post("/signup", data=person, headers=headers)
        assert (
            seen.reasons[-1] != Reason.HONEYPOT_FILLED
        )  # an empty trap: the proof of work decides
        assert challenged.status_code in (401, 403)
    assert ACCOUNTS == []

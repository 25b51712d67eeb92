"""Behind a TLS-terminating proxy, the scheme comes from the trusted header (issue 12 #5).

Served by uvicorn with its own proxy handling off, so only shieldware reads the forwarding
headers: a bot copying Chrome's User-Agent over "HTTPS" (as the trusted proxy reports it) sends
no client hints and no fetch metadata, which only HTTPS signals see. Before, the scheme behind a
trusted proxy was never used, every HTTPS-only signal was skipped and the bot scored as a human.
"""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shieldware import Action, Shield, ShieldMiddleware, Threshold
from shieldware.layers import Fingerprint
from tests.servers import run_asgi

from .helpers import CHROME_UA

DEBUG = "x-shieldware-fingerprint"


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("home")


def app(trusted: list[str]) -> Any:
    layer = Fingerprint(verifier=False, debug_header=DEBUG)
    shield = Shield(
        [layer],
        thresholds=[Threshold(6, Action.DENY, "fingerprint")],
        trusted_proxies=trusted,
    )
    return ShieldMiddleware(Starlette(routes=[Route("/", home)]), shield=shield)


def test_a_copied_chrome_user_agent_behind_a_tls_proxy_is_caught() -> None:
    bot = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.50", "user-agent": CHROME_UA}
    with run_asgi(app(["127.0.0.1"]), proxy_headers=False) as url:
        caught = httpx.get(url + "/", headers=bot)
    assert caught.status_code == 403
    assert "chrome-no-client-hints" in caught.headers[DEBUG]
    # the same bot from an untrusted peer: its X-Forwarded-Proto is not believed, so no HTTPS
    # signal runs (plain HTTP has no client hints), and it is not blocked on them
    with run_asgi(app([]), proxy_headers=False) as url:
        untrusted = httpx.get(url + "/", headers=bot)
    assert "chrome-no-client-hints" not in untrusted.headers[DEBUG]

"""One proof per account action (issue 13): POSTs to account routes each pay a fresh, single-use
proof bound to the action and the network; a clearance never covers them; a per-network budget
bounds what solving buys; the form helper's challenge endpoint; the challenged form is carried."""

from __future__ import annotations

import html
import ipaddress
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from shieldware import Action, Facts, MemoryStore, Shield, ShieldMiddleware, ShieldWSGIMiddleware
from shieldware.body import MAX_BODY, Body, form_fields, form_value, with_body
from shieldware.client import PowAuth
from shieldware.layers import ProofOfWork
from shieldware.layers.challenge import BASE_PATH
from shieldware.match import path
from shieldware.pow import solve
from shieldware.presets import ACCOUNT_ROUTES, default_layers
from tests.conftest import SECRET

UA = "Mozilla/5.0 (test)"
HTML = "text/html,application/xhtml+xml"
JSON = "application/json"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def layer(**options: Any) -> ProofOfWork:
    options.setdefault("count", 2)
    options.setdefault("bits", 4)
    options.setdefault("clock", Clock())
    return ProofOfWork(SECRET, match=path("/signup", "/login"), **options)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryStore()
    else:
        yield request.getfixturevalue("redis_url")


def shield_with(store: Any, **options: Any) -> Shield:
    return Shield([layer(**options)], store=store)


def facts(
    target: str = "/signup",
    *,
    method: str = "POST",
    ip: str = "10.1.2.3",
    accept: str = JSON,
    headers: tuple[tuple[str, str], ...] = (),
    ua: str = UA,
) -> Facts:
    p, _, q = target.partition("?")
    base = (("accept", accept), ("user-agent", ua), ("host", "testserver"))
    return Facts(
        method,
        p,
        headers=(*base, *headers),
        client_ip=ipaddress.ip_address(ip),
        query=q,
        host="testserver",
    )


def answer_for(shield: Shield, f: Facts) -> str:
    """The answer header value to the challenge `f` receives (a 401 for API clients)."""
    decision = shield.decide(f)
    assert decision.action is Action.CHALLENGE, decision.explain()
    assert decision.verdict.reply is not None
    challenge = json.loads(decision.verdict.reply.body)["challenge"]
    token, count, bits = challenge["token"], challenge["count"], challenge["bits"]
    nonces = solve(token.split(".")[1], count, bits)
    return token + ";" + ",".join(map(str, nonces))


def with_answer(value: str) -> tuple[tuple[str, str], ...]:
    return (("shieldware-pow-answer", value),)


# -- the proof ---------------------------------------------------------------------------------
def test_an_action_passes_on_its_own_proof_once(store: Any) -> None:
    shield = shield_with(store)
    try:
        value = answer_for(shield, facts())
        first = shield.decide(facts(headers=with_answer(value)))
        assert not first.answered, first.explain()
        assert [v.reason for v in first.trail if v.rule.startswith("pow")] == ["action-proved"]
        again = shield.decide(facts(headers=with_answer(value)))  # the same proof, replayed
        assert again.action is Action.CHALLENGE
        assert again.verdict.reason == "answer-pow-replayed"
    finally:
        shield.close()


def test_a_clearance_never_covers_an_action(store: Any) -> None:
    shield = shield_with(store)
    try:
        # a browsing clearance, earned on the form page (GET /signup)
        value = answer_for(shield, facts(method="GET"))
        page = shield.decide(facts(method="GET", headers=with_answer(value)))
        assert not page.answered
        token = dict(page.headers)["shieldware-clearance"]
        post = shield.decide(facts(headers=(("shieldware-clearance", token),)))
        assert post.action is Action.CHALLENGE
        assert post.verdict.reason == "action-proof-required"
        # and a browsing challenge's answer does not stand for an action's
        browse = answer_for(shield, facts(method="GET", ip="10.1.2.4"))
        refused = shield.decide(facts(ip="10.1.2.4", headers=with_answer(browse)))
        assert refused.verdict.reason == "answer-pow-foreign-binding"
    finally:
        shield.close()


def test_a_proof_is_bound_to_its_action_and_network() -> None:
    shield = shield_with(MemoryStore())
    value = answer_for(shield, facts("/signup"))
    other_route = shield.decide(facts("/login", headers=with_answer(value)))
    assert other_route.verdict.reason == "answer-pow-foreign-binding"
    other_method = shield.decide(facts("/signup", method="PUT", headers=with_answer(value)))
    assert other_method.verdict.reason == "answer-pow-foreign-binding"
    other_net = shield.decide(facts("/signup", ip="10.1.9.3", headers=with_answer(value)))
    assert other_net.verdict.reason == "answer-pow-foreign-binding"
    same_net = shield.decide(facts("/signup", ip="10.1.2.77", headers=with_answer(value)))
    assert not same_net.answered  # another address of the same /24: the same network


def test_safe_methods_on_account_routes_still_browse_on_a_clearance() -> None:
    shield = shield_with(MemoryStore())
    first = shield.decide(facts(method="GET"))
    assert first.verdict.reason == "no-clearance"
    assert not layer().is_action(facts(method="GET"))
    assert layer().is_action(facts(method="DELETE"))
    assert not layer(per_action=False).is_action(facts())
    assert layer(per_action=False, actions=path("/signup")).is_action(facts())


def test_the_answer_may_travel_in_a_form_field() -> None:
    shield = shield_with(MemoryStore())
    value = answer_for(shield, facts())
    body = f"email=a%40example.org&sw-pow-answer={value}".encode()
    f = with_body(facts(), "application/x-www-form-urlencoded", body)
    assert not shield.decide(f).answered
    assert shield.decide(f).action is Action.CHALLENGE  # single use


def test_the_answer_may_travel_in_a_multipart_field() -> None:
    shield = shield_with(MemoryStore())
    value = answer_for(shield, facts())
    boundary = "----x1"
    data = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="email"\r\n\r\na@example.org\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="sw-pow-answer"\r\n\r\n{value}\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    f = with_body(facts(), f"multipart/form-data; boundary={boundary}", data)
    assert not shield.decide(f).answered


def test_a_browser_posting_without_proof_gets_its_form_back_to_send_again() -> None:
    """No lost forms: the interstitial carries the fields and an action-bound challenge."""
    shield = shield_with(MemoryStore())
    body = b"email=a%40example.org&name=%C3%A9%3Cb%3E&csrf=t0k&sw-pow-answer=stale"
    f = with_body(facts(accept=HTML), "application/x-www-form-urlencoded", body)
    decision = shield.decide(f)
    assert decision.action is Action.CHALLENGE
    assert decision.verdict.reason == "answer-pow-bad-signature"
    reply = decision.verdict.reply
    assert reply is not None
    page = reply.body.decode()
    form = re.search(r'<form id="sw-replay" method="post" action="([^"]*)"[^>]*>(.*?)</form>', page)
    assert form is not None
    assert form.group(1) == "/signup"
    fields = re.findall(r'name="([^"]*)" value="([^"]*)"', form.group(2))
    assert [(n, html.unescape(v)) for n, v in fields] == [
        ("email", "a@example.org"),
        ("name", "é<b>"),
        ("csrf", "t0k"),
        ("sw-pow-answer", ""),  # the stale answer is dropped; the page fills a fresh one
    ]
    assert "<b>" not in page  # escaped
    # the page's challenge is bound to the action: its answer passes the re-sent POST
    token = page.split('data-challenge="', 1)[1].split('"', 1)[0]
    nonces = ",".join(map(str, solve(token.split(".")[1], 2, 4)))
    resent = body.replace(b"stale", f"{token};{nonces}".encode())
    again = with_body(facts(accept=HTML), "application/x-www-form-urlencoded", resent)
    assert not shield.decide(again).answered


def test_a_form_that_cannot_be_carried_returns_the_browser_to_its_page() -> None:
    shield = shield_with(MemoryStore())
    referer = (("referer", "http://testserver/join?step=2"),)
    # no body at all (too large to buffer, or chunked): a browsing challenge back to the form page
    decision = shield.decide(facts(accept=HTML, headers=referer))
    assert decision.action is Action.CHALLENGE
    page = decision.verdict.reply.body.decode()  # type: ignore[union-attr]
    assert 'id="sw-replay"' not in page
    assert 'data-return="/join?step=2"' in page
    foreign = (("referer", "http://evil.example/form"),)
    page = shield.decide(facts(accept=HTML, headers=foreign)).verdict.reply.body.decode()  # type: ignore[union-attr]
    assert 'data-return="/signup"' in page


def test_the_helper_gets_an_action_bound_challenge_as_json() -> None:
    shield = shield_with(MemoryStore())
    endpoint = facts(f"{BASE_PATH}challenge?a=%2Fsignup", method="GET", accept="*/*")
    decision = shield.decide(endpoint)
    assert decision.action is Action.ALLOW
    reply = decision.verdict.reply
    assert reply is not None
    assert reply.status == 200
    assert reply.header("cache-control") == "no-store"
    data = json.loads(reply.body)
    assert data["action"] == "POST /signup"
    assert data["field"] == "sw-pow-answer"
    assert data["bits"] == 4
    nonces = ",".join(map(str, solve(data["token"].split(".")[1], data["count"], data["bits"])))
    body = f"sw-pow-answer={data['token']};{nonces}".encode()
    post = with_body(facts(), "application/x-www-form-urlencoded", body)
    assert not shield.decide(post).answered
    for target in ("/", "/other", "//evil.example/signup", "javascript:alert(1)", ""):
        asked = facts(f"{BASE_PATH}challenge?a={target}", method="GET", accept="*/*")
        refused = shield.decide(asked)
        assert refused.verdict.status == 404, target
    bad_method = facts(f"{BASE_PATH}challenge?a=/signup&m=GET", method="GET", accept="*/*")
    assert shield.decide(bad_method).verdict.status == 404


# -- bodies -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content_type", "data", "expected"),
    [
        (
            "application/x-www-form-urlencoded",
            b"a=1&b=%E2%9C%93&a=2",
            [("a", "1"), ("b", "✓"), ("a", "2")],
        ),
        ("application/x-www-form-urlencoded", b"a=%FF", None),
        ("application/json", b'{"a": 1}', None),
        ("multipart/form-data", b"--x\r\n", None),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nhi\r\n--x--',
            None,
        ),
        (
            'multipart/form-data; boundary="x y"',
            b'--x y\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x y--\r\n',
            [("a", "1")],
        ),
    ],
)
def test_form_parsing(content_type: str, data: bytes, expected: Any) -> None:
    assert form_fields(Body(content_type, data)) == expected


def test_form_value_finds_the_field() -> None:
    body = Body("application/x-www-form-urlencoded", b"x=1&sw-pow-answer=abc%3B1")
    assert form_value(body, "sw-pow-answer") == "abc;1"
    assert form_value(body, "missing") is None


# -- through the adapters ------------------------------------------------------------------------
ACCOUNTS: list[str] = []


async def signup(request: Request) -> Response:
    if request.method == "POST":
        form = dict(parse_qsl((await request.body()).decode()))
        ACCOUNTS.append(form.get("email", ""))
        return PlainTextResponse("created\n", status_code=201)
    return PlainTextResponse("the form\n")


def asgi_app(shield: Shield) -> Any:
    app = Starlette(routes=[Route("/signup", signup, methods=["GET", "POST"])])
    return ShieldMiddleware(app, shield=shield)


@pytest.mark.anyio
async def test_asgi_reads_the_form_answer_and_replays_the_exact_body() -> None:
    shield = shield_with(MemoryStore())
    ACCOUNTS.clear()
    transport = httpx.ASGITransport(app=asgi_app(shield), client=("10.1.2.3", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        headers = {"accept": JSON, "user-agent": UA}
        asked = await http.get(f"{BASE_PATH}challenge?a=/signup", headers=headers)
        data = asked.json()
        nonces = ",".join(map(str, solve(data["token"].split(".")[1], data["count"], data["bits"])))
        form = {"email": "a@example.org", "sw-pow-answer": f"{data['token']};{nonces}"}
        created = await http.post("/signup", data=form, headers=headers)
        assert created.status_code == 201, created.text
        assert ACCOUNTS == ["a@example.org"]
        replayed = await http.post("/signup", data=form, headers=headers)
        assert replayed.status_code == 401  # single use
        big = {"email": "b@example.org", "pad": "x" * MAX_BODY, "sw-pow-answer": "whatever"}
        too_big = await http.post("/signup", data=big, headers=headers)
        assert too_big.status_code == 401  # not read: the layer decides without the body
        assert ACCOUNTS == ["a@example.org"]


def test_wsgi_reads_the_form_answer_and_replays_the_exact_body() -> None:
    from flask import Flask, request

    shield = shield_with(MemoryStore())
    seen: list[bytes] = []
    app = Flask(__name__)

    @app.post("/signup")
    def create() -> tuple[str, int]:
        seen.append(request.get_data())
        return "created\n", 201

    app.wsgi_app = ShieldWSGIMiddleware(app.wsgi_app, shield=shield)  # type: ignore[method-assign]
    client = app.test_client()
    env = {"REMOTE_ADDR": "10.1.2.3"}
    headers = {"accept": JSON, "user-agent": UA}
    asked = client.get(f"{BASE_PATH}challenge?a=/signup", headers=headers, environ_base=env)
    data = asked.get_json()
    nonces = ",".join(map(str, solve(data["token"].split(".")[1], data["count"], data["bits"])))
    body = f"email=a%40example.org&sw-pow-answer={data['token']};{nonces}".encode()
    created = client.post(
        "/signup",
        data=body,
        headers={**headers, "content-type": "application/x-www-form-urlencoded"},
        environ_base=env,
    )
    assert created.status_code == 201
    assert seen == [body]


# -- what solving buys -----------------------------------------------------------------------
def preset_with_cheap_puzzles(store: Any, account_rate: str = "30/hour") -> Shield:
    """The default chain, its proof of work made nearly free (a GPU's view of it)."""
    layers = default_layers(SECRET, account_rate=account_rate)
    pow_layer = next(layer for layer in layers if isinstance(layer, ProofOfWork))
    assert isinstance(pow_layer, ProofOfWork)
    pow_layer.count, pow_layer.bits, pow_layer.max_bits = 1, 2, 6
    return Shield(layers, store=store)


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def test_solver_bots_get_at_most_one_account_per_solve_and_the_budget(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """Ten solver bots in one /24 (shieldware.client at native speed) post sign-ups: every
    account costs a solve, and the network never gets more than its hourly budget."""
    store: Any = MemoryStore() if backend == "memory" else request.getfixturevalue("redis_url")
    shield = preset_with_cheap_puzzles(store, account_rate="6/hour")
    solves = 0
    proved = 0

    class Count:
        def report(self, decision: Any, facts: Facts) -> None:
            nonlocal proved
            proved += any(v.reason == "action-proved" for v in decision.trail)

    shield.reporters = (Count(),)
    ACCOUNTS.clear()
    import shieldware.client as client_module

    real = client_module.solve_answer

    def counting(*args: Any, **kwargs: Any) -> str:
        nonlocal solves
        solves += 1
        return real(*args, **kwargs)

    client_module.solve_answer = counting  # type: ignore[assignment]
    try:
        app = asgi_app(shield)
        for n in range(10):
            transport = httpx.ASGITransport(app=app, client=(f"10.9.9.{n + 1}", 1000))
            auth = PowAuth()
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", auth=auth
            ) as http:
                for i in range(4):
                    await http.post(
                        "/signup",
                        data={"email": f"bot{n}.{i}@example.org"},
                        headers={"user-agent": "python-httpx/0.27", "accept": "*/*"},
                    )
    finally:
        client_module.solve_answer = real  # type: ignore[assignment]
        shield.close()
    print(f"\n{backend}: {len(ACCOUNTS)} accounts, {proved} proved, {solves} solves")
    assert ACCOUNTS, "the bots created no account at all: the test proves nothing"
    assert len(ACCOUNTS) <= proved <= solves
    assert len(ACCOUNTS) <= 6  # the network's budget binds before the redeem rate (10)


def test_the_account_budget_is_per_network_and_reported() -> None:
    shield = preset_with_cheap_puzzles(MemoryStore(), account_rate="3/hour")
    headers = (("user-agent", "python-httpx/0.27"), ("accept", "*/*"))

    def post(ip: str) -> Any:
        f = Facts("POST", "/signup", headers=headers, client_ip=ipaddress.ip_address(ip))
        decision = shield.decide(f)
        reply = decision.verdict.reply
        assert reply is not None, decision.explain()
        token = json.loads(reply.body)["challenge"]["token"]
        count, bits = int(decision.verdict.detail["count"]), int(decision.verdict.detail["bits"])
        value = token + ";" + ",".join(map(str, solve(token.split(".")[1], count, bits)))
        proved = Facts(
            "POST",
            "/signup",
            headers=(*headers, ("shieldware-pow-answer", value)),
            client_ip=ipaddress.ip_address(ip),
        )
        return shield.decide(proved)

    assert [post(f"10.3.3.{i}").action for i in range(1, 4)] == [Action.ALLOW] * 3
    over = post("10.3.3.9")
    assert over.action is Action.THROTTLE
    assert over.verdict.rule == "ratelimit/account-actions"
    assert over.verdict.status in (None, 429)
    assert post("10.3.4.1").action is Action.ALLOW  # the next /24 has its own budget
    # IPv6: one /48 is one network, whatever /64 the bot rotates to
    v6 = [post(f"2001:db8:1:{i:x}::1").action for i in range(4)]
    assert v6 == [Action.ALLOW] * 3 + [Action.THROTTLE]


def test_the_preset_names_its_account_routes_and_takes_more() -> None:
    shield = Shield.default(SECRET, account_match=path("/join"))
    f = Facts(
        "POST", "/join", headers=(("accept", JSON),), client_ip=ipaddress.ip_address("10.0.0.1")
    )
    assert shield.decide(f).verdict.reason == "action-proof-required"
    assert ACCOUNT_ROUTES(f.with_(path="/signup"))


# -- the helper's markup ---------------------------------------------------------------------
def test_the_helper_markup_is_escaped_and_has_no_inline_script() -> None:
    from shieldware.pow.form import FormText, helper_html

    markup = helper_html(action='/a"><script>x()</script>', text=FormText(ready="<b>ok</b>"))
    assert "<script>x()" not in markup
    assert "&lt;b&gt;ok&lt;/b&gt;" in markup
    assert re.findall(r"<script[^>]*>(.*?)</script>", markup) == [""]  # src only, no inline
    assert 'src="/.shieldware/pow/pow-form.js"' in markup
    assert 'role="status" aria-live="polite"' in markup
    assert 'name="sw-pow-answer"' in markup


def test_the_jinja_helper() -> None:
    from jinja2 import Environment

    from shieldware.contrib import jinja

    env = Environment(autoescape=True)
    jinja.install(env)
    out = env.from_string('<form>{{ shieldware_pow(start="focus") }}</form>').render()
    assert 'data-start="focus"' in out
    assert 'name="sw-pow-answer"' in out
    assert "&lt;input" not in out  # rendered as markup, not as text


def test_the_django_tag() -> None:
    from django.template import Context, Engine

    engine = Engine(libraries={"shieldware": "shieldware.contrib.django_tags"})
    out = engine.from_string('{% load shieldware %}{% shieldware_pow "/join/" %}').render(Context())
    assert 'data-action="/join/"' in out
    assert 'src="/.shieldware/pow/pow-form.js"' in out


def test_the_helper_script_is_served_from_the_reserved_path() -> None:
    shield = shield_with(MemoryStore())
    decision = shield.decide(facts(f"{BASE_PATH}pow-form.js", method="GET", accept="*/*"))
    reply = decision.verdict.reply
    assert reply is not None
    assert reply.status == 200
    assert reply.header("content-type") == "text/javascript; charset=utf-8"
    assert b"shieldwarePow" in reply.body


# -- hostile input ---------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=b",
            'multipart/form-data; boundary="b"',
            "multipart/form-data",
            "text/plain",
            "",
        ]
    )
    | st.text(max_size=80),
    data=st.binary(max_size=400)
    | st.builds(
        lambda parts: b"".join(parts),
        st.lists(
            st.sampled_from(
                [
                    *(b"--b", b"\r\n", b"--", b'Content-Disposition: form-data; name="x"'),
                    *(b"=", b"&", b"sw-pow-answer", b"%FF", b"filename", b"Content-Type: x", b"v"),
                ]
            ),
            max_size=30,
        ),
    ),
)
def test_form_parsing_never_raises(content_type: str, data: bytes) -> None:
    body = Body(content_type, data)
    fields = form_fields(body)
    assert fields is None or all(isinstance(k, str) and isinstance(v, str) for k, v in fields)
    value = form_value(body, "sw-pow-answer")
    assert value is None or isinstance(value, str)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.text(max_size=60), verb=st.text(max_size=12), answer=st.text(max_size=120))
def test_hostile_helper_and_form_input_gets_a_clean_answer(
    target: str, verb: str, answer: str
) -> None:
    shield = shield_with(MemoryStore())
    query = urlencode({"a": target, "m": verb})
    asked = shield.decide(facts(f"{BASE_PATH}challenge?{query}", method="GET", accept="*/*"))
    assert asked.verdict.status in (None, 404, 429)
    body = urlencode({"sw-pow-answer": answer}).encode()
    posted = shield.decide(with_body(facts(accept=HTML), "application/x-www-form-urlencoded", body))
    assert posted.action is Action.CHALLENGE
    assert posted.verdict.reply is not None


@pytest.mark.anyio
async def test_asgi_replays_a_chunked_body_beyond_the_bound_untouched() -> None:
    """No Content-Length, more than 64 KiB in chunks: read up to the bound, then replayed whole."""
    shield = Shield([layer()], store=MemoryStore(), mode="shadow")
    got: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        data = b""
        while True:
            message = await receive()
            data += message.get("body", b"")
            if not message.get("more_body"):
                break
        got.append(data)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    chunks = [bytes([65 + i]) * 30_000 for i in range(4)]
    messages = [
        {"type": "http.request", "body": c, "more_body": i < 3} for i, c in enumerate(chunks)
    ]
    sent: list[Any] = []

    async def receive() -> Any:
        return messages.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/signup",
        "query_string": b"",
        "headers": [(b"accept", JSON.encode()), (b"user-agent", UA.encode())],
        "client": ("10.1.2.3", 1),
    }
    await ShieldMiddleware(app, shield=shield)(scope, receive, send)
    assert sent[0]["status"] == 200  # shadow mode: decided, not enforced; the app ran
    assert got == [b"".join(chunks)]  # every byte, in order, though only 64 KiB were buffered
    decision = scope["state"]["shieldware"]
    assert decision.verdict.reason == "action-proof-required"  # decided without the body

"""Automation tells: each tell, scoring with caps and shadow switches, and what verify does."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from shieldware import Shield, ShieldMiddleware
from shieldware.client import PowAuth
from shieldware.errors import ConfigurationError
from shieldware.layers import ProofOfWork
from shieldware.pow.tells import DEFAULT_TELLS, Evidence, Tells, parse, tell
from shieldware.verdict import Action, Decision, Verdict
from tests.conftest import SECRET
from tests.servers import run_asgi
from tests.test_challenge import BASE_PATH, answer, challenge_of, cookie_from, facts, make

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
HEADLESS_UA = CHROME_UA.replace("Chrome/", "HeadlessChrome/")
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
BRANDS = [["Google Chrome", "131"], ["Chromium", "131"], ["Not_A Brand", "24"]]


def chrome_env(**changes: Any) -> dict[str, Any]:
    env = {
        "ua": CHROME_UA,
        "pf": "Win32",
        "b": BRANDS,
        "bp": "Windows",
        "bm": False,
        "hc": 8,
        "lg": ["en-GB", "en"],
    }
    env.update(changes)
    return env


def person(**changes: Any) -> dict[str, Any]:
    """What Chrome 131 on Windows reports; `changes` edit the page's fields."""
    report: dict[str, Any] = {
        "v": 1,
        **chrome_env(),
        "wd": False,
        "sc": True,
        "ch": True,
        "pl": 5,
        "mt": 2,
        "pdf": True,
        "o": [1280, 800],
        "np": "default",
        "pq": "prompt",
        "w": chrome_env(wa=True, cs=True),
        "wa": True,
        "cs": True,
    }
    report.update(changes)
    return report


def encode(report: object) -> str:
    raw = json.dumps(report).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def judge(
    report: dict[str, Any] | None,
    *,
    ua: str = CHROME_UA,
    expected: bool = True,
    policy: Tells | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> Any:
    f = facts("/x", ua=ua, headers=headers)
    parsed = parse(encode(report)) if report is not None else None
    if report is not None:
        assert parsed is not None
    return (policy or Tells()).judge(Evidence.of(f, parsed, expected=expected))


def names(score: Any) -> set[str]:
    return {name for name, *_ in score.fired}


# -- each tell ------------------------------------------------------------------------------------
def test_a_consistent_chrome_fires_nothing() -> None:
    score = judge(person())
    assert score.fired == ()
    assert score.score == 0
    assert score.reported
    assert not score.refused


def test_a_consistent_firefox_fires_nothing() -> None:
    env = {"ua": FIREFOX_UA, "pf": "Linux x86_64", "hc": 4, "lg": ["de-DE", "de"]}
    report = {**person(**env, w={**env, "wa": True, "cs": True})}
    for key in ("b", "bp", "bm"):
        report.pop(key)
    assert judge(report, ua=FIREFOX_UA).fired == ()


@pytest.mark.parametrize(
    ("changes", "fires"),
    [
        ({"wd": True}, {"webdriver"}),
        ({"ua": HEADLESS_UA}, {"headless-ua", "ua-mismatch", "worker-mismatch"}),
        ({"b": [["HeadlessChrome", "131"]]}, {"headless-ua", "worker-mismatch"}),
        ({"ua": CHROME_UA + " extra"}, {"ua-mismatch", "worker-mismatch"}),
        ({"pf": "Linux x86_64"}, {"platform-mismatch", "worker-mismatch"}),
        ({"bp": "macOS"}, {"platform-mismatch", "worker-mismatch"}),
        ({"b": [["Chromium", "156"]]}, {"brand-mismatch", "worker-mismatch"}),
        ({"b": []}, {"brand-mismatch", "worker-mismatch"}),
        ({"bm": True}, {"mobile-mismatch"}),
        ({"w": chrome_env(ua="other", wa=True, cs=True)}, {"worker-mismatch"}),
        ({"w": chrome_env(b=[], wa=True, cs=True)}, {"worker-mismatch"}),
        ({"w": chrome_env(hc=2, wa=True, cs=True)}, {"worker-cores-mismatch"}),
        ({"w": chrome_env(lg=["en-US"], wa=True, cs=True)}, {"worker-languages-mismatch"}),
        ({"wa": False}, {"worker-features-missing"}),
        ({"cs": False}, {"worker-features-missing"}),
        ({"w": None}, {"worker-silent"}),
        ({"ch": False}, {"no-chrome-object"}),
        ({"pl": 0}, {"no-plugins"}),
        ({"o": [0, 0]}, {"zero-outer-size"}),
        ({"np": "denied", "pq": "prompt"}, {"permissions-inconsistent"}),
    ],
)
def test_each_tell_fires_on_its_evidence(changes: dict[str, Any], fires: set[str]) -> None:
    assert names(judge(person(**changes))) == fires


def test_a_worker_that_agrees_isolates_the_page_tells() -> None:
    both = {"ua": HEADLESS_UA}
    report = person(**both, w=chrome_env(**both, wa=True, cs=True))
    assert names(judge(report, ua=HEADLESS_UA)) == {"headless-ua"}
    both = {"pf": "Linux x86_64", "bp": "Linux"}
    report = person(**both, w=chrome_env(**both, wa=True, cs=True))
    assert names(judge(report)) == {"platform-mismatch"}


def test_tells_that_need_context_stay_quiet_without_it() -> None:
    # userAgentData and crypto.subtle exist in secure contexts only
    assert judge(person(sc=False, b=None, cs=False)).fired == ()
    # a PDF viewer switched off empties navigator.plugins in a real Chrome
    assert judge(person(pl=0, mt=0, pdf=False)).fired == ()
    # an Android WebView has no window.chrome
    webview = CHROME_UA.replace("Win64; x64)", "Win64; x64; wv)")
    assert judge(person(ch=False, ua=webview, w=None), ua=webview).fired != ()
    assert "no-chrome-object" not in names(judge(person(ch=False, ua=webview), ua=webview))


def test_sec_ch_ua_header_must_match_user_agent_data() -> None:
    same = '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'
    other = '"Chromium";v="131", "Not_A Brand";v="24"'
    assert judge(person(), headers=(("sec-ch-ua", same),)).fired == ()
    assert names(judge(person(), headers=(("sec-ch-ua", other),))) == {"brand-mismatch"}
    assert names(judge(person(), headers=(("sec-ch-ua-mobile", "?1"),))) == {"mobile-mismatch"}


def test_a_missing_report_counts_only_where_one_is_expected() -> None:
    assert names(judge(None)) == {"tells-missing"}
    assert judge(None, expected=False).fired == ()


# -- scoring ---------------------------------------------------------------------------------------
def test_groups_are_capped_and_the_total_decides() -> None:
    env = {"pf": "Linux x86_64", "b": [["Chromium", "156"]]}
    score = judge(person(**env, bm=True, w=chrome_env(**env, wa=True, cs=True)))
    assert names(score) == {"platform-mismatch", "brand-mismatch", "mobile-mismatch"}
    assert score.capped == (("consistency", 11.0, 8.0),)
    assert score.score == 8.0
    assert not score.refused
    assert score.carried == 8


def test_self_declared_automation_alone_refuses() -> None:
    assert judge(person(wd=True)).refused
    assert not judge(person(wd=True), policy=Tells(deny_at=None)).refused
    assert judge(person(wd=True), policy=Tells(deny_at=None)).score == 10


def test_shadowed_tells_are_reported_not_counted() -> None:
    score = judge(person(wd=True, ch=False), policy=Tells(shadow=["webdriver"]))
    assert names(score) == {"no-chrome-object"}
    assert score.shadow == (("webdriver", 10.0, ""),)
    assert score.score == 3
    assert not score.refused
    assert score.detail()["shadow"] == (("webdriver", 10.0, ""),)


def test_weights_override_and_zero_disables() -> None:
    policy = Tells(weights={"webdriver": 0, "no-chrome-object": 12})
    score = judge(person(wd=True, ch=False), policy=policy)
    assert names(score) == {"no-chrome-object"}
    assert score.score == 6  # the environment group's cap still holds
    assert (
        Tells(caps={"environment": 20}, weights={"no-chrome-object": 12})
        .judge(
            Evidence.of(facts("/x", ua=CHROME_UA), parse(encode(person(ch=False))), expected=True)
        )
        .refused
    )


def test_own_tells_can_be_added() -> None:
    @tell("tiny-window", 5.0, group="mine")
    def tiny(e: Evidence) -> object:
        """The window is smaller than a stamp."""
        return e.report is not None and e.report.outer is not None and max(e.report.outer) < 50

    policy = Tells(extra_tells=[tiny])
    assert names(judge(person(o=[10, 10]), policy=policy)) == {"tiny-window"}
    assert tiny.doc == "The window is smaller than a stamp."


def test_bad_configuration_is_refused_with_every_reason() -> None:
    with pytest.raises(ConfigurationError) as info:
        Tells(
            weights={"nope": 1},
            shadow=["also-nope"],
            expect="sometimes",  # type: ignore[arg-type]
            extra_tells=[DEFAULT_TELLS[0]],
            deny_at=0,
        )
    text = str(info.value)
    for part in ("nope", "also-nope", "sometimes", "two tells", "deny_at"):
        assert part in text
    with pytest.raises(ConfigurationError):
        ProofOfWork(SECRET, tells="yes")  # type: ignore[arg-type]


def test_every_default_tell_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "proof-of-work.md").read_text()
    for t in DEFAULT_TELLS:
        assert t.doc
        assert f"`{t.name}`" in doc, t.name


# -- at verify time --------------------------------------------------------------------------------
def page_verify(shield: Shield, report: str | None, **kw: Any) -> Verdict:
    token, count, bits = challenge_of(shield, facts(**kw))
    query = f"c={token}&s={answer(token, count, bits)}&r=%2Fpage"
    if report is not None:
        query += f"&t={report}"
    return shield.decide(facts(f"{BASE_PATH}verify?{query}", **kw)).verdict


def test_verify_refuses_a_browser_that_tells_on_itself() -> None:
    verdict = page_verify(make(), encode(person(wd=True)), ua=CHROME_UA)
    assert verdict.action is Action.DENY
    assert verdict.reason == "automation-tells"
    assert verdict.status == 403
    assert verdict.reply is not None
    assert b"automation-tells" in verdict.reply.body
    assert verdict.reply.header("set-cookie") is None
    assert verdict.detail["tells"]["fired"][0][0] == "webdriver"
    assert verdict.detail["signals"] == verdict.detail["tells"]["fired"]  # the live view's column


def test_the_refusal_is_reported_as_a_failed_challenge() -> None:
    from shieldware.report import challenge_outcomes

    verdict = page_verify(make(), encode(person(wd=True)), ua=CHROME_UA)
    assert challenge_outcomes(verdict) == ("failed",)


def test_a_lower_score_is_signed_into_the_clearance_and_weighs_every_use() -> None:
    shield = make()
    verdict = page_verify(shield, encode(person(ch=False)), ua=CHROME_UA)
    assert verdict.action is Action.ALLOW
    assert verdict.weight == 3.0
    assert verdict.detail["tells"]["score"] == 3.0
    name, token = cookie_from(verdict)
    used = shield.decide(facts("/page", ua=CHROME_UA, headers=(("cookie", f"{name}={token}"),)))
    gate = next(v for v in used.trail if v.rule == "pow")
    assert gate.reason == "cleared"
    assert gate.weight == 3.0
    assert gate.detail["tells"] == 3
    assert used.score == 3.0


def test_a_clean_report_adds_nothing() -> None:
    verdict = page_verify(make(), encode(person()), ua=CHROME_UA)
    assert verdict.action is Action.ALLOW
    assert verdict.weight == 0.0
    assert "tells" not in verdict.detail


def test_a_page_answer_without_a_report_is_marked_not_refused() -> None:
    for report in (None, "", "%%%", "x" * 5000, encode([1, 2]), encode({"v": 2})):
        verdict = page_verify(make(), report, ua=CHROME_UA)
        assert verdict.action is Action.ALLOW, report
        assert verdict.weight == 6.0
        assert verdict.detail["tells"]["fired"][0][0] == "tells-missing"
        assert verdict.detail["tells"]["reported"] is False


def test_tells_can_be_switched_off() -> None:
    verdict = page_verify(make(tells=False), encode(person(wd=True)), ua=CHROME_UA)
    assert verdict.action is Action.ALLOW
    assert verdict.weight == 0.0


def test_a_bad_proof_is_refused_before_tells_are_judged() -> None:
    shield = make()
    token, _, _ = challenge_of(shield, facts(ua=CHROME_UA))
    query = f"c={token}&s=0,0&t={encode(person(wd=True))}"
    verdict = shield.decide(facts(f"{BASE_PATH}verify?{query}", ua=CHROME_UA)).verdict
    assert verdict.reason == "pow-wrong-answer"
    assert "tells" not in verdict.detail


# -- API clients -----------------------------------------------------------------------------------
class Recorder:
    def __init__(self) -> None:
        self.verdicts: list[Verdict] = []

    def report(self, decision: Decision, facts: Any) -> None:
        self.verdicts.extend(v for v in decision.trail if v.rule.startswith("pow"))


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


def api_site(tells: Tells | None) -> tuple[Any, Recorder]:
    """(a server context yielding its URL, the recorder of its pow verdicts)."""
    recorder = Recorder()
    layer = ProofOfWork(SECRET, count=2, bits=6, tells=tells)
    app = ShieldMiddleware(
        Starlette(routes=[Route("/feed", hello)]),
        shield=Shield([layer], reporters=[recorder]),
    )
    return run_asgi(app), recorder


def test_api_clients_are_not_penalised_for_sending_no_tells() -> None:
    server, recorder = api_site(None)
    with server as url, httpx.Client(auth=PowAuth(), base_url=url) as http:
        assert http.get("/feed").text == "hello"
        assert http.get("/feed").text == "hello"
    solved = [v for v in recorder.verdicts if v.reason in ("solved", "cleared")]
    assert len(solved) == 2
    assert all(v.weight == 0.0 and "tells" not in v.detail for v in solved)


def test_an_operator_may_expect_tells_from_api_clients_too() -> None:
    strict = Tells(expect="always", weights={"tells-missing": 10})
    server, recorder = api_site(strict)
    with server as url, httpx.Client(auth=PowAuth(), base_url=url) as http:
        assert http.get("/feed").status_code == 401
    assert any(v.reason == "answer-automation-tells" for v in recorder.verdicts)


def test_the_docs_example_runs() -> None:
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "proof-of-work.md").read_text()
    section = doc[doc.index("## Automation tells") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n\n")]
    # The example's first statement is the configured layer: build it and check what it says.
    first = code[: code.index("\nProofOfWork(secret, tells=False)")]
    scope: dict[str, Any] = {"secret": SECRET}
    exec(first.replace("\nProofOfWork(", "\nlayer = ProofOfWork(", 1), scope)
    tells = scope["layer"].tells
    assert tells.deny_at == 12.0
    assert "no-plugins" not in {t.name for t in tells.tells}  # weight 0: switched off
    assert {t.name for t in tells.tells if t.shadow} == {"worker-cores-mismatch"}
    exec(code, {"secret": SECRET})  # and the whole example runs

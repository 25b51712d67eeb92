"""Property tests for the tells report parser and the verify path it feeds: never a 500."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from shieldware.facts import Facts
from shieldware.fingerprint.ua import MAX_UA
from shieldware.pow.tells import MAX_REPORT, Env, Evidence, Report, Tells, parse
from shieldware.verdict import Action
from tests.test_challenge import BASE_PATH, answer, challenge_of, facts, make

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=30,
)
KEYS = ["v", "ua", "pf", "b", "bp", "bm", "hc", "lg", "wd", "sc", "ch", "pl", "mt", "pdf", "o"]
KEYS += ["np", "pq", "w", "wa", "cs", "unknown"]
reports = st.dictionaries(st.sampled_from(KEYS), json_values).map(lambda d: {**d, "v": 1})


def encode(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def well_typed(env: Env) -> None:
    assert env.ua is None or (isinstance(env.ua, str) and len(env.ua) <= MAX_UA)
    assert env.platform is None or isinstance(env.platform, str)
    assert env.brands is None or all(
        isinstance(b, str) and isinstance(v, str) for b, v in env.brands
    )
    assert env.mobile is None or isinstance(env.mobile, bool)
    assert env.cores is None or (isinstance(env.cores, int) and env.cores >= 0)
    assert env.languages is None or all(isinstance(x, str) for x in env.languages)


@given(st.text(max_size=300))
def test_any_text_parses_or_is_none(raw: str) -> None:
    result = parse(raw)
    assert result is None or isinstance(result, Report)


@given(st.binary(max_size=300))
def test_any_bytes_behind_base64_parse_or_are_none(raw: bytes) -> None:
    result = parse(base64.urlsafe_b64encode(raw).decode())
    assert result is None or isinstance(result, Report)


@given(json_values)
def test_any_json_value_parses_or_is_none(value: Any) -> None:
    result = parse(encode(value))
    if not isinstance(value, dict) or value.get("v") != 1:
        assert result is None


@given(reports)
def test_a_report_of_any_shape_yields_only_well_typed_fields(value: dict[str, Any]) -> None:
    result = parse(encode(value))
    if len(encode(value)) > MAX_REPORT:
        assert result is None
        return
    core = (
        isinstance(value.get("ua"), str)
        and len(value["ua"]) <= MAX_UA
        and value["ua"].isascii()
        and isinstance(value.get("sc"), bool)
    )
    if not core:  # what every page script sends is missing: no report at all
        assert result is None
        return
    assert result is not None
    well_typed(result.page)
    if result.worker is not None:
        well_typed(result.worker)
    for flag in (result.webdriver, result.secure, result.chrome, result.pdf, result.wasm):
        assert flag is None or isinstance(flag, bool)
    assert result.outer is None or all(isinstance(x, int) for x in result.outer)
    # and every tell can read it without raising
    f = facts("/x", ua=str(value.get("ua", "")) if isinstance(value.get("ua"), str) else "x")
    score = Tells().judge(Evidence.of(f, result, expected=True))
    assert score.score >= 0


@given(reports)
def test_unknown_fields_are_ignored(value: dict[str, Any]) -> None:
    assert parse(encode({**value, "zz": [1, {"deep": True}]})) == parse(encode(value))


def test_oversized_and_mistyped_reports() -> None:
    assert parse("A" * (MAX_REPORT + 1)) is None
    assert parse("é") is None
    core = {"v": 1, "ua": "Mozilla/5.0", "wd": False, "sc": True}
    plain = parse(encode(core))
    assert plain is not None
    assert plain.webdriver is False
    assert parse(encode({**core, "hc": True})) == plain
    assert parse(encode({**core, "hc": -1})) == plain
    assert parse(encode({**core, "b": [["x", "1"]] * 13})) == plain
    assert parse(encode({**core, "b": [["x"]]})) == plain
    assert parse(encode({**core, "o": [1, "2"]})) == plain
    assert parse(encode({**core, "w": {}})) == plain  # a worker without a navigator: none
    # A report without what every page script sends is no report (it scores as a missing one).
    assert parse(encode({**core, "wd": "true"})) == dataclasses.replace(plain, webdriver=None)
    for broken in ({"sc": None}, {"ua": "x" * (MAX_UA + 1)}, {"ua": 7}):
        assert parse(encode({**core, **broken})) is None
    assert parse(encode({"v": 1, "w": {}})) is None
    nested = "[" * 5000 + "]" * 5000
    raw = base64.urlsafe_b64encode(b'{"v":1,"w":' + nested.encode() + b"}").decode()
    assert parse(raw) is None  # too long to read, let alone recurse into


SHIELD = make(
    issue_rate="1000000/minute", issue_burst=10**6, redeem_rate="1000000/minute", redeem_burst=10**6
)


@given(st.text(max_size=200))
def test_the_verify_endpoint_never_fails_on_a_hostile_report(raw: str) -> None:
    f: Facts = facts(ua="Mozilla/5.0 (test)")
    token, count, bits = challenge_of(SHIELD, f)
    query = f"c={token}&s={answer(token, count, bits)}&t={quote(raw, safe='')}"
    verdict = SHIELD.decide(facts(f"{BASE_PATH}verify?{query}")).verdict
    # a bad report is a missing one: marked (weight 6), never refused, never an exception
    assert verdict.action is Action.ALLOW
    assert verdict.weight in (0.0, 6.0) or verdict.detail["tells"]["reported"]

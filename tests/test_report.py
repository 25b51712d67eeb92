"""Reporters: every decision (shadow too) reaches them, records are safe, metrics parse."""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from shieldware import Action, Facts, IPList, MemoryStore, Reason, Shield, Verdict
from shieldware.asgi import ShieldMiddleware
from shieldware.layer import Progress, shadowed
from shieldware.report import (
    DecisionJSONFormatter,
    LoggingReporter,
    OpenTelemetryReporter,
    PrometheusReporter,
    challenge_outcome,
    challenge_outcomes,
    client_key,
    solve_seconds,
)
from shieldware.verdict import Decision

from .servers import run_asgi


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[Decision, Facts]] = []

    def report(self, decision: Decision, facts: Facts) -> None:
        self.seen.append((decision, facts))


class Fixed:
    """A layer answering a fixed verdict."""

    def __init__(self, name: str, verdict: Verdict) -> None:
        self.name = name
        self.verdict = verdict

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        return self.verdict


def facts(ip: str = "203.0.113.7", **kw: Any) -> Facts:
    return Facts(method="GET", path="/x", client_ip=ipaddress.ip_address(ip), **kw)


def deny_shield(mode: str = "enforce", **kw: Any) -> Shield:
    return Shield([IPList(deny=["203.0.113.0/24"])], mode=mode, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["enforce", "shadow"])
def test_reporters_receive_every_decision_through_a_real_server(mode: str) -> None:
    rec = Recorder()
    shield = Shield(
        [IPList(deny=["10.9.9.9"])], mode=mode, reporters=[rec], trusted_proxies=["127.0.0.1"]
    )  # type: ignore[arg-type]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    with run_asgi(ShieldMiddleware(app, shield=shield)) as base:
        codes = [
            httpx.get(base + "/a", headers={"x-forwarded-for": ip}).status_code
            for ip in ("10.9.9.9", "10.1.1.1", "10.9.9.9")
        ]
    assert len(rec.seen) == 3
    actions = [d.action for d, _ in rec.seen]
    assert actions == [Action.DENY, Action.ALLOW, Action.DENY]
    assert all(d.enforced is (mode == "enforce") for d, _ in rec.seen)
    assert codes == ([403, 200, 403] if mode == "enforce" else [200, 200, 200])


def test_shadowed_layer_verdicts_reach_reporters() -> None:
    rec = Recorder()
    layer = Fixed("deny-all", Verdict(Action.DENY, "test/deny", "nope"))
    shield = Shield([shadowed(layer)], reporters=[rec])  # type: ignore[list-item]
    d = shield.decide(facts())
    assert d.action is Action.ALLOW
    assert rec.seen[0][0].trail[0].shadow


def test_logging_reporter_record_is_safe_and_structured(caplog: pytest.LogCaptureFixture) -> None:
    reporter = LoggingReporter(salt=b"s" * 16)
    shield = deny_shield(reporters=[reporter])
    secret_cookie = "session=SUPERSECRETCOOKIE"
    f = facts(headers=(("cookie", secret_cookie),), query="token=SECRETTOKEN")
    with caplog.at_level(logging.DEBUG, logger="shieldware.decision"):
        shield.decide(f)
    [rec] = caplog.records
    fields = rec.shieldware  # type: ignore[attr-defined]
    assert fields["action"] == "deny"
    assert fields["rule"].startswith("ip")
    assert fields["reason"] == Reason.IP_DENIED
    assert fields["enforced"] is True
    assert fields["degraded"] is False
    assert fields["client"] == client_key(f, b"s" * 16)
    assert "203.0.113" not in rec.getMessage()
    text = rec.getMessage() + json.dumps(fields)
    assert "SUPERSECRET" not in text
    assert "SECRETTOKEN" not in text
    assert rec.levelno == logging.INFO


FORGED = "/x%0Aallow GET /admin by forged (no) score=0 client=-"


def test_a_percent_encoded_newline_cannot_forge_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Attack: the readable line wrote the decoded path raw, so ``%0A`` wrote a second line."""
    reporters = [LoggingReporter(), LoggingReporter(json=True)]
    shield = Shield([IPList(deny=["127.0.0.1"])], reporters=reporters)

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - denied
        raise AssertionError("denied requests never reach the app")

    with (
        caplog.at_level(logging.DEBUG, logger="shieldware.decision"),
        run_asgi(ShieldMiddleware(app, shield=shield)) as base,
    ):
        assert httpx.get(base + FORGED).status_code == 403
    line, blob = (r.getMessage() for r in caplog.records)
    assert "\n" not in line
    assert "\n" not in blob
    assert "/x\\x0aallow GET /admin" in line
    assert json.loads(blob)["path"] == "/x\nallow GET /admin by forged (no) score=0 client=-"


@pytest.mark.parametrize(
    "path",
    [
        "/a\rb",
        "/a\x85b",
        "/a\u2028b",
        "/a\u2029b",
        "/a\x1b[31mred",
        "/a\u202eb",
        "/a\udcffb",
        "/a\\x0ab",
    ],
)
def test_every_text_reporter_writes_one_line(path: str, caplog: pytest.LogCaptureFixture) -> None:
    reporters = [LoggingReporter(), LoggingReporter(json=True)]
    with caplog.at_level(logging.DEBUG, logger="shieldware.decision"):
        deny_shield(reporters=reporters).decide(facts().with_(path=path))
    formatter = DecisionJSONFormatter()
    for record in caplog.records:
        for text in (record.getMessage(), formatter.format(record)):
            assert len(text.splitlines()) == 1, text
            assert text.isprintable(), text
            text.encode("utf-8")  # a lone surrogate would not reach a UTF-8 log file
    line = caplog.records[0].getMessage()
    assert path not in line  # escaped, and the escape of a backslash cannot be forged
    assert json.loads(caplog.records[1].getMessage())["path"] == path


def test_logging_reporter_json_and_sampling(caplog: pytest.LogCaptureFixture) -> None:
    values = iter([0.5, 0.05, 0.9])
    reporter = LoggingReporter(json=True, allowed_sample=0.1, rng=lambda: next(values))
    shield = Shield([], reporters=[reporter])
    with caplog.at_level(logging.DEBUG, logger="shieldware.decision"):
        for _ in range(3):
            shield.decide(facts())
    assert len(caplog.records) == 1  # only the 0.05 draw is below 0.1
    assert json.loads(caplog.records[0].getMessage())["action"] == "allow"


def test_logging_reporter_skips_work_when_disabled(caplog: pytest.LogCaptureFixture) -> None:
    reporter = LoggingReporter(rng=lambda: pytest.fail("sampled while disabled"))  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="shieldware.decision"):
        Shield([], reporters=[reporter]).decide(facts())
    assert caplog.records == []


def test_json_formatter_merges_fields() -> None:
    reporter = LoggingReporter()
    record = logging.LogRecord("shieldware.decision", logging.INFO, __file__, 1, "x", (), None)
    d = deny_shield().decide(facts())
    record.shieldware = {"action": d.action.value, "rule": d.verdict.rule}
    out = json.loads(DecisionJSONFormatter().format(record))
    assert out["action"] == "deny"
    assert out["level"] == "INFO"
    assert repr(reporter).startswith("LoggingReporter")


def test_client_key_groups_ipv6_per_64_and_hides_address() -> None:
    a = client_key(facts("2001:db8:1:2::1"), b"k")
    b = client_key(facts("2001:db8:1:2:ffff::9"), b"k")
    c = client_key(facts("2001:db8:1:3::1"), b"k")
    assert a == b != c
    assert client_key(Facts(method="GET", path="/")) == "-"
    assert client_key(facts(), b"one") != client_key(facts(), b"two")


CASES = [
    (Verdict(Action.CHALLENGE, "pow/login", "pow-required"), "issued"),
    (Verdict(Action.CHALLENGE, "threshold/challenge", "score-threshold"), "issued"),
    (Verdict(Action.ALLOW, "pow/verify", "pow-solved", detail={"solve_seconds": 1.5}), "solved"),
    (Verdict(Action.ALLOW, "pow/verify", "solved", detail={"solve_ms": 812.5}), "solved"),
    (Verdict(Action.PASS, "pow", "cleared"), None),
    (Verdict(Action.CHALLENGE, "pow/challenge/clearance-expired", "clearance-expired"), "issued"),
    (Verdict(Action.DENY, "pow/verify", "pow-expired"), "failed"),
    (Verdict(Action.DENY, "challenge/verify", "challenge-replayed"), "failed"),
    (Verdict(Action.DENY, "pow/verify", "pow-invalid-solution"), "failed"),
    (Verdict(Action.DENY, "ip/deny", "ip-deny-listed"), None),
    (Verdict(Action.PASS, "ratelimit/ip", "bad-thing"), None),
]


@pytest.mark.parametrize(("verdict", "expected"), CASES, ids=[c[0].reason for c in CASES])
def test_challenge_outcome(verdict: Verdict, expected: str | None) -> None:
    assert challenge_outcome(verdict) == expected


def test_a_fresh_challenge_after_a_wrong_answer_is_issued_and_failed() -> None:
    v = Verdict(
        Action.CHALLENGE, "pow/challenge/answer-pow-wrong-answer", "answer-pow-wrong-answer"
    )
    assert challenge_outcomes(v) == ("issued", "failed")
    assert solve_seconds(Verdict(Action.ALLOW, "pow", "solved", detail={"solve_ms": 1500})) == 1.5
    assert solve_seconds(Verdict(Action.ALLOW, "pow", "solved", detail={"solve_ms": "x"})) is None
    assert solve_seconds(Verdict(Action.ALLOW, "pow", "solved", detail={"solve_ms": -1})) is None


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_prometheus_text_parses_and_counts() -> None:
    store = MemoryStore()
    prom = PrometheusReporter(store=store)
    solved = Verdict(Action.ALLOW, "pow/verify", "pow-solved", detail={"solve_seconds": 0.7})
    layers = [
        Fixed("solve", solved),
    ]
    Shield(layers, reporters=[prom]).decide(facts())  # type: ignore[arg-type]
    Shield(
        [Fixed("c", Verdict(Action.CHALLENGE, "pow/login", "pow-required"))], reporters=[prom]
    ).decide(facts())  # type: ignore[list-item]
    Shield(
        [Fixed("e", Verdict(Action.DENY, "pow/verify", "pow-expired"))],
        reporters=[prom],
        mode="shadow",
    ).decide(facts())  # type: ignore[list-item]
    Shield(
        [Fixed("s", Verdict(Action.PASS, "rl", Reason.STORE_FAILED_OPEN, degraded=True))],
        reporters=[prom],
    ).decide(facts())  # type: ignore[list-item]
    fams = _families(prom.exposition().decode())
    decisions: dict[tuple[str, str], float] = {}
    for s in fams["shieldware_decisions"].samples:
        if s.name.endswith("_total"):
            key = (s.labels["action"], s.labels["enforced"])
            decisions[key] = decisions.get(key, 0) + s.value
    assert decisions == {
        ("allow", "true"): 2,
        ("challenge", "true"): 1,
        ("deny", "false"): 1,
    }
    challenges = {
        s.labels["outcome"]: s.value
        for s in fams["shieldware_challenges"].samples
        if s.name.endswith("_total")
    }
    assert challenges == {"issued": 1, "solved": 1, "failed": 1}
    hist = {s.name: s.value for s in fams["shieldware_challenge_solve_seconds"].samples}
    assert hist["shieldware_challenge_solve_seconds_count"] == 1
    assert hist["shieldware_challenge_solve_seconds_sum"] == pytest.approx(0.7)
    errors = [s for s in fams["shieldware_storage_errors"].samples if s.name.endswith("_total")]
    assert [(s.labels["rule"], s.value) for s in errors] == [("rl", 1)]
    degraded = fams["shieldware_degraded_decisions"].samples
    assert next(s.value for s in degraded if s.name.endswith("_total")) == 1
    assert fams["shieldware_store_entries"].samples[0].value == 0


@settings(deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=120))
def test_prometheus_label_values_stay_bounded(names: list[str]) -> None:
    prom = PrometheusReporter(max_label_values=5)
    for name in names:
        d = Decision(Verdict(Action.DENY, name, name + "-r"), trail=(), score=0.0)
        prom.report(d, facts())
    fams = _families(prom.exposition().decode())
    samples = [s for s in fams["shieldware_decisions"].samples if s.name.endswith("_total")]
    assert len({s.labels["rule"] for s in samples}) <= 6
    assert len({s.labels["reason"] for s in samples}) <= 6
    assert sum(s.value for s in samples) == len(names)


def test_two_prometheus_reporters_do_not_collide() -> None:
    a, b = PrometheusReporter(), PrometheusReporter()
    a.report(Decision(), facts())
    assert b"decisions_total" in a.exposition()
    assert a.registry is not b.registry
    assert callable(a.asgi_app())


def test_opentelemetry_reporter_is_safe_without_a_span() -> None:
    reporter = OpenTelemetryReporter()
    reporter.report(Decision(), facts())  # no error whether or not opentelemetry is installed


class FakeSpan:
    def __init__(self, recording: bool) -> None:
        self.recording = recording
        self.attributes: dict[str, Any] = {}

    def is_recording(self) -> bool:
        return self.recording

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        self.attributes.update(attributes)


@pytest.mark.parametrize("recording", [True, False])
def test_opentelemetry_reporter_sets_span_attributes(
    monkeypatch: pytest.MonkeyPatch, recording: bool
) -> None:
    import sys
    import types

    span = FakeSpan(recording)
    trace = types.ModuleType("opentelemetry.trace")
    trace.get_current_span = lambda: span  # type: ignore[attr-defined]
    package = types.ModuleType("opentelemetry")
    package.trace = trace  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "opentelemetry", package)
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", trace)
    reporter = OpenTelemetryReporter()
    assert reporter.available
    deny_shield(reporters=[reporter]).decide(facts())
    if recording:
        assert span.attributes["shieldware.action"] == "deny"
        assert span.attributes["shieldware.rule"] == "iplist/deny"
        assert span.attributes["shieldware.enforced"] is True
    else:
        assert span.attributes == {}

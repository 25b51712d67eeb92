"""`shieldware explain`, `drill` and `solve` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldware import IPList, Shield
from shieldware.cli import main
from shieldware.demo import build_demo_app
from shieldware.explain import parse_curl, scope_for
from tests.conftest import SECRET

from .servers import run_asgi

#: A policy for `--policy tests.test_cli_observe:POLICY`.
POLICY = Shield([IPList(deny=["203.0.113.0/24"])], trusted_proxies=["10.0.0.1"])


def make_policy() -> Shield:
    return POLICY


def test_parse_curl_line() -> None:
    spec = parse_curl(
        "curl -s -X put -H 'Accept: application/json' -A 'bot/1' -b 'sid=1' "
        "--max-time 3 'https://example.com:8443/a/b?q=1'"
    )
    assert spec.method == "PUT"
    assert spec.url == "https://example.com:8443/a/b?q=1"
    assert ("accept", "application/json") in spec.headers
    assert ("user-agent", "bot/1") in spec.headers
    assert ("cookie", "sid=1") in spec.headers
    assert parse_curl(["curl", "--data=a=b", "http://x/login"]).method == "POST"
    assert parse_curl("curl -G -d a=b http://x/").method == "GET"
    assert parse_curl("curl -I http://x/").method == "HEAD"
    scope = scope_for(parse_curl("curl 'https://example.com:8443/a?q=1'"))
    assert scope["scheme"] == "https"
    assert scope["path"] == "/a"
    assert scope["query_string"] == b"q=1"
    assert (b"host", b"example.com:8443") in scope["headers"]


@pytest.mark.parametrize("line", ["curl -H", "curl -s", "curl -H 'no colon' http://x/"])
def test_parse_curl_rejects_bad_lines(line: str) -> None:
    from shieldware import ConfigurationError

    with pytest.raises(ConfigurationError):
        parse_curl(line)


def test_explain_curl_with_a_policy(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "explain",
            "--policy",
            "tests.test_cli_observe:POLICY",
            "--client",
            "10.0.0.1",
            "curl",
            "-H",
            "X-Forwarded-For: 203.0.113.5",
            "--data",
            "user=a",
            "http://localhost/login",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "request: POST http://localhost/login" in out
    assert "client:  203.0.113.5" in out
    assert "deny by iplist/deny (ip-deny-listed)" in out
    assert "answers 403" in out


def test_explain_url_and_headers_with_a_factory(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "explain",
            "--policy",
            "tests.test_cli_observe:make_policy",
            "-H",
            "User-Agent: curl/8",
            "http://localhost/api?x=1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "allow by default/allow" in out
    assert "the app is called" in out


def test_explain_default_chain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "-v", "--curl", "curl -A curl/8 http://localhost/"]) == 0
    out = capsys.readouterr().out
    assert "request: GET http://localhost/" in out
    assert main(["explain", "-v", "-A", "python-requests/2", "-b", "a=1", "http://x/"]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["explain", "--policy", "nope", "http://x/"],
        ["explain", "--policy", "tests.nonexistent_mod:X", "http://x/"],
        ["explain", "--policy", "tests.test_cli_observe:NOTHING", "http://x/"],
        ["explain", "--policy", "json:dumps", "http://x/"],
        ["explain", "-H", "broken", "http://x/"],
    ],
)
def test_explain_bad_input_is_a_clean_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert "shieldware explain:" in capsys.readouterr().err


def test_drill_cli_refuses_remote(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drill", "http://192.0.2.1/", "--duration", "1"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_drill_cli_saves_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = build_demo_app(Shield([IPList()], trusted_proxies=["127.0.0.1"]))
    out = tmp_path / "drill.json"
    with run_asgi(app) as base:
        code = main(
            ["drill", base, "--duration", "1", "--bots", "4", "--users", "1", "--output", str(out)]
        )
    assert code == 0
    report = json.loads(out.read_text())
    assert report["requests"] > 0
    assert (tmp_path / "drill.txt").read_text().startswith("shieldware drill against")
    assert "report saved to" in capsys.readouterr().out


def test_solve_without_a_client_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shieldware.drill

    # An install without httpx has no client module: stand that in rather than skipping.
    monkeypatch.setattr(shieldware.drill, "pow_solver", lambda: None)
    assert main(["solve", "http://127.0.0.1:1/"]) == 2
    err = capsys.readouterr().err
    assert "shieldware.client" in err
    assert "shieldware[client]" in err


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["-X", "-H", "-A", "-b", "-d", "--data=x", "-G", "-I", "--url", "-s"]),
            st.text(max_size=30),
        ),
        max_size=8,
    )
)
def test_parse_curl_never_crashes(words: list[str]) -> None:
    from shieldware import ConfigurationError

    try:
        spec = parse_curl(["curl", *words])
    except ConfigurationError:
        return
    scope = scope_for(spec)  # whatever parsed also becomes a scope the shield can read
    POLICY.decide(POLICY.facts_from_scope(scope))


def test_solve_pays_the_proof_of_work(capsys: pytest.CaptureFixture[str]) -> None:
    import shieldware.layers
    from shieldware.drill import pow_solver
    from shieldware.match import path

    pow_layer = getattr(shieldware.layers, "ProofOfWork", None)
    if pow_layer is None or not hasattr(pow_solver(), "PowAuth"):
        pytest.skip("needs shieldware.layers.ProofOfWork and shieldware.client.PowAuth")
    shield = Shield([pow_layer(SECRET, match=path("/login"), count=1, bits=6)])
    with run_asgi(build_demo_app(shield)) as base:
        assert main(["solve", base + "/login"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"200 {base}/login after ")
    assert "(1 challenge(s) solved)" in out
    assert "clearance: " in out

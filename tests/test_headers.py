"""RateLimit headers: parsed back with a tiny Structured Field List parser (RFC 9651 subset)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldware import ConfigurationError
from shieldware.headers import LimitPolicy, Usage, check_style, format_headers, sf_string

Item = tuple[str, dict[str, object]]


def parse_sf_list(text: str) -> list[Item]:
    """Items whose value is a String, with Integer or String parameters. Strict: raises on junk."""
    items: list[Item] = []
    i, n = 0, len(text)

    def string() -> str:
        nonlocal i
        assert text[i] == '"', text[i:]
        i += 1
        out = []
        while True:
            c = text[i]
            if c == "\\":
                assert text[i + 1] in '"\\'
                out.append(text[i + 1])
                i += 2
            elif c == '"':
                i += 1
                return "".join(out)
            else:
                assert " " <= c <= "~"
                out.append(c)
                i += 1

    while i < n:
        value = string()
        params: dict[str, object] = {}
        while i < n and text[i] == ";":
            i += 1
            start = i
            while i < n and (text[i].islower() or text[i] in "-_*." or text[i].isdigit()):
                i += 1
            name = text[start:i]
            assert name
            assert name[0].islower()
            assert text[i] == "="
            i += 1
            if text[i] == '"':
                params[name] = string()
            else:
                start = i
                while i < n and text[i].isdigit():
                    i += 1
                assert i > start, "integer expected"
                params[name] = int(text[start:i])
        items.append((value, params))
        if i < n:
            assert text[i : i + 2] == ", ", text[i:]
            i += 2
    return items


def header_map(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return dict(headers)


def test_draft10_fields() -> None:
    policy = LimitPolicy("api", 100, 60, burst=20)
    out = header_map(format_headers("draft-10", [Usage(policy, 19, 0.6)]))
    assert parse_sf_list(out["ratelimit-policy"]) == [("api", {"q": 100, "w": 60, "sw-burst": 20})]
    assert parse_sf_list(out["ratelimit"]) == [("api", {"r": 19, "t": 1})]
    assert "x-ratelimit-limit" not in out


def test_full_bucket_has_no_t_and_concurrency_has_a_unit() -> None:
    cc = LimitPolicy("streams", 3, None, unit="concurrent-requests")
    out = header_map(format_headers("draft-10", [Usage(cc, 3, None)]))
    assert parse_sf_list(out["ratelimit-policy"]) == [
        ("streams", {"q": 3, "qu": "concurrent-requests"})
    ]
    assert parse_sf_list(out["ratelimit"]) == [("streams", {"r": 3})]


def test_legacy_reports_the_most_constrained_policy() -> None:
    usages = [Usage(LimitPolicy("a", 100, 60), 50, 1), Usage(LimitPolicy("b", 10, 3600), 2, 1800.2)]
    out = header_map(format_headers("legacy", usages))
    assert out == {
        "x-ratelimit-limit": "10",
        "x-ratelimit-remaining": "2",
        "x-ratelimit-reset": "1801",
    }
    both = header_map(format_headers("both", usages))
    assert {"ratelimit", "ratelimit-policy", "x-ratelimit-limit"} <= set(both)
    assert format_headers("none", usages) == ()
    with pytest.raises(ConfigurationError):
        check_style("draft-11")


@given(
    st.lists(
        st.tuples(
            st.text(max_size=30),
            st.integers(0, 10**9),
            st.floats(0.001, 10**7),
            st.integers(0, 10**6),
            st.one_of(st.none(), st.floats(0, 10**7)),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_headers_always_parse_back(rows: list[tuple[str, int, float, int, float | None]]) -> None:
    usages = [Usage(LimitPolicy(name, q, w), r, t) for name, q, w, r, t in rows]
    out = header_map(format_headers("draft-10", usages))
    policies = parse_sf_list(out["ratelimit-policy"])
    states = parse_sf_list(out["ratelimit"])
    assert len(policies) == len(states) == len(rows)
    for (name, q, w, r, t), (pname, pp), (sname, sp) in zip(rows, policies, states, strict=True):
        assert pname == sname == "".join(c if " " <= c <= "~" else "?" for c in name)
        assert pp["q"] == q
        assert isinstance(pp["w"], int)
        assert pp["w"] >= max(1, w) - 1e-9
        assert sp["r"] == r
        if t is None or t <= 0:
            assert "t" not in sp
        else:
            assert isinstance(sp["t"], int)
            assert sp["t"] >= t


def test_sf_string_escapes() -> None:
    assert sf_string('a"b\\c\n') == '"a\\"b\\\\c?"'

"""Parsers the signals rely on: Sec-CH-UA brand lists and our header fingerprint."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldware.fingerprint import header_fingerprint, parse_brands

from .helpers import BRANDS, CHROME_NAV, CURL, facts


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (BRANDS, (("Google Chrome", "131"), ("Chromium", "131"), ("Not_A Brand", "24"))),
        ('"Not:A-Brand";v="8", "Chromium";v="156"', (("Not:A-Brand", "8"), ("Chromium", "156"))),
        ('"Not)A;Brand";v="99"', (("Not)A;Brand", "99"),)),  # GREASE punctuation
        ('"A";v="1",', None),
        ("Chromium", None),
        ("", None),
        ('"x";v="1"' + ', "y";v="2"' * 20, None),
    ],
)
def test_parse_brands(value: str, expected) -> None:
    assert parse_brands(value) == expected


@given(st.text(max_size=400))
def test_parse_brands_never_raises(value: str) -> None:
    result = parse_brands(value)
    assert result is None or all(isinstance(b, tuple) for b in result)


def test_hfp_depends_on_names_and_order_not_values() -> None:
    a = header_fingerprint(facts(CHROME_NAV))
    b = header_fingerprint(facts([(k, v + "x") for k, v in CHROME_NAV]))
    c = header_fingerprint(facts(list(reversed(CHROME_NAV))))
    assert a == b != c
    assert a.startswith("hfp1_onn_")
    assert len(a) == len("hfp1_onn_") + 12


def test_hfp_ignores_proxy_headers_and_sorts_under_wsgi() -> None:
    base = header_fingerprint(facts(CURL))
    proxied = header_fingerprint(facts([*CURL, ("x-forwarded-for", "1.2.3.4"), ("cf-ray", "x")]))
    assert base == proxied
    wsgi1 = header_fingerprint(facts(CURL, order_known=False))
    wsgi2 = header_fingerprint(facts(list(reversed(CURL)), order_known=False))
    assert wsgi1 == wsgi2
    assert wsgi1.startswith("hfp1_s")


def test_hfp_flags_cookie_and_referer() -> None:
    with_cookie = header_fingerprint(facts([*CURL, ("cookie", "a=1"), ("referer", "https://x/")]))
    assert "_ocr_" in with_cookie


@given(st.lists(st.tuples(st.text(max_size=20), st.text(max_size=40)), max_size=30))
def test_hfp_never_raises(headers) -> None:
    assert header_fingerprint(facts(headers)).startswith("hfp1_")

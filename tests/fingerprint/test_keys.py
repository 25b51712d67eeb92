"""Per-fingerprint keys: one client stack is one key across addresses."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shieldware.fingerprint import by_fingerprint, fingerprint_key

from .helpers import CHROME_NAV, CURL, FIREFOX_NAV, facts, replace


def test_same_stack_same_key_across_ips_and_minor_versions() -> None:
    a = by_fingerprint(facts(CURL, ip="203.0.113.1"))
    b = by_fingerprint(facts(CURL, ip="198.51.100.99"))
    assert a == b
    assert a.startswith("fp1:")
    rotated = replace(CHROME_NAV, user_agent=CHROME_NAV[6][1].replace("131.0.0.0", "131.0.6778.86"))
    assert by_fingerprint(facts(CHROME_NAV)) == by_fingerprint(facts(rotated))


def test_different_stacks_differ() -> None:
    keys = {by_fingerprint(facts(h)) for h in (CURL, CHROME_NAV, FIREFOX_NAV)}
    assert len(keys) == 3
    assert by_fingerprint(facts(replace(CURL, user_agent="curl/7.0"))) != by_fingerprint(
        facts(CURL)
    )


def test_wsgi_keys_ignore_order_and_proxies_are_ignored() -> None:
    a = by_fingerprint(facts(CURL, order_known=False))
    b = by_fingerprint(facts(list(reversed(CURL)), order_known=False))
    assert a == b
    assert by_fingerprint(facts([*CURL, ("x-forwarded-for", "1.1.1.1")])) == by_fingerprint(
        facts(CURL)
    )


def test_ja4_joins_the_key_when_named() -> None:
    one = facts([*CURL, ("x-ja4", "t13d1516h2_a_b")])
    two = facts([*CURL, ("x-ja4", "t13d0909h1_c_d")])
    assert fingerprint_key(one) == fingerprint_key(two)
    assert fingerprint_key(one, ja4_header="x-ja4") != fingerprint_key(two, ja4_header="x-ja4")


@given(st.lists(st.tuples(st.text(max_size=20), st.text(max_size=40)), max_size=20))
def test_key_never_raises_and_is_short(headers) -> None:
    key = by_fingerprint(facts(headers))
    assert len(key) == len("fp1:") + 24

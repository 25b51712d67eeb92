"""Signals, one table: which fire for which head, and which are skipped by preconditions."""

from __future__ import annotations

import pytest

from shieldware.layers import Fingerprint

from .helpers import (
    BRANDS,
    CHROME_NAV,
    CHROME_UA,
    CURL,
    FIREFOX_NAV,
    FIREFOX_UA,
    SAFARI_UA,
    facts,
    replace,
)

FP = Fingerprint(verifier=False)


def fired(headers, **kw) -> set[str]:
    return {name for name, *_ in FP.score(facts(headers, **kw)).fired}


@pytest.mark.parametrize(
    ("headers", "kw", "expected"),
    [
        pytest.param(CHROME_NAV, {}, {"upgrade-insecure-requests"}, id="chrome-clean"),
        pytest.param(FIREFOX_NAV, {}, {"upgrade-insecure-requests"}, id="firefox-clean"),
        pytest.param(CURL, {}, {"ua-library"}, id="curl-honest"),
        pytest.param([("host", "x")], {}, {"ua-empty"}, id="no-ua"),
        pytest.param(
            replace(CURL, user_agent=CHROME_UA),
            {},
            {
                "no-accept-language",
                "no-accept-encoding",
                "few-headers",
                "no-fetch-metadata",
                "chrome-no-client-hints",
            },
            id="curl-wearing-chrome",
        ),
        pytest.param(
            replace(CURL, user_agent=CHROME_UA),
            {"scheme": "http"},
            {"no-accept-language", "no-accept-encoding", "few-headers"},
            id="curl-wearing-chrome-on-http",
        ),
        pytest.param(
            replace(CHROME_NAV, sec_ch_ua='"Chromium";v="120", "Not_A Brand";v="24"'),
            {},
            {"client-hints-version-mismatch", "upgrade-insecure-requests"},
            id="ch-version",
        ),
        pytest.param(
            replace(CHROME_NAV, sec_ch_ua='"Google Chrome";v="131", "Chromium";v="131"'),
            {},
            {"client-hints-no-grease", "upgrade-insecure-requests"},
            id="ch-no-grease",
        ),
        pytest.param(
            replace(CHROME_NAV, sec_ch_ua_platform='"macOS"'),
            {},
            {"client-hints-platform-mismatch", "upgrade-insecure-requests"},
            id="ch-platform",
        ),
        pytest.param(
            replace(CHROME_NAV, sec_ch_ua="garbage"),
            {},
            {"client-hints-invalid", "upgrade-insecure-requests"},
            id="ch-invalid",
        ),
        pytest.param(
            [*FIREFOX_NAV, ("sec-ch-ua", BRANDS)],
            {},
            {"client-hints-from-gecko-webkit", "upgrade-insecure-requests"},
            id="firefox-with-ch",
        ),
        pytest.param(
            replace(CHROME_NAV, sec_fetch_site=None, sec_fetch_dest=None, sec_fetch_user=None),
            {},
            {"fetch-metadata-inconsistent", "upgrade-insecure-requests"},
            id="lone-fetch-mode",
        ),
        pytest.param(
            replace(CHROME_NAV, accept_encoding="gzip, deflate"),
            {},
            {"no-brotli-on-https", "upgrade-insecure-requests"},
            id="no-brotli",
        ),
        pytest.param(
            [
                ("host", "x"),
                ("accept-encoding", "gzip, br"),
                ("accept-language", "en"),
                ("accept", "*/*"),
                ("user-agent", FIREFOX_UA),
                ("sec-fetch-mode", "cors"),
                ("sec-fetch-site", "same-origin"),
                ("sec-fetch-dest", "empty"),
            ],
            {},
            {"header-order-mismatch"},
            id="firefox-order",
        ),
        pytest.param(
            [
                ("host", "x"),
                ("user-agent", CHROME_UA.replace("Chrome/", "HeadlessChrome/")),
                *CHROME_NAV[2:6],
                *CHROME_NAV[7:],
            ],
            {},
            {"ua-automation"},
            id="headless",
        ),
        pytest.param(
            [
                ("host", "x"),
                ("user-agent", SAFARI_UA),
                ("accept", "*/*"),
                ("accept-language", "en"),
                ("accept-encoding", "gzip, deflate, br"),
            ],
            {},
            {"no-fetch-metadata"},
            id="safari-without-fetch-metadata",
        ),
        pytest.param(
            [
                ("host", "x"),
                ("connection", "keep-alive"),
                ("accept", "*/*"),
                ("accept-language", "*"),
                ("sec-fetch-mode", "cors"),
                ("user-agent", "node"),
                ("accept-encoding", "gzip, deflate"),
            ],
            {},
            {"ua-library"},
            id="node-fetch-honest",
        ),
        pytest.param(
            [
                ("host", "x"),
                ("connection", "keep-alive"),
                ("accept", "*/*"),
                ("accept-language", "*"),
                ("sec-fetch-mode", "cors"),
                ("user-agent", CHROME_UA),
                ("accept-encoding", "gzip, deflate"),
            ],
            {},
            {
                "accept-language-any",
                "fetch-metadata-inconsistent",
                "header-order-mismatch",
                "chrome-no-client-hints",
                "no-brotli-on-https",
            },
            id="node-fetch-wearing-chrome",
        ),
    ],
)
def test_signal_table(headers, kw, expected) -> None:
    assert fired(headers, **kw) == expected


def test_order_signals_are_skipped_under_wsgi_and_said_so() -> None:
    bad_order = list(reversed(FIREFOX_NAV))
    assert "header-order-mismatch" in fired(bad_order)
    result = FP.score(facts(bad_order, order_known=False))
    assert "header-order-mismatch" not in {n for n, *_ in result.fired}
    assert ("order", ("header-order-mismatch",)) in result.skipped


def test_sorted_headers_look_like_a_go_proxy_and_are_not_judged() -> None:
    assert "header-order-mismatch" not in fired(sorted(FIREFOX_NAV))


def test_missing_header_group_is_capped_once() -> None:
    result = FP.score(facts(replace(CURL, user_agent=CHROME_UA, accept=None)))
    assert ("missing-headers", 5.0, 3.0) in result.capped

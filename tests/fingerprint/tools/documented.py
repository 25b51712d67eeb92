# ruff: noqa: E501 - user-agent strings are long data
"""Write tests/fingerprint/corpus/documented.jsonl: heads we cannot capture here, from documentation.

Browsers other than Chromium are not installable on this machine, and crawlers do not visit
loopback, so these heads are written by hand. Each row's ``provenance`` says where its user agent
and header set come from: vendors' UA pages (Mozilla, Apple, Google, Microsoft, OpenAI,
Anthropic...), MDN's pages on Accept defaults, fetch metadata and client hints, and the research
note (shared/research/fingerprint.md section 1.5) for library defaults. Header *order* follows
the engine's documented HTTP/1.1 order where known; values such as versions are current as of
late 2026. Where a crawler's other headers are not documented we assume a plain set and say so.

Run: ``python tests/fingerprint/tools/documented.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "corpus" / "documented.jsonl"
MDN = "MDN Accept defaults, Sec-Fetch-* and Sec-CH-UA pages"
rows: list[dict[str, Any]] = []

CHROME_NAV_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,"
    "*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
FIREFOX_NAV_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SAFARI_NAV_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SUB = {
    "style": ("/static/site.css", "text/css,*/*;q=0.1", "style", "no-cors"),
    "script": ("/static/app.js", "*/*", "script", "no-cors"),
    "image": (
        "/static/logo.png",
        "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
        "image",
        "no-cors",
    ),
    "fetch": ("/api/items", "*/*", "empty", "cors"),
}


def add(cls: str, client: str, provenance: str, headers: list[tuple[str, str]], **kw: Any) -> None:
    row = {
        "id": f"doc-{len(rows):03d}",
        "class": cls,
        "client": client,
        "provenance": provenance,
        "scheme": kw.get("scheme", "https"),
        "method": kw.get("method", "GET"),
        "path": kw.get("path", "/"),
        "headers": [list(h) for h in headers],
    }
    if "client_ip" in kw:
        row["client_ip"] = kw["client_ip"]
    rows.append(row)


def chromium(
    client: str,
    ua: str,
    brands: str,
    platform: str,
    mobile: str = "?0",
    lang: str = "en-US,en;q=0.9",
    secure: bool = True,
) -> None:
    """A Chromium navigation plus its subresource heads (Chrome's HTTP/1.1 order)."""
    prov = f"documented: Chromium header order as captured here for Chromium 156; {MDN}"
    hints = [("sec-ch-ua", brands), ("sec-ch-ua-mobile", mobile), ("sec-ch-ua-platform", platform)]
    meta = [
        ("Sec-Fetch-Site", "none"),
        ("Sec-Fetch-Mode", "navigate"),
        ("Sec-Fetch-User", "?1"),
        ("Sec-Fetch-Dest", "document"),
    ]
    enc = "gzip, deflate, br, zstd" if secure else "gzip, deflate"
    nav = [
        ("Host", "example.org"),
        ("Connection", "keep-alive"),
        *(hints if secure else []),
        ("Upgrade-Insecure-Requests", "1"),
        ("User-Agent", ua),
        ("Accept", CHROME_NAV_ACCEPT),
        *(meta if secure else []),
        ("Accept-Encoding", enc),
        ("Accept-Language", lang),
    ]
    add("browser", client, prov, nav, scheme="https" if secure else "http")
    for kind, (path, accept, dest, mode) in SUB.items():
        sub = [("Host", "example.org"), ("Connection", "keep-alive")]
        if secure:
            sub += [
                ("sec-ch-ua-platform", platform),
                ("User-Agent", ua),
                ("sec-ch-ua", brands),
                ("sec-ch-ua-mobile", mobile),
                ("Accept", accept),
                ("Sec-Fetch-Site", "same-origin"),
                ("Sec-Fetch-Mode", mode),
                ("Sec-Fetch-Dest", dest),
            ]
        else:
            sub += [("User-Agent", ua), ("Accept", accept)]
        sub += [
            ("Referer", "https://example.org/"),
            ("Accept-Encoding", enc),
            ("Accept-Language", lang),
            ("Cookie", "session=abc; theme=dark"),
        ]
        add(
            "browser",
            f"{client} ({kind})",
            prov,
            sub,
            path=path,
            scheme="https" if secure else "http",
        )


def firefox(
    client: str, ua: str, lang: str = "en-US,en;q=0.5", fetch_metadata: bool = True
) -> None:
    prov = f"documented: Firefox HTTP/1.1 order (research note 3.3 example); {MDN}"
    meta = [
        ("Sec-Fetch-Dest", "document"),
        ("Sec-Fetch-Mode", "navigate"),
        ("Sec-Fetch-Site", "none"),
        ("Sec-Fetch-User", "?1"),
    ]
    nav = [
        ("Host", "example.org"),
        ("User-Agent", ua),
        ("Accept", FIREFOX_NAV_ACCEPT),
        ("Accept-Language", lang),
        ("Accept-Encoding", "gzip, deflate, br, zstd"),
        ("Connection", "keep-alive"),
        ("Upgrade-Insecure-Requests", "1"),
        *(meta if fetch_metadata else []),
        ("Priority", "u=0, i"),
    ]
    add("browser", client, prov, nav)
    for kind, (path, accept, dest, mode) in SUB.items():
        if kind == "image":
            accept = "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
        sub = [
            ("Host", "example.org"),
            ("User-Agent", ua),
            ("Accept", accept),
            ("Accept-Language", lang),
            ("Accept-Encoding", "gzip, deflate, br, zstd"),
            ("Connection", "keep-alive"),
            ("Referer", "https://example.org/"),
            ("Cookie", "session=abc"),
        ]
        if fetch_metadata:
            sub += [
                ("Sec-Fetch-Dest", dest),
                ("Sec-Fetch-Mode", mode),
                ("Sec-Fetch-Site", "same-origin"),
            ]
        add("browser", f"{client} ({kind})", prov, sub, path=path)


def safari(client: str, ua: str, lang: str = "en-GB,en;q=0.9", fetch_metadata: bool = True) -> None:
    prov = f"documented: Safari/WebKit request headers (WebKit fetch metadata since 16.4); {MDN}"
    meta = [
        ("Sec-Fetch-Site", "none"),
        ("Sec-Fetch-Mode", "navigate"),
        ("Sec-Fetch-Dest", "document"),
    ]
    nav = [
        ("Host", "example.org"),
        *(meta[:1] if fetch_metadata else []),
        ("Accept", SAFARI_NAV_ACCEPT),
        *(meta[1:] if fetch_metadata else []),
        ("Accept-Language", lang),
        ("Upgrade-Insecure-Requests", "1"),
        ("User-Agent", ua),
        ("Accept-Encoding", "gzip, deflate, br"),
        ("Connection", "keep-alive"),
        ("Priority", "u=0, i"),
    ]
    add("browser", client, prov, nav)
    for kind, (path, accept, dest, mode) in SUB.items():
        sub = [("Host", "example.org")]
        if fetch_metadata:
            sub += [("Sec-Fetch-Dest", dest)]
        sub += [("User-Agent", ua), ("Accept", accept), ("Referer", "https://example.org/")]
        if fetch_metadata:
            sub += [("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", mode)]
        sub += [
            ("Accept-Language", lang),
            ("Accept-Encoding", "gzip, deflate, br"),
            ("Connection", "keep-alive"),
            ("Cookie", "session=abc"),
        ]
        add("browser", f"{client} ({kind})", prov, sub, path=path)


def tool(cls: str, client: str, prov: str, headers: list[tuple[str, str]], **kw: Any) -> None:
    add(cls, client, prov, [("Host", "example.org"), *headers], **kw)


def main() -> None:
    # -- browsers ----------------------------------------------------------------------------
    g = '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'
    win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
    mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
    chromium("Chrome 131 Windows", win, g, '"Windows"')
    chromium("Chrome 131 macOS", mac, g, '"macOS"', lang="de-DE,de;q=0.9,en;q=0.8")
    chromium(
        "Chrome 131 Android",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        g,
        '"Android"',
        mobile="?1",
    )
    chromium(
        "Chrome 131 Android, desktop-site mode",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        g,
        '"Android"',
    )
    chromium("Chrome 131 Windows over plain HTTP", win, g, '"Windows"', secure=False)
    chromium(
        "Edge 131 Windows",
        win + " Edg/131.0.0.0",
        '"Microsoft Edge";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
        '"Windows"',
    )
    chromium(
        "Brave 1.73 (Chromium 131) Windows",
        win,
        '"Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
        '"Windows"',
    )
    chromium(
        "Opera 115 Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
        '"Chromium";v="130", "Opera";v="115", "Not?A_Brand";v="99"',
        '"Windows"',
    )
    chromium(
        "Samsung Internet 27 Android",
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36",
        '"Chromium";v="125", "Not.A/Brand";v="24", "Samsung Internet";v="27.0"',
        '"Android"',
        mobile="?1",
    )
    chromium(
        "Vivaldi 7 Linux",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        '"Vivaldi";v="7.0", "Chromium";v="131", "Not_A Brand";v="24"',
        '"Linux"',
    )
    chromium(
        "Chrome 131 Chrome OS",
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        g,
        '"Chrome OS"',
    )
    firefox(
        "Firefox 133 Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    )
    firefox(
        "Firefox 133 macOS",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
        lang="fr-FR,fr;q=0.8,en-US;q=0.5,en;q=0.3",
    )
    firefox(
        "Firefox 133 Linux",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    )
    firefox(
        "Firefox 133 Android",
        "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
    )
    firefox(
        "Tor Browser 14 (Firefox ESR 128, privacy)",
        "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0",
    )
    firefox(
        "Firefox 128 ESR resistFingerprinting (privacy)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    )
    firefox(
        "Mullvad Browser 14 (privacy)",
        "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0",
    )
    firefox(
        "Firefox 52 ESR (old; no fetch metadata)",
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:52.0) Gecko/20100101 Firefox/52.0",
        fetch_metadata=False,
    )
    firefox(
        "Pale Moon 33 (Goanna; no fetch metadata)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:102.0) Gecko/20100101 Goanna/6.7 Firefox/102.0 PaleMoon/33.5.0",
        fetch_metadata=False,
    )
    safari(
        "Safari 18 macOS",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    )
    safari(
        "Safari 18 iOS",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    )
    safari(
        "Safari 18 iPadOS",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        lang="ja-JP,ja;q=0.9",
    )
    safari(
        "Safari 15 iOS (old; no fetch metadata)",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 15_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6.6 Mobile/15E148 Safari/604.1",
        fetch_metadata=False,
    )
    safari(
        "Chrome 131 iOS (WebKit)",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    )
    safari(
        "Firefox 133 iOS (WebKit)",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
    )
    safari(
        "DuckDuckGo browser iOS (privacy, WebKit)",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 DuckDuckGo/7 Safari/605.1.15",
    )
    # -- HTTP libraries (research note 1.5 and library docs) ---------------------------------
    lib = "documented: research note 1.5 / the library's default headers"
    tool(
        "library",
        "Go net/http",
        lib,
        [("User-Agent", "Go-http-client/1.1"), ("Accept-Encoding", "gzip")],
    )
    tool(
        "library",
        "okhttp 4.12",
        lib,
        [
            ("Connection", "Keep-Alive"),
            ("Accept-Encoding", "gzip"),
            ("User-Agent", "okhttp/4.12.0"),
        ],
    )
    tool(
        "library",
        "Java HttpClient 21",
        lib,
        [
            ("Connection", "Upgrade, HTTP2-Settings"),
            ("Content-Length", "0"),
            ("HTTP2-Settings", "AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA"),
            ("Upgrade", "h2c"),
            ("User-Agent", "Java-http-client/21.0.5"),
        ],
    )
    tool(
        "library",
        "Apache HttpClient 5",
        lib,
        [
            ("Accept-Encoding", "gzip, x-gzip, deflate"),
            ("Connection", "keep-alive"),
            ("User-Agent", "Apache-HttpClient/5.3 (Java/21.0.5)"),
        ],
    )
    tool(
        "library",
        "axios 1.7 (Node)",
        lib,
        [
            ("Accept", "application/json, text/plain, */*"),
            ("User-Agent", "axios/1.7.7"),
            ("Accept-Encoding", "gzip, compress, deflate, br"),
            ("Connection", "keep-alive"),
        ],
    )
    tool("library", "Guzzle 7 (PHP)", lib, [("User-Agent", "GuzzleHttp/7")])
    tool(
        "library",
        "libwww-perl 6",
        lib,
        [
            ("TE", "deflate,gzip;q=0.3"),
            ("Connection", "TE, close"),
            ("User-Agent", "libwww-perl/6.77"),
        ],
    )
    tool(
        "library",
        "Ruby Net::HTTP",
        lib,
        [
            ("Accept-Encoding", "gzip;q=1.0,deflate;q=0.6,identity;q=0.3"),
            ("Accept", "*/*"),
            ("User-Agent", "Ruby"),
        ],
    )
    tool(
        "library",
        "Scrapy 2.11 default",
        "documented: scrapy/settings/default_settings.py",
        [
            ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            ("Accept-Language", "en"),
            ("User-Agent", "Scrapy/2.11.2 (+https://scrapy.org)"),
            ("Accept-Encoding", "gzip, deflate, br, zstd"),
        ],
    )
    tool(
        "library",
        "PowerShell Invoke-WebRequest",
        lib,
        [
            (
                "User-Agent",
                "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; en-US) PowerShell/7.4.6",
            ),
            ("Accept-Encoding", "gzip, deflate, br"),
        ],
    )
    tool(
        "library",
        "Deno fetch",
        lib,
        [
            ("accept", "*/*"),
            ("accept-language", "*"),
            ("user-agent", "Deno/2.1.4"),
            ("accept-encoding", "gzip,br"),
        ],
    )
    tool(
        "library",
        "HTTPie 3",
        lib,
        [
            ("User-Agent", "HTTPie/3.2.4"),
            ("Accept-Encoding", "gzip, deflate"),
            ("Accept", "*/*"),
            ("Connection", "keep-alive"),
        ],
    )
    tool("library", "reqwest (Rust)", lib, [("accept", "*/*"), ("user-agent", "reqwest/0.12")])
    # -- automation tools ---------------------------------------------------------------------
    auto = "documented: the tool's default user agent"
    head_nav = [
        ("Upgrade-Insecure-Requests", "1"),
        ("Accept", CHROME_NAV_ACCEPT),
        ("Sec-Fetch-Site", "none"),
        ("Sec-Fetch-Mode", "navigate"),
        ("Sec-Fetch-User", "?1"),
        ("Sec-Fetch-Dest", "document"),
        ("Accept-Encoding", "gzip, deflate, br, zstd"),
        ("Accept-Language", "en-US,en;q=0.9"),
    ]
    tool(
        "automation",
        "Puppeteer (old headless mode)",
        auto,
        [
            ("Connection", "keep-alive"),
            ("sec-ch-ua", '"HeadlessChrome";v="119", "Chromium";v="119", "Not?A_Brand";v="24"'),
            ("sec-ch-ua-mobile", "?0"),
            ("sec-ch-ua-platform", '"Linux"'),
            (
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/119.0.0.0 Safari/537.36",
            ),
            *head_nav,
        ],
    )
    tool(
        "automation",
        "Selenium + headless Chrome on Windows",
        auto,
        [
            ("Connection", "keep-alive"),
            ("sec-ch-ua", '"Chromium";v="131", "Not_A Brand";v="24"'),
            ("sec-ch-ua-mobile", "?0"),
            ("sec-ch-ua-platform", '"Windows"'),
            (
                "User-Agent",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
            ),
            *head_nav,
        ],
    )
    tool(
        "automation",
        "PhantomJS 2.1",
        auto,
        [
            (
                "User-Agent",
                "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
            ),
            ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            ("Connection", "Keep-Alive"),
            ("Accept-Encoding", "gzip, deflate"),
            ("Accept-Language", "en-US,*"),
        ],
    )
    tool("automation", "Lightpanda", auto, [("User-Agent", "Lightpanda/1.0"), ("Accept", "*/*")])
    tool(
        "automation",
        "Playwright APIRequestContext",
        auto,
        [
            ("user-agent", "Playwright/1.49.0 (x64; ubuntu 24.04) node/22.11"),
            ("accept", "*/*"),
            ("accept-encoding", "gzip,deflate,br"),
        ],
    )
    tool(
        "automation",
        "Go colly",
        auto,
        [
            ("User-Agent", "colly - https://github.com/gocolly/colly"),
            ("Accept", "*/*"),
            ("Accept-Encoding", "gzip"),
        ],
    )
    tool(
        "automation",
        "requests with a Firefox UA (scraper)",
        "documented: a typical scraper tutorial",
        [
            (
                "User-Agent",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            ),
            ("Accept-Encoding", "gzip, deflate"),
            ("Accept", "*/*"),
            ("Connection", "keep-alive"),
        ],
    )
    tool(
        "automation",
        "aiohttp with a Safari UA (scraper)",
        "documented: a typical scraper tutorial",
        [
            ("Accept", "*/*"),
            ("Accept-Encoding", "gzip, deflate"),
            (
                "User-Agent",
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
            ),
        ],
    )
    tool(
        "automation",
        "Chrome UA with forged client hints, no GREASE",
        "documented: a naive header-forging scraper",
        [
            ("sec-ch-ua", '"Google Chrome";v="131", "Chromium";v="131"'),
            ("sec-ch-ua-mobile", "?0"),
            ("sec-ch-ua-platform", '"Windows"'),
            ("User-Agent", win),
            ("Accept", "*/*"),
            ("Accept-Encoding", "gzip, deflate"),
            ("Accept-Language", "en-US,en;q=0.9"),
        ],
    )
    tool(
        "automation",
        "Chrome UA with mismatched client hints",
        "documented: UA rotated without hints",
        [
            ("sec-ch-ua", '"Google Chrome";v="120", "Chromium";v="120", "Not_A Brand";v="24"'),
            ("sec-ch-ua-mobile", "?0"),
            ("sec-ch-ua-platform", '"macOS"'),
            ("User-Agent", win),
            ("Accept", CHROME_NAV_ACCEPT),
            ("Sec-Fetch-Site", "none"),
            ("Sec-Fetch-Mode", "navigate"),
            ("Sec-Fetch-Dest", "document"),
            ("Accept-Encoding", "gzip, deflate, br, zstd"),
            ("Accept-Language", "en-US,en;q=0.9"),
        ],
    )
    tool(
        "automation",
        "Firefox UA sending client hints",
        "documented: copied Chrome header set",
        [
            (
                "User-Agent",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            ),
            ("sec-ch-ua", g),
            ("Accept", FIREFOX_NAV_ACCEPT),
            ("Accept-Language", "en-US,en;q=0.5"),
            ("Accept-Encoding", "gzip, deflate, br, zstd"),
            ("Sec-Fetch-Dest", "document"),
            ("Sec-Fetch-Mode", "navigate"),
            ("Sec-Fetch-Site", "none"),
        ],
    )
    tool(
        "automation",
        "sqlmap",
        auto,
        [
            ("User-Agent", "sqlmap/1.8.11#stable (https://sqlmap.org)"),
            ("Accept", "*/*"),
            ("Accept-Encoding", "gzip,deflate"),
            ("Connection", "close"),
        ],
        path="/login",
    )
    tool(
        "automation",
        "nuclei",
        auto,
        [
            (
                "User-Agent",
                "Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))",
            ),
            ("Accept-Encoding", "gzip"),
        ],
        path="/.env",
    )
    # Stealth: full browser stacks a passive head check cannot tell apart (reported separately).
    tool(
        "stealth-automation",
        "curl-impersonate chrome131 profile",
        "documented: curl-impersonate's chrome profile headers",
        [
            ("sec-ch-ua", g),
            ("sec-ch-ua-mobile", "?0"),
            ("sec-ch-ua-platform", '"Windows"'),
            ("Upgrade-Insecure-Requests", "1"),
            ("User-Agent", win),
            *head_nav[1:],
        ],
    )
    tool(
        "stealth-automation",
        "Playwright Firefox headless",
        "documented: Playwright's Firefox sends its stock UA",
        [
            (
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
            ),
            ("Accept", FIREFOX_NAV_ACCEPT),
            ("Accept-Language", "en-US,en;q=0.5"),
            ("Accept-Encoding", "gzip, deflate, br, zstd"),
            ("Connection", "keep-alive"),
            ("Upgrade-Insecure-Requests", "1"),
            ("Sec-Fetch-Dest", "document"),
            ("Sec-Fetch-Mode", "navigate"),
            ("Sec-Fetch-Site", "none"),
            ("Sec-Fetch-User", "?1"),
        ],
    )
    # -- AI crawlers and agents (UAs from the operators' pages; other headers assumed) --------
    ai = "documented: UA from the operator's crawler page; other headers assumed"
    plain = [
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Accept-Encoding", "gzip, deflate, br"),
    ]
    for cls, ua, ip in (
        (
            "ai-crawler",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
            "20.171.206.10",
        ),
        (
            "ai-crawler",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
            None,
        ),
        ("ai-crawler", "CCBot/2.0 (https://commoncrawl.org/faq/)", "18.97.9.170"),
        (
            "ai-crawler",
            "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
            None,
        ),
        (
            "ai-crawler",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)",
            "107.20.236.150",
        ),
        (
            "ai-crawler",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot) Chrome/119.0.6045.214 Safari/537.36",
            None,
        ),
        (
            "ai-crawler",
            "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
            None,
        ),
        (
            "ai-crawler",
            "Mozilla/5.0 (compatible; Google-CloudVertexBot; +https://cloud.google.com/enterprise-search)",
            None,
        ),
        ("ai-crawler", "Mozilla/5.0 (compatible; Diffbot/0.1; +http://www.diffbot.com)", None),
        (
            "ai-crawler",
            "Mozilla/5.0 (compatible; AI2Bot/1.0; +https://www.allenai.org/crawler)",
            None,
        ),
        ("ai-crawler", "Mozilla/5.0 (compatible; cohere-training-data-crawler/1.0)", None),
        (
            "ai-crawler",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36; compatible; YouBot (+https://about.you.com/youbot/)",
            None,
        ),
        (
            "ai-user",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot",
            "104.208.184.200",
        ),
        (
            "ai-user",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.3; +https://openai.com/searchbot",
            "51.8.102.20",
        ),
        (
            "ai-user",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Claude-User/1.0; +Claude-User@anthropic.com)",
            None,
        ),
        (
            "ai-user",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Perplexity-User/1.0; +https://perplexity.ai/perplexity-user)",
            "18.97.21.1",
        ),
        (
            "ai-user",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; MistralAI-User/1.0; +https://docs.mistral.ai/robots)",
            None,
        ),
        ("ai-user", "DuckAssistBot/1.2; (+http://duckduckgo.com/duckassistbot.html)", None),
    ):
        kw = {"client_ip": ip} if ip else {}
        tool(
            cls.replace("ai-user", "ai-crawler"),
            ua.split(";")[1].strip() if ";" in ua else ua.split("/")[0],
            ai,
            [("User-Agent", ua), *plain],
            **kw,
        )
    # Spoofed claims: crawler UAs with published ranges, from an address outside them.
    for ua in (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)",
        "CCBot/2.0 (https://commoncrawl.org/faq/)",
    ):
        tool(
            "spoofed-crawler",
            ua.split(";")[1].strip() if ";" in ua else ua.split("/")[0],
            "documented: a scraper borrowing a crawler's UA (address outside its ranges)",
            [("User-Agent", ua), *plain],
            client_ip="198.51.100.23",
        )
    # -- search crawlers, previews and feed readers (must never be collateral) ------------------
    seo = "documented: UA from the operator's crawler page; other headers assumed"
    for ua in (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
        "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    ):
        tool(
            "search-crawler",
            ua.split("(")[0].strip() or ua[:30],
            seo,
            [("User-Agent", ua), ("Accept", "*/*"), ("Accept-Encoding", "gzip, deflate, br")],
            path="/robots.txt" if "Duck" in ua else "/",
        )
    for cls, ua, path in (
        (
            "preview",
            "Mozilla/5.0 (compatible; Slackbot-LinkExpanding 1.0; +https://api.slack.com/robots)",
            "/post/1",
        ),
        (
            "preview",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "/post/1",
        ),
        ("preview", "Twitterbot/1.0", "/post/1"),
        ("preview", "TelegramBot (like TwitterBot)", "/post/1"),
        ("preview", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "/post/1"),
        ("preview", "http.rb/5.2.0 (Mastodon/4.3.2; +https://mastodon.social/) Bot", "/post/1"),
        ("feed", "Miniflux/2.2.3 (https://miniflux.app)", "/feed.xml"),
        (
            "feed",
            "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 120 subscribers; like FeedFetcher-Google)",
            "/feed.xml",
        ),
        (
            "feed",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0",
            "/index.xml",
        ),
        ("feed", "NetNewsWire (RSS Reader; https://netnewswire.com/)", "/atom.xml"),
        ("feed", "curl/8.5.0", "/feed.xml"),
        ("feed", "git/2.43.0", "/.well-known/security.txt"),
    ):
        tool(
            cls,
            ua.split("/")[0][:40],
            seo,
            [("User-Agent", ua), ("Accept", "*/*"), ("Accept-Encoding", "gzip")],
            path=path,
        )
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} heads written to {OUT}")


if __name__ == "__main__":
    main()

"""Shared helpers: build Facts from header lists, a fake resolver, named heads."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from shieldware import Facts

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15"
)
BRANDS = '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"'
CHROME_NAV = [
    ("host", "example.org"),
    ("connection", "keep-alive"),
    ("sec-ch-ua", BRANDS),
    ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", '"Windows"'),
    ("upgrade-insecure-requests", "1"),
    ("user-agent", CHROME_UA),
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("sec-fetch-site", "none"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-user", "?1"),
    ("sec-fetch-dest", "document"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    ("accept-language", "en-US,en;q=0.9"),
]
FIREFOX_NAV = [
    ("host", "example.org"),
    ("user-agent", FIREFOX_UA),
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("accept-language", "en-US,en;q=0.5"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    ("connection", "keep-alive"),
    ("upgrade-insecure-requests", "1"),
    ("sec-fetch-dest", "document"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-site", "none"),
    ("sec-fetch-user", "?1"),
]
CURL = [("host", "example.org"), ("user-agent", "curl/8.5.0"), ("accept", "*/*")]


def facts(
    headers: Sequence[tuple[str, str]],
    *,
    scheme: str = "https",
    path: str = "/",
    method: str = "GET",
    ip: str = "198.51.100.10",
    peer: str | None = None,
    order_known: bool = True,
) -> Facts:
    return Facts(
        method=method,
        path=path,
        headers=tuple((k.lower(), v) for k, v in headers),
        scheme=scheme,
        client_ip=ipaddress.ip_address(ip),
        peer_ip=ipaddress.ip_address(peer or ip),
        header_order_known=order_known,
    )


def replace(headers: Sequence[tuple[str, str]], **values: str | None) -> list[tuple[str, str]]:
    """Headers with some values changed (None drops the header); names use _ for -."""
    changes = {k.replace("_", "-"): v for k, v in values.items()}
    out = []
    for name, value in headers:
        if name in changes:
            new = changes[name]
            if new is not None:
                out.append((name, new))
        else:
            out.append((name, value))
    return out


class FakeResolver:
    """PTR and A records from dicts; counts lookups."""

    def __init__(self, ptr: dict[str, list[str]], a: dict[str, list[str]]) -> None:
        self.ptr, self.a, self.calls = ptr, a, 0

    def reverse(self, address: str) -> Sequence[str]:
        self.calls += 1
        return self.ptr.get(address, [])

    def forward(self, name: str) -> Sequence[str]:
        self.calls += 1
        return self.a.get(name, [])

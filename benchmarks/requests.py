"""The requests every benchmark sends: what a desktop Chrome sends, from seen or never-seen clients.

One header set for every app (bare included), so the ratios compare like with like, and one place
that knows how a *seen* client, a *never-seen* address and a *never-seen* User-Agent are made.
Requests are built before a timed run, never inside it.
"""

from __future__ import annotations

import io
import itertools
import sys
from collections.abc import Iterator
from typing import Any

CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)

#: A top-level navigation from desktop Chrome 124 over plain HTTP, in Chrome's own order.
CHROME_HEADERS: tuple[tuple[str, str], ...] = (
    ("host", "bench.local"),
    ("connection", "keep-alive"),
    ("sec-ch-ua", '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"'),
    ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", '"Linux"'),
    ("upgrade-insecure-requests", "1"),
    ("user-agent", CHROME_UA),
    (
        "accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
        "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
    ),
    ("sec-fetch-site", "none"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-user", "?1"),
    ("sec-fetch-dest", "document"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    ("accept-language", "en-GB,en-US;q=0.9,en;q=0.8"),
    ("priority", "u=0, i"),
)

#: Seen clients: global addresses (asgi-ratelimit refuses others), enough that none meets the
#: default chain's per-IP limit (burst 60) in a run.
SEEN = [f"11.0.{i >> 8}.{i & 255}" for i in range(4096)]

#: The client every reject variant uses; deny lists name it.
REJECTED_CLIENT = "11.9.9.9"

_fresh = itertools.count()
_fresh_ua = itertools.count()


def fresh_addresses() -> Iterator[str]:
    """Addresses no benchmark has sent before in this process: IPv4 and IPv6 /64s alternating."""
    for i in _fresh:
        if i & 1:
            n = i >> 1
            yield f"2a00:{(n >> 32) & 0xFFFF:x}:{(n >> 16) & 0xFFFF:x}:{n & 0xFFFF:x}::1"
        else:
            n = (i >> 1) + 1
            yield f"{20 + (n >> 24)}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def fresh_user_agents() -> Iterator[str]:
    """Chrome 124 User-Agents with a build number no request has carried before."""
    for i in _fresh_ua:
        yield CHROME_UA.replace("124.0.0.0", f"124.0.{6000 + (i >> 8)}.{i & 255}")


def _header_list(ua: str | None = None) -> list[tuple[bytes, bytes]]:
    return [
        (k.encode(), (ua if ua is not None and k == "user-agent" else v).encode())
        for k, v in CHROME_HEADERS
    ]


_CHROME_ASGI = _header_list()


def scope(client: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    """An ASGI HTTP scope for ``GET /`` from `client`."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": _CHROME_ASGI if headers is None else headers,
        "client": (client, 40000),
        "server": ("127.0.0.1", 8000),
    }


def environ(client: str, ua: str | None = None) -> dict[str, Any]:
    """A WSGI environ for ``GET /`` from `client`."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "bench.local",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": client,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for k, v in CHROME_HEADERS:
        env["HTTP_" + k.upper().replace("-", "_")] = ua if ua and k == "user-agent" else v
    return env


class Requests:
    """Makes the next `n` requests of one variant (before the timed run that sends them)."""

    def __init__(self, kind: str, clients: str, rejecting: bool) -> None:
        self.kind = kind
        self.clients = "rejected" if rejecting else clients
        self._seen = itertools.cycle(SEEN)
        self._fresh = fresh_addresses()
        self._ua = fresh_user_agents()

    def make(self, n: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for _ in range(n):
            ua: str | None = None
            if self.clients == "rejected":
                client = REJECTED_CLIENT
            elif self.clients == "fresh":
                client = next(self._fresh)
            else:
                client = next(self._seen)
                if self.clients == "fresh-ua":
                    ua = next(self._ua)
            if self.kind == "asgi":
                out.append(scope(client, None if ua is None else _header_list(ua)))
            else:
                out.append(environ(client, ua))
        return out


def wrk_script() -> str:
    """wrk's Lua: Chrome's headers, plus an X-Forwarded-For from the 4,096 seen addresses.

    Only apps that trust loopback as a proxy (the default chain) read X-Forwarded-For; the others
    see one client, 127.0.0.1.
    """
    sets = "\n".join(
        f'wrk.headers["{k}"] = "{v.replace(chr(34), chr(92) + chr(34))}"'
        for k, v in CHROME_HEADERS
        if k not in ("host", "connection")
    )
    return f"""{sets}
request = function()
  wrk.headers["X-Forwarded-For"] = "11.0." .. math.random(0, 15) .. "." .. math.random(0, 255)
  return wrk.format()
end
"""

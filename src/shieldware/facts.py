"""The facts of one request: everything a layer may look at, and nothing it may not (no body).

`Facts` is built by pure constructors from an ASGI scope or a WSGI environ; adapters do nothing else
with the request. Header values are decoded as latin-1, which can represent any byte, so hostile
bytes never raise here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from .clientip import IPAddress, TrustedProxies, parse_ip

__all__ = ["Facts"]

_NO_PROXIES = TrustedProxies()
#: Header lines joined with this separator when a header appears more than once.
_JOINERS = {"cookie": "; "}
#: Limits on what we keep of hostile input; longer values are cut, not rejected.
MAX_HEADERS = 200
MAX_VALUE = 8192


class Facts(NamedTuple):
    """What a request looks like: an immutable record (a named tuple, for speed on every request).

    :param method: upper-case method (``"WEBSOCKET"`` never appears; see `protocol`).
    :param scheme: ``"http"``/``"https"`` (``"ws"``/``"wss"`` for websockets).
    :param host: the Host header (lower-case, port kept), or the server name.
    :param path: the decoded path.
    :param query: the raw query string (latin-1 text).
    :param headers: lower-case ``(name, value)`` pairs in arrival order.
    :param client_ip: the client address resolved through `TrustedProxies`, or None.
    :param peer_ip: the direct TCP peer.
    :param header_order_known: False under WSGI, where the server's dict loses the order.
    :param protocol: ``"http"`` or ``"websocket"``.
    :param principal: a user or API key identity, set by integrations that run after auth.
    :param route: the route template (``"/items/{id}"``) when a framework knows it.
    :param extra: anything an integration wants to hand to custom layers.
    :param header_index: header name -> joined value; built by the constructors (and on demand
        when left None).
    """

    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    client_ip: IPAddress | None = None
    scheme: str = "http"
    host: str = ""
    query: str = ""
    peer_ip: IPAddress | None = None
    header_order_known: bool = True
    protocol: str = "http"
    principal: str | None = None
    route: str | None = None
    extra: Mapping[str, Any] = MappingProxyType({})
    header_index: Mapping[str, str] | None = None

    @property
    def _index(self) -> Mapping[str, str]:
        index = self.header_index
        return _read_headers(self.headers)[1] if index is None else index

    # -- helpers ---------------------------------------------------------------------------
    def header(self, name: str, default: str | None = None) -> str | None:
        """The value of header `name` (lower-case), repeated lines joined; or `default`."""
        index = self.header_index
        if index is None:
            index = _read_headers(self.headers)[1]
        return index.get(name, default)

    def has_header(self, name: str) -> bool:
        return name in self._index

    @property
    def user_agent(self) -> str:
        return self._index.get("user-agent", "")

    @property
    def secure(self) -> bool:
        return self.scheme in ("https", "wss")

    def cookie(self, name: str) -> str | None:
        """The value of cookie `name`, or None. Malformed cookie headers yield None."""
        raw = self._index.get("cookie")
        if raw is None or name not in raw:
            return None
        for part in raw.split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                return value.strip().strip('"')
        return None

    def query_param(self, name: str) -> str | None:
        """The first value of query parameter `name` (URL-decoded), or None."""
        if name not in self.query:
            return None
        for key, value in parse_qsl(self.query, keep_blank_values=True):
            if key == name:
                return value
        return None

    def with_(self, **changes: Any) -> Facts:
        """A copy with some fields changed (integrations set `principal` and `route` this way)."""
        if "headers" in changes:
            changes.setdefault("header_index", None)
        return self._replace(**changes)

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def from_scope(cls, scope: Mapping[str, Any], proxies: TrustedProxies = _NO_PROXIES) -> Facts:
        """Facts of an ASGI ``http`` or ``websocket`` scope."""
        raw = all_raw = scope.get("headers") or ()
        if len(raw) > MAX_HEADERS:
            raw = list(raw)[:MAX_HEADERS]
        # Slicing bytes shorter than the cap returns the same object: the cut costs nothing.
        try:
            known = _NAMES.get
            headers = tuple(
                [(known(k) or _name(k), v[:MAX_VALUE].decode("latin-1")) for k, v in raw]
            )
        except TypeError:  # an unhashable name (a bytearray): decode every name
            headers = tuple(
                [(k.decode("latin-1").lower(), v[:MAX_VALUE].decode("latin-1")) for k, v in raw]
            )
        index = dict(headers)
        if len(index) != len(headers):  # a repeated header: join its lines
            index = _read_headers(headers)[1]
        client = scope.get("client")
        peer = parse_ip(str(client[0])) if client else None  # parse_ip("") is None
        host = index.get("host")
        if host is None:
            server = scope.get("server")
            host = f"{server[0]}:{server[1]}" if server else ""
        websocket = scope.get("type") == "websocket"
        query = scope.get("query_string")
        return cls(
            str(scope.get("method") or "GET").upper(),
            str(scope.get("path") or "/"),
            headers,
            proxies.resolve(peer, _raw_lines(all_raw, proxies.header)) if proxies else peer,
            str(scope.get("scheme") or ("ws" if websocket else "http")),
            host.lower(),
            query.decode("latin-1") if query else "",
            peer,
            True,
            "websocket" if websocket else "http",
            None,
            None,
            _NO_EXTRA,
            index,
        )

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, Any], proxies: TrustedProxies = _NO_PROXIES
    ) -> Facts:
        """Facts of a WSGI environ (PEP 3333). Header order is not known here."""
        pairs: list[tuple[str, str]] = []
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                pairs.append((key[5:].replace("_", "-").lower(), str(value)))
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                pairs.append((key.replace("_", "-").lower(), str(value)))
        headers, index = _read_headers(pairs)
        peer = _peer(environ.get("REMOTE_ADDR") or None)
        host = (
            index.get("host")
            or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
        )
        path = _wsgi_text(str(environ.get("SCRIPT_NAME", ""))) + _wsgi_text(
            str(environ.get("PATH_INFO", ""))
        )
        return cls(
            method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
            scheme=str(environ.get("wsgi.url_scheme", "http")),
            host=host.lower(),
            path=path or "/",
            query=str(environ.get("QUERY_STRING", "")),
            headers=headers,
            client_ip=(
                proxies.resolve(peer, _environ_lines(environ, proxies.header)) if proxies else peer
            ),
            peer_ip=peer,
            header_order_known=False,
            protocol="http",
            header_index=index,
        )


#: Raw header name -> its lower-case text: the same few dozen names arrive on every request, so
#: each is decoded once. Bounded: names beyond the cap, or long ones, are decoded every time.
_NAMES: dict[bytes, str] = {}
_MAX_NAMES = 1024
_MAX_NAME = 64


def _name(raw: bytes) -> str:
    name = raw.decode("latin-1").lower()
    if len(_NAMES) < _MAX_NAMES and len(raw) <= _MAX_NAME:
        _NAMES[raw] = name
    return name


def _peer(peer: str | None) -> IPAddress | None:
    return parse_ip(peer) if peer else None


_NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


def _wsgi_text(value: str) -> str:
    """PEP 3333 hands bytes through latin-1; paths are UTF-8 in practice."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _read_headers(
    pairs: Iterable[tuple[str, str]],
) -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    """Keep at most MAX_HEADERS pairs, cut long values, and index them by name."""
    out: list[tuple[str, str]] = []
    index: dict[str, str] = {}
    for name, value in pairs:
        if len(out) >= MAX_HEADERS:
            break
        if len(value) > MAX_VALUE:
            value = value[:MAX_VALUE]
        out.append((name, value))
        if name in index:
            index[name] = index[name] + _JOINERS.get(name, ", ") + value
        else:
            index[name] = value
    return tuple(out), index


def _raw_lines(raw: Iterable[Any], name: str) -> list[str]:
    """Every line of forwarding header `name`, uncut: resolved before any truncation."""
    wanted = name.encode()
    return [bytes(v).decode("latin-1") for k, v in raw if bytes(k).lower() == wanted]


def _environ_lines(environ: Mapping[str, Any], name: str) -> list[str]:
    value = environ.get("HTTP_" + name.upper().replace("-", "_"))
    return [str(value)] if value else []

"""The facts of one request: everything a layer may look at, and nothing it may not (no body).

`Facts` is built by pure constructors from an ASGI scope or a WSGI environ and decodes nothing until
a layer asks: a chain that reads two headers decodes two headers, and a chain that reads none
(an empty chain, a per-IP token bucket) decodes none. Header values are decoded as latin-1, which
can represent any byte, so hostile bytes never raise here.

**One view of the headers, the framework's.** `header(name)` answers what the app will read:
under ASGI the *first* line of a repeated header (Starlette's and FastAPI's ``headers[name]``,
``Header()``), under WSGI the server's one value. A second ``X-Api-Key`` or ``Host`` line can
therefore not mint a fresh rate-limit key or dodge a host matcher, and no number of padding lines
hides a header: lookups see every line. Cookies are the exception the RFCs make: all ``Cookie``
lines are read, joined with ``"; "`` (RFC 9113 section 8.2.3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

from .clientip import NO_CLIENT, Client, IPAddress, TrustedProxies
from .errors import BadRequest

__all__ = ["Facts"]

_NO_PROXIES = TrustedProxies()
_NO_EXTRA: Mapping[str, Any] = MappingProxyType({})
#: Limits on what `Facts.headers` keeps of hostile input (fingerprint signals read it); longer
#: values are cut, not rejected. `Facts.header` is not limited: it sees every line.
MAX_HEADERS = 200
MAX_VALUE = 8192
_UNSET: Any = object()


class Facts:
    """What a request looks like, read lazily and remembered: immutable to its readers.

    :param method: upper-case method.
    :param path: the decoded path.
    :param headers: lower-case ``(name, value)`` pairs in arrival order.
    :param client_ip: the client address (for facts built by hand; the constructors resolve it
        through `TrustedProxies`).
    :param scheme: ``"http"``/``"https"`` (``"ws"``/``"wss"`` for websockets); behind a trusted
        proxy, the scheme the proxy reports.
    :param host: the Host header (lower-case, port kept), or the server name.
    :param query: the raw query string (latin-1 text).
    :param peer_ip: the direct TCP peer.
    :param header_order_known: False under WSGI, where the server's dict loses the order.
    :param protocol: ``"http"`` or ``"websocket"``.
    :param principal: a user or API key identity, set by integrations that run after auth.
    :param route: the route template (``"/items/{id}"``) when a framework knows it.
    :param extra: anything an integration wants to hand to custom layers.
    """

    __slots__ = (
        "_client",
        "_environ",
        "_first",
        "_headers",
        "_host",
        "_pairs",
        "_peer_text",
        "_proxies",
        "_query",
        "_raw",
        "_scans",
        "_scheme",
        "_server",
        "extra",
        "header_order_known",
        "method",
        "path",
        "principal",
        "protocol",
        "route",
    )

    def __init__(
        self,
        method: str,
        path: str,
        headers: Iterable[tuple[str, str]] = (),
        client_ip: IPAddress | None = None,
        scheme: str = "http",
        host: str = "",
        query: str = "",
        peer_ip: IPAddress | None = None,
        header_order_known: bool = True,
        protocol: str = "http",
        principal: str | None = None,
        route: str | None = None,
        extra: Mapping[str, Any] = _NO_EXTRA,
    ) -> None:
        self.method = method
        self.path = path
        pairs = tuple(headers)
        self._pairs: Sequence[tuple[str, str]] | None = pairs
        self._headers: tuple[tuple[str, str], ...] | None = None
        self._first: dict[str, str] | None = None
        self._scans = 0
        self._raw: Sequence[Any] = ()
        self._environ: Mapping[str, Any] | None = None
        self._client: Client | None = (
            Client(client_ip, peer_ip if peer_ip is not None else client_ip)
            if client_ip is not None or peer_ip is not None
            else NO_CLIENT
        )
        self._proxies = _NO_PROXIES
        self._peer_text: str | None = None
        self._scheme: str | None = scheme
        self._host: str | None = host.lower() if host else _header_of(pairs, "host", "")
        self._query: str | None = query
        self._server: Any = None
        self.header_order_known = header_order_known
        self.protocol = protocol
        self.principal = principal
        self.route = route
        self.extra = extra

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def from_scope(cls, scope: Mapping[str, Any], proxies: TrustedProxies = _NO_PROXIES) -> Facts:
        """Facts of an ASGI ``http`` or ``websocket`` scope. Reads nothing it is not asked for."""
        self = cls.__new__(cls)
        websocket = scope.get("type") == "websocket"
        self.method = str(scope.get("method") or "GET").upper()
        self.path = str(scope.get("path") or "/")
        raw = scope.get("headers") or ()
        self._raw = raw if isinstance(raw, (list, tuple)) else list(raw)
        if self._raw and not isinstance(self._raw[0][0], (bytes, bytearray)):
            # One cheap look at the shape: a server that hands over text is refused up front.
            raise BadRequest("ASGI header names must be bytes")
        self._environ = None
        self._pairs = None
        self._headers = None
        self._first = None
        self._scans = 0
        self._client = None
        self._proxies = proxies
        client = scope.get("client")
        self._peer_text = str(client[0]) if client else None
        self._scheme = (
            None if proxies else str(scope.get("scheme") or ("ws" if websocket else "http"))
        )
        self._host = None
        self._query = None
        self._server = scope
        self.header_order_known = True
        self.protocol = "websocket" if websocket else "http"
        self.principal = None
        self.route = None
        self.extra = _NO_EXTRA
        return self

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, Any], proxies: TrustedProxies = _NO_PROXIES
    ) -> Facts:
        """Facts of a WSGI environ (PEP 3333). Header order is not known here."""
        self = cls.__new__(cls)
        self.method = str(environ.get("REQUEST_METHOD") or "GET").upper()
        path = _wsgi_text(str(environ.get("SCRIPT_NAME", ""))) + _wsgi_text(
            str(environ.get("PATH_INFO", ""))
        )
        self.path = path or "/"
        self._raw = ()
        self._environ = environ
        self._pairs = None
        self._headers = None
        self._first = None
        self._scans = 0
        self._client = None
        self._proxies = proxies
        self._peer_text = str(environ.get("REMOTE_ADDR") or "") or None
        self._scheme = None if proxies else str(environ.get("wsgi.url_scheme") or "http")
        self._host = None
        self._query = str(environ.get("QUERY_STRING") or "")
        self._server = environ
        self.header_order_known = False
        self.protocol = "http"
        self.principal = None
        self.route = None
        self.extra = _NO_EXTRA
        return self

    def with_(self, **changes: Any) -> Facts:
        """A copy with some fields changed (integrations set `principal` and `route` this way).

        Only the plain fields change; what is read from the request (headers, client, scheme,
        host, query) stays the request's.
        """
        unknown = changes.keys() - _PUBLIC
        if unknown:
            raise TypeError(f"Facts.with_ cannot change {sorted(unknown)}")
        copy = Facts.__new__(Facts)
        for name in Facts.__slots__:
            setattr(copy, name, getattr(self, name))
        for name, value in changes.items():
            setattr(copy, name, value)
        return copy

    def __repr__(self) -> str:
        return (
            f"Facts({self.method} {self.scheme}://{self.host}{self.path}"
            f"{'?' + self.query if self.query else ''}, client={self.client_ip})"
        )

    # -- the client ------------------------------------------------------------------------
    @property
    def client(self) -> Client:
        """The client behind trusted proxies: its address and networks (see `Client`)."""
        client = self._client
        if client is None:
            try:
                client = self._client = self._proxies.client(self._peer_text, self._lines)
            except (AttributeError, TypeError, ValueError) as exc:
                raise BadRequest(f"unreadable forwarding headers: {exc}") from exc
        return client

    @property
    def client_ip(self) -> IPAddress | None:
        """The client address resolved through `TrustedProxies`, or None."""
        return self.client.ip

    @property
    def peer_ip(self) -> IPAddress | None:
        """The direct TCP peer."""
        return self.client.peer

    @property
    def from_trusted_proxy(self) -> bool:
        """True when the direct peer is one of the trusted proxies (its headers are believed)."""
        peer = self.client.peer
        if peer is None:
            return (
                self._peer_text is None and self._proxies.trusts_unix and self._server is not None
            )
        return peer in self._proxies

    # -- request line ----------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        scheme = self._scheme
        if scheme is None:
            server = self._server
            if self._environ is not None:
                scheme = str(server.get("wsgi.url_scheme") or "http")
            else:
                websocket = self.protocol == "websocket"
                scheme = str(server.get("scheme") or ("ws" if websocket else "http"))
            told = self.client.scheme  # what a trusted proxy saw
            if told is not None:
                scheme = told if self.protocol == "http" else told.replace("http", "ws")
            self._scheme = scheme
        return scheme

    @property
    def secure(self) -> bool:
        return self.scheme in ("https", "wss")

    @property
    def host(self) -> str:
        host = self._host
        if host is None:
            found = self.header("host")
            if found is None:
                server = self._server
                if self._environ is not None:
                    found = f"{server.get('SERVER_NAME', '')}:{server.get('SERVER_PORT', '')}"
                else:
                    named = server.get("server") if server is not None else None
                    found = f"{named[0]}:{named[1]}" if named else ""
            host = self._host = found.lower()
        return host

    @property
    def query(self) -> str:
        query = self._query
        if query is None:
            raw = self._server.get("query_string")
            query = self._query = raw.decode("latin-1") if raw else ""
        return query

    # -- headers ---------------------------------------------------------------------------
    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """Lower-case ``(name, value)`` pairs in arrival order (200 at most, cut at 8 KiB each)."""
        headers = self._headers
        if headers is None:
            headers = self._headers = tuple(
                [
                    (n, v if len(v) <= MAX_VALUE else v[:MAX_VALUE])
                    for n, v in self._all()[:MAX_HEADERS]
                ]
            )
        return headers

    @property
    def raw_headers(self) -> Sequence[tuple[bytes, bytes]] | None:
        """The server's own header lines (ASGI), undecoded; None for WSGI and hand-built facts.

        For layers that key a cache on the head without paying to decode it.
        """
        if self._environ is not None or (self._pairs is not None and not self._raw):
            return None
        return self._raw

    @property
    def header_index(self) -> Mapping[str, str]:
        """Every header by name, as `header` reads it (for layers that read many)."""
        first = self._first
        if first is None:
            first = self._first = _index(self._all())
        return first

    def header(self, name: str, default: str | None = None) -> str | None:
        """Header `name` (lower-case) as the app will read it: its first line; or `default`.

        ``cookie`` lines are all read, joined with ``"; "``.
        """
        first = self._first
        if first is None:
            if self._scans < _SCANS and self._pairs is None and name != "cookie" and self._raw:
                # A chain that reads a header or two (a refusal reads Accept) finds them in the
                # raw lines, without decoding every header to build the index.
                self._scans += 1
                try:
                    wanted = name.encode("latin-1")
                except UnicodeEncodeError:
                    return default  # no server sends such a name
                try:
                    for key, value in self._raw:
                        if key == wanted or bytes(key).lower() == wanted:
                            return _text(value)
                except (AttributeError, TypeError, ValueError) as exc:
                    raise BadRequest(f"unreadable request headers: {exc}") from exc
                return default
            first = self._first = _index(self._all())
        return first.get(name, default)

    def has_header(self, name: str) -> bool:
        return self.header(name) is not None

    @property
    def user_agent(self) -> str:
        # Whoever reads the user agent (fingerprints, proof of work) reads more: index at once.
        return self.header_index.get("user-agent") or ""

    def cookie(self, name: str) -> str | None:
        """The value of cookie `name`, or None. Malformed cookie headers yield None."""
        raw = self.header("cookie")
        if raw is None or name not in raw:
            return None
        for part in raw.split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                return value.strip().strip('"')
        return None

    def query_param(self, name: str) -> str | None:
        """The first value of query parameter `name` (URL-decoded), or None."""
        query = self.query
        if name not in query:
            return None
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key == name:
                return value
        return None

    # -- internals -------------------------------------------------------------------------
    def _all(self) -> Sequence[tuple[str, str]]:
        """Every header line, decoded once (names lower-cased), uncut: what lookups read."""
        pairs = self._pairs
        if pairs is None:
            environ = self._environ
            try:
                if environ is not None:
                    pairs = list(_environ_pairs(environ))
                else:
                    pairs = [
                        (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in self._raw
                    ]
            except (AttributeError, TypeError, ValueError) as exc:
                raise BadRequest(f"unreadable request headers: {exc}") from exc
            self._pairs = pairs
        return pairs

    def _lines(self, name: str) -> list[str]:
        """Every line of header `name`, uncut (trusted-proxy headers are walked from the right)."""
        environ = self._environ
        if environ is not None:
            value = environ.get("HTTP_" + name.upper().replace("-", "_"))
            return [str(value)] if value else []
        if self._pairs is None and self._raw:  # no decoding for a chain that reads no header
            wanted = name.encode()
            return [_text(v) for k, v in self._raw if bytes(k).lower() == wanted]
        return [v for k, v in self._all() if k == name]


#: Header lookups answered by scanning the raw lines before the index is built.
_SCANS = 1

_PUBLIC = frozenset(
    {"method", "path", "header_order_known", "protocol", "principal", "route", "extra"}
)


def _text(raw: bytes) -> str:
    """Latin-1 text of a header value from a server (bytes, or a bytearray)."""
    return raw.decode("latin-1")


def _header_of(pairs: Sequence[tuple[str, str]], name: str, default: str) -> str:
    for key, value in pairs:
        if key == name:
            return value.lower()
    return default


def _index(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Name -> the app's view of it: its first line (all ``cookie`` lines joined)."""
    index: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in pairs:
        if name == "cookie":
            cookies.append(value)
        elif name not in index:
            index[name] = value
    if cookies:
        index["cookie"] = "; ".join(cookies)
    return index


def _environ_pairs(environ: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            yield key[5:].replace("_", "-").lower(), str(value)
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            yield key.replace("_", "-").lower(), str(value)


def _wsgi_text(value: str) -> str:
    """PEP 3333 hands bytes through latin-1; paths are UTF-8 in practice."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value

"""Who is the client? Resolve the address behind trusted proxies, never trusting the client itself.

Nothing is trusted by default: `Forwarded` and `X-Forwarded-For` are read only when the direct peer
is a configured proxy. The hops are walked right to left and the first hop that is not a trusted
proxy is the client, so a client can prepend whatever it likes without choosing its identity
(see uvicorn's proxy_headers middleware and RFC 7239 section 7.4 on the same point).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterable, Sequence

from .errors import ConfigurationError

__all__ = ["IPAddress", "TrustedProxies", "network_of", "parse_ip"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Longest address literal we try to parse; longer header parts are garbage by definition.
_MAX_LITERAL = 64
#: The tail of a forwarding line that is walked; a cut-off leftmost hop is garbage and stops the
#: walk, which is right, because the hops to its right are the ones proxies wrote.
_MAX_LINE = 8192


#: Sized for the active clients of a busy server: a cyclic scan of more addresses than an LRU holds
#: misses on every request.
@functools.lru_cache(maxsize=16384)
def parse_ip(text: str) -> IPAddress | None:
    """Parse an address as it appears in a header or a server's peer field, or return None.

    Accepts ``1.2.3.4``, ``1.2.3.4:80``, ``[2001:db8::1]``, ``[2001:db8::1]:443`` and quoted forms.
    IPv4-mapped IPv6 addresses become IPv4 so one client has one identity. Zone ids are dropped.
    """
    text = text.strip().strip('"').strip()
    if not text or len(text) > _MAX_LITERAL:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        text = text[1:end]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]
    address = _fast_parse(text)
    if address is None:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _fast_parse(text: str) -> IPAddress | None:
    """inet_pton is ten times faster than ipaddress; trust it only for canonical text."""
    try:
        if ":" in text:
            address: IPAddress = ipaddress.IPv6Address(socket.inet_pton(socket.AF_INET6, text))
        else:
            address = ipaddress.IPv4Address(socket.inet_pton(socket.AF_INET, text))
    except (OSError, ValueError):
        return None
    return address if str(address) == text else None


@functools.lru_cache(maxsize=8192)
def network_of(address: IPAddress, v4_prefix: int = 32, v6_prefix: int = 64) -> str:
    """The network a client is keyed by: the address for IPv4, its /64 for IPv6 by default.

    One IPv6 host usually owns a whole /64, so keying single addresses would let it rotate freely.
    """
    prefix = v4_prefix if address.version == 4 else v6_prefix
    if prefix == address.max_prefixlen:
        return str(address)
    return str(ipaddress.ip_network((address, prefix), strict=False))


def _parse_network(item: str) -> _Network:
    try:
        return ipaddress.ip_network(item.strip(), strict=False)
    except ValueError as exc:
        raise ConfigurationError(f"not an IP address or network: {item!r}") from exc


class TrustedProxies:
    """The proxies whose forwarding header we believe, and the walk that finds the client.

    :param proxies: addresses and CIDR networks of the proxies in front of the app
        (``"127.0.0.1"``, ``"10.0.0.0/8"``, ``"::1"``), and ``"unix"`` to trust a peer on a unix
        socket (uvicorn ``--uds`` behind nginx). Empty (the default) trusts nobody.
    :param header: the one forwarding header your proxies write: ``"x-forwarded-for"`` (nginx,
        HAProxy, cloud load balancers) or ``"forwarded"`` (RFC 7239). Only that header is read:
        proxies pass the other one through from the client untouched, so reading it would let a
        client choose its own address.
    """

    __slots__ = ("_header", "_networks", "_plain", "_unix")

    def __init__(self, proxies: Iterable[str] = (), *, header: str = "x-forwarded-for") -> None:
        if isinstance(proxies, str):
            proxies = [p for p in proxies.split(",") if p.strip()]
        items = [p.strip() for p in proxies]
        self._unix = "unix" in items
        networks = [_parse_network(p) for p in items if p != "unix"]
        if header.lower() not in ("forwarded", "x-forwarded-for"):
            raise ConfigurationError(
                f"unsupported forwarding header {header!r}: use 'x-forwarded-for' or 'forwarded'"
            )
        self._header = header.lower()
        self._plain = frozenset(n.network_address for n in networks if n.num_addresses == 1)
        self._networks = tuple(n for n in networks if n.num_addresses > 1)

    @property
    def header(self) -> str:
        """The lower-case name of the forwarding header that is read."""
        return self._header

    def __bool__(self) -> bool:
        return bool(self._plain or self._networks or self._unix)

    def __contains__(self, address: IPAddress | None) -> bool:
        if address is None:
            return False
        if address in self._plain:
            return True
        return any(address.version == n.version and address in n for n in self._networks)

    def __repr__(self) -> str:
        items = [str(a) for a in self._plain] + [str(n) for n in self._networks]
        items += ["unix"] if self._unix else []
        return f"TrustedProxies({sorted(items)!r}, header={self._header!r})"

    def resolve(self, peer: IPAddress | None, lines: Sequence[str]) -> IPAddress | None:
        """The client's address, given the direct peer and every line of the forwarding header.

        :param peer: the TCP peer's address (None for a unix socket).
        :param lines: the configured header's lines, in arrival order, uncut: trust runs from the
            right, so a value cut short would keep the client's part and lose the proxies'.
        """
        if not (peer in self or (peer is None and self._unix)):
            return peer
        if not lines:
            return peer
        if self._header == "forwarded":
            hops = _forwarded_hops(lines)
        else:
            hops = [hop for line in lines for hop in line[-_MAX_LINE:].split(",")]
        return self._walk(peer, hops)

    def _walk(self, nearest: IPAddress | None, hops: list[str]) -> IPAddress | None:
        for hop in reversed(hops):
            address = parse_ip(hop)
            if address is None:
                # Garbage, "unknown" or an obfuscated id: what stands further left cannot be
                # trusted, so the last hop we could verify is the client.
                return nearest
            if address not in self:
                return address
            nearest = address
        return nearest


def _forwarded_hops(lines: Sequence[str]) -> list[str]:
    hops: list[str] = []
    for line in lines:
        line = line[-_MAX_LINE:]
        if line.count('"') % 2:
            # An unbalanced quote (sent by the client, perhaps with the proxy's hop appended
            # after it on the same line) would swallow the next element: the whole line is
            # garbage, and the walk stops at the nearest verified hop.
            hops.append("")
            continue
        for element in _split_quoted(line, ","):
            value = ""
            for pair in _split_quoted(element, ";"):
                key, sep, val = pair.partition("=")
                if sep and key.strip().lower() == "for":
                    value = val.strip()
            hops.append(value)
    return hops


def _split_quoted(text: str, sep: str) -> list[str]:
    """Split on `sep` outside double quotes (RFC 7239 quotes IPv6 literals with ports)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts

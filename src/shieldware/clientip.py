"""Who is the client? Resolve the address behind trusted proxies, never trusting the client itself.

Nothing is trusted by default: the one configured forwarding header (`X-Forwarded-For` or
`Forwarded`) is read only when the direct peer is a configured proxy. The hops are walked right to
left and the first hop that is not a trusted proxy is the client, so a client can prepend whatever
it likes without choosing its identity (see uvicorn's proxy_headers middleware and RFC 7239
section 7.4 on the same point). The scheme the proxy saw (`X-Forwarded-Proto`, ``proto=``) is
believed from trusted proxies only, under the same rule.

The answer is a `Client`: one value per client that every consumer (keys, proof of work,
reporters, the live view) asks for its address and networks, memoised per `TrustedProxies`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence

from .errors import ConfigurationError
from .memo import Memo

__all__ = ["Client", "IPAddress", "Networks", "TrustedProxies", "network_of", "parse_ip"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Longest address literal we try to parse; longer header parts are garbage by definition.
_MAX_LITERAL = 64
#: The tail of a forwarding line that is walked; a cut-off leftmost hop is garbage and stops the
#: walk, which is right, because the hops to its right are the ones proxies wrote.
_MAX_LINE = 8192
#: Clients remembered per `TrustedProxies` (one entry each: address, networks, scheme).
CLIENTS = 16384


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
    return _unmapped(address)


def _fast_parse(text: str) -> IPAddress | None:
    """`socket.inet_pton`, ten times faster than `ipaddress` and as strict (no leading zeros in
    IPv4, no zone ids): any text it accepts names one address, whatever its spelling, and the
    identity is taken from the address, never from the text."""
    try:
        if ":" in text:
            return ipaddress.IPv6Address(socket.inet_pton(socket.AF_INET6, text))
        return ipaddress.IPv4Address(socket.inet_pton(socket.AF_INET, text))
    except (OSError, ValueError):
        return None


def network_of(address: IPAddress, v4_prefix: int = 32, v6_prefix: int = 64) -> str:
    """The network a client is keyed by: the address for IPv4, its /64 for IPv6 by default.

    One IPv6 host usually owns a whole /64, so keying single addresses would let it rotate freely.
    The text is `ipaddress`'s (RFC 5952); a /64 whose four groups are all non-zero, the usual
    case, is written here without it (a flood of fresh /64s pays for every formatting).
    """
    prefix = v4_prefix if address.version == 4 else v6_prefix
    if prefix == address.max_prefixlen:
        return str(address)
    bits = address.max_prefixlen - prefix
    base = (int(address) >> bits) << bits
    if prefix == 64 and bits == 64:
        top = base >> 64
        a, b, c, d = top >> 48, (top >> 32) & 0xFFFF, (top >> 16) & 0xFFFF, top & 0xFFFF
        if a and b and c and d:
            return f"{a:x}:{b:x}:{c:x}:{d:x}::/64"
    return f"{type(address)(base)}/{prefix}"


class Client:
    """One client: its address (behind trusted proxies), the direct peer, its networks.

    Built once per distinct client and memoised by `TrustedProxies`, so the address is parsed and
    each network computed once, whoever asks (rate-limit keys, proof-of-work binding, reporters).

    :param ip: the client's address, or None when there is none (a unix socket, no proxy header).
    :param peer: the direct TCP peer.
    :param scheme: the scheme a trusted proxy reports it saw (``"https"``), or None.
    """

    __slots__ = ("_nets", "ip", "peer", "scheme")

    def __init__(
        self, ip: IPAddress | None, peer: IPAddress | None = None, scheme: str | None = None
    ) -> None:
        self.ip = _unmapped(ip)
        self.peer = _unmapped(peer)
        self.scheme = scheme
        self._nets: dict[tuple[int, int], str] = {}

    def network(self, v4_prefix: int = 32, v6_prefix: int = 64) -> str | None:
        """The client's network as CIDR text (the bare address at full length); None without one."""
        nets = self._nets
        found = nets.get((v4_prefix, v6_prefix))
        if found is None:
            ip = self.ip
            if ip is None:
                return None
            found = nets[(v4_prefix, v6_prefix)] = network_of(ip, v4_prefix, v6_prefix)
        return found

    def __repr__(self) -> str:
        return f"Client({self.ip!s}, peer={self.peer!s})"


def _unmapped(address: IPAddress | None) -> IPAddress | None:
    """IPv4-mapped IPv6 (``::ffff:1.2.3.4``) as the IPv4 address: one client, one identity."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


#: The client of a request with no address at all (a unix socket nobody vouches for).
NO_CLIENT = Client(None)


class Networks:
    """Addresses and CIDR networks, looked up in one set probe per distinct prefix length.

    The one answer to "is this address in these networks": trusted proxies, `IPList`,
    ``match.network`` and the fingerprint layer all use it.
    """

    __slots__ = ("_entries", "_text", "_v4", "_v6")

    def __init__(self, items: Iterable[str]) -> None:
        if isinstance(items, str):
            items = [part for part in items.split(",") if part.strip()]
        tables: dict[tuple[int, int], set[int]] = {}
        entries: list[tuple[int, int, int]] = []
        errors: list[str] = []
        for item in items:
            entry = _network(item)
            if entry is None:
                errors.append(item)
                continue
            version, plen, value = entry
            tables.setdefault((version, plen), set()).add(value)
            entries.append(entry)
        if errors:
            raise ConfigurationError(
                f"not an IP address or network: {', '.join(map(repr, errors))}"
            )
        # One table per family and prefix length, longest prefixes first.
        ordered = sorted(tables.items(), key=lambda kv: -kv[0][1])
        self._v4 = tuple((_mask(4, plen), frozenset(nets)) for (v, plen), nets in ordered if v == 4)
        self._v6 = tuple((_mask(6, plen), frozenset(nets)) for (v, plen), nets in ordered if v == 6)
        self._entries = tuple(entries)
        self._text: tuple[str, ...] | None = None

    @property
    def text(self) -> tuple[str, ...]:
        """The networks in CIDR notation, as `ipaddress` writes them (built on first use)."""
        if self._text is None:
            self._text = tuple(
                str(ipaddress.ip_network((value, plen))) for _, plen, value in self._entries
            )
        return self._text

    def __contains__(self, address: IPAddress | None) -> bool:
        if address is None:
            return False
        value = int(address)
        for mask, nets in self._v4 if address.version == 4 else self._v6:
            if (value & mask) in nets:
                return True
        return False

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.text)

    def __repr__(self) -> str:
        text = self.text
        shown = ", ".join(text[:5]) + (", ..." if len(text) > 5 else "")
        return f"Networks([{shown}])"


def _network(item: str) -> tuple[int, int, int] | None:
    """``(version, prefix length, network as an int)`` of an address or CIDR, None if neither.

    The common spellings go through `socket.inet_pton` (strict, and some 30x faster than
    `ipaddress`, which matters for the thousands of published crawler ranges loaded at start-up);
    anything else (a netmask after the slash, a scope id) is left to `ipaddress`, so both accept
    exactly the same inputs.
    """
    text = item.strip()
    address, slash, plen_text = text.partition("/")
    version, family, bits = (6, socket.AF_INET6, 128) if ":" in address else (4, socket.AF_INET, 32)
    try:
        raw = socket.inet_pton(family, address)
    except OSError:
        raw = b""
    if raw and (not slash or (plen_text.isascii() and plen_text.isdigit() and len(plen_text) <= 3)):
        plen = int(plen_text) if slash else bits
        if plen <= bits:
            return version, plen, int.from_bytes(raw, "big") & _mask(version, plen)
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return net.version, net.prefixlen, int(net.network_address)


def _mask(version: int, prefixlen: int) -> int:
    bits = 32 if version == 4 else 128
    return ((1 << prefixlen) - 1) << (bits - prefixlen)


#: What the request's forwarding lines are read through: called only when the peer is trusted.
Lines = Callable[[str], Sequence[str]]


class TrustedProxies:
    """The proxies whose forwarding header we believe, and the walk that finds the client.

    :param proxies: addresses and CIDR networks of the proxies in front of the app
        (``"127.0.0.1"``, ``"10.0.0.0/8"``, ``"::1"``), and ``"unix"`` to trust a peer on a unix
        socket (uvicorn ``--uds`` behind nginx). Empty (the default) trusts nobody.
    :param header: the one forwarding header your proxies write: ``"x-forwarded-for"`` (nginx,
        HAProxy, cloud load balancers; the scheme is then read from ``X-Forwarded-Proto``) or
        ``"forwarded"`` (RFC 7239; ``for=`` and ``proto=``). Only that header is read: proxies
        pass the other one through from the client untouched, so reading it would let a client
        choose its own address.
    """

    __slots__ = ("_clients", "_header", "_networks", "_proto_header", "_unix")

    def __init__(self, proxies: Iterable[str] = (), *, header: str = "x-forwarded-for") -> None:
        if isinstance(proxies, str):
            proxies = [p for p in proxies.split(",") if p.strip()]
        items = [p.strip() for p in proxies]
        self._unix = "unix" in items
        self._networks = Networks([p for p in items if p != "unix"])
        if header.lower() not in ("forwarded", "x-forwarded-for"):
            raise ConfigurationError(
                f"unsupported forwarding header {header!r}: use 'x-forwarded-for' or 'forwarded'"
            )
        self._header = header.lower()
        self._proto_header = "forwarded" if self._header == "forwarded" else "x-forwarded-proto"
        self._clients: Memo[object, Client] = Memo(CLIENTS)

    @property
    def header(self) -> str:
        """The lower-case name of the forwarding header that is read."""
        return self._header

    @property
    def trusts_unix(self) -> bool:
        """True when a peer on a unix socket is trusted to forward."""
        return self._unix

    def __bool__(self) -> bool:
        return bool(self._networks or self._unix)

    def __contains__(self, address: IPAddress | None) -> bool:
        return address in self._networks

    def __repr__(self) -> str:
        items = sorted(self._networks) + (["unix"] if self._unix else [])
        return f"TrustedProxies({items!r}, header={self._header!r})"

    # -- the request path --------------------------------------------------------------------
    def client(self, peer_text: str | None, lines: Lines) -> Client:
        """The `Client` of a request whose direct peer is `peer_text` (None on a unix socket).

        `lines(name)` returns every line of header `name`; it is called only when the peer is a
        trusted proxy. Memoised: a returning client costs one dict probe.
        """
        clients = self._clients
        # Untrusted peers (every peer when nobody is trusted) are memoised by their text alone:
        # their forwarding headers are never read.
        found = clients.get(peer_text)
        if found is not None:
            return found
        peer = parse_ip(peer_text) if peer_text else None
        if not (peer in self._networks or (peer_text is None and self._unix)):
            return clients.put(peer_text, Client(peer, peer) if peer is not None else NO_CLIENT)
        forwarded = tuple(lines(self._header))
        proto = tuple(lines(self._proto_header)) if self._proto_header != self._header else ()
        memo_key = (peer_text, forwarded, proto)
        found = clients.get(memo_key)
        if found is None:
            ip = self.resolve(peer, forwarded)
            found = clients.put(memo_key, Client(ip, peer, self._scheme(forwarded, proto)))
        return found

    def resolve(self, peer: IPAddress | None, lines: Sequence[str]) -> IPAddress | None:
        """The client's address, given the direct peer and every line of the forwarding header.

        :param peer: the TCP peer's address (None for a unix socket).
        :param lines: the configured header's lines, in arrival order, uncut: trust runs from the
            right, so a value cut short would keep the client's part and lose the proxies'.
        """
        if not (peer in self._networks or (peer is None and self._unix)):
            return peer
        if not lines:
            return peer
        if self._header == "forwarded":
            hops = [_param(element, "for") for element in _forwarded_elements(lines)]
        else:
            hops = [hop for line in lines for hop in line[-_MAX_LINE:].split(",")]
        return self._walk(peer, hops)

    def _walk(self, nearest: IPAddress | None, hops: list[str | None]) -> IPAddress | None:
        for hop in reversed(hops):
            address = parse_ip(hop) if hop else None
            if address is None:
                # Garbage, "unknown" or an obfuscated id: what stands further left cannot be
                # trusted, so the last hop we could verify is the client.
                return nearest
            if address not in self._networks:
                return address
            nearest = address
        return nearest

    def _scheme(self, forwarded: Sequence[str], proto: Sequence[str]) -> str | None:
        """The scheme the nearest trusted proxy saw: what it wrote last, if it is one we know."""
        if self._header == "forwarded":
            elements = _forwarded_elements(forwarded)
            value = _param(elements[-1], "proto") if elements else None
        else:
            value = proto[-1].rsplit(",", 1)[-1] if proto else None
        value = (value or "").strip().strip('"').lower()
        return value if value in ("http", "https") else None


def _forwarded_elements(lines: Sequence[str]) -> list[str]:
    """The elements of every `Forwarded` line, in order, split on commas one by one.

    ``for=`` values never contain a comma, so a plain split keeps each proxy's element whole even
    when a client's element before it carries a stray quote: the proxies' own hops always count.
    An element with an unbalanced quote is garbage (its ``for`` reads as nothing) and stops the
    walk there.
    """
    return [element for line in lines for element in line[-_MAX_LINE:].split(",")]


def _param(element: str, name: str) -> str | None:
    """Parameter `name` of one `Forwarded` element; "" when the element is malformed."""
    if element.count('"') % 2:
        return ""
    for pair in element.split(";"):
        key, sep, value = pair.partition("=")
        if sep and key.strip().lower() == name:
            return value.strip()
    return None if name != "for" else ""

"""Who shares a bucket: key functions, and an encoding that user input cannot make ambiguous.

A key function maps `Facts` to the identity a limit counts per: `by_ip` (IPv4 /32, IPv6 /64),
`by_principal`, `by_header(name)`, `by_route`, `by_method`, or any callable returning a string.
Add them up to compose (``by_ip + by_route``: one bucket per client and route). A key function
that returns None means "this rule does not apply to this request" (no principal yet, say).
`GLOBAL` has no part: one bucket shared by every request.

`by_ip` always applies: a request whose client resolves to no address (a unix socket whose proxy
is not trusted) is keyed to its peer, the socket (``"unix"``), so every such request shares one
bucket instead of escaping the limit; a warning says so, once per process.

A layer mounted on one view or route (FastAPI's ``Protect``, the ``@protect`` decorators) counts
per route: its key gains `by_mount` (the route template), so it never shares a bucket with an
app-wide layer of the same name, nor with the same layer mounted on another route.

Store keys look like this (the Redis scripts rely on nothing else; they receive them whole)::

    sw:{<tag>}:<kind>:<digest>

- ``tag``: 16 hex digits of BLAKE2b over the values of the key parts *every* rule of the layer
  shares (its primary identity, e.g. the client's network); the layer's name when the rules share
  none (a global bucket). Redis Cluster hashes only what is inside ``{...}``, so all the buckets
  one request charges together sit in one slot and one script can decide them atomically.
- ``kind``: what the key holds: ``gcra`` (a TAT), ``win`` (a window quota), ``cc`` (concurrency
  leases), ``pen`` (an offence count), ``ban`` (a ban marker).
- ``digest``: 32 hex digits of BLAKE2b over the kind, the layer, the rule and each part's label and
  value, every field length-prefixed. Distinct inputs cannot encode alike (``("a/b", "c")`` and
  ``("a", "b/c")`` differ), raw header values and API keys never reach the store, and every key has
  the same short length (59 characters) whatever the client sends.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from typing import Union

from .clientip import IPAddress, network_of
from .errors import ConfigurationError
from .facts import Facts

log = logging.getLogger("shieldware")

__all__ = [
    "GLOBAL",
    "Key",
    "KeyInput",
    "by_header",
    "by_ip",
    "by_method",
    "by_mount",
    "by_network",
    "by_principal",
    "by_route",
    "KeyPlan",
    "KeySpace",
    "mounted",
    "as_key",
    "encode_key",
    "normalise_path",
    "tag_of",
]

PartFunc = Callable[[Facts], "str | None"]
#: What layers accept as ``key=``: a `Key`, a plain callable, or None for `GLOBAL`.
KeyInput = Union["Key", PartFunc, None]

_PREFIX = "sw"
_MAX_SEGMENTS = 8
_MAX_SEGMENT = 64
_MAX_VALUE = 128


class _Part:
    """One atomic key part: a stable label (it goes into the hash) and the function."""

    __slots__ = ("func", "label")

    def __init__(self, label: str, func: PartFunc) -> None:
        self.label = label
        self.func = func

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Part) and (self.label, self.func) == (other.label, other.func)

    def __hash__(self) -> int:
        return hash((self.label, id(self.func)))


class Key:
    """A composable key function: ``key(facts)`` is a tuple of part values, or None."""

    __slots__ = ("parts",)

    def __init__(self, *parts: _Part) -> None:
        self.parts = parts

    def __call__(self, facts: Facts) -> tuple[str, ...] | None:
        if len(self.parts) == 1:  # the common case
            value = self.parts[0].func(facts)
            return None if value is None else (_short(str(value)),)
        values = []
        for part in self.parts:
            value = part.func(facts)
            if value is None:
                return None
            values.append(_short(str(value)))
        return tuple(values)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(p.label for p in self.parts)

    def __add__(self, other: KeyInput) -> Key:
        return Key(*self.parts, *as_key(other).parts)

    def __radd__(self, other: KeyInput) -> Key:
        return Key(*as_key(other).parts, *self.parts)

    def __repr__(self) -> str:
        return " + ".join(p.label for p in self.parts) or "GLOBAL"


def _short(value: str) -> str:
    """Values longer than `_MAX_VALUE` become a digest, so caches keyed by them stay small."""
    if len(value) <= _MAX_VALUE:
        return value
    return "#" + _digest(value)


def _digest(value: str) -> str:
    raw = value.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(raw, digest_size=16, person=b"sw-val").hexdigest()


def as_key(value: KeyInput) -> Key:
    """Accept a `Key`, any ``(Facts) -> str | None`` callable, or None (`GLOBAL`)."""
    if value is None:
        return GLOBAL
    if isinstance(value, Key):
        return value
    if callable(value):
        label = f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', 'key')}"
        return Key(_Part(label, value))
    raise ConfigurationError(f"a key must be a Key or a callable, not {value!r}")


GLOBAL = Key()


def by_network(v4_prefix: int = 32, v6_prefix: int = 64) -> Key:
    """The client's network: its address for IPv4 (/32) and its /64 for IPv6 by default."""
    if not (0 <= v4_prefix <= 32 and 0 <= v6_prefix <= 128):
        raise ConfigurationError(f"bad prefixes /{v4_prefix}, /{v6_prefix}")

    def network(facts: Facts) -> str:
        client = facts.client
        found = client.network(v4_prefix, v6_prefix)
        if found is not None:
            return found
        return _peer_of(client.peer, v4_prefix, v6_prefix)

    return Key(_Part(f"ip/{v4_prefix}/{v6_prefix}", network))


#: The key of a request with no address at all: its peer is a unix socket.
NO_ADDRESS = "unix"
_warned: list[bool] = []


def _peer_of(peer: IPAddress | None, v4_prefix: int, v6_prefix: int) -> str:
    """A client that resolves to nobody is keyed to its peer: a limit never silently lapses."""
    if peer is not None:  # facts built by hand with a peer but no client
        return network_of(peer, v4_prefix, v6_prefix)
    if not _warned:
        _warned.append(True)
        log.warning(
            "shieldware: a request has no client address (a unix socket peer, and 'unix' is not "
            "in trusted_proxies, or the trusted proxy sent no forwarding header): by_ip limits "
            "key every such request to the socket, one bucket for all of them. Behind a proxy on "
            "a unix socket, trust it: trusted_proxies=['unix'] (see docs/deployment.md)"
        )
    return NO_ADDRESS


def _principal(facts: Facts) -> str | None:
    return facts.principal


def _method(facts: Facts) -> str:
    return facts.method


def _route(facts: Facts) -> str:
    return facts.route or normalise_path(facts.path)


#: The client's IPv4 address or IPv6 /64; a request without one is keyed to its peer (``"unix"``).
by_ip = by_network()
#: The authenticated user or API key (set by integrations); anonymous requests do not apply.
by_principal = Key(_Part("principal", _principal))
#: The request method.
by_method = Key(_Part("method", _method))
#: The route template (``/items/{id}``) when the framework knows it, else `normalise_path`.
by_route = Key(_Part("route", _route))


#: Where a per-view layer is mounted: the route template, else `normalise_path` (see the module
#: docstring). Per-route protections add it to their layers' keys; you rarely name it yourself.
by_mount = Key(_Part("mount", _route))


def mounted(key: Key) -> Key:
    """`key` counted per route as well: ``key + by_mount``, unless it is already."""
    return key if by_mount.parts[0] in key.parts else key + by_mount


def by_header(name: str) -> Key:
    """The value of header `name` (hashed into the key, never stored); absent: does not apply."""
    lowered = name.lower()
    if not _TOKEN.fullmatch(lowered):
        raise ConfigurationError(f"not an HTTP header name: {name!r}")

    def header(facts: Facts) -> str | None:
        value = facts.header(lowered)
        return None if value is None else _digest(value)

    return Key(_Part(f"header:{lowered}", header))


#: An HTTP field name (RFC 9110 token), ASCII only.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")

_ID_SEGMENT = re.compile(
    r"\d+|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{16,}|[A-Za-z0-9_-]{24,}"
)


def normalise_path(path: str) -> str:
    """A route-like key for a raw path: ids become ``{}``, at most 8 segments.

    ``/items/42/`` and ``/items/7`` share ``/items/{}``; numbers, UUIDs, long hex and long opaque
    tokens count as ids. Over-long paths cannot make new keys: extra segments collapse into ``*``.
    """
    segments = [s for s in path.split("/") if s]
    out = ["{}" if _ID_SEGMENT.fullmatch(s) else s[:_MAX_SEGMENT] for s in segments[:_MAX_SEGMENTS]]
    if len(segments) > _MAX_SEGMENTS:
        out.append("*")
    return "/" + "/".join(out)


def _lp(parts: Iterable[str]) -> bytes:
    """Length-prefixed fields (netstrings): no two distinct tuples share an encoding."""
    return "".join([f"{len(part)}:{part}" for part in parts]).encode("utf-8", "surrogatepass")


def tag_of(values: Iterable[str]) -> str:
    """The hash tag (without braces) of a request's primary identity."""
    return hashlib.blake2b(_lp(values), digest_size=8, person=b"sw-tag").hexdigest()


def encode_key(
    kind: str, layer: str, rule: str, labels: Iterable[str], values: Iterable[str], tag: str
) -> str:
    """The store key ``sw:{tag}:kind:digest`` (see the module docstring).

    Not cached here: layers keep a client's encoded keys in their own bounded memo.
    """
    fields = [kind, layer, rule]
    for label, value in zip(labels, values, strict=True):
        fields += (label, value)
    digest = hashlib.blake2b(_lp(fields), digest_size=16, person=b"sw-key").hexdigest()
    return f"{_PREFIX}:{{{tag}}}:{kind}:{digest}"


#: What decides a layer's store keys apart from the request: kind, layer, rule and key labels.
#: Two layers with one key space and different limits would share state: a clash.
KeySpace = tuple[str, str, str, tuple[str, ...]]


class KeyPlan:
    """What a layer precomputes for its rules: which parts form the shared hash tag."""

    __slots__ = ("_shared", "_static_tag", "layer")
    _shared: Key | None

    def __init__(self, layer: str, keys: Iterable[Key]) -> None:
        keys = list(keys)
        self.layer = layer
        shared: list[_Part] = list(keys[0].parts) if keys else []
        for key in keys[1:]:
            shared = [p for p in shared if p in key.parts]
        self._shared = Key(*shared) if shared else None
        self._static_tag = tag_of(("layer", layer))

    def tag(self, facts: Facts) -> str:
        """The tag every key of this layer gets for this request."""
        if self._shared is None:
            return self._static_tag
        values = self._shared(facts)
        return self._static_tag if values is None else tag_of(values)

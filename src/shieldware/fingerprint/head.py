"""The request head as the signals see it: parsed once, shared by every signal function.

Also home to the two small parsers signals need: the ``Sec-CH-UA`` brand list (an RFC 8941
structured-field list) and our licence-free header fingerprint (HFP).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..facts import Facts
from .ua import UAInfo

if TYPE_CHECKING:
    from ..origin.value import Origin

__all__ = [
    "PROXY_HEADERS",
    "Head",
    "header_fingerprint",
    "parse_brands",
]

#: Header names proxies and CDNs add; left out of fingerprints and header counts.
PROXY_HEADERS = frozenset(
    {
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-forwarded-server",
        "x-real-ip",
        "via",
        "x-request-id",
        "x-amzn-trace-id",
        "cdn-loop",
        "true-client-ip",
        "x-cluster-client-ip",
        "cf-connecting-ip",
        "cf-ipcountry",
        "cf-ray",
        "cf-visitor",
        "cf-ew-via",
        "x-vercel-id",
        "fastly-client-ip",
        "content-length",
        "content-type",
    }
)
_PROXY_PREFIXES = ("cf-", "cloudfront-", "cdn-", "x-forwarded-", "x-amz-", "fastly-", "x-ja")
_BRAND = re.compile(r'\s*"((?:[^"\\]|\\.){0,80})"\s*;\s*v\s*=\s*"([^"]{0,40})"\s*')
_MAX_BRANDS = 12


def parse_brands(value: str) -> tuple[tuple[str, str], ...] | None:
    """``Sec-CH-UA`` as ``(brand, version)`` pairs; None when it is not a valid brand list."""
    if not value or len(value) > 1024:
        return None
    out: list[tuple[str, str]] = []
    for item in value.split(","):
        match = _BRAND.fullmatch(item)
        if match is None:
            return None
        out.append((match.group(1), match.group(2)))
        if len(out) > _MAX_BRANDS:
            return None
    return tuple(out)


def _is_proxy_header(name: str) -> bool:
    return name in PROXY_HEADERS or name.startswith(_PROXY_PREFIXES)


def header_fingerprint(
    facts: Facts, *, skip: frozenset[str] = frozenset(), order_known: bool | None = None
) -> str:
    """Our header fingerprint: 12 hex digits of SHA-256 over the client's header names.

    The input is method, the lower-cased header names in arrival order (sorted when the order is
    unknown, as under WSGI, so the value is stable there too) minus cookie, referer and the
    proxy-added names, and two flags for cookie and referer. Same client stack, same value;
    it identifies a build, never a person (no values are hashed). Not JA4H and not comparable
    with it: the prefix ``hfp1`` says which scheme produced it.
    """
    names = [
        name
        for name, _ in facts.headers
        if name not in ("cookie", "referer") and name not in skip and not _is_proxy_header(name)
    ]
    known = facts.header_order_known if order_known is None else order_known
    if not known:
        names.sort()
    flags = ("c" if facts.has_header("cookie") else "n") + (
        "r" if facts.has_header("referer") else "n"
    )
    text = f"{facts.method[:8]}|{flags}|{','.join(names)}"
    digest = hashlib.sha256(text.encode("latin-1", "replace")).hexdigest()[:12]
    return f"hfp1_{'o' if known else 's'}{flags}_{digest}"


@dataclass(slots=True)
class Head:
    """One request as signals see it. Built by the layer; signals only read it.

    :param facts: the request facts.
    :param ua: the parsed user agent.
    :param ua_raw: the raw user agent text (may be empty).
    :param secure: the client reached us over HTTPS (after trusted proxies).
    :param order_known: header order is meaningful (False under WSGI and behind sorting proxies).
    :param ja4: a JA4 value forwarded by a trusted proxy, else "".
    :param ja4_untrusted: a JA4 header arrived from a peer that is not a trusted proxy.
    :param origin: where the client comes from (only for signals that need ``"origin"``).
    :param bot: the good bot the UA claims, unverified (``""``: none, or verified).
    :param bot_asns: the ASNs that bot's operator crawls from (empty: not known).
    """

    facts: Facts
    ua: UAInfo
    ua_raw: str
    secure: bool
    order_known: bool
    ja4: str = ""
    ja4_untrusted: bool = False
    _names: tuple[str, ...] | None = field(default=None, repr=False)
    _brands: tuple[tuple[str, str], ...] | bool | None = field(default=False, repr=False)
    origin: Origin | None = None
    bot: str = ""
    bot_asns: frozenset[int] = frozenset()

    def get(self, name: str) -> str | None:
        return self.facts.header(name)

    def has(self, name: str) -> bool:
        return self.facts.has_header(name)

    @property
    def names(self) -> tuple[str, ...]:
        """Client header names in arrival order, proxy-added ones removed."""
        if self._names is None:
            self._names = tuple(n for n, _ in self.facts.headers if not _is_proxy_header(n))
        return self._names

    @property
    def brands(self) -> tuple[tuple[str, str], ...] | None:
        """The parsed ``Sec-CH-UA`` list (None when absent or invalid)."""
        if self._brands is False:
            raw = self.facts.header("sec-ch-ua")
            self._brands = parse_brands(raw) if raw is not None else None
        return self._brands  # type: ignore[return-value]

    @property
    def navigation(self) -> bool:
        """A top-level document request: Sec-Fetch-Mode navigate, or an HTML-first Accept."""
        mode = self.facts.header("sec-fetch-mode")
        if mode is not None:
            return mode == "navigate"
        accept = self.facts.header("accept") or ""
        return accept.startswith("text/html") and self.facts.method in ("GET", "HEAD")

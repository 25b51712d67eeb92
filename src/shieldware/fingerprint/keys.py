"""Per-fingerprint keys for token buckets: one client stack is one key, whatever its IP.

A scraper rotating through thousands of addresses usually keeps one HTTP stack: the same header
names in the same order and the same user-agent family. Keying a bucket by that stack throttles
it as one client. Many people share a browser build too, so give such a bucket a generous rate,
or apply it only to requests the `Fingerprint` layer scored as automation.
"""

from __future__ import annotations

import hashlib

from ..facts import Facts
from .head import PROXY_HEADERS, _is_proxy_header
from .ua import parse_browser

__all__ = ["by_fingerprint", "fingerprint_key"]

_PREFIX = "fp1:"


def fingerprint_key(facts: Facts, *, ja4_header: str | None = None) -> str:
    """The stack key of a request: header names (ordered when known), UA family and major,
    Accept-Language, and a forwarded JA4 value when you name its (trusted) header."""
    names = [
        n for n, _ in facts.headers if n not in ("cookie", "referer") and not _is_proxy_header(n)
    ]
    if not facts.header_order_known:
        names.sort()
    family, _, major, platform, _, _ = parse_browser(facts.user_agent[:512])
    if family == "other":  # tools: their whole UA is the stack's name
        family = facts.user_agent[:64]
    parts = [
        ",".join(names),
        family,
        str(major),
        platform,
        facts.header("accept-language") or "",
        (facts.header(ja4_header) or "") if ja4_header else "",
    ]
    digest = hashlib.blake2b("\x1f".join(parts).encode("latin-1", "replace"), digest_size=12)
    return _PREFIX + digest.hexdigest()


def by_fingerprint(facts: Facts) -> str:
    """Key function for rate limits: the request's client-stack key (see `fingerprint_key`)."""
    return fingerprint_key(facts)


# Re-exported so users can see which headers never count towards a fingerprint.
IGNORED_HEADERS = PROXY_HEADERS

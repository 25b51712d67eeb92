"""Where the verify endpoint may send the browser back: same-origin paths only.

Open redirects through "return to" parameters are a classic (Anubis GHSA-jhjj-2g64-px7c allowed
``javascript:`` URLs). We accept only an absolute path: it must start with a single ``/``, and
neither it nor any percent-decoding of it may start with ``//`` or ``/\\``, hold a backslash, a
or control character. A path that starts with one ``/`` cannot carry a scheme or a host.

Paths are text a server decoded: undecodable bytes arrive as lone surrogates (``surrogateescape``),
which go back out as the same percent-escaped bytes; a surrogate no byte decodes to falls back to
the default, never an exception (a crash here would let the request through unchallenged).
"""

from __future__ import annotations

from urllib.parse import quote, unquote

__all__ = ["MAX_RETURN", "safe_return"]

MAX_RETURN = 2048
#: Characters left as they are when the accepted path is re-encoded for the Location header.
_SAFE = "/?&=%:@!$'()*+,;~-._#"


def _bad(text: str) -> bool:
    if not text.startswith("/") or text.startswith(("//", "/\\")):
        return True
    return "\\" in text or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def safe_return(target: str | None, default: str = "/") -> str:
    """`target` when it is a same-origin path, else `default`."""
    if not target or len(target) > MAX_RETURN:
        return default
    text = target
    for _ in range(4):  # encoded, double-encoded, ... variants
        if _bad(text):
            return default
        decoded = unquote(text)
        if decoded == text:
            # Re-encode what a Location header cannot carry (non-ASCII paths), keeping escapes.
            try:
                raw = target.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:  # a lone surrogate that stands for no byte
                return default
            return quote(raw, safe=_SAFE)
        text = decoded
    return default

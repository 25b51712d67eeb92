"""Request bodies a layer asks for: the bound, where adapters put them, and the form parsers.

The core never reads a body by itself. A layer that needs one for some requests (the per-action
proof of work reads its answer from a sign-up form's field) says so with ``wants_body(facts)``;
the adapter then buffers at most `MAX_BODY` bytes, hands them over in ``facts.extra[BODY_KEY]``
(`with_body`) and replays the exact bytes to the app. A larger body, or one that does not arrive
whole, is replayed unread and the layer decides without it. Everything here is sans-IO: bytes
in, values out; malformed input yields None, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import parse_qsl

from .facts import Facts

__all__ = [
    "BODY_KEY",
    "MAX_BODY",
    "MAX_FIELDS",
    "SAFE_METHODS",
    "Body",
    "attach_body",
    "body_of",
    "form_fields",
    "form_value",
    "with_body",
]

#: The most bytes an adapter buffers for a layer (64 KiB); larger bodies are never read.
MAX_BODY = 64 * 1024
#: Form fields parsed at most; a form with more is treated as unreadable.
MAX_FIELDS = 256
#: The key in `Facts.extra` under which adapters hand a buffered body to the layers.
BODY_KEY = "shieldware.body"
#: Methods that carry no action: never buffered.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_BOUNDARY = re.compile(r'boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))', re.IGNORECASE)
_NAME = re.compile(rb'(?:^|;)\s*name="([^"]*)"', re.IGNORECASE)


class Body(NamedTuple):
    """A whole request body an adapter buffered, with its ``Content-Type``."""

    content_type: str
    data: bytes

    @property
    def multipart(self) -> bool:
        return self.content_type.lower().startswith(_MULTIPART)


def with_body(facts: Facts, content_type: str | None, data: bytes) -> Facts:
    """`facts` carrying `data` (a whole body of at most `MAX_BODY` bytes) for the layers."""
    return facts.with_(extra={**facts.extra, BODY_KEY: Body(content_type or "", data)})


def attach_body(
    facts: Facts, length: object, content_type: str | None, read: Callable[[], bytes]
) -> Facts:
    """`facts` with the body `read()` returns, for frameworks that buffer bodies themselves
    (Django's ``request.body``, Flask's ``request.get_data(cache=True)``): only when its announced
    `length` is within `MAX_BODY` and it arrives whole; otherwise `facts` unchanged."""
    try:
        size = int(str(length))
    except ValueError:
        return facts
    if not 0 <= size <= MAX_BODY:
        return facts
    try:
        data = read()
    except Exception:  # the framework refused it (too large, the client left): decide without
        return facts
    return with_body(facts, content_type, data) if len(data) == size else facts


def body_of(facts: Facts) -> Body | None:
    """The body an adapter buffered for this request, or None."""
    body = facts.extra.get(BODY_KEY)
    return body if isinstance(body, Body) else None


def form_fields(body: Body) -> list[tuple[str, str]] | None:
    """The fields of an urlencoded or multipart form in order, or None.

    None when the body is not a form, is malformed, has more than `MAX_FIELDS` fields, is not
    UTF-8, or (multipart) carries a file: such a body cannot be read back as text fields.
    """
    kind = body.content_type.split(";", 1)[0].strip().lower()
    if kind == _URLENCODED:
        try:
            text = body.data.decode("utf-8")
            return parse_qsl(
                text,
                keep_blank_values=True,
                strict_parsing=False,
                errors="strict",
                max_num_fields=MAX_FIELDS,
            )
        except ValueError:  # not UTF-8, or too many fields
            return None
    if kind == _MULTIPART:
        return _multipart(body)
    return None


def form_value(body: Body, name: str) -> str | None:
    """The first value of text field `name` in a form body, or None.

    Unlike `form_fields`, a multipart form that also carries files (an avatar, an empty file
    input a browser sends as ``filename=""``) is read: its file parts are skipped.
    """
    if name.encode() not in body.data:  # most bodies: no parsing at all
        return None
    kind = body.content_type.split(";", 1)[0].strip().lower()
    fields = _multipart(body, files="skip") if kind == _MULTIPART else form_fields(body)
    for key, value in fields or ():
        if key == name:
            return value
    return None


def _multipart(body: Body, files: str = "refuse") -> list[tuple[str, str]] | None:
    found = _BOUNDARY.search(body.content_type)
    if found is None:
        return None
    boundary = b"--" + (found.group(1) or found.group(2)).encode("latin-1")
    parts = body.data.split(boundary)
    if len(parts) < 2 or not parts[-1].startswith(b"--") or len(parts) > MAX_FIELDS + 2:
        return None
    fields: list[tuple[str, str]] = []
    for part in parts[1:-1]:
        if not part.startswith(b"\r\n") or not part.endswith(b"\r\n"):
            return None
        head, sep, value = part[2:-2].partition(b"\r\n\r\n")
        if not sep:
            return None
        disposition = b""
        text = True
        for line in head.split(b"\r\n"):
            key, _, rest = line.partition(b":")
            lowered = key.strip().lower()
            if lowered == b"content-disposition":
                disposition = rest
            elif lowered == b"content-type" and not rest.strip().lower().startswith(b"text/plain"):
                text = False
        if b"filename" in disposition.lower():
            if files == "skip":
                continue
            return None  # a file: not text
        if not text:
            return None
        named = _NAME.search(disposition)
        if named is None:
            return None
        try:
            fields.append((named.group(1).decode("utf-8"), value.decode("utf-8")))
        except UnicodeDecodeError:
            return None
    return fields

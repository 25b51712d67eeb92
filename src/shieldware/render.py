"""Turn an answered decision into a reply the client understands, and merge reply headers.

Browsers get a small HTML page, API clients (by Accept) RFC 9457 problem+json, everyone else plain
text. Layers that know better (a proof-of-work challenge) attach their own `Reply` instead.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable
from typing import AnyStr

from .facts import Facts
from .memo import Memo
from .verdict import Action, Decision, Reply, Verdict

__all__ = [
    "BAD_REQUEST",
    "Renderer",
    "merge_headers",
    "negotiate",
    "render",
    "retry_after_value",
]

_STATUS = {Action.THROTTLE: 429, Action.CHALLENGE: 403, Action.DENY: 403}
_TITLES = {
    429: "Too many requests",
    403: "Access denied",
    503: "Service temporarily unavailable",
}
_MESSAGES = {
    Action.THROTTLE: "You have sent too many requests. Please wait a moment and try again.",
    Action.CHALLENGE: "Your browser must complete a quick check before continuing.",
    Action.DENY: "This request was refused by the site's protection.",
}
_PROBLEM_TYPES = {
    Action.THROTTLE: "https://iana.org/assignments/http-problem-types#quota-exceeded",
}
_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:10vh auto;padding:0 1rem;\
color:#1b1b1b}}h1{{font-size:1.5rem}}small{{color:#555}}</style>
</head><body><main>
<h1>{title}</h1>
<p role="status">{message}</p>{retry}
<p><small>Reference: {rule}</small></p>
</main></body></html>
"""


def negotiate(facts: Facts) -> str:
    """``"html"``, ``"json"`` or ``"text"``, from the Accept header."""
    accept = (facts.header("accept") or "").lower()
    if "text/html" in accept:
        return "html"
    if "json" in accept:
        return "json"
    return "text"


def retry_after_value(seconds: float | None) -> str | None:
    """Retry-After in delay-seconds, rounded up and never below 1; None when unknown/infinite."""
    if seconds is None or not math.isfinite(seconds):
        return None
    return str(max(1, math.ceil(seconds)))


def render(decision: Decision, facts: Facts) -> Reply:
    """The reply for an answered decision (the layer's own reply if the verdict carries one)."""
    verdict = decision.verdict
    if verdict.reply is not None:
        return _with_headers(verdict.reply, decision.headers)
    retry = retry_after_value(verdict.retry_after)
    return _reply(verdict, retry, negotiate(facts), tuple(decision.headers))


class Renderer:
    """`render` with a bounded memo of the replies it made.

    A refused client hammering away gets the same reply again and again, so it is rendered once.
    Replies are immutable; when the memo is full it starts over (a flood of distinct replies only
    churns it). Owned by a `Gate`, never shared between shields.
    """

    __slots__ = ("_replies",)

    def __init__(self, maxsize: int = 1024) -> None:
        #: keyed by everything a reply is made of: action, rule, reason, status hint, Retry-After
        #: text, the negotiated kind (html, json or text) and the decision's headers
        self._replies: Memo[tuple[object, ...], Reply] = Memo(maxsize)

    def __len__(self) -> int:
        return len(self._replies)

    def __call__(self, decision: Decision, facts: Facts) -> Reply:
        verdict = decision.verdict
        if verdict.reply is not None:  # a layer's own reply: a fresh challenge every time
            return render(decision, facts)
        retry = retry_after_value(verdict.retry_after)
        key = (
            verdict.action,
            verdict.rule,
            verdict.reason,
            verdict.status,
            retry,
            negotiate(facts),
            tuple(decision.headers),  # the same tuple back when it is one already
        )
        reply = self._replies.get(key)
        if reply is None:
            reply = self._replies.put(key, render(decision, facts))
        return reply


def merge_headers(
    present: Iterable[tuple[AnyStr, AnyStr]], extra: Iterable[tuple[AnyStr, AnyStr]]
) -> list[tuple[AnyStr, AnyStr]]:
    """The headers of `extra` to add to a response that already carries `present`.

    The response's own headers win, except ``Set-Cookie``, which is appended (unless the very same
    line is there already: merging twice adds nothing). Nothing is added to a
    ``Cache-Control: public`` response: a shared cache would hand one client's counters and
    cookies to everyone. Works on ``str`` pairs and on ASGI's ``bytes`` pairs alike.
    """
    names: set[AnyStr] = set()
    cookies: set[AnyStr] = set()
    for name, value in present:
        lower = name.lower()
        if lower in _CACHE_CONTROL and _is_public(value):
            return []
        if lower in _SET_COOKIE:
            cookies.add(value)
        names.add(lower)
    return [
        (name, value)
        for name, value in extra
        if (value not in cookies if name.lower() in _SET_COOKIE else name.lower() not in names)
    ]


_CACHE_CONTROL: frozenset[str | bytes] = frozenset({"cache-control", b"cache-control"})
_SET_COOKIE: frozenset[str | bytes] = frozenset({"set-cookie", b"set-cookie"})


def _is_public(cache_control: str | bytes) -> bool:
    if isinstance(cache_control, bytes):
        return b"public" in cache_control.lower()
    return "public" in cache_control.lower()


_CONTENT_TYPES = {
    "json": ("content-type", "application/problem+json"),
    "html": ("content-type", "text/html; charset=utf-8"),
    "text": ("content-type", "text/plain; charset=utf-8"),
}
#: The reply to a request whose facts cannot be read (a server handed over a broken scope).
BAD_REQUEST = Reply(400, (_CONTENT_TYPES["text"], ("cache-control", "no-store")), b"Bad request\n")


def _reply(
    verdict: Verdict, retry: str | None, kind: str, extra: tuple[tuple[str, str], ...]
) -> Reply:
    status = verdict.status or _STATUS.get(verdict.action, 403)
    headers = list(extra)
    if retry is not None and status in (429, 503):
        headers.append(("retry-after", retry))
    headers.append(("cache-control", "no-store"))
    headers.append(_CONTENT_TYPES[kind])
    return Reply(status, tuple(headers), _body(verdict, status, retry, kind))


def _body(verdict: Verdict, status: int, retry: str | None, kind: str) -> bytes:
    if kind == "json":
        return _problem(verdict, status, retry)
    if kind == "html":
        return _page(verdict, status, retry)
    title = _TITLES.get(status, "Request refused")
    return f"{title}: {verdict.reason} ({verdict.rule})\n".encode()


def _with_headers(reply: Reply, extra: tuple[tuple[str, str], ...]) -> Reply:
    if not extra:
        return reply
    added = merge_headers(reply.headers, extra)
    return Reply(reply.status, reply.headers + tuple(added), reply.body) if added else reply


def _problem(verdict: Verdict, status: int, retry: str | None) -> bytes:
    problem: dict[str, object] = {
        "type": _PROBLEM_TYPES.get(verdict.action, "about:blank"),
        "title": _TITLES.get(status, "Request refused"),
        "status": status,
        "detail": _MESSAGES.get(verdict.action, "Request refused."),
        "rule": verdict.rule,
        "reason": verdict.reason,
    }
    if retry is not None:
        problem["retry_after"] = int(retry)
    return json.dumps(problem, separators=(",", ":")).encode()


def _page(verdict: Verdict, status: int, retry: str | None) -> bytes:
    retry_text = f"\n<p>You can try again in {retry} seconds.</p>" if retry else ""
    return _HTML.format(
        title=html.escape(_TITLES.get(status, "Request refused")),
        message=html.escape(_MESSAGES.get(verdict.action, "Request refused.")),
        retry=retry_text,
        rule=html.escape(f"{verdict.rule} / {verdict.reason}"),
    ).encode()

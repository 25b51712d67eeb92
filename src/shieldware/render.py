"""Turn a blocking decision into a reply the client understands.

Browsers get a small HTML page, API clients (by Accept) RFC 9457 problem+json, everyone else plain
text. Layers that know better (a proof-of-work challenge) attach their own `Reply` instead.
"""

from __future__ import annotations

import contextlib
import html
import json
import math

from .facts import Facts
from .verdict import Action, Decision, Reply, Verdict

__all__ = ["negotiate", "render", "retry_after_value"]

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
    """The reply for a blocking decision (its own reply if the verdict carries one)."""
    verdict = decision.verdict
    if verdict.reply is not None:
        return _with_headers(verdict.reply, decision.headers)
    status = verdict.status or _STATUS.get(verdict.action, 403)
    retry = retry_after_value(verdict.retry_after)
    kind = negotiate(facts)
    extra = decision.headers
    key = (verdict.action, verdict.rule, verdict.reason, status, retry, kind, extra)
    try:
        reply = _REPLIES.get(key)
    except TypeError:  # a custom layer's headers in a list: render without the cache
        return _reply(verdict, status, retry, kind, extra)
    if reply is None:
        reply = _reply(verdict, status, retry, kind, extra)
        if len(_REPLIES) >= _MAX_REPLIES:
            # another thread may have changed the dict meanwhile: then it made room already
            with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                del _REPLIES[next(iter(_REPLIES))]
        _REPLIES[key] = reply
    return reply


_CONTENT_TYPES = {
    "json": ("content-type", "application/problem+json"),
    "html": ("content-type", "text/html; charset=utf-8"),
    "text": ("content-type", "text/plain; charset=utf-8"),
}
#: Replies by everything they are made of: a refused client hammering away gets the same reply
#: again and again, so it is rendered once. Replies are immutable; the cache is bounded (FIFO).
_REPLIES: dict[
    tuple[Action, str, str, int, str | None, str, tuple[tuple[str, str], ...]], Reply
] = {}
_MAX_REPLIES = 1024


def _reply(
    verdict: Verdict, status: int, retry: str | None, kind: str, extra: tuple[tuple[str, str], ...]
) -> Reply:
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
    if not extra or "public" in (reply.header("cache-control") or ""):
        # A shared cache would hand one client's counters and cookies to everyone.
        return reply
    present = {name.lower() for name, _ in reply.headers}
    added = tuple(h for h in extra if h[0] == "set-cookie" or h[0] not in present)
    return Reply(reply.status, reply.headers + added, reply.body)


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

"""The ready responses the layer hands to the adapters (`Verdict.reply`)."""

from __future__ import annotations

import html
import json

from ..render import retry_after_value
from ..verdict import Reply
from .form import Replay
from .page import PageText, api_body, page_html, www_authenticate
from .tokens import Challenge

__all__ = [
    "action_json",
    "api_challenge",
    "clearance_json",
    "cookie_redirect",
    "not_an_action",
    "page_challenge",
    "refusal",
]

_NO_STORE = ("cache-control", "no-store")
_PROBLEM = ("content-type", "application/problem+json")
_HTML = ("content-type", "text/html; charset=utf-8")
_FAILED = (
    '<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
    '<link rel="stylesheet" href="{base}pow.css"></head><body><main><h1>{title}</h1>'
    '<p role="alert">{message} ({reason})</p>'
    '<p><a href="{target}">{again}</a></p></main></body></html>'
)


def api_challenge(challenge: Challenge, *, rule: str, verify: str, answer_header: str) -> Reply:
    """401 with ``WWW-Authenticate`` and a problem+json body carrying the challenge."""
    body = api_body(
        challenge,
        status=401,
        rule=rule,
        verify=verify,
        detail=f"Solve the challenge and repeat the request with {answer_header}.",
    )
    headers = (("www-authenticate", www_authenticate(challenge)), _PROBLEM, _NO_STORE)
    return Reply(401, headers, body)


def page_challenge(
    challenge: Challenge,
    *,
    text: PageText,
    base: str,
    verify: str,
    return_to: str,
    rule: str,
    post: bool,
    replay: Replay | None = None,
) -> Reply:
    """403 with the interstitial page (carrying the challenged form when `replay` is given)."""
    body = page_html(
        challenge,
        text=text,
        base=base,
        verify=verify,
        return_to=return_to,
        rule=rule,
        post=post,
        replay=replay,
    )
    return Reply(403, (_HTML, _NO_STORE), body)


def refusal(
    status: int,
    reason: str,
    *,
    retry_after: float | None,
    target: str,
    api: bool,
    base: str,
    text: PageText,
) -> Reply:
    """What the verify endpoint answers to a refused answer: problem+json or a short page."""
    headers: list[tuple[str, str]] = [_NO_STORE]
    retry = retry_after_value(retry_after)
    if retry is not None and status == 429:
        headers.append(("retry-after", retry))
    if api:
        problem = {
            "type": "about:blank",
            "title": "Proof of work refused",
            "status": status,
            "reason": reason,
        }
        headers.append(_PROBLEM)
        return Reply(status, tuple(headers), json.dumps(problem).encode())
    e = html.escape
    page = _FAILED.format(
        lang=e(text.lang),
        title=e(text.rejected_title),
        message=e(text.rejected),
        again=e(text.again),
        base=e(base),
        reason=e(reason),
        target=e(target),
    )
    headers.append(_HTML)
    return Reply(status, tuple(headers), page.encode())


def cookie_redirect(*, cookie: str, token: str, max_age: int, secure: bool, target: str) -> Reply:
    """303 back to `target` setting the clearance cookie (HttpOnly, SameSite=Lax)."""
    value = f"{cookie}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
    if secure:
        value += "; Secure"
    return Reply(303, (("location", target), ("set-cookie", value), _NO_STORE), b"")


def clearance_json(*, token: str, expires: int, header: str) -> Reply:
    """200 with the clearance for API clients, in the body and in `header`."""
    body = json.dumps({"clearance": token, "expires": expires}).encode()
    return Reply(200, (("content-type", "application/json"), (header, token), _NO_STORE), body)


def action_json(
    challenge: Challenge, *, action: str, ttl: int, field: str, header: str, worker: str
) -> Reply:
    """200 with a challenge for one action, for the form helper (never cached)."""
    body = {
        "token": challenge.token,
        "algorithm": "sha256",
        "count": challenge.puzzles,
        "bits": challenge.bits,
        "expires": challenge.expires,
        "ttl": ttl,
        "action": action,
        "field": field,
        "header": header,
        "worker": worker,
    }
    headers = (("content-type", "application/json"), _NO_STORE)
    return Reply(200, headers, json.dumps(body, separators=(",", ":")).encode())


def not_an_action() -> Reply:
    """404 for a challenge asked for a route that needs no per-action proof."""
    body = b'{"error":"not-an-action"}'
    return Reply(404, (("content-type", "application/json"), _NO_STORE), body)

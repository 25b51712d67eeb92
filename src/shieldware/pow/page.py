"""The interstitial page and the API-form challenge: text, HTML and problem+json.

The page holds no inline script or style: `assets/pow.js`, `assets/pow-worker.js` and
`assets/pow.css` are served from the reserved path, so a strict Content-Security-Policy
(``script-src 'self'; worker-src 'self'``) works unchanged. Every visible string lives in
`PageText`, so a site can translate the page by passing its own.
"""

from __future__ import annotations

import functools
import html
import json
from dataclasses import asdict, dataclass

from .form import Replay
from .tokens import Challenge

__all__ = ["PageText", "api_body", "page_html", "www_authenticate"]

SCHEME = "Shieldware-PoW"


@dataclass(frozen=True, slots=True)
class PageText:
    """Every string the interstitial shows; pass your own to translate it."""

    lang: str = "en"
    title: str = "Checking your browser"
    heading: str = "One moment, please"
    intro: str = (
        "Your browser is doing a short calculation to show it is not part of an automated "
        "flood. This usually takes a second or two; you will then be taken to the page."
    )
    solving: str = "Calculating…"
    progress_label: str = "Progress of the check"
    verifying: str = "Done. Taking you to the page…"
    failed: str = "The check could not finish. Please reload the page to try again."
    cookies: str = (
        "Your browser does not keep cookies for this site, so the check would repeat forever. "
        "Please allow cookies for this site and reload the page."
    )
    why_title: str = "Why am I seeing this?"
    why: str = (
        "This site protects itself from automated traffic that overloads it. Instead of a "
        "puzzle for you to solve, your browser spends a little computing time once; the "
        "result is remembered in a cookie for a while. No personal data is collected."
    )
    noscript: str = (
        "This check needs JavaScript. Please enable JavaScript for this site, or contact "
        "the site's owner if you cannot."
    )
    post_note: str = (
        "Your form was not sent yet. After the check you will be taken back to the page; "
        "please submit it again."
    )
    replay_note: str = (
        "Your form has not been sent yet: it will be sent, as you filled it in, as soon as the "
        "check is done."
    )
    reference: str = "Reference"
    rejected_title: str = "Check failed"
    rejected: str = "The check could not be accepted."
    again: str = "Try again"


_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{base}pow.css">
<script src="{base}pow.js" defer></script>
</head><body>
<main id="sw-pow" data-challenge="{token}" data-count="{count}" data-bits="{bits}"
 data-verify="{verify}" data-return="{ret}" data-worker="{base}pow-worker.js"
 data-msg-solving="{solving}" data-msg-verifying="{verifying}" data-msg-failed="{failed}"
 data-msg-cookies="{cookies}">
<h1>{heading}</h1>
<p>{intro}</p>{post}{replay}
<noscript><p class="sw-alert">{noscript}</p></noscript>
<p id="sw-status" role="status" aria-live="polite">{solving}</p>
<progress id="sw-progress" max="{count}" value="0" aria-label="{progress_label}"></progress>
<details><summary>{why_title}</summary><p>{why}</p></details>
<p><small>{reference}: {rule}</small></p>
</main></body></html>
"""


def page_html(
    challenge: Challenge,
    *,
    text: PageText,
    base: str,
    verify: str,
    return_to: str,
    rule: str,
    post: bool,
    replay: Replay | None = None,
) -> bytes:
    """The interstitial for one challenge. Every interpolated value is escaped.

    With `replay`, the page carries the challenged form (hidden fields) and sends it again with
    the answer once solved, instead of going to the verify endpoint.
    """
    e = html.escape
    values = dict(_escaped(text))
    values.update(
        base=e(base),
        token=e(challenge.token),
        count=str(challenge.puzzles),
        bits=str(challenge.bits),
        verify=e(verify),
        ret=e(return_to),
        rule=e(rule),
        post=_note(text, post, replay),
        replay=_replay_form(replay) if replay is not None else "",
    )
    return _PAGE.format(**values).encode()


def _note(text: PageText, post: bool, replay: Replay | None) -> str:
    if not post:
        return ""
    note = text.replay_note if replay is not None else text.post_note
    return f'\n<p class="sw-alert">{html.escape(note)}</p>'


def _replay_form(replay: Replay) -> str:
    """The challenged form, hidden, for the page's script to send again with the answer."""
    e = html.escape
    enctype = ' enctype="multipart/form-data"' if replay.multipart else ""
    inputs = "".join(
        f'<input type="hidden" name="{e(name)}" value="{e(value)}">'
        for name, value in replay.fields
    )
    return (
        f'\n<form id="sw-replay" method="post" action="{e(replay.action)}"{enctype} hidden>'
        f'{inputs}<input type="hidden" id="sw-replay-answer" name="{e(replay.field)}" value="">'
        "</form>"
    )


@functools.lru_cache(maxsize=16)
def _escaped(text: PageText) -> tuple[tuple[str, str], ...]:
    """The page's strings, HTML-escaped once per `PageText` rather than once per page."""
    return tuple((key, html.escape(str(value))) for key, value in asdict(text).items())


def www_authenticate(challenge: Challenge) -> str:
    """The ``WWW-Authenticate`` value of the API-form challenge (RFC 9110 auth-param syntax)."""
    return (
        f'{SCHEME} challenge="{challenge.token}", algorithm="sha256", '
        f'count="{challenge.puzzles}", bits="{challenge.bits}", expires="{challenge.expires}"'
    )


def api_body(challenge: Challenge, *, status: int, rule: str, verify: str, detail: str) -> bytes:
    """RFC 9457 problem+json carrying the challenge for non-browser clients."""
    problem = {
        "type": "https://github.com/shieldware/shieldware/blob/main/docs/proof-of-work.md",
        "title": "Proof of work required",
        "status": status,
        "detail": detail,
        "rule": rule,
        "challenge": {
            "token": challenge.token,
            "algorithm": "sha256",
            "count": challenge.puzzles,
            "bits": challenge.bits,
            "expires": challenge.expires,
            "answer_header": "Shieldware-PoW-Answer",
            "clearance_header": "Shieldware-Clearance",
            "verify": verify,
        },
    }
    return json.dumps(problem, separators=(",", ":")).encode()

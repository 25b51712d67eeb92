"""The live view's under-attack panel: the switch's state, its thresholds, and a guarded button.

``GET <mount>/attack`` answers the state as JSON (token required). ``POST <mount>/attack`` flips
the switch:

- with ``Authorization: Bearer <token>`` (the CLI, scripts): a JSON or form body, no more;
- from the page (the token cookie): a form carrying the session's CSRF token, from the view's own
  origin (``Origin``, else ``Referer``), and a confirmation step: the first POST answers a page
  asking to confirm; only its confirmed POST flips. The cookie is ``SameSite=Strict`` too.

The CSRF token is an HMAC of a per-browser session id (a random cookie) under a key derived from
the view's token, so every worker of the app accepts it.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..errors import ConfigurationError
from ..secret import resolve_secrets

__all__ = ["SESSION_COOKIE", "AttackPanel", "Outcome"]

SESSION_COOKIE = "shieldware_live_session"
MAX_BODY = 8192
_JSON = [(b"content-type", b"application/json")]
_HTML = [(b"content-type", b"text/html; charset=utf-8")]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the panel answers: a reply, or a flip to make first (then `done` is the reply)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    flip: dict[str, Any] | None = None


def _seed(token: str | None) -> bytes:
    """What the CSRF key derives from: the same in every worker (the live view's token, else
    ``SHIELDWARE_SECRET``), so a form from one worker is accepted by another; a random key per
    process only when neither is set (one worker, or a sticky session)."""
    if token is not None:
        return token.encode()
    try:
        return resolve_secrets(None, purpose="the live view's CSRF tokens")[-1]
    except ConfigurationError:
        return secrets.token_bytes(32)


class AttackPanel:
    """The panel of one `LiveView`, bound to a Shield that has an under-attack switch."""

    def __init__(self, shield: Any, token: str | None) -> None:
        self.shield = shield
        self._key = hmac.new(_seed(token), b"shieldware-live-csrf", hashlib.sha256).digest()

    @property
    def switch(self) -> Any:
        return self.shield.switch

    # -- rendering ---------------------------------------------------------------------------
    def csrf(self, session: str) -> str:
        return hmac.new(self._key, session.encode(), hashlib.sha256).hexdigest()

    def status_html(self) -> str:
        """The state and the thresholds (refreshed over the event stream)."""
        switch = self.switch
        now = time.time()
        state = switch.state
        active = switch.active
        rows = [
            f'<p class="attack-state attack-{"on" if active else "off"}"><b>'
            f"{'UNDER ATTACK' if active else 'normal'}</b> · {_e(state.describe(now))}</p>"
        ]
        monitor = switch.monitor
        if monitor is not None:
            lines = "".join(f"<li>{_e(line)}</li>" for line in monitor.describe())
            rows.append(f'<p class="note">Automatic trigger:</p><ul class="trigger">{lines}</ul>')
        else:
            rows.append('<p class="note">Automatic trigger: off (manual switch only)</p>')
        recent = list(switch.recent)[-5:]
        if recent:
            flips = "".join(
                f"<li>{_e(time.strftime('%H:%M:%S', time.gmtime(e.seen_at)))} "
                f"{'ON' if e.active else 'off'} ({_e(e.source)}) by {_e(e.state.by or '?')}"
                f"{': ' + _e(e.state.reason) if e.state.reason else ''}</li>"
                for e in reversed(recent)
            )
            rows.append(f'<ul class="flips">{flips}</ul>')
        return "".join(rows)

    def form_html(self, base: str, session: str) -> str:
        """The button: a form posting to ``attack`` (confirmed on the next page)."""
        action = _e(base.rstrip("/") + "/attack")
        token = _e(self.csrf(session))
        return (
            f'<form class="attack-form" method="post" action="{action}">'
            f'<input type="hidden" name="csrf" value="{token}">'
            '<label>Reason <input name="reason" maxlength="200"></label> '
            '<label>Until <input name="until" placeholder="30m, 2h, ISO time" maxlength="40">'
            "</label> "
            '<button name="on" value="1" class="danger">Turn on…</button> '
            '<button name="on" value="0">Turn off…</button></form>'
        )

    def panel_html(self, base: str, session: str) -> str:
        """The whole panel: the state (`status_html`, refreshed live), what the switch changes
        and the button (rendered once: an open ``details`` is not closed by an update)."""
        profile = getattr(self.shield, "attack_profile", None)
        changes = ""
        if profile is not None:
            items = "".join(f"<li>{_e(line)}</li>" for line in profile.describe())
            changes = (
                f"<details><summary>What the switch changes</summary><ul>{items}</ul></details>"
            )
        return (
            '<section class="panel"><h2>Under attack</h2>'
            f'<div id="attack">{self.status_html()}</div>{changes}'
            f"{self.form_html(base, session)}</section>"
        )

    def state_json(self) -> bytes:
        switch = self.switch
        state = switch.state
        profile = getattr(self.shield, "attack_profile", None)
        body = {
            "active": switch.active,
            "state": {
                "on": state.on,
                "by": state.by,
                "reason": state.reason,
                "at": state.at,
                "until": state.until,
            },
            "describe": state.describe(),
            "profile": profile.describe() if profile is not None else [],
            "trigger": switch.monitor.describe() if switch.monitor is not None else None,
            "recent": [e.as_dict() for e in switch.recent],
        }
        return json.dumps(body).encode()

    # -- requests ----------------------------------------------------------------------------
    def handle(
        self,
        method: str,
        headers: dict[str, str],
        body: bytes,
        *,
        base: str,
        host_origin: str,
        bearer: bool,
        session: str | None,
    ) -> Outcome:
        """Answer ``/attack`` for an authorized request (the caller checked the token)."""
        if method in ("GET", "HEAD"):
            return Outcome(200, list(_JSON), self.state_json())
        if method != "POST":
            return Outcome(405, [(b"allow", b"GET, HEAD, POST")], b"Method not allowed\n")
        if len(body) > MAX_BODY:
            return Outcome(413, [], b"Too large\n")
        form = _read_form(headers.get("content-type", ""), body)
        if form is None:
            return Outcome(400, [], b"Bad request: a form or a JSON object\n")
        on = form.get("on")
        if on not in ("1", "0", "true", "false", "on", "off"):
            return Outcome(400, [], b"Bad request: on must be 1 or 0\n")
        flip: dict[str, Any] = {
            "on": on in ("1", "true", "on"),
            "reason": form.get("reason", "")[:200],
            "until": form.get("until", "").strip()[:40] or None,
        }
        if bearer:
            flip["by"] = form.get("by", "")[:60] or "liveview-api"
            return Outcome(200, list(_JSON), b"", flip)
        # A browser: same origin, the session's CSRF token, then a confirmation.
        if not _same_origin(headers, host_origin):
            return Outcome(403, [], b"Forbidden: cross-origin request\n")
        given = form.get("csrf", "")
        if session is None or not hmac.compare_digest(given.encode(), self.csrf(session).encode()):
            return Outcome(403, [], b"Forbidden: bad or missing CSRF token; reload the page\n")
        flip["by"] = "liveview"
        if form.get("confirm") != "1":
            return Outcome(200, list(_HTML), self._confirm_page(base, session, flip))
        target = (base.rstrip("/") or "") + "/"
        return Outcome(303, [(b"location", target.encode("latin-1", "replace"))], b"", flip)

    def _confirm_page(self, base: str, session: str, flip: dict[str, Any]) -> bytes:
        verb = "ON" if flip["on"] else "OFF"
        action = _e(base.rstrip("/") + "/attack")
        fields = "".join(
            f'<input type="hidden" name="{name}" value="{_e(value)}">'
            for name, value in (
                ("csrf", self.csrf(session)),
                ("on", "1" if flip["on"] else "0"),
                ("reason", flip["reason"]),
                ("until", flip["until"] or ""),
                ("confirm", "1"),
            )
        )
        effect = (
            "Every worker sharing the store will challenge every navigation without a clearance "
            "and tighten its budgets within a second."
            if flip["on"]
            else "Every worker goes back to the normal chain within a second."
        )
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<title>Confirm</title><link rel="stylesheet" href="{_e(base.rstrip("/"))}/live.css">'
            f"</head><body><main><h1>Turn the under-attack switch {verb}?</h1><p>{_e(effect)}</p>"
            f"<p>Reason: {_e(flip['reason'] or '-')}; until: {_e(flip['until'] or '-')}</p>"
            f'<form method="post" action="{action}">{fields}'
            f'<button class="danger">Yes, turn it {verb}</button> '
            f'<a href="{_e(base.rstrip("/") + "/")}">Cancel</a></form></main></body></html>'
        ).encode()


def _read_form(content_type: str, body: bytes) -> dict[str, str] | None:
    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if kind == "application/json":
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        out = {}
        for key, value in data.items():
            if isinstance(value, bool):
                out[str(key)] = "1" if value else "0"
            elif isinstance(value, str | int | float):
                out[str(key)] = str(value)
        return out
    if kind in ("application/x-www-form-urlencoded", ""):
        try:
            return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=20))
        except ValueError:
            return None
    return None


def _same_origin(headers: dict[str, str], host_origin: str) -> bool:
    origin = headers.get("origin")
    if origin is None:
        referer = headers.get("referer")
        if not referer:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return hmac.compare_digest(
        origin.lower().encode("latin-1", "replace"),
        host_origin.lower().encode("latin-1", "replace"),
    )


def new_session() -> str:
    return secrets.token_urlsafe(16)

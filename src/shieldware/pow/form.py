"""Per-action proofs in forms: the field the answer travels in, the challenged form carried
through the interstitial (`Replay`), and the form helper's markup (`helper_html`).

The helper is ``assets/pow-form.js``: placed in a form, it fetches a challenge bound to that
form's action (``/.shieldware/pow/challenge?a=<path>``) when the form appears, or on first focus,
solves it in Web Workers while the person types, and puts the answer in a hidden field before the
form is sent. The template helpers (`shieldware.contrib.jinja`, the Django tag ``shieldware_pow``)
render `helper_html`. No inline script: it works under ``script-src 'self'``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Literal, NamedTuple

__all__ = ["FORM_FIELD", "FormText", "Replay", "helper_html"]

#: The form field the helper fills with ``<challenge token>;<n0>,<n1>,...``.
FORM_FIELD = "sw-pow-answer"
#: Where the layer answers (its assets, the verify and challenge endpoints).
BASE = "/.shieldware/pow/"


class Replay(NamedTuple):
    """A challenged form post the interstitial sends again, with the answer, once solved.

    :param action: the same-origin path (and query) it was posted to.
    :param fields: its fields in order (the answer field left out).
    :param field: the name of the answer field.
    :param multipart: it was ``multipart/form-data`` (it is sent again the same way).
    """

    action: str
    fields: tuple[tuple[str, str], ...]
    field: str
    multipart: bool


@dataclass(frozen=True, slots=True)
class FormText:
    """The helper's status texts (read aloud through ``aria-live``); pass your own to translate."""

    preparing: str = "Preparing a quick anti-spam check…"
    ready: str = "Anti-spam check done."
    waiting: str = "Finishing the anti-spam check, your form will be sent in a moment…"
    failed: str = "The anti-spam check could not run here; your form will be checked on sending."


def helper_html(
    *,
    action: str | None = None,
    method: str = "POST",
    start: Literal["load", "focus"] = "load",
    field: str = FORM_FIELD,
    base: str = BASE,
    text: FormText | None = None,
) -> str:
    """The markup to put inside a ``<form>``: the hidden answer field, the status line and the
    script. Every value is escaped.

    :param action: the path the form posts to; by default the form's own ``action``.
    :param start: ``"load"`` fetches and solves when the form appears; ``"focus"`` waits for
        the first focus inside the form.
    """
    e = html.escape
    t = text or FormText()
    data = f' data-action="{e(action)}"' if action else ""
    return (
        f'<input type="hidden" name="{e(field)}" value="" data-shieldware-pow="{e(base)}"'
        f' data-method="{e(method.upper())}" data-start="{e(start)}"{data}'
        f' data-msg-preparing="{e(t.preparing)}" data-msg-ready="{e(t.ready)}"'
        f' data-msg-waiting="{e(t.waiting)}" data-msg-failed="{e(t.failed)}">'
        '<span class="sw-pow-status" role="status" aria-live="polite"></span>'
        f'<script src="{e(base)}pow-form.js" defer></script>'
    )

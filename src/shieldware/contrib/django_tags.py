"""The form helper as a Django template tag: ``{% shieldware_pow %}`` inside a form.

Register the library in ``TEMPLATES`` (``OPTIONS``)::

    "libraries": {"shieldware": "shieldware.contrib.django_tags"},

then, in the template of a form whose post needs a per-action proof of work::

    {% load shieldware %}
    <form method="post">{% csrf_token %}{{ form.as_p }}{% shieldware_pow %}
      <button>Sign up</button></form>

It renders the hidden answer field, an ``aria-live`` status line and
``<script src="/.shieldware/pow/pow-form.js" defer>`` (no inline script; see docs/proof-of-work.md).
Arguments: ``{% shieldware_pow "/signup/" start="focus" %}`` (the action path, by default the
form's own; when to start solving).
"""

from __future__ import annotations

from typing import Literal

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..pow.form import helper_html

__all__ = ["register", "shieldware_pow"]

register = template.Library()


@register.simple_tag  # type: ignore[untyped-decorator]
def shieldware_pow(
    action: str | None = None, method: str = "POST", start: str = "load"
) -> SafeString:
    """The helper's markup (see `shieldware.pow.form.helper_html`); every value is escaped."""
    when: Literal["load", "focus"] = "focus" if start == "focus" else "load"
    return mark_safe(helper_html(action=action or None, method=method, start=when))  # noqa: S308

"""The form helper in Jinja2 templates (Flask, Starlette, FastAPI): ``{{ shieldware_pow() }}``.

Put it inside the form whose post needs a per-action proof of work (a sign-up, a login)::

    <form method="post" action="/signup">
      ... your fields ...
      {{ shieldware_pow() }}
      <button>Create account</button>
    </form>

Register it once: ``install(app.jinja_env)`` in Flask, ``install(templates.env)`` with Starlette's
or FastAPI's ``Jinja2Templates``. It renders the hidden answer field, an ``aria-live`` status line
and ``<script src="/.shieldware/pow/pow-form.js" defer>`` (no inline script; see
docs/proof-of-work.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from markupsafe import Markup

from ..pow.form import FORM_FIELD, FormText, helper_html

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["install", "shieldware_pow"]


def shieldware_pow(
    action: str | None = None,
    *,
    method: str = "POST",
    start: Literal["load", "focus"] = "load",
    field: str = FORM_FIELD,
    text: FormText | None = None,
) -> Markup:
    """The helper's markup (see `shieldware.pow.form.helper_html`), safe for Jinja2."""
    return Markup(  # noqa: S704 - helper_html escapes every value it interpolates
        helper_html(action=action, method=method, start=start, field=field, text=text)
    )


def install(env: Environment, name: str = "shieldware_pow") -> None:
    """Make ``{{ shieldware_pow() }}`` available in every template of `env`."""
    env.globals[name] = shieldware_pow

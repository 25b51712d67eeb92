"""`Honeypot`: refuse a form post that filled in a field no person can see.

The form helper (`shieldware.pow.form.helper_html`, the Jinja2 and Django template helpers) puts
a text field inside a ``hidden`` wrapper: not rendered, so never seen, focused, read aloud or
filled by a person, a screen reader or (marked for them) a password manager. Form-filling bots
fill every field they find. A post whose honeypot field has a value is refused with its own
reason, ``honeypot-filled``, and weighs as automation in the score and the reports.
"""

from __future__ import annotations

from ..body import SAFE_METHODS, body_of, form_value
from ..errors import ConfigurationError
from ..facts import Facts
from ..layer import Progress
from ..match import Matcher
from ..pow.form import HONEYPOT_FIELD
from ..verdict import Action, Reason, Verdict

__all__ = ["Honeypot"]


class Honeypot:
    """Refuse form posts that fill the hidden honeypot field.

    Reads the field from the form body the adapter buffers for it (at most 64 KiB, urlencoded or
    multipart; see `shieldware.body`); a post without a readable form, or without the field, is
    not its business. Put it before the layers a refused bot should not cost anything (it reads
    no store).

    :param field: the honeypot's name, as the form helper renders it. Pick one a bot wants to
        fill and your forms do not use.
    :param match: the posts to look at (every unsafe-method request by default); the default
        chain passes its account routes.
    :param weight: how much a filled honeypot adds to the score (automation by default).
    :param status: the refusal's status.
    :param name: the layer's name (``"honeypot"`` in rule names).
    """

    ops: frozenset[type] = frozenset()

    def __init__(
        self,
        *,
        field: str = HONEYPOT_FIELD,
        match: Matcher | None = None,
        weight: float = 10.0,
        status: int = 403,
        name: str = "honeypot",
    ) -> None:
        if not field or not all(c.isalnum() or c in "-_" for c in field):
            raise ConfigurationError(f"a honeypot field must be [A-Za-z0-9_-]+, not {field!r}")
        self.name = name
        self.field = field
        self.match = match
        self._refusal = Verdict(
            Action.DENY,
            f"{name}/filled",
            Reason.HONEYPOT_FILLED,
            weight=weight,
            status=status,
            detail={"field": field},
        )
        self._pass = Verdict(Action.PASS, name, Reason.NOT_FILLED)

    def __repr__(self) -> str:
        return f"Honeypot(field={self.field!r}, match={self.match!r})"

    def wants_body(self, facts: Facts) -> bool:
        """The adapters buffer the body of the posts this layer looks at."""
        return facts.method not in SAFE_METHODS and (self.match is None or self.match(facts))

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        body = body_of(facts)  # None for almost every request: no matcher runs for them
        if body is None or (self.match is not None and not self.match(facts)):
            return self._pass
        value = form_value(body, self.field)
        return self._refusal if value else self._pass

"""The chain a newcomer gets in one line: ``Shield.default(secret=...)``.

Everything here is reachable piece by piece; the preset only picks sensible values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .attack import AttackMonitor, AttackProfile, Trigger
from .layer import Layer, Reporter
from .layers import Fingerprint, IPList, ProofOfWork, TokenBucket
from .match import path
from .policy import Mode, Shield
from .secret import SecretInput
from .stores import Store

if TYPE_CHECKING:
    from .origin.value import OriginLookup

__all__ = ["DEFAULT_ATTACK", "default_layers", "default_shield"]


#: Sign-up and login style routes: proof of work before the form is even shown, so a browser holds
#: a clearance when it submits (a POST is never replayed after a challenge).
ACCOUNT_ROUTES = path(
    "/accounts/login",
    "/accounts/login/",
    "/accounts/password/reset",
    "/accounts/password/reset/",
    "/accounts/signup",
    "/accounts/signup/",
    "/login",
    "/login/",
    "/password/reset",
    "/password/reset/",
    "/register",
    "/register/",
    "/sign-in",
    "/sign-in/",
    "/sign-up",
    "/sign-up/",
    "/signin",
    "/signin/",
    "/signup",
    "/signup/",
    "/user/login",
    "/user/login/",
    "/user/register",
    "/user/register/",
)
#: Score (summed weight of earlier layers) from which every request must pay proof of work: the
#: fingerprint layer's `challenge` band (impersonated browsers, headless browsers).
POW_MIN_SCORE = 6.0


#: What the under-attack switch changes in the default chain: every HTML navigation and every
#: ``/api`` route needs a clearance (or, for the API, a principal); token buckets at a quarter for
#: requests without one; one more proof-of-work bit for networks with no solve in a week.
DEFAULT_ATTACK = AttackProfile()


def default_layers(
    secret: SecretInput = None, *, origins: OriginLookup | None = None
) -> list[Layer]:
    """The default layers, in order. Grows as layers land; see docs/concepts.md.

    `IPList` comes first so allow-listed networks skip everything. `Fingerprint` is a weighting
    layer: it only adds weight (and short-circuits on verified good bots and spoofed ones), so
    later layers see its score in ``progress.score``. `ProofOfWork` comes last so it sees the
    score of every scoring layer before it.

    The per-IP token bucket is generous (120 requests a minute, 60 at once) so people never meet
    it; it comes before `Fingerprint` so every client is counted, verified good bots included. A
    client over it gets 429 with Retry-After; every response carries the ``RateLimit`` headers.

    Proof of work comes last so it sees the score of every scoring layer before it.

    `origins` (an `OriginDB`; the preset ships none) adds the origin signals to `Fingerprint`:
    a browser head from a hosting network (+4: alone it stays below the challenge score, so a
    person behind a VPN is not challenged for it), a crawler's name from the wrong AS (+6), a
    library from a hosting network (+0.5). docs/origin.md has the measurement behind the choice.
    """
    return [
        IPList(),
        TokenBucket("120/minute", burst=60, name="ratelimit"),
        Fingerprint(origin=origins),
        ProofOfWork(secret, match=ACCOUNT_ROUTES, min_score=POW_MIN_SCORE),
    ]


def default_shield(
    secret: SecretInput = None,
    *,
    mode: Mode = "enforce",
    store: Store | str | None = None,
    trusted_proxies: Iterable[str] = (),
    reporters: Iterable[Reporter] = (),
    origins: OriginLookup | None = None,
    attack: AttackProfile | None = DEFAULT_ATTACK,
    auto_attack: bool | Trigger = False,
    **options: Any,
) -> Shield:
    """A `Shield` with the default layers. Extra keyword options go to `Shield`.

    `origins` opts in to the origin signals (see `default_layers`).

    :param attack: what ``shield.under_attack()`` changes (`DEFAULT_ATTACK`); None: no switch.
    :param auto_attack: True (or a `Trigger`) to let an `AttackMonitor` flip the switch when a
        flood shows; off by default (``shieldware demo`` turns it on).
    """
    shield = Shield(
        default_layers(secret, origins=origins),
        mode=mode,
        store=store,
        trusted_proxies=trusted_proxies,
        reporters=reporters,
        attack=attack,
        **options,
    )
    if auto_attack and attack is not None:
        AttackMonitor(shield, auto_attack if isinstance(auto_attack, Trigger) else None)
    return shield

"""The chain a newcomer gets in one line: ``Shield.default(secret=...)``.

Everything here is reachable piece by piece; the preset only picks sensible values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .attack import AttackMonitor, AttackProfile, Trigger
from .keys import by_network
from .layer import Layer, Reporter
from .layers import Fingerprint, IPList, ProofOfWork, TokenBucket
from .match import Matcher, any_of, path
from .policy import Mode, Shield
from .secret import SecretInput
from .stores import Store

if TYPE_CHECKING:
    from .origin.value import OriginLookup

__all__ = ["ACCOUNT_RATE", "ACCOUNT_ROUTES", "DEFAULT_ATTACK", "default_layers", "default_shield"]


#: Sign-up, login and password-reset style routes. Every POST to them (an account action) pays a
#: fresh single-use proof bound to the action and the network, which the form helper solves while
#: the person types (or the interstitial, which then sends the form again); the pages are free.
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
#: Account actions (proved POSTs to account routes) per network (/24, /48) and hour: even a GPU
#: farm buys at most this many accounts per network and hour.
ACCOUNT_RATE = "30/hour"


#: What the under-attack switch changes in the default chain: every HTML navigation and every
#: ``/api`` route needs a clearance (or, for the API, a principal); token buckets at a quarter for
#: requests without one; one more proof-of-work bit for networks with no solve in a week.
DEFAULT_ATTACK = AttackProfile()


def default_layers(
    secret: SecretInput = None,
    *,
    origins: OriginLookup | None = None,
    account_match: Matcher | None = None,
    account_rate: str | None = ACCOUNT_RATE,
) -> list[Layer]:
    """The default layers, in order. Grows as layers land; see docs/concepts.md.

    `IPList` comes first so allow-listed networks skip everything. `Fingerprint` is a weighting
    layer: it only adds weight (and short-circuits on verified good bots and spoofed ones), so
    later layers see its score in ``progress.score``. `ProofOfWork` comes last so it sees the
    score of every scoring layer before it.

    The per-IP token bucket is generous (120 requests a minute, 60 at once) so people never meet
    it; it comes before `Fingerprint` so every client is counted, verified good bots included. A
    client over it gets 429 with Retry-After; every response carries the ``RateLimit`` headers.

    Proof of work comes last so it sees the score of every scoring layer before it. Account
    actions it let through (each with its own proof) then meet a budget per network
    (`account_rate`, per /24 and /48; None for none): a 429 like any limit, in every report.

    `origins` (an `OriginDB`; the preset ships none) adds the origin signals to `Fingerprint`:
    a browser head from a hosting network (+4: alone it stays below the challenge score, so a
    person behind a VPN is not challenged for it), a crawler's name from the wrong AS (+6), a
    library from a hosting network (+0.5). docs/origin.md has the measurement behind the choice.

    :param account_match: more account routes, besides `ACCOUNT_ROUTES`.
    """
    routes: Matcher = (
        ACCOUNT_ROUTES if account_match is None else any_of(ACCOUNT_ROUTES, account_match)
    )
    pow_layer = ProofOfWork(secret, actions=routes, min_score=POW_MIN_SCORE)
    layers: list[Layer] = [
        IPList(),
        TokenBucket("120/minute", burst=60, name="ratelimit"),
        Fingerprint(origin=origins),
        pow_layer,
    ]
    if account_rate is not None:
        layers.append(
            TokenBucket(
                account_rate,
                key=by_network(24, 48),
                match=pow_layer.is_action,
                name="account-actions",
            )
        )
    return layers


def default_shield(
    secret: SecretInput = None,
    *,
    mode: Mode = "enforce",
    store: Store | str | None = None,
    trusted_proxies: Iterable[str] = (),
    reporters: Iterable[Reporter] = (),
    origins: OriginLookup | None = None,
    account_match: Matcher | None = None,
    account_rate: str | None = ACCOUNT_RATE,
    attack: AttackProfile | None = DEFAULT_ATTACK,
    auto_attack: bool | Trigger = False,
    **options: Any,
) -> Shield:
    """A `Shield` with the default layers. Extra keyword options go to `Shield`.

    `origins` opts in to the origin signals; `account_match` and `account_rate` shape the
    account actions (see `default_layers`).

    :param attack: what ``shield.under_attack()`` changes (`DEFAULT_ATTACK`); None: no switch.
    :param auto_attack: True (or a `Trigger`) to let an `AttackMonitor` flip the switch when a
        flood shows; off by default (``shieldware demo`` turns it on).
    """
    shield = Shield(
        default_layers(
            secret, origins=origins, account_match=account_match, account_rate=account_rate
        ),
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

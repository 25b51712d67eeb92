"""The signup site's protection, named by ``SHIELDWARE_SHIELD``.

App-wide (the middleware: every request): a deny list, a generous per-IP limit, fingerprint scoring,
and one proof of work per sign-up and login post, bound to the action and the network. The forms'
helper (``{% shieldware_pow %}``) solves it while the person types; a browser without it gets an
interstitial that sends the form again once solved; API clients answer
``WWW-Authenticate: Shieldware-PoW`` (``shieldware.client.PowAuth``). The views add their own
limits with ``@protect`` (see views.py).
"""

from __future__ import annotations

import logging
import os

from shieldware import Action, IPList, Shield, Threshold
from shieldware.keys import by_ip
from shieldware.layers import Fingerprint, ProofOfWork, TokenBucket
from shieldware.match import path
from shieldware.secret import ENV_VAR, generate_secret

log = logging.getLogger("signup_site")


def _secret() -> str:
    secret = os.environ.get(ENV_VAR)
    if secret:
        return secret
    log.warning("signup example: %s is not set; using a random secret for this process", ENV_VAR)
    return generate_secret()


proof_of_work = ProofOfWork(
    _secret(),
    actions=path("/signup/", "/login/"),  # each POST pays its own proof; the pages are free
    count=int(os.environ.get("SIGNUP_POW_COUNT", "8")),
    bits=int(os.environ.get("SIGNUP_POW_BITS", "16")),
)

shield = Shield(
    [
        IPList(deny=os.environ.get("SIGNUP_DENY", "203.0.113.0/24").split(",")),
        TokenBucket(os.environ.get("SIGNUP_IP_RATE", "300/minute"), key=by_ip, name="ip"),
        Fingerprint(match=path("/", "/signup/", "/login/")),
        proof_of_work,
    ],
    thresholds=[Threshold(6.0, Action.CHALLENGE, name="fingerprint")],
    challenger=proof_of_work,
    mode="shadow" if os.environ.get("SHIELDWARE_MODE") == "shadow" else "enforce",
)

"""The chat example's protection, all in one place.

App-wide (`ShieldMiddleware`: every request, 404 scans included):

1. a deny list;
2. a token bucket per IP (generous: people behind one NAT share it);
3. a stricter per-IP bucket in **shadow**: its verdicts are recorded in every decision's trail
   (``GET /shield`` shows them) but never enforced, the way you trial a limit before enforcing it;
4. fingerprint scoring of browser-facing pages (not the API, whose clients are scripts by design);
5. proof of work on registration: every ``POST /register`` pays a fresh proof of its own, bound
   to the action and the network. The sign-up page's form helper (``{{ shieldware_pow() }}``)
   solves it while the person types; browsers without it get an interstitial that sends their
   form again once solved; API clients answer the ``401 WWW-Authenticate: Shieldware-PoW``
   challenge (``shieldware.client.PowAuth``). A high fingerprint score on any page gets a
   challenge too (the CHALLENGE threshold).

Per route (`Protect` dependencies, keyed on the route template):

- ``POST /register``: 5 sign-ups per hour per IP;
- ``POST /v1/chat/completions``: 60 requests per minute per API key (per account: every key of one
  user shares it), and at most 2 streams in flight per account (the lease is released when the
  stream ends).

``SHIELDWARE_MODE=shadow`` runs the whole chain in shadow mode.
"""

from __future__ import annotations

import logging
import os
from typing import Literal, cast

from chat_accounts import Accounts
from starlette.requests import HTTPConnection

from shieldware import Action, IPList, Shield, Threshold, shadowed
from shieldware.contrib.fastapi import Protect
from shieldware.keys import by_ip, by_principal
from shieldware.layers import Concurrency, Fingerprint, ProofOfWork, RateLimit, TokenBucket
from shieldware.match import method, not_, path
from shieldware.secret import ENV_VAR, generate_secret

log = logging.getLogger("chat_example")

MODE = cast("Literal['enforce', 'shadow']", os.environ.get("SHIELDWARE_MODE", "enforce"))
#: Documentation networks stand in for the addresses you would deny.
DENY = os.environ.get("CHAT_DENY", "203.0.113.0/24").split(",")


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _secret() -> str:
    """The signing secret for proof of work: SHIELDWARE_SECRET, or a throwaway one (said loudly)."""
    secret = os.environ.get(ENV_VAR)
    if secret:
        return secret
    log.warning(
        "chat example: %s is not set; using a random secret for this process only "
        "(clearances will not survive a restart; run `shieldware secret`)",
        ENV_VAR,
    )
    return generate_secret()


accounts = Accounts()


def api_key_principal(connection: HTTPConnection) -> str | None:
    """The account behind the request's API key: limits are per account, not per key string."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return accounts.user_of(token.strip()) if scheme.lower() == "bearer" else None


proof_of_work = ProofOfWork(
    _secret(),
    actions=path("/register"),  # POSTs to it: one proof each (the page itself is free)
    count=int(_env("CHAT_POW_COUNT", "8")),
    bits=int(_env("CHAT_POW_BITS", "16")),
)

app_shield = Shield(
    [
        IPList(deny=DENY),
        TokenBucket(_env("CHAT_IP_RATE", "300/minute"), key=by_ip, name="ip"),
        shadowed(TokenBucket(_env("CHAT_IP_TRIAL_RATE", "60/minute"), key=by_ip, name="ip-trial")),
        Fingerprint(match=not_(path("/v1/*", "/healthz", "/shield"))),
        proof_of_work,
    ],
    thresholds=[Threshold(6.0, Action.CHALLENGE, name="fingerprint")],
    challenger=proof_of_work,
    mode=MODE,
)

register_guard = Protect(
    TokenBucket(
        _env("CHAT_REGISTER_RATE", "5/hour"), key=by_ip, match=method("POST"), name="register"
    )
)

completions_guard = Protect(
    [
        RateLimit(
            [TokenBucket(_env("CHAT_KEY_RATE", "60/minute"), key=by_principal, name="api-key")],
            name="api-key-limit",
        ),
        Concurrency(int(_env("CHAT_STREAMS", "2")), key=by_principal, name="streams"),
    ],
    principal=api_key_principal,
)

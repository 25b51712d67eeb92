"""Pay the proof of work honestly from Python: a solver, `httpx` (sync, async) and `requests` auth.

Feed readers, CLIs and partner APIs need not be blocked by a proof-of-work wall: when a response is
``401`` with ``WWW-Authenticate: Shieldware-PoW challenge="...", count="8", bits="16", ...``, these
helpers solve it, repeat the request once with ``Shieldware-PoW-Answer: <challenge>;<n0>,<n1>,...``
and keep the ``Shieldware-Clearance`` token the server returns for the following requests to that
origin::

    auth = shieldware.client.PowAuth()
    with httpx.Client(auth=auth) as http:
        http.get("https://example.org/feed.xml")

The request is repeated as sent (body included), so only use it with repeatable bodies.

Clearances are kept per origin and sent back in the clearance *cookie*, never in a header of our
own: httpx and requests drop the ``Cookie`` header on every redirect and rebuild it from their
cookie jar, so a redirect cannot carry a clearance to another origin (a custom header would follow
it). A challenge is answered to the origin that sent it, and a clearance is filed under the
origin that issued it, redirects included.
"""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncGenerator, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from .pow import puzzle
from .pow.tokens import COOKIE_NAMES

if TYPE_CHECKING:
    import requests

__all__ = [
    "ANSWER_HEADER",
    "CLEARANCE_HEADER",
    "PowAuth",
    "PowChallenge",
    "PowRequestsAuth",
    "parse_challenge",
    "solve_answer",
]

ANSWER_HEADER = "Shieldware-PoW-Answer"
CLEARANCE_HEADER = "Shieldware-Clearance"
SCHEME = "Shieldware-PoW"
_PARAM = re.compile(r'([A-Za-z]+)="([^"]*)"')
#: Refuse to spend more than this on one challenge (2**26 = 67 M hashes; ~20 s in CPython).
DEFAULT_MAX_WORK = 1 << 26


@dataclass(frozen=True, slots=True)
class PowChallenge:
    """A challenge as announced in ``WWW-Authenticate``."""

    token: str
    count: int
    bits: int

    @property
    def cid(self) -> str:
        return self.token.split(".")[1]

    @property
    def work(self) -> int:
        return puzzle.expected_work(self.count, self.bits)


def parse_challenge(headers: Mapping[str, str]) -> PowChallenge | None:
    """The proof-of-work challenge in a response's headers, or None."""
    value = headers.get("www-authenticate") or ""
    if not value.startswith(SCHEME):
        return None
    params = dict(_PARAM.findall(value))
    try:
        token, count, bits = params["challenge"], int(params["count"]), int(params["bits"])
    except (KeyError, ValueError):
        return None
    if token.count(".") < 2 or not (1 <= count <= puzzle.MAX_COUNT and 1 <= bits <= 32):
        return None
    if params.get("algorithm", "sha256") != puzzle.ALGORITHM:
        return None
    return PowChallenge(token, count, bits)


def solve_answer(challenge: PowChallenge, max_work: int = DEFAULT_MAX_WORK) -> str:
    """The ``Shieldware-PoW-Answer`` header value for `challenge`.

    :raises ValueError: when the challenge asks for more than `max_work` expected hashes.
    """
    if challenge.work > max_work:
        raise ValueError(f"challenge asks for {challenge.work} hashes, more than {max_work}")
    nonces = puzzle.solve(challenge.cid, challenge.count, challenge.bits)
    return challenge.token + ";" + ",".join(str(n) for n in nonces)


def _with_clearance(cookie: str | None, token: str | None) -> str | None:
    """A ``Cookie`` header value: `cookie` without our pairs, plus `token`'s (when given).

    The server reads the clearance under `sw_pow` over http and `__Host-sw_pow` over https; a
    client cannot know which scheme the server sees behind a proxy, so it sends both.
    """
    pairs = [
        pair.strip()
        for pair in (cookie or "").split(";")
        if pair.strip() and pair.split("=", 1)[0].strip() not in COOKIE_NAMES
    ]
    if token:
        pairs += [f"{name}={token}" for name in COOKIE_NAMES]
    return "; ".join(pairs) or None


def _set_clearance(headers: Any, token: str | None) -> None:
    value = _with_clearance(headers.get("cookie"), token)
    headers.pop("cookie", None)
    if value is not None:
        headers["Cookie"] = value


class _Clearance:
    """Clearance tokens per origin, shared by every request made with one auth object.

    A token is only ever sent back to the origin that issued it.
    """

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.token: str | None = None  # the latest, for introspection
        self.lock = threading.Lock()

    def apply(self, origin: str, headers: Any) -> None:
        _set_clearance(headers, self.tokens.get(origin))

    def keep(self, origin: str, headers: Mapping[str, str]) -> None:
        token = headers.get(CLEARANCE_HEADER.lower()) or headers.get(CLEARANCE_HEADER)
        if token:
            with self.lock:
                self.tokens[origin] = self.token = token


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _answering(request: Any, answer: str) -> None:
    """Turn `request` into the answer to a challenge: the answer instead of a clearance."""
    _set_clearance(request.headers, None)
    request.headers[ANSWER_HEADER] = answer


class PowAuth(httpx.Auth):
    """`httpx.Auth` that solves Shieldware proof-of-work challenges (sync and async clients).

    :param max_work: the most expected hashes it will spend on one challenge.
    :param max_rounds: challenges answered per request before giving up (returns the 401).

    Account actions (a sign-up, a login) need a proof each: the auth solves once per such
    request, and no clearance covers them. `solves` counts the challenges it answered.
    """

    requires_request_body = True
    requires_response_body = False

    def __init__(self, *, max_work: int = DEFAULT_MAX_WORK, max_rounds: int = 2) -> None:
        self.max_work = max_work
        self.max_rounds = max_rounds
        self.solves = 0
        self._clearance = _Clearance()

    @property
    def clearance(self) -> str | None:
        return self._clearance.token

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        self._clearance.apply(_origin(str(request.url)), request.headers)
        response = yield request
        for _ in range(self.max_rounds):
            # The hop that answered: after a redirect, not the request we were given.
            request = response.request
            self._clearance.keep(_origin(str(request.url)), response.headers)
            challenge = parse_challenge(response.headers) if response.status_code == 401 else None
            if challenge is None or challenge.work > self.max_work:
                return
            _answering(request, solve_answer(challenge, self.max_work))
            self.solves += 1
            response = yield request
        self._clearance.keep(_origin(str(response.request.url)), response.headers)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        import anyio.to_thread

        self._clearance.apply(_origin(str(request.url)), request.headers)
        response = yield request
        for _ in range(self.max_rounds):
            request = response.request
            self._clearance.keep(_origin(str(request.url)), response.headers)
            challenge = parse_challenge(response.headers) if response.status_code == 401 else None
            if challenge is None or challenge.work > self.max_work:
                return
            # Solving is CPU work: keep the event loop free while it runs.
            answer = await anyio.to_thread.run_sync(solve_answer, challenge, self.max_work)
            self.solves += 1
            _answering(request, answer)
            response = yield request
        self._clearance.keep(_origin(str(response.request.url)), response.headers)


class PowRequestsAuth:
    """A `requests` auth (``requests.get(url, auth=PowRequestsAuth())``) that solves challenges."""

    def __init__(self, *, max_work: int = DEFAULT_MAX_WORK, max_rounds: int = 2) -> None:
        self.max_work = max_work
        self.max_rounds = max_rounds
        self._clearance = _Clearance()

    @property
    def clearance(self) -> str | None:
        return self._clearance.token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self._clearance.apply(_origin(request.url or ""), request.headers)
        request.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
        return request

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        # Runs for every hop, redirects included: each response is filed under its own origin.
        for _ in range(self.max_rounds):
            self._clearance.keep(_origin(response.url), response.headers)
            challenge = parse_challenge(response.headers) if response.status_code == 401 else None
            if challenge is None or challenge.work > self.max_work:
                return response
            answer = solve_answer(challenge, self.max_work)
            response.content  # noqa: B018 - drain the body so the connection can be reused
            response.close()
            retry = response.request.copy()
            _answering(retry, answer)
            follow = response.connection.send(retry, **kwargs)
            follow.history.append(response)
            follow.request = retry
            response = follow
        self._clearance.keep(_origin(response.url), response.headers)
        return response

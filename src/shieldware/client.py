"""Pay the proof of work honestly from Python: a solver, `httpx` (sync, async) and `requests` auth.

Feed readers, CLIs and partner APIs need not be blocked by a proof-of-work wall: when a response is
``401`` with ``WWW-Authenticate: Shieldware-PoW challenge="...", count="8", bits="16", ...``, these
helpers solve it, repeat the request once with ``Shieldware-PoW-Answer: <challenge>;<n0>,<n1>,...``
and keep the ``Shieldware-Clearance`` token the server returns for the following requests::

    auth = shieldware.client.PowAuth()
    with httpx.Client(auth=auth) as http:
        http.get("https://example.org/feed.xml")

The request is repeated as sent (body included), so only use it with repeatable bodies.
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


class _Clearance:
    """Clearance tokens per origin, shared by every request made with one auth object.

    A token is only ever sent back to the origin that issued it.
    """

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.token: str | None = None  # the latest, for introspection
        self.lock = threading.Lock()

    def apply(self, origin: str, headers: Any) -> None:
        token = self.tokens.get(origin)
        if token is not None:
            headers[CLEARANCE_HEADER] = token

    def keep(self, origin: str, headers: Mapping[str, str]) -> None:
        token = headers.get(CLEARANCE_HEADER.lower()) or headers.get(CLEARANCE_HEADER)
        if token:
            with self.lock:
                self.tokens[origin] = self.token = token


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class PowAuth(httpx.Auth):
    """`httpx.Auth` that solves Shieldware proof-of-work challenges (sync and async clients).

    :param max_work: the most expected hashes it will spend on one challenge.
    :param max_rounds: challenges answered per request before giving up (returns the 401).
    """

    requires_request_body = True
    requires_response_body = False

    def __init__(self, *, max_work: int = DEFAULT_MAX_WORK, max_rounds: int = 2) -> None:
        self.max_work = max_work
        self.max_rounds = max_rounds
        self._clearance = _Clearance()

    @property
    def clearance(self) -> str | None:
        return self._clearance.token

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        origin = _origin(str(request.url))
        self._clearance.apply(origin, request.headers)
        response = yield request
        for _ in range(self.max_rounds):
            self._clearance.keep(origin, response.headers)
            challenge = parse_challenge(response.headers) if response.status_code == 401 else None
            if challenge is None or challenge.work > self.max_work:
                return
            request.headers.pop(CLEARANCE_HEADER, None)
            request.headers[ANSWER_HEADER] = solve_answer(challenge, self.max_work)
            response = yield request
        self._clearance.keep(origin, response.headers)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        import anyio.to_thread

        origin = _origin(str(request.url))
        self._clearance.apply(origin, request.headers)
        response = yield request
        for _ in range(self.max_rounds):
            self._clearance.keep(origin, response.headers)
            challenge = parse_challenge(response.headers) if response.status_code == 401 else None
            if challenge is None or challenge.work > self.max_work:
                return
            # Solving is CPU work: keep the event loop free while it runs.
            answer = await anyio.to_thread.run_sync(solve_answer, challenge, self.max_work)
            request.headers.pop(CLEARANCE_HEADER, None)
            request.headers[ANSWER_HEADER] = answer
            response = yield request
        self._clearance.keep(origin, response.headers)


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
        origin = _origin(response.url)
        for _ in range(self.max_rounds):
            self._clearance.keep(origin, response.headers)
            challenge = parse_challenge(response.headers) if response.status_code == 401 else None
            if challenge is None or challenge.work > self.max_work:
                return response
            answer = solve_answer(challenge, self.max_work)
            response.content  # noqa: B018 - drain the body so the connection can be reused
            response.close()
            retry = response.request.copy()
            retry.headers.pop(CLEARANCE_HEADER, None)
            retry.headers[ANSWER_HEADER] = answer
            follow = response.connection.send(retry, **kwargs)
            follow.history.append(response)
            follow.request = retry
            response = follow
        self._clearance.keep(origin, response.headers)
        return response

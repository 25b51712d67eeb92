"""Signed challenges and clearance tokens, and the client binding they carry.

Both are itsdangerous-signed strings (HMAC-SHA256, one salt per purpose, a list of secrets for
rotation: the newest signs, every one verifies). Payload fields are dot-separated and limited to
``[A-Za-z0-9_-]``, so tokens travel unchanged in a cookie, a header or a query string::

    challenge: c1.<cid>.<issued_ms>.<expires_s>.<count>.<bits>.<level>.<binding>.<scope>.<sig>
    clearance: k1.<tid>.<issued_s>.<expires_s>.<level>.<fast>.<binding>.<scope>[.<tells>].<sig>

``<tells>`` (0..99, absent when 0) is the automation-tell score the answer came with (pow/tells.py).

Reading a token never raises: it returns the claims or a short reason string.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from typing import Any, NamedTuple

from itsdangerous import Signer
from itsdangerous.signer import SigningAlgorithm

from . import puzzle

__all__ = [
    "CHALLENGE_SALT",
    "CLEARANCE_SALT",
    "COOKIE",
    "COOKIE_NAMES",
    "Challenge",
    "Clearance",
    "TokenKit",
    "binding",
]

#: The clearance cookie: `__Host-` prefixed over https (bound to the exact origin), plain over http.
COOKIE = "sw_pow"
COOKIE_NAMES = (COOKIE, "__Host-" + COOKIE)

CHALLENGE_SALT = "shieldware.pow.challenge"
CLEARANCE_SALT = "shieldware.pow.clearance"
_URLSAFE = bytes.maketrans(b"+/", b"-_")
#: Tokens longer than this are refused before any parsing or HMAC.
MAX_TOKEN = 400

# Reasons a token is refused.
MALFORMED = "malformed"
BAD_SIGNATURE = "bad-signature"
EXPIRED = "expired"
FOREIGN = "foreign-binding"
WRONG_SCOPE = "wrong-scope"


class _Mac:
    """HMAC-SHA256 (RFC 2104) for one key, its padded-key states hashed once.

    Copying two SHA-256 states per message is about three times cheaper here than
    `hmac.digest`, which sets up an OpenSSL HMAC context on every call.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def __call__(self, data: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class _HMACSHA256(SigningAlgorithm):
    """HMAC-SHA256 with per-key precomputed states (keys are the few derived signing keys)."""

    def __init__(self) -> None:
        self._macs: dict[bytes, _Mac] = {}

    def mac(self, key: bytes) -> _Mac:
        mac = self._macs.get(key)
        if mac is None:
            mac = self._macs[key] = _Mac(key)
        return mac

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return self.mac(key)(value)

    def verify_signature(self, key: bytes, value: bytes, sig: bytes) -> bool:
        return hmac.compare_digest(sig, self.mac(key)(value))


class _Signer(Signer):
    """A `Signer` whose per-secret derived keys are computed once, not on every call."""

    def __init__(self, secret_key: Any, salt: str) -> None:
        algorithm = _HMACSHA256()
        super().__init__(
            secret_key,
            salt=salt,
            key_derivation="hmac",
            digest_method=hashlib.sha256,
            algorithm=algorithm,
        )
        self._derived: dict[bytes, bytes] = {}
        #: MACs of the derived keys, newest first: the order `unsign` tries them in.
        self._verify_macs = tuple(
            algorithm.mac(self.derive_key(k)) for k in reversed(self.secret_keys)
        )

    def unsign_text(self, token: str) -> str | None:
        """The payload of a well-signed ASCII token, or None (the hot path of `unsign`)."""
        value, sep, sig = token.rpartition(".")
        if not sep or len(sig) != 43:
            return None
        data = value.encode("ascii")
        given = sig.encode("ascii")
        for mac in self._verify_macs:
            expected = binascii.b2a_base64(mac(data), newline=False)[:43].translate(_URLSAFE)
            if hmac.compare_digest(expected, given):
                return value
        return None

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        raw = self.secret_keys[-1] if secret_key is None else secret_key
        key = raw.encode() if isinstance(raw, str) else raw
        derived = self._derived.get(key)
        if derived is None:
            derived = self._derived[key] = super().derive_key(key)
        return derived


def binding(prefix: str, user_agent: str, action: str | None = None) -> str:
    """16 URL-safe characters naming (network prefix, User-Agent), and the `action` (method and
    path) for a per-action proof: a browsing challenge and an action's never stand for each other.
    """
    text = f"{prefix}\n{user_agent}" if action is None else f"{prefix}\n{user_agent}\n{action}"
    digest = hashlib.blake2b(
        text.encode("utf-8", "surrogateescape"),
        digest_size=12,
        person=b"sw-pow-bind" if action is None else b"sw-pow-action",
    ).digest()
    return base64.urlsafe_b64encode(digest).decode()


def _random_id() -> str:
    return secrets.token_urlsafe(16)


class Challenge(NamedTuple):
    """What a challenge token says (a named tuple: built on every verification).

    `puzzles` is the number of sub-puzzles (``count`` on the wire).
    """

    cid: str
    issued_ms: int
    expires: int
    puzzles: int
    bits: int
    level: int
    binding: str
    scope: str
    token: str = ""

    @property
    def work(self) -> int:
        return puzzle.expected_work(self.puzzles, self.bits)


class Clearance(NamedTuple):
    """What a clearance token says: ``fast`` marks a solve quicker than a browser manages,
    ``tells`` the automation-tell score signed in with it."""

    tid: str
    issued: int
    expires: int
    level: int
    fast: bool
    binding: str
    scope: str
    token: str = ""
    tells: int = 0


_ID = "([A-Za-z0-9_-]{1,64})"
_N = "([0-9]{1,15})"
_CHALLENGE = re.compile(rf"c1\.{_ID}\.{_N}\.{_N}\.{_N}\.{_N}\.{_N}\.{_ID}\.{_ID}", re.ASCII)
_CLEARANCE = re.compile(
    rf"k1\.{_ID}\.{_N}\.{_N}\.{_N}\.([01])\.{_ID}\.{_ID}(?:\.([1-9][0-9]?))?", re.ASCII
)


class TokenKit:
    """Mints and reads this layer's tokens.

    :param secrets: signing keys, oldest first (see `shieldware.secret.resolve_secrets`).
    :param scope: the layer's name; a token from another scope is refused.
    """

    def __init__(self, secrets: Sequence[bytes], scope: str) -> None:
        self.scope = scope
        self._challenges = _Signer(list(secrets), CHALLENGE_SALT)
        self._clearances = _Signer(list(secrets), CLEARANCE_SALT)

    # -- challenges ----------------------------------------------------------------------
    def mint_challenge(
        self, *, now: float, ttl: int, count: int, bits: int, level: int, bound: str
    ) -> Challenge:
        issued_ms = int(now * 1000)
        expires = int(now) + ttl
        cid = _random_id()
        payload = f"c1.{cid}.{issued_ms}.{expires}.{count}.{bits}.{level}.{bound}.{self.scope}"
        token = self._challenges.sign(payload).decode("ascii")
        return Challenge(cid, issued_ms, expires, count, bits, level, bound, self.scope, token)

    def read_challenge(self, token: str, *, now: float, bound: str) -> Challenge | str:
        """The challenge's claims, or the reason it is refused."""
        payload = self._unsign(self._challenges, token)
        if payload is None:
            return BAD_SIGNATURE if 0 < len(token) <= MAX_TOKEN else MALFORMED
        m = _CHALLENGE.fullmatch(payload)
        if m is None:
            return MALFORMED
        cid, issued_ms, expires, count, bits, level, bound_to, scope = m.groups()
        c, b = int(count), int(bits)
        if not (1 <= c <= puzzle.MAX_COUNT and 1 <= b <= puzzle.MAX_BITS):
            return MALFORMED
        if int(expires) <= now:
            return EXPIRED
        if not hmac.compare_digest(bound_to, bound):
            return FOREIGN
        if scope != self.scope:
            return WRONG_SCOPE
        return Challenge(
            cid, int(issued_ms), int(expires), c, b, int(level), bound_to, scope, token
        )

    # -- clearances ----------------------------------------------------------------------
    def mint_clearance(
        self, *, now: float, ttl: int, level: int, fast: bool, bound: str, tells: int = 0
    ) -> Clearance:
        issued = int(now)
        expires = issued + ttl
        tid = _random_id()
        flag = int(fast)
        payload = f"k1.{tid}.{issued}.{expires}.{level}.{flag}.{bound}.{self.scope}"
        tells = max(0, min(99, tells))
        if tells:
            payload += f".{tells}"
        token = self._clearances.sign(payload).decode("ascii")
        return Clearance(tid, issued, expires, level, fast, bound, self.scope, token, tells)

    def read_clearance(self, token: str, *, now: float, bound: str) -> Clearance | str:
        """The clearance's claims, or the reason it is refused."""
        payload = self._unsign(self._clearances, token)
        if payload is None:
            return BAD_SIGNATURE if 0 < len(token) <= MAX_TOKEN else MALFORMED
        m = _CLEARANCE.fullmatch(payload)
        if m is None:
            return MALFORMED
        tid, issued, expires, level, fast, bound_to, scope, tells = m.groups()
        if int(expires) <= now:
            return EXPIRED
        if not hmac.compare_digest(bound_to, bound):
            return FOREIGN
        if scope != self.scope:
            return WRONG_SCOPE
        return Clearance(
            tid,
            int(issued),
            int(expires),
            int(level),
            fast == "1",
            bound_to,
            scope,
            token,
            int(tells or 0),
        )

    @staticmethod
    def _unsign(signer: _Signer, token: str) -> str | None:
        if not token or len(token) > MAX_TOKEN or not token.isascii():
            return None
        return signer.unsign_text(token)

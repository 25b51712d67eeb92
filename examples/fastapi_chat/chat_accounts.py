"""Accounts and API keys, in memory: just enough for the example (use a database in real life)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field

__all__ = ["Accounts"]


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**12, r=8, p=1)


@dataclass
class _Account:
    user_id: str
    email: str
    salt: bytes
    digest: bytes
    api_keys: set[str] = field(default_factory=set)


class Accounts:
    """Users, hashed passwords and API keys (looked up by their SHA-256, never stored in clear)."""

    def __init__(self, max_accounts: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._by_email: dict[str, _Account] = {}
        self._by_key: dict[str, _Account] = {}
        self.max_accounts = max_accounts

    def register(self, email: str, password: str) -> str | None:
        """The new user's id, or None when the email is taken (or the example is full)."""
        email = email.strip().lower()
        with self._lock:
            if email in self._by_email or len(self._by_email) >= self.max_accounts:
                return None
            salt = secrets.token_bytes(16)
            account = _Account(f"u{len(self._by_email) + 1}", email, salt, _hash(password, salt))
            self._by_email[email] = account
            return account.user_id

    def login(self, email: str, password: str) -> str | None:
        """A fresh API key when the password is right, else None."""
        account = self._by_email.get(email.strip().lower())
        if account is None or not hmac.compare_digest(
            account.digest, _hash(password, account.salt)
        ):
            return None
        key = "sk-" + secrets.token_urlsafe(24)
        with self._lock:
            account.api_keys.add(_digest(key))
            self._by_key[_digest(key)] = account
        return key

    def user_of(self, api_key: str | None) -> str | None:
        """The user id an API key belongs to, or None."""
        if not api_key:
            return None
        account = self._by_key.get(_digest(api_key))
        return account.user_id if account is not None else None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()

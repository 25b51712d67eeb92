"""Small matchers a layer takes as ``match=`` to scope itself to part of the app.

A matcher is any callable ``(Facts) -> bool``; these are compiled once, cheap per request and
readable in a repr. Combine them with `all_of`, `any_of` and `not_`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .clientip import Networks
from .errors import ConfigurationError
from .facts import Facts

__all__ = [
    "Matcher",
    "all_of",
    "any_of",
    "host",
    "method",
    "network",
    "not_",
    "path",
    "path_regex",
]

Matcher = Callable[[Facts], bool]


class _Named:
    __slots__ = ("_repr",)
    _repr: str

    def __repr__(self) -> str:
        return self._repr


class path(_Named):
    """Match paths exactly, or by prefix when a pattern ends with ``*`` (``"/api/*"``)."""

    __slots__ = ("_exact", "_prefixes")

    def __init__(self, *patterns: str) -> None:
        if not patterns or not all(p.startswith("/") for p in patterns):
            raise ConfigurationError(f"path patterns must start with '/': {patterns!r}")
        self._exact = frozenset(p for p in patterns if not p.endswith("*"))
        self._prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))
        self._repr = f"path{patterns!r}"

    def __call__(self, facts: Facts) -> bool:
        p = facts.path
        return p in self._exact or p.startswith(self._prefixes)


class path_regex(_Named):
    """Match the path against a regular expression (``re.fullmatch``)."""

    __slots__ = ("_regex",)

    def __init__(self, pattern: str) -> None:
        try:
            self._regex = re.compile(pattern)
        except re.error as exc:
            raise ConfigurationError(f"bad path regex {pattern!r}: {exc}") from exc
        self._repr = f"path_regex({pattern!r})"

    def __call__(self, facts: Facts) -> bool:
        return self._regex.fullmatch(facts.path) is not None


class method(_Named):
    """Match request methods (``method("POST", "PUT")``).

    ``"GET"`` covers ``HEAD`` too: every framework answers HEAD with the GET view, so a layer
    scoped to GET that let HEAD through would leave the same handler uncovered.
    """

    __slots__ = ("_methods",)

    def __init__(self, *methods: str) -> None:
        if not methods:
            raise ConfigurationError("method() needs at least one method")
        named = frozenset(m.upper() for m in methods)
        self._methods = named | {"HEAD"} if "GET" in named else named
        self._repr = f"method{tuple(sorted(named))!r}"

    def __call__(self, facts: Facts) -> bool:
        return facts.method in self._methods


class host(_Named):
    """Match the Host (port ignored); ``"*.example.com"`` matches subdomains."""

    __slots__ = ("_exact", "_suffixes")

    def __init__(self, *hosts: str) -> None:
        if not hosts:
            raise ConfigurationError("host() needs at least one host")
        names = [h.lower() for h in hosts]
        self._exact = frozenset(h for h in names if not h.startswith("*."))
        self._suffixes = tuple(h[1:] for h in names if h.startswith("*."))
        self._repr = f"host{hosts!r}"

    def __call__(self, facts: Facts) -> bool:
        name = facts.host
        if name.startswith("["):
            name = name[: name.find("]") + 1]
        else:
            name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
        return name in self._exact or (bool(self._suffixes) and name.endswith(self._suffixes))


class network(_Named):
    """Match the client address against addresses and CIDR networks."""

    __slots__ = ("_set",)

    def __init__(self, *items: str) -> None:
        self._set = Networks(items)
        self._repr = f"network{items!r}"

    def __call__(self, facts: Facts) -> bool:
        return facts.client.ip in self._set


class all_of(_Named):
    """True when every matcher is (short-circuits)."""

    __slots__ = ("_matchers",)

    def __init__(self, *matchers: Matcher) -> None:
        self._matchers = matchers
        self._repr = f"all_of{matchers!r}"

    def __call__(self, facts: Facts) -> bool:
        return all(m(facts) for m in self._matchers)


class any_of(_Named):
    """True when any matcher is (short-circuits)."""

    __slots__ = ("_matchers",)

    def __init__(self, *matchers: Matcher) -> None:
        self._matchers = matchers
        self._repr = f"any_of{matchers!r}"

    def __call__(self, facts: Facts) -> bool:
        return any(m(facts) for m in self._matchers)


class not_(_Named):
    """The negation of a matcher."""

    __slots__ = ("_matcher",)

    def __init__(self, matcher: Matcher) -> None:
        self._matcher = matcher
        self._repr = f"not_({matcher!r})"

    def __call__(self, facts: Facts) -> bool:
        return not self._matcher(facts)

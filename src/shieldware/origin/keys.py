"""Key functions by network owner: one bucket per AS (``by_asn``) or per organisation (``by_org``).

A flood that rotates through hundreds of addresses of one cloud is one client to these keys::

    TokenBucket("20/hour", key=by_asn(origins, categories={"hosting"}), match=path("/signup"))

An address whose AS is unknown (or outside `categories`) gets None: the rule does not apply to
it, so pair these keys with a per-address rule for everyone else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..errors import ConfigurationError
from ..facts import Facts
from ..keys import Key, _Part
from .value import Category, Origin, OriginLookup

__all__ = ["by_asn", "by_org"]


def _categories(categories: Iterable[str] | None) -> frozenset[str] | None:
    if categories is None:
        return None
    chosen = frozenset(categories)
    unknown = chosen - Category.ALL
    if unknown or not chosen:
        raise ConfigurationError(
            f"categories must be some of {sorted(Category.ALL)}, not {sorted(chosen)}"
        )
    return chosen


def _label(kind: str, chosen: frozenset[str] | None) -> str:
    return kind if chosen is None else f"{kind}:{','.join(sorted(chosen))}"


def _origin_key(
    kind: str,
    value: Callable[[Origin], str | None],
    origins: OriginLookup,
    categories: Iterable[str] | None,
) -> Key:
    """A key of one `Origin` field; None outside `categories` or when the field is unknown."""
    chosen = _categories(categories)

    def key(facts: Facts) -> str | None:
        origin = origins.origin_for(facts.client)
        if chosen is not None and origin.category not in chosen:
            return None
        return value(origin)

    return Key(_Part(_label(kind, chosen), key))


def _asn(origin: Origin) -> str | None:
    return None if origin.asn is None else f"AS{origin.asn}"


def _org(origin: Origin) -> str | None:
    return None if origin.org is None else " ".join(origin.org.casefold().split())


def by_asn(origins: OriginLookup, *, categories: Iterable[str] | None = None) -> Key:
    """The client's AS number (``"AS16509"``); None when unknown or not in `categories`."""
    return _origin_key("asn", _asn, origins, categories)


def by_org(origins: OriginLookup, *, categories: Iterable[str] | None = None) -> Key:
    """The organisation owning the client's AS (case-folded): one budget for all its ASNs."""
    return _origin_key("org", _org, origins, categories)

"""The `Origin` of a request: who owns the address it came from, and what kind of network it is."""

from __future__ import annotations

from typing import NamedTuple, Protocol

from ..clientip import Client

__all__ = [
    "UNKNOWN",
    "Category",
    "Origin",
    "OriginLookup",
    "Record",
    "lookup_in",
    "origin_fields",
    "parse_asn",
    "parse_country",
]


class Category:
    """Network categories: plain strings, so they compare, print and serialise as themselves."""

    HOSTING = "hosting"  # cloud, hosting and datacenter networks
    ISP = "isp"  # access networks: home broadband, mobile carriers
    UNKNOWN = "unknown"  # not known to be either (most networks, with the shipped data)
    ALL = frozenset({HOSTING, ISP, UNKNOWN})


class Record(NamedTuple):
    """What one data source knows about an address; any field may be missing.

    :param category: a category the source itself states (a commercial database's "user type");
        the ASN lists decide otherwise.
    """

    asn: int | None = None
    org: str | None = None
    country: str | None = None
    category: str | None = None


class Origin(NamedTuple):
    """Where a request comes from.

    :param asn: the autonomous system number announcing the address, or None.
    :param org: the organisation owning that AS, as the database names it.
    :param category: a `Category` value.
    :param country: an ISO 3166 alpha-2 code, when a country source is configured.
    """

    asn: int | None = None
    org: str | None = None
    category: str = Category.UNKNOWN
    country: str | None = None

    @property
    def hosting(self) -> bool:
        return self.category == Category.HOSTING

    def __str__(self) -> str:
        if self.asn is None and self.country is None:
            return f"unknown network ({self.category})"
        name = "AS?" if self.asn is None else f"AS{self.asn}"
        org = f" {self.org}" if self.org else ""
        country = f", {self.country}" if self.country else ""
        return f"{name}{org} ({self.category}{country})"


#: The origin of an address no source knows (and of a request without a client address).
UNKNOWN = Origin()


class OriginLookup(Protocol):
    """Anything that maps a client to its `Origin` without leaving the process.

    Takes the `Client`, not its address, so a lookup can key its memo by the client's network
    (a string the client already holds) rather than hash an address object per request.
    """

    def origin_for(self, client: Client) -> Origin: ...


def lookup_in(shield: object) -> OriginLookup | None:
    """The origin lookup a Shield's layers use (``Fingerprint(origin=)``, ``OriginList``), if any.

    Lets ``shieldware explain``, reporters and the live view show origins without being told
    the database a second time.
    """
    for layer in getattr(shield, "layers", ()):
        layer = getattr(layer, "layer", layer)  # shadowed(...) wraps its layer
        for name in ("origin", "origins"):
            found = getattr(layer, name, None)
            if found is not None and callable(getattr(found, "origin_for", None)):
                return found  # type: ignore[no-any-return]
    return None


_ORG_MAX = 64


def origin_fields(origin: Origin) -> dict[str, object]:
    """An origin as bounded record fields: AS number, organisation (cut), category, country."""
    category = origin.category if origin.category in Category.ALL else Category.UNKNOWN
    org = origin.org[:_ORG_MAX] if origin.org else None
    return {"asn": origin.asn, "org": org, "category": category, "country": origin.country}


def parse_asn(value: object) -> int:
    """An AS number from ``16509``, ``"16509"`` or ``"AS16509"``; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"not an AS number: {value!r}")
    digits = value.strip().upper().removeprefix("AS") if isinstance(value, str) else ""
    if isinstance(value, int):
        number = value
    elif digits.isascii() and digits.isdigit():  # not "²": str.isdigit takes any Unicode digit
        number = int(digits)
    else:
        raise ValueError(f"not an AS number: {value!r}")
    if not 0 < number < 1 << 32:
        raise ValueError(f"AS number out of range: {value!r}")
    return number


def parse_country(value: object) -> str:
    """An ISO 3166 alpha-2 code (``"FR"``) from ``"fr"`` or ``" FR "``; ValueError otherwise."""
    code = value.strip() if isinstance(value, str) else ""
    # checked before upper(): "ß".upper() is "SS"
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ValueError(f"not a two-letter country code: {value!r}")
    return code.upper()

"""Where a request comes from: AS number, organisation, network category and country, offline.

`OriginDB` reads a compact database built by ``shieldware origin build`` from open data, or a
MaxMind-format ``.mmdb`` the operator has; `ASNLists` says which networks are hosting (a shipped,
dated list that operators extend or override). Nothing here leaves the process at request time.

`maxminddb` is imported only when an ``.mmdb`` file is opened, so ``import shieldware`` never
pays for it.
"""

from __future__ import annotations

from .db import OriginDB, Source, open_source
from .keys import by_asn, by_org
from .networks import ASNLists
from .value import (
    UNKNOWN,
    Category,
    Origin,
    OriginLookup,
    Record,
    lookup_in,
    origin_fields,
    parse_asn,
)

__all__ = [
    "ASNLists",
    "Category",
    "Origin",
    "OriginDB",
    "OriginLookup",
    "Record",
    "Source",
    "UNKNOWN",
    "by_asn",
    "by_org",
    "lookup_in",
    "origin_fields",
    "open_source",
    "parse_asn",
]

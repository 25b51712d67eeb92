"""Where a request comes from: AS number, organisation, network category and country, offline.

`OriginDB` reads a compact database built by ``shieldware origin build`` from open data, or a
MaxMind-format ``.mmdb`` the operator has; `ASNLists` says which networks are hosting (a shipped,
dated list that operators extend or override). Nothing here leaves the process at request time.

Only the values and keys load with ``import shieldware``; the readers load on first use, and
`maxminddb` only when an ``.mmdb`` file is opened.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .keys import by_asn, by_org
from .value import UNKNOWN, Category, Origin, OriginLookup, Record, parse_asn

if TYPE_CHECKING:
    from .db import OriginDB, Source, open_source
    from .networks import ASNLists, load_bot_asns

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
    "load_bot_asns",
    "open_source",
    "parse_asn",
]

_LAZY = {
    "OriginDB": "db",
    "Source": "db",
    "open_source": "db",
    "ASNLists": "networks",
    "load_bot_asns": "networks",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

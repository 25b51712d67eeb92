"""MaxMind-format databases (``.mmdb``) the operator already has, read with `maxminddb`.

Understood layouts: GeoLite2/GeoIP2 ASN (``autonomous_system_number``/``_organization``),
GeoLite2/GeoIP2 Country and City (``country.iso_code``), IPinfo Lite (``asn`` as ``"AS13335"``,
``as_name``, ``country_code``), DB-IP Lite and the ``@ip-location-db`` ``-mmdb`` packages (the
GeoLite2 names, or a flat ``country_code``). GeoIP2 ISP/Enterprise ``user_type`` maps to a category.

`maxminddb` is imported when a database is opened, so ``import shieldware`` does not pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..clientip import IPAddress
from ..errors import ConfigurationError
from .value import Category, Record, parse_asn, parse_country

__all__ = ["MMDB_MARKER", "MaxMindSource", "record_of"]

#: Every MaxMind DB file has this marker before its metadata, near the end of the file.
MMDB_MARKER = b"\xab\xcd\xefMaxMind.com"
_USER_TYPES = {
    "hosting": Category.HOSTING,
    "content_delivery_network": Category.HOSTING,
    "residential": Category.ISP,
    "cellular": Category.ISP,
    "cable/dsl": Category.ISP,
}


def _asn(value: object) -> int | None:
    try:
        return parse_asn(value)
    except ValueError:  # missing, 0 ("not routed") or garbage: no AS
        return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _country(data: Mapping[str, Any]) -> str | None:
    country = data.get("country")
    if isinstance(country, Mapping):
        code = country.get("iso_code")
    else:
        code = data.get("country_code") or country
    try:
        return parse_country(code)
    except ValueError:
        return None


def record_of(data: object) -> Record | None:
    """The `Record` in one MaxMind data map, whichever layout it uses; None if it has nothing."""
    if not isinstance(data, Mapping):
        return None
    asn = _asn(data.get("autonomous_system_number", data.get("asn")))
    org = _str(data.get("autonomous_system_organization", data.get("as_name")))
    traits = data.get("traits")
    user_type = traits.get("user_type") if isinstance(traits, Mapping) else data.get("user_type")
    category = _USER_TYPES.get(user_type) if isinstance(user_type, str) else None
    if asn is None and isinstance(traits, Mapping):  # GeoIP2 Enterprise / ISP keep it in traits
        asn = _asn(traits.get("autonomous_system_number"))
        org = org or _str(traits.get("autonomous_system_organization"))
    record = Record(asn, org, _country(data), category)
    return None if record == Record() else record


class MaxMindSource:
    """A `Source` over one ``.mmdb`` file, memory-mapped by the C extension when it is built."""

    kind = "mmdb"

    def __init__(self, path: str | Path) -> None:
        try:
            import maxminddb
        except ImportError as exc:
            raise ConfigurationError(
                f"reading {path} needs maxminddb: pip install 'shieldware[origin]'"
            ) from exc
        self.path = str(path)
        try:
            self._reader = maxminddb.open_database(self.path)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise ConfigurationError(f"cannot open MaxMind database {path}: {exc}") from exc
        self._errors: tuple[type[BaseException], ...] = (
            ValueError,
            TypeError,
            maxminddb.InvalidDatabaseError,
        )
        meta = self._reader.metadata()
        self.ip_version = int(meta.ip_version)
        self.header = {
            "database_type": meta.database_type,
            "build_epoch": meta.build_epoch,
            "description": dict(meta.description),
            "node_count": meta.node_count,
        }

    def record(self, address: IPAddress) -> Record | None:
        if address.version == 6 and self.ip_version == 4:
            return None
        try:
            data = self._reader.get(address)
        except self._errors:  # a corrupt node: no data for this address, never a 500
            return None
        return record_of(data)

    def close(self) -> None:
        self._reader.close()

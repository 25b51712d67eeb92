"""Which networks are which: the shipped, dated list of hosting ASNs, and the operator's changes.

The shipped list (``data/hosting-asns.json``) names each AS, its kind (cloud or hosting) and
carries the date and the source of the whole snapshot; networks that carry people although they
look like hosting (Cloudflare WARP, iCloud Private Relay) are listed as excluded, with the reason.
Operators add ASNs (``hosting=``), take some out (``not_hosting=``), name access networks
(``isp=``), or replace the snapshot (``base=`` a path to a file of the same shape, or False).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .value import Category, parse_asn

__all__ = ["ASNLists", "load_asn_file"]


def _read_json(base: str | Path | None, name: str) -> Mapping[str, Any]:
    try:
        if base is None:
            text = resources.files(__package__).joinpath(f"data/{name}").read_text("utf-8")
        else:
            text = Path(base).read_text("utf-8")
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read ASN list {base or name}: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"ASN list {base or name}: expected a JSON object")
    return data


def load_asn_file(path: str | Path | None = None) -> tuple[frozenset[int], Mapping[str, Any]]:
    """The hosting ASNs of a list file (the shipped one by default) and its provenance."""
    data = _read_json(path, "hosting-asns.json")
    entries = data.get("asns")
    if not isinstance(entries, list):
        raise ConfigurationError(f"ASN list {path or 'hosting-asns.json'}: no 'asns' list")
    asns, errors = set(), []
    for i, entry in enumerate(entries):
        try:
            asns.add(parse_asn(entry["asn"] if isinstance(entry, Mapping) else entry))
        except (KeyError, ValueError) as exc:
            errors.append(f"entry {i}: {exc}")
    if errors:
        raise ConfigurationError(f"ASN list {path or 'hosting-asns.json'}: " + "; ".join(errors))
    provenance = {k: data[k] for k in ("name", "date", "source", "licence") if k in data}
    return frozenset(asns), provenance


def _asns(values: Iterable[int | str], what: str) -> frozenset[int]:
    out, errors = set(), []
    for value in values:
        try:
            out.add(parse_asn(value))
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        raise ConfigurationError(f"{what}: " + "; ".join(errors))
    return frozenset(out)


class ASNLists:
    """Classifies an AS: hosting, ISP or unknown.

    Order of precedence: the operator's ``hosting`` and ``isp``, then ``not_hosting`` (unknown),
    then a category the database itself states (commercial databases do), then the base list.

    :param hosting: ASNs to treat as hosting, on top of the base list.
    :param not_hosting: ASNs to take out of the base list (your own monitoring's provider).
    :param isp: ASNs of access networks (home broadband, mobile carriers).
    :param base: the hosting list file; the shipped snapshot by default; False for none.
    """

    def __init__(
        self,
        *,
        hosting: Iterable[int | str] = (),
        not_hosting: Iterable[int | str] = (),
        isp: Iterable[int | str] = (),
        base: str | Path | bool = True,
    ) -> None:
        if base is True:
            shipped, self.provenance = load_asn_file()
        elif base is False:
            shipped, self.provenance = frozenset(), {}
        else:
            shipped, self.provenance = load_asn_file(base)
        self.removed = _asns(not_hosting, "not_hosting")
        self.isp = _asns(isp, "isp")
        added = _asns(hosting, "hosting")
        both = added & self.isp
        if both:
            raise ConfigurationError(f"ASNs listed as both hosting and isp: {sorted(both)}")
        self.hosting = (shipped - self.removed - self.isp) | added
        self._added = added

    def __repr__(self) -> str:
        date = self.provenance.get("date", "none")
        return f"ASNLists({len(self.hosting)} hosting, {len(self.isp)} isp, base {date})"

    def category(self, asn: int | None, stated: str | None = None) -> str:
        """The category of `asn`; `stated` is what the database says, if anything."""
        if asn is not None:
            if asn in self._added:
                return Category.HOSTING
            if asn in self.isp:
                return Category.ISP
            if asn in self.removed:
                return Category.UNKNOWN
        if stated is not None:
            return stated
        return Category.HOSTING if asn in self.hosting else Category.UNKNOWN

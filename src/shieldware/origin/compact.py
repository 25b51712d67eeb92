"""The compact origin database: sorted range starts in flat arrays, looked up by bisection.

Layout of a file (little-endian)::

    b"SWORIGIN" | u32 header length | JSON header | section bytes, in the header's order

The header names each section, its array type code and its length, and carries the provenance
(sources, licence, attribution, build date). Sections are raw `array.array` buffers, so loading
is a read and a few ``frombytes`` calls: no parsing, no per-range Python objects.

Each address family has a *range table*: the start of every range in ascending order and, beside
it, a value index (0 for "no data": gaps between ranges are stored as ranges of their own). IPv6
starts are split into two 64-bit halves, compared as a pair. A lookup is one or two bisections.
"""

from __future__ import annotations

import json
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from ..clientip import IPAddress
from ..errors import ConfigurationError
from .value import Record

__all__ = ["MAGIC", "CompactSource", "RangeTable", "Tables", "write_compact"]

MAGIC = b"SWORIGIN"
FORMAT = 1
_LOW = (1 << 64) - 1
_BIG = sys.byteorder == "big"


class RangeTable:
    """Ranges of one family: ``starts`` ascending (IPv6 as ``hi``/``lo`` halves) and values."""

    __slots__ = ("hi", "lo", "starts", "values")

    def __init__(
        self,
        values: array[int],
        starts: array[int] | None = None,
        hi: array[int] | None = None,
        lo: array[int] | None = None,
    ) -> None:
        self.values = values
        self.starts = starts
        self.hi = hi
        self.lo = lo

    def __len__(self) -> int:
        return len(self.values)

    def find4(self, number: int) -> int:
        """The value index of an IPv4 address as an integer (0: no data)."""
        assert self.starts is not None
        i = bisect_right(self.starts, number) - 1
        return self.values[i] if i >= 0 else 0

    def find6(self, number: int) -> int:
        """The value index of an IPv6 address as an integer (0: no data)."""
        his, los = self.hi, self.lo
        assert his is not None
        assert los is not None
        hi, lo = number >> 64, number & _LOW
        i = bisect_right(his, hi) - 1
        if i < 0:
            return 0
        if his[i] == hi:  # several ranges start in this /64: compare the low halves among them
            first = bisect_left(his, hi, 0, i)
            j = bisect_right(los, lo, first, i + 1) - 1
            if j >= first:
                return self.values[j]
            i = first - 1  # every one of them starts after the address
            if i < 0:
                return 0
        return self.values[i]


class Tables(NamedTuple):
    """Everything a compact database holds."""

    asn4: RangeTable
    asn6: RangeTable
    asns: array[int]  # record i-1 -> AS number (value index i)
    org_offsets: array[int]  # record i-1 -> its organisation is org_blob[off[i-1]:off[i]]
    org_blob: bytes
    country4: RangeTable
    country6: RangeTable
    countries: str  # value index i -> countries[2 * (i - 1):2 * i]
    header: Mapping[str, Any]


# (section name, array type code); the order is the file order.
_SECTIONS: tuple[tuple[str, str], ...] = (
    ("asn4.starts", "I"),
    ("asn4.values", "I"),
    ("asn6.hi", "Q"),
    ("asn6.lo", "Q"),
    ("asn6.values", "I"),
    ("asns", "I"),
    ("org_offsets", "I"),
    ("org_blob", "B"),
    ("country4.starts", "I"),
    ("country4.values", "H"),
    ("country6.hi", "Q"),
    ("country6.lo", "Q"),
    ("country6.values", "H"),
    ("countries", "B"),
)


def _arrays(tables: Tables) -> dict[str, array[int]]:
    def table(prefix: str, t: RangeTable) -> dict[str, array[int] | None]:
        return {
            f"{prefix}.starts": t.starts,
            f"{prefix}.hi": t.hi,
            f"{prefix}.lo": t.lo,
            f"{prefix}.values": t.values,
        }

    found: dict[str, array[int] | None] = {
        **table("asn4", tables.asn4),
        **table("asn6", tables.asn6),
        **table("country4", tables.country4),
        **table("country6", tables.country6),
        "asns": tables.asns,
        "org_offsets": tables.org_offsets,
        "org_blob": array("B", tables.org_blob),
        "countries": array("B", tables.countries.encode("ascii")),
    }
    return {name: found[name] or array(code) for name, code in _SECTIONS}


def write_compact(path: str | Path, tables: Tables) -> int:
    """Write `tables` to `path` (through a temporary file and a rename); returns the size."""
    arrays = _arrays(tables)
    header = dict(tables.header)
    header["format"] = FORMAT
    header["sections"] = [[name, code, len(arrays[name])] for name, code in _SECTIONS]
    head = json.dumps(header, sort_keys=True).encode("utf-8")
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("wb") as out:
        out.write(MAGIC + len(head).to_bytes(4, "little") + head)
        for name, _ in _SECTIONS:
            data = arrays[name]
            if _BIG:  # pragma: no cover - little-endian machines only in CI
                data = array(data.typecode, data)
                data.byteswap()
            data.tofile(out)
    tmp.replace(target)
    return target.stat().st_size


def _read(stream: BinaryIO, path: str) -> Tables:
    if stream.read(len(MAGIC)) != MAGIC:
        raise ConfigurationError(f"{path}: not a shieldware origin database (bad magic)")
    length = int.from_bytes(stream.read(4), "little")
    try:
        header = json.loads(stream.read(length))
        sections = [(str(n), str(c), int(k)) for n, c, k in header["sections"]]
        if header.get("format") != FORMAT:
            raise ValueError(f"format {header.get('format')!r}, this version reads {FORMAT}")
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"{path}: unreadable header: {exc}") from exc
    if [(n, c) for n, c, _ in sections] != list(_SECTIONS):
        raise ConfigurationError(f"{path}: unexpected sections (built by another version?)")
    arrays: dict[str, array[int]] = {}
    for name, code, count in sections:
        data = array(code)
        raw = stream.read(count * data.itemsize)
        if len(raw) != count * data.itemsize:
            raise ConfigurationError(f"{path}: truncated in section {name}")
        data.frombytes(raw)
        if _BIG:  # pragma: no cover
            data.byteswap()
        arrays[name] = data
    if stream.read(1):
        raise ConfigurationError(f"{path}: trailing bytes after the last section")
    tables = Tables(
        RangeTable(arrays["asn4.values"], starts=arrays["asn4.starts"]),
        RangeTable(arrays["asn6.values"], hi=arrays["asn6.hi"], lo=arrays["asn6.lo"]),
        arrays["asns"],
        arrays["org_offsets"],
        arrays["org_blob"].tobytes(),
        RangeTable(arrays["country4.values"], starts=arrays["country4.starts"]),
        RangeTable(arrays["country6.values"], hi=arrays["country6.hi"], lo=arrays["country6.lo"]),
        arrays["countries"].tobytes().decode("ascii", "replace"),
        header,
    )
    _check(tables, path)
    return tables


def _check(t: Tables, path: str) -> None:
    """Reject inconsistent files at load time, so a lookup can never index out of range."""
    problems = []
    for name, table, limit in (
        ("asn4", t.asn4, len(t.asns)),
        ("asn6", t.asn6, len(t.asns)),
        ("country4", t.country4, len(t.countries) // 2),
        ("country6", t.country6, len(t.countries) // 2),
    ):
        if table.starts is not None and len(table.starts) != len(table.values):
            problems.append(f"{name}: {len(table.starts)} starts, {len(table.values)} values")
        if table.hi is not None and not (len(table.hi) == len(table.lo or ()) == len(table.values)):
            problems.append(f"{name}: start halves and values differ in length")
        if table.values and max(table.values) > limit:
            problems.append(f"{name}: a value points past the end of its table")
    if len(t.org_offsets) != len(t.asns) + 1 or (
        t.org_offsets and t.org_offsets[-1] > len(t.org_blob)
    ):
        problems.append("organisation offsets do not match the records")
    if problems:
        raise ConfigurationError(f"{path}: corrupt origin database: " + "; ".join(problems))


def load_compact(path: str | Path) -> Tables:
    """Read a compact database; any problem is a `ConfigurationError` naming the file."""
    try:
        with open(path, "rb") as stream:
            return _read(stream, str(path))
    except OSError as exc:
        raise ConfigurationError(f"cannot read origin database {path}: {exc}") from exc


class CompactSource:
    """A `Source` over a compact database file (see `shieldware origin build`)."""

    kind = "compact"

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._t = t = load_compact(path)
        self._orgs: list[str | None] = [None] * len(t.asns)

    @property
    def header(self) -> Mapping[str, Any]:
        return self._t.header

    def record(self, address: IPAddress) -> Record | None:
        t = self._t
        number = int(address)
        cc = 0
        if address.version == 4:
            index = t.asn4.find4(number) if t.asn4.values else 0
            if t.country4.values:
                cc = t.country4.find4(number)
        else:
            index = t.asn6.find6(number) if t.asn6.values else 0
            if t.country6.values:
                cc = t.country6.find6(number)
        if not index and not cc:
            return None
        country = t.countries[2 * cc - 2 : 2 * cc] if cc else None
        if not index:
            return Record(country=country)
        return Record(t.asns[index - 1], self._org(index - 1), country)

    def _org(self, i: int) -> str | None:
        org = self._orgs[i]
        if org is None:  # decoded on first use: most organisations are never looked up
            t = self._t
            raw = t.org_blob[t.org_offsets[i] : t.org_offsets[i + 1]]
            org = self._orgs[i] = raw.decode("utf-8", "replace")
        return org or None

    def close(self) -> None:
        """Nothing to release: the tables are plain arrays."""


def sequence_bytes(items: Sequence[str]) -> tuple[array[int], bytes]:
    """Offsets and the UTF-8 blob of a list of strings (``offsets[i]:offsets[i + 1]``)."""
    offsets = array("I", [0])
    blob = bytearray()
    for item in items:
        blob += item.encode("utf-8")
        offsets.append(len(blob))
    return offsets, bytes(blob)

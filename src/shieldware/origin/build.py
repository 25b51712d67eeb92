"""Build a compact origin database from open CSV range data (``shieldware origin build``).

Input rows, one inclusive range each, addresses written out (not the ``-num`` files)::

    ip_range_start,ip_range_end,autonomous_system_number,autonomous_system_organization
    ip_range_start,ip_range_end,country_code

This is the format of the ``@ip-location-db`` packages on npm: ``asn`` (RouteViews and DB-IP,
CC BY 4.0) and ``asn-country`` (CC0), among others. Four columns make an ASN row, three a country
row; a header line is skipped; ``.gz`` files are read as gzip. IPv4 and IPv6 rows may share a file.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import io
import socket
from array import array
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import ConfigurationError
from .compact import RangeTable, Tables, sequence_bytes, write_compact
from .value import parse_asn, parse_country

__all__ = ["ATTRIBUTION", "BuildReport", "build", "build_tables"]

#: Attribution the CC BY 4.0 licence of the default sources asks for; kept in the file header.
ATTRIBUTION = (
    "IP to ASN data: RouteViews (routeviews.org) and DB-IP (db-ip.com), CC BY 4.0, "
    "via the @ip-location-db/asn package"
)
_MAX_ERRORS = 20
_V4_END = (1 << 32) - 1
_V6_END = (1 << 128) - 1


class _Range(NamedTuple):
    start: int
    end: int
    value: int
    where: str


class BuildReport(NamedTuple):
    """What a build produced."""

    path: str
    size: int
    asn_ranges: int
    country_ranges: int
    records: int
    #: Rows that overlapped another (the narrower range kept its addresses).
    overlaps: int = 0


def _parse(text: str) -> tuple[int, int]:
    """``(family, integer)`` of an address; ValueError on anything else."""
    text = text.strip()
    if text.isdigit():
        raise ValueError(f"numeric address {text!r}: use the CSV with written-out addresses")
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    try:
        packed = socket.inet_pton(family, text)
    except OSError:
        raise ValueError(f"not an IP address: {text!r}") from None
    return (6 if family == socket.AF_INET6 else 4), int.from_bytes(packed, "big")


def _open(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _rows(paths: Iterable[str | Path]) -> Iterator[tuple[str, list[str]]]:
    for path in map(Path, paths):
        try:
            with _open(path) as stream:
                for number, row in enumerate(csv.reader(stream), 1):
                    if row and not (number == 1 and not _looks_like_address(row[0])):
                        yield f"{path.name}:{number}", row
        except (OSError, UnicodeDecodeError, csv.Error, EOFError) as exc:
            raise ConfigurationError(f"cannot read {path}: {exc}") from exc


def _looks_like_address(text: str) -> bool:
    text = text.strip()
    return ":" in text or text[:1].isdigit()


class _Collector:
    """Rows to per-family ranges and deduplicated values, with every error gathered."""

    def __init__(self) -> None:
        self.asn: dict[int, list[_Range]] = {4: [], 6: []}
        self.country: dict[int, list[_Range]] = {4: [], 6: []}
        self.records: dict[tuple[int, str], int] = {}
        self.countries: dict[str, int] = {}
        self.errors: list[str] = []
        self.overlaps = 0

    def add(self, where: str, row: list[str]) -> None:
        try:
            family, start = _parse(row[0])
            end_family, end = _parse(row[1])
            if end_family != family:
                raise ValueError("start and end are of different address families")
            if end < start:
                raise ValueError("the range ends before it starts")
            if len(row) >= 4:
                if not row[2].strip().upper().removeprefix("AS").strip("0"):
                    return  # AS 0 (or none): "not routed", leave it a gap
                asn = parse_asn(row[2])
                org = ",".join(row[3:]).strip()
                value = self.records.setdefault((asn, org), len(self.records) + 1)
                self.asn[family].append(_Range(start, end, value, where))
            elif len(row) == 3:
                code = parse_country(row[2])
                value = self.countries.setdefault(code, len(self.countries) + 1)
                self.country[family].append(_Range(start, end, value, where))
            else:
                raise ValueError(f"expected 3 or 4 columns, found {len(row)}")
        except (ValueError, IndexError) as exc:
            self.error(f"{where}: {exc}")

    def error(self, message: str) -> None:
        self.errors.append(message)

    def resolve(self, ranges: list[_Range]) -> list[_Range]:
        """`ranges` sorted, overlaps resolved: where two rows overlap, the narrower one wins.

        The published data is not always clean (a ``/15`` announced by one AS with a ``/22``
        inside it announced by another); the more specific route is the one packets follow.
        Each overlap is counted in `overlaps`.
        """
        # (start, end, width of the original row, value, where): a trimmed piece keeps its
        # row's width, so it is judged as the route it is part of
        heap = [(r.start, r.end, r.end - r.start, r.value, r.where) for r in ranges]
        heapq.heapify(heap)
        out: list[tuple[int, int, int, int, str]] = []
        while heap:
            item = heapq.heappop(heap)
            start, end, width, value, where = item
            if not out or start > out[-1][1]:
                out.append(item)
                continue
            last = out[-1]  # it starts at or before `start` and overlaps it
            self.overlaps += 1
            if width < last[2]:  # the newcomer is narrower: it wins
                out.pop()
                if last[0] < start:
                    out.append((last[0], start - 1, *last[2:]))
                out.append(item)
                if last[1] > end:  # what is left of the wider one comes back in order
                    heapq.heappush(heap, (end + 1, *last[1:]))
            elif end > last[1]:  # the earlier one is narrower: the newcomer keeps the rest
                heapq.heappush(heap, (last[1] + 1, end, width, value, where))
        return [_Range(start, end, value, where) for start, end, _, value, where in out]

    def table(self, ranges: list[_Range], family: int, code: str) -> RangeTable:
        """Sorted starts with explicit gaps; neighbours with one value merge into one range."""
        last = _V4_END if family == 4 else _V6_END
        starts: list[int] = []
        values: list[int] = []
        end = -1
        for r in self.resolve(ranges):
            if r.start > end + 1 and starts:
                starts.append(end + 1)
                values.append(0)
            if not (values and values[-1] == r.value and starts and r.start == end + 1):
                starts.append(r.start)
                values.append(r.value)
            end = r.end
        if starts and end < last:
            starts.append(end + 1)
            values.append(0)
        if family == 4:
            return RangeTable(array(code, values), starts=array("I", starts))
        mask = (1 << 64) - 1
        return RangeTable(
            array(code, values),
            hi=array("Q", [s >> 64 for s in starts]),
            lo=array("Q", [s & mask for s in starts]),
        )


def build_tables(
    asn: Iterable[str | Path] = (),
    country: Iterable[str | Path] = (),
    *,
    meta: Mapping[str, Any] | None = None,
) -> Tables:
    """Read CSV files into compact tables; every bad row is reported in one `ConfigurationError`.

    ASN files may also hold country rows (and the other way round): the column count decides.
    """
    sources = [str(p) for p in (*asn, *country)]
    if not sources:
        raise ConfigurationError("origin build needs at least one CSV file")
    c = _Collector()
    for where, row in _rows(sources):
        c.add(where, row)
        if len(c.errors) > _MAX_ERRORS:
            break
    tables = {
        "asn4": c.table(c.asn[4], 4, "I"),
        "asn6": c.table(c.asn[6], 6, "I"),
        "country4": c.table(c.country[4], 4, "H"),
        "country6": c.table(c.country[6], 6, "H"),
    }
    if c.errors:
        shown = c.errors[:_MAX_ERRORS]
        more = f" (and more; first {_MAX_ERRORS} shown)" if len(c.errors) > _MAX_ERRORS else ""
        raise ConfigurationError("origin build failed" + more + ":\n  " + "\n  ".join(shown))
    records = list(c.records)  # in value order: dicts keep insertion order
    offsets, blob = sequence_bytes([org for _, org in records])
    header = {
        "built": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "sources": [Path(s).name for s in sources],
        "attribution": ATTRIBUTION,
        "licence": "CC BY 4.0 (ASN data); CC0 (asn-country data)",
        "overlaps_resolved": c.overlaps,
        **(meta or {}),
    }
    return Tables(
        tables["asn4"],
        tables["asn6"],
        array("I", [a for a, _ in records]),
        offsets,
        blob,
        tables["country4"],
        tables["country6"],
        "".join(c.countries),
        header,
    )


def build(
    output: str | Path,
    asn: Iterable[str | Path] = (),
    country: Iterable[str | Path] = (),
    *,
    meta: Mapping[str, Any] | None = None,
) -> BuildReport:
    """Build the compact database `output` from CSV files (see the module docstring)."""
    tables = build_tables(asn, country, meta=meta)
    size = write_compact(output, tables)
    return BuildReport(
        str(output),
        size,
        len(tables.asn4) + len(tables.asn6),
        len(tables.country4) + len(tables.country6),
        len(tables.asns),
        int(tables.header.get("overlaps_resolved", 0)),
    )
